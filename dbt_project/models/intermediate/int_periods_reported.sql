-- Year × period combinations for which at least one unit sent a report (accepted or refused),
-- with the era of the period (seed eras: the first era not yet ended on the period's last day)
-- and its deadline from the reporting_deadlines seed.
with

periods as (

    select distinct
        year,
        period,
        period_months,
        {{ kc_period_end('year', 'period_months') }} as period_end
    from {{ ref('int_submissions_ranked') }}

),

eras as (

    select * from {{ ref('stg_reference__eras') }}

),

deadlines as (

    select * from {{ ref('stg_reference__reporting_deadlines') }}

)

select
    periods.year,
    periods.period,
    periods.period_months,
    eras.era,
    {{ kc_make_date(
        'periods.year + deadlines.deadline_year_offset',
        'deadlines.deadline_month',
        'deadlines.deadline_day') }} as deadline
from periods
inner join eras
    on (eras.starts_on is null or periods.period_end >= eras.starts_on)
        and (eras.valid_to is null or periods.period_end <= eras.valid_to)
left join deadlines
    on periods.period = deadlines.period
