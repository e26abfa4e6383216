-- Projects (đề án) of the latest accepted version of each report.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

project_rows as (

    select * from {{ ref('stg_raw__project_rows') }}

)

select
    latest_reports.submission_id,
    latest_reports.unit_id,
    latest_reports.year,
    latest_reports.period,
    project_rows.project_code,
    project_rows.project_name,
    project_rows.funding_source,
    project_rows.activity,
    project_rows.approved_mvnd,
    project_rows.executed_mvnd,
    project_rows.project_status as status,
    project_rows.beneficiaries
from latest_reports
inner join project_rows
    on latest_reports.submission_id = project_rows.submission_id
