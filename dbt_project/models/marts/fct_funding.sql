-- Funding (kinh phí) of the latest accepted version of each report, one row per funding source.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

funding_rows as (

    select * from {{ ref('stg_raw__funding_rows') }}

)

select
    latest_reports.submission_id,
    latest_reports.unit_id,
    latest_reports.year,
    latest_reports.period,
    latest_reports.period_months,
    funding_rows.funding_source,
    funding_rows.plan_initial_mvnd,
    coalesce(funding_rows.plan_adjusted_mvnd, funding_rows.plan_initial_mvnd) as plan_adjusted_mvnd,
    funding_rows.allocated_mvnd,
    funding_rows.executed_mvnd,
    funding_rows.project_count
from latest_reports
inner join funding_rows
    on latest_reports.submission_id = funding_rows.submission_id
