{#-
    Reporting periods: `KH` (start-of-year plan) = 0 months, `<n>T` = n months, `CN` (full year) = 12.
    Mirrors khuyencong.periods.period_months / era_for.
-#}
{% macro kc_period_months(period) -%}
    case
        when {{ period }} = 'KH' then 0
        when {{ period }} = 'CN' then 12
        else {{ dbt.safe_cast(dbt.replace(period, "'T'", "''"), dbt.type_int()) }}
    end
{%- endmacro %}

{#-
    Era of a period: 63 when the period's last day is on or before 2025-06-30
    (`KH` counts as 1 January), 34 from the 2025-07-01 merger.
-#}
{% macro kc_era_for(year, period_months) -%}
    case
        when {{ year }} < 2025 then 63
        when {{ year }} > 2025 then 34
        when {{ period_months }} <= 6 then 63
        else 34
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

{#- The valid period codes (SUBMISSION_SPEC §2), as a SQL list. -#}
{% macro kc_period_codes() -%}
    ('KH', '1T', '2T', '3T', '4T', '5T', '6T', '7T', '8T', '9T', '10T', '11T', 'CN')
{%- endmacro %}
