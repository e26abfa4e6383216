-- Funding (kinh phí) of the latest accepted version of each report, one row per funding source.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

funding_rows as (

    select * from {{ ref('stg_raw__funding_rows') }}

)

select
    cast(latest_reports.submission_id as {{ dbt.type_string() }}) as submission_id,
    cast(latest_reports.unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(latest_reports.year as {{ dbt.type_int() }}) as year,
    cast(latest_reports.period as {{ dbt.type_string() }}) as period,
    cast(latest_reports.period_months as {{ dbt.type_int() }}) as period_months,
    cast(funding_rows.funding_source as {{ dbt.type_string() }}) as funding_source,
    cast(funding_rows.plan_initial_mvnd as {{ kc_type_money() }}) as plan_initial_mvnd,
    cast(
        coalesce(funding_rows.plan_adjusted_mvnd, funding_rows.plan_initial_mvnd)
        as {{ kc_type_money() }}
    ) as plan_adjusted_mvnd,
    cast(funding_rows.allocated_mvnd as {{ kc_type_money() }}) as allocated_mvnd,
    cast(funding_rows.executed_mvnd as {{ kc_type_money() }}) as executed_mvnd,
    cast(funding_rows.project_count as {{ dbt.type_int() }}) as project_count
from latest_reports
inner join funding_rows
    on latest_reports.submission_id = funding_rows.submission_id
