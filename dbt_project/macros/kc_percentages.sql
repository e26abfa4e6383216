{#-
    Percentages of the marts contract, rounded to 2 decimals; NULL where the
    divisor is 0 or NULL. Computed in floating point, never on rounded amounts.
-#}
{% macro kc_round_2(expression) -%}
    {{ return(adapter.dispatch('kc_round_2')(expression)) }}
{%- endmacro %}

{% macro default__kc_round_2(expression) -%}
    {#- round(double, int) is not defined everywhere (Postgres): round a numeric. -#}
    cast(round(cast({{ expression }} as {{ dbt.type_numeric() }}), 2) as {{ kc_type_pct() }})
{%- endmacro %}

-- duckdb-specific: round() takes a double directly
{% macro duckdb__kc_round_2(expression) -%}
    round({{ expression }}, 2)
{%- endmacro %}

{#- numerator / denominator × 100 -#}
{% macro kc_pct(numerator, denominator) -%}
    {{ kc_round_2(
        'cast(' ~ numerator ~ ' as ' ~ kc_type_pct() ~ ') * 100 / nullif(cast('
        ~ denominator ~ ' as ' ~ kc_type_pct() ~ '), 0)'
    ) }}
{%- endmacro %}

{#- (current / previous − 1) × 100 -#}
{% macro kc_growth_pct(current, previous) -%}
    {{ kc_round_2(
        '(cast(' ~ current ~ ' as ' ~ kc_type_pct() ~ ') / nullif(cast('
        ~ previous ~ ' as ' ~ kc_type_pct() ~ '), 0) - 1) * 100'
    ) }}
{%- endmacro %}
