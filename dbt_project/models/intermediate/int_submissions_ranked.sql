-- Every identified submission (unit, year, period known) ranked among the versions of its report.
-- Order (docs/submission-format.md#resubmissions): ngay_lap, then arrival folder,
-- then file name, latest first;
-- submission_id only breaks exact ties deterministically.
-- The version the facts use (the latest accepted one) is picked in int_latest_accepted_reports.
with

submissions as (

    select staged.* from {{ ref('stg_raw__submissions') }} as staged
    where staged.unit_id in (select units.unit_id from {{ ref('stg_reference__units') }} as units)
        and staged.year is not null

),

calendar as (

    select * from {{ ref('stg_reference__periods') }}

),

identified as (

    select
        submissions.submission_id,
        submissions.unit_id,
        submissions.year,
        submissions.period,
        coalesce(submissions.period_months, calendar.period_months) as period_months,
        submissions.status,
        submissions.file_name,
        submissions.error_count,
        submissions.warning_count,
        submissions.report_date,
        submissions.arrival_date
    from submissions
    -- inner: a refused file may carry an unreadable period
    inner join calendar
        on submissions.period = calendar.period

)

select
    submission_id,
    unit_id,
    year,
    period,
    period_months,
    status,
    file_name,
    error_count,
    warning_count,
    report_date,
    arrival_date,
    cast(count(*) over (partition by unit_id, year, period) as {{ dbt.type_int() }}) as versions_received,
    row_number() over (
        partition by unit_id, year, period
        order by
            report_date desc nulls last,
            arrival_date desc,
            file_name desc,
            submission_id desc
    ) as version_rank,
    status in ('accepted', 'accepted_with_warnings') as is_accepted
from identified
