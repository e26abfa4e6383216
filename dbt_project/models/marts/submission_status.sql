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

-- the version the status describes: the latest accepted one, else the latest refused one
described_versions as (

    select
        submission_id,
        unit_id,
        year,
        period,
        status,
        versions_received,
        arrival_date,
        error_count,
        warning_count,
        row_number() over (
            partition by unit_id, year, period
            order by case when is_accepted then 0 else 1 end, version_rank
        ) as description_rank
    from submissions

),

described as (

    select * from described_versions
    where description_rank = 1

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
