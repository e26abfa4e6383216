-- Every identified submission (unit, year, period known) ranked among the versions of its report.
-- Order (SUBMISSION_SPEC §4): ngay_lap, then arrival folder, then file name, latest first;
-- submission_id only breaks exact ties deterministically.
-- `accepted_version_rank` ranks accepted versions only, so a refused resubmission never
-- supersedes an accepted report: the facts use `is_latest_accepted`.
with

submissions as (

    select * from {{ ref('stg_raw__submissions') }}
    where unit_id in (select unit_id from {{ ref('stg_reference__units') }})
      and year is not null

),

calendar as (

    select * from {{ ref('stg_reference__periods') }}

),

flagged as (

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
        submissions.arrival_date,
        case when submissions.status in ('accepted', 'accepted_with_warnings') then 1 else 0 end as is_accepted_flag
    from submissions
    -- inner: a refused file may carry an unreadable period
    inner join calendar
        on submissions.period = calendar.period

),

ranked as (

    select
        flagged.*,
        row_number() over (
            partition by unit_id, year, period
            order by report_date desc nulls last, arrival_date desc, file_name desc, submission_id desc
        ) as version_rank,
        row_number() over (
            partition by unit_id, year, period, is_accepted_flag
            order by report_date desc nulls last, arrival_date desc, file_name desc, submission_id desc
        ) as rank_within_status,
        count(*) over (partition by unit_id, year, period) as versions_received
    from flagged

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
    versions_received,
    version_rank,
    case when is_accepted_flag = 1 then rank_within_status end as accepted_version_rank,
    is_accepted_flag = 1 as is_accepted,
    (is_accepted_flag = 1 and rank_within_status = 1) as is_latest_accepted
from ranked
