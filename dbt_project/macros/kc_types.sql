{#- Column types of the marts contract, in one place. -#}

{#- Money and quantities: million VND, exact decimals so sums reconcile. -#}
{% macro kc_type_money() -%}
    decimal(20, 6)
{%- endmacro %}

{#- Percentages: a double rounded to 2 decimals (decimal(9,2) could overflow on growth rates). -#}
{% macro kc_type_pct() -%}
    {{ return(adapter.dispatch('kc_type_pct')()) }}
{%- endmacro %}

{% macro default__kc_type_pct() -%}
    double precision
{%- endmacro %}

-- duckdb-specific: DOUBLE is DuckDB's 8-byte float (its FLOAT is 4 bytes)
{% macro duckdb__kc_type_pct() -%}
    double
{%- endmacro %}
