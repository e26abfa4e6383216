-- Every identified submission (unit, year, period known) ranked among the versions of its report.
-- Order (docs/submission-format.md#resubmissions): ngay_lap, then arrival folder,
-- then file name, latest first;
-- submission_id only breaks exact ties deterministically.
-- `accepted_version_rank` ranks accepted versions only, so a refused resubmission never
-- supersedes an accepted report: the facts use `is_latest_accepted`.
with

submissions as (

    select staged.* from {{ ref('stg_raw__submissions') }} as staged
    where staged.unit_id in (select units.unit_id from {{ ref('stg_reference__units') }} as units)
        and staged.year is not null

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
        case when submissions.status in ('accepted', 'accepted_with_warnings') then 1 else 0 end
            as is_accepted_flag
    from submissions
    -- inner: a refused file may carry an unreadable period
    inner join calendar
        on submissions.period = calendar.period

),

ranked as (

    select
        flagged.*,
        row_number() over (
            partition by flagged.unit_id, flagged.year, flagged.period
            order by
                flagged.report_date desc nulls last,
                flagged.arrival_date desc,
                flagged.file_name desc,
                flagged.submission_id desc
        ) as version_rank,
        row_number() over (
            partition by flagged.unit_id, flagged.year, flagged.period, flagged.is_accepted_flag
            order by
                flagged.report_date desc nulls last,
                flagged.arrival_date desc,
                flagged.file_name desc,
                flagged.submission_id desc
        ) as rank_within_status,
        count(*) over (partition by flagged.unit_id, flagged.year, flagged.period) as versions_received
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
