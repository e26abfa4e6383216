-- Year × period combinations for which at least one unit sent a report (accepted or refused),
-- with the era of the period and its deadline from the reporting_deadlines seed.
with

periods as (

    select distinct
        year,
        period,
        period_months
    from {{ ref('int_submissions_ranked') }}

),

deadlines as (

    select * from {{ ref('stg_reference__reporting_deadlines') }}

)

select
    periods.year,
    periods.period,
    periods.period_months,
    {{ kc_era_for('periods.year', 'periods.period_months') }} as era,
    {{ kc_make_date(
        'periods.year + deadlines.deadline_year_offset',
        'deadlines.deadline_month',
        'deadlines.deadline_day') }} as deadline
from periods
left join deadlines
    on periods.period = deadlines.period
