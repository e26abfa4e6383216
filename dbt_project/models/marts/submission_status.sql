-- Reporting status per unit × year × period, for every unit expected in a year × period that
-- has reports (and for any other unit that sent one). Status describes the report the facts use.
with

expected_units as (

    select
        unit_id,
        year,
        period
    from {{ ref('int_units_expected') }}

),

submissions as (

    select * from {{ ref('int_submissions_ranked') }}

),

periods as (

    select * from {{ ref('int_periods_reported') }}

),

report_identities as (

    select
        unit_id,
        year,
        period
    from expected_units
    union
    select
        unit_id,
        year,
        period
    from submissions

),

latest_accepted as (

    select * from {{ ref('int_latest_accepted_reports') }}

),

-- the version the status describes: the one the facts use, else (every version refused) the latest
described as (

    select
        submissions.submission_id,
        submissions.unit_id,
        submissions.year,
        submissions.period,
        submissions.status,
        submissions.versions_received,
        submissions.arrival_date,
        submissions.error_count,
        submissions.warning_count
    from submissions
    left join latest_accepted
        on submissions.unit_id = latest_accepted.unit_id
            and submissions.year = latest_accepted.year
            and submissions.period = latest_accepted.period
    where submissions.submission_id = latest_accepted.submission_id
        or (latest_accepted.submission_id is null and submissions.version_rank = 1)

),

-- reports signed before their period ended (rule W07): estimates, not final figures
estimates as (

    select distinct submission_id from {{ ref('stg_raw__findings') }}
    where rule = 'W07'

)

select
    report_identities.unit_id,
    report_identities.year,
    report_identities.period,
    coalesce(described.status, 'missing') as status,
    coalesce(described.versions_received, 0) as versions_received,
    described.submission_id as latest_submission_id,
    described.arrival_date as latest_received_on,
    periods.deadline,
    described.arrival_date <= periods.deadline as on_time,
    described.error_count,
    described.warning_count,
    case
        when described.submission_id is not null then estimates.submission_id is not null
    end as is_estimate
from report_identities
left join described
    on report_identities.unit_id = described.unit_id
        and report_identities.year = described.year
        and report_identities.period = described.period
left join periods
    on report_identities.year = periods.year
        and report_identities.period = periods.period
left join estimates
    on described.submission_id = estimates.submission_id
