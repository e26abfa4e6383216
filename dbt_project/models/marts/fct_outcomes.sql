-- Outcomes (kết quả) of the latest accepted version of each report, one row per indicator.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

outcome_rows as (

    select * from {{ ref('stg_raw__outcome_rows') }}

)

select
    latest_reports.submission_id,
    latest_reports.unit_id,
    latest_reports.year,
    latest_reports.period,
    latest_reports.period_months,
    outcome_rows.indicator_code,
    outcome_rows.target_value,
    outcome_rows.actual_value
from latest_reports
inner join outcome_rows
    on latest_reports.submission_id = outcome_rows.submission_id
