-- Outcomes (kết quả) of the latest accepted version of each report, one row per indicator.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

outcome_rows as (

    select * from {{ ref('stg_raw__outcome_rows') }}

)

select
    cast(latest_reports.submission_id as {{ dbt.type_string() }}) as submission_id,
    cast(latest_reports.unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(latest_reports.year as {{ dbt.type_int() }}) as year,
    cast(latest_reports.period as {{ dbt.type_string() }}) as period,
    cast(latest_reports.period_months as {{ dbt.type_int() }}) as period_months,
    cast(outcome_rows.indicator_code as {{ dbt.type_string() }}) as indicator_code,
    cast(outcome_rows.target_value as {{ kc_type_money() }}) as target_value,
    cast(outcome_rows.actual_value as {{ kc_type_money() }}) as actual_value
from latest_reports
inner join outcome_rows
    on latest_reports.submission_id = outcome_rows.submission_id
