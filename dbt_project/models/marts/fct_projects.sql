-- Projects (đề án) of the latest accepted version of each report.
with

latest_reports as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

project_rows as (

    select * from {{ ref('stg_raw__project_rows') }}

)

select
    cast(latest_reports.submission_id as {{ dbt.type_string() }}) as submission_id,
    cast(latest_reports.unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(latest_reports.year as {{ dbt.type_int() }}) as year,
    cast(latest_reports.period as {{ dbt.type_string() }}) as period,
    cast(project_rows.project_code as {{ dbt.type_string() }}) as project_code,
    cast(project_rows.project_name as {{ dbt.type_string() }}) as project_name,
    cast(project_rows.funding_source as {{ dbt.type_string() }}) as funding_source,
    cast(project_rows.activity as {{ dbt.type_string() }}) as activity,
    cast(project_rows.approved_mvnd as {{ kc_type_money() }}) as approved_mvnd,
    cast(project_rows.executed_mvnd as {{ kc_type_money() }}) as executed_mvnd,
    cast(project_rows.project_status as {{ dbt.type_string() }}) as status,
    cast(project_rows.beneficiaries as {{ dbt.type_int() }}) as beneficiaries
from latest_reports
inner join project_rows
    on latest_reports.submission_id = project_rows.submission_id
