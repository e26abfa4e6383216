{#-
    The period calendar (codes, months) and the era boundaries are seeds (`periods`, `eras`),
    read with ref() by the models; only the date arithmetic lives here.
    Mirrors khuyencong.periods.period_end.
-#}

{#- Last day a period covers: the end of its last month; `KH` (0 months) counts as 1 January. -#}
{% macro kc_period_end(year, period_months) -%}
    case
        when {{ period_months }} = 0 then {{ kc_make_date(year, 1, 1) }}
        else cast({{ dbt.dateadd('day', '-1', kc_make_date(year, '(' ~ period_months ~ ') + 1', 1)) }} as date)
    end
{%- endmacro %}

{#- A date from integer expressions (dbt.date only takes literals outside DuckDB). -#}
{% macro kc_make_date(year, month, day) -%}
    cast(
        {{ dbt.dateadd('day', '(' ~ day ~ ') - 1',
            dbt.dateadd('month', '(' ~ month ~ ') - 1',
                'cast(' ~ dbt.concat([dbt.safe_cast(year, dbt.type_string()), "'-01-01'"]) ~ ' as date)')) }}
        as date
    )
{%- endmacro %}

{#- The valid period codes, from the `periods` seed, as a SQL list (`period in {{ kc_period_codes() }}`). -#}
{% macro kc_period_codes() -%}
    (select period from {{ ref('periods') }})
{%- endmacro %}
