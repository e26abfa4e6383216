-- Units expected to report per year × period: every unit of the period's era, for each
-- year × period that has at least one report from any unit; with the unit's region and
-- the latest accepted submission, if any.
with

periods as (

    select * from {{ ref('int_periods_reported') }}

),

units as (

    select * from {{ ref('stg_reference__units') }}

),

latest_accepted as (

    select * from {{ ref('int_latest_accepted_reports') }}

)

select
    units.unit_id,
    periods.year,
    periods.period,
    periods.period_months,
    periods.era,
    units.region_code,
    periods.deadline,
    latest_accepted.submission_id as latest_accepted_submission_id,
    latest_accepted.submission_id is not null as has_accepted_report
from periods
inner join units
    on periods.era = units.era
left join latest_accepted
    on units.unit_id = latest_accepted.unit_id
        and periods.year = latest_accepted.year
        and periods.period = latest_accepted.period
