-- region_outcomes: each region row equals the sum of its era's units in fct_outcomes, and
-- CA_NUOC equals the sum of the three regions. Returns the rows that differ.
with

periods as (

    select
        year,
        period,
        era
    from {{ ref('int_periods_reported') }}

),

unit_sums as (

    select
        units.region_code,
        outcomes.year,
        outcomes.period,
        outcomes.indicator_code,
        sum(outcomes.target_value) as target_value,
        sum(outcomes.actual_value) as actual_value
    from {{ ref('fct_outcomes') }} as outcomes
    inner join periods
        on outcomes.year = periods.year and outcomes.period = periods.period
    inner join {{ ref('dim_unit') }} as units
        on outcomes.unit_id = units.unit_id and periods.era = units.era
    group by units.region_code, outcomes.year, outcomes.period, outcomes.indicator_code

),

region_rows as (

    select * from {{ ref('region_outcomes') }}
    where region_code <> 'CA_NUOC'

),

national_from_regions as (

    select
        year,
        period,
        indicator_code,
        sum(units_reported) as units_reported,
        sum(target_value) as target_value,
        sum(actual_value) as actual_value
    from region_rows
    group by year, period, indicator_code

),

national as (

    select * from {{ ref('region_outcomes') }}
    where region_code = 'CA_NUOC'

)

select
    region_rows.region_code,
    region_rows.year,
    region_rows.period,
    region_rows.indicator_code
from region_rows
left join unit_sums
    on region_rows.region_code = unit_sums.region_code
        and region_rows.year = unit_sums.year
        and region_rows.period = unit_sums.period
        and region_rows.indicator_code = unit_sums.indicator_code
where coalesce(region_rows.target_value, -1) <> coalesce(unit_sums.target_value, -1)
    or coalesce(region_rows.actual_value, -1) <> coalesce(unit_sums.actual_value, -1)

union all

select
    'CA_NUOC' as region_code,
    national.year,
    national.period,
    national.indicator_code
from national
left join national_from_regions as sums
    on national.year = sums.year
        and national.period = sums.period
        and national.indicator_code = sums.indicator_code
where sums.year is null
    or national.units_reported <> sums.units_reported
    or coalesce(national.target_value, -1) <> coalesce(sums.target_value, -1)
    or coalesce(national.actual_value, -1) <> coalesce(sums.actual_value, -1)
