-- Each region row (BAC, MTTN, NAM) equals the sum of the units that belonged to the region
-- in the period's era, recomputed from fct_funding and dim_unit; units_reported equals the
-- region's accepted reports in submission_status. Returns the rows that differ.
-- Amounts are never negative, so -1 stands for "no value" in the comparison.
with

periods as (

    select
        year,
        period,
        era
    from {{ ref('int_periods_reported') }}

),

units as (

    select
        unit_id,
        era,
        region_code
    from {{ ref('dim_unit') }}

),

unit_sums as (

    select
        units.region_code,
        funding.year,
        funding.period,
        funding.funding_source,
        sum(funding.plan_initial_mvnd) as plan_initial_mvnd,
        sum(funding.plan_adjusted_mvnd) as plan_adjusted_mvnd,
        sum(funding.allocated_mvnd) as allocated_mvnd,
        sum(funding.executed_mvnd) as executed_mvnd
    from {{ ref('fct_funding') }} as funding
    inner join periods
        on funding.year = periods.year and funding.period = periods.period
    inner join units
        on funding.unit_id = units.unit_id and periods.era = units.era
    group by units.region_code, funding.year, funding.period, funding.funding_source

),

reported as (

    select
        units.region_code,
        status.year,
        status.period,
        count(*) as units_reported
    from {{ ref('submission_status') }} as status
    inner join periods
        on status.year = periods.year and status.period = periods.period
    inner join units
        on status.unit_id = units.unit_id and periods.era = units.era
    where status.status in ('accepted', 'accepted_with_warnings')
    group by units.region_code, status.year, status.period

),

regions as (

    select * from {{ ref('region_funding') }}
    where region_code <> 'CA_NUOC' and funding_source <> 'TONG'

)

select
    regions.region_code,
    regions.year,
    regions.period,
    regions.funding_source
from regions
left join unit_sums
    on regions.region_code = unit_sums.region_code
        and regions.year = unit_sums.year
        and regions.period = unit_sums.period
        and regions.funding_source = unit_sums.funding_source
left join reported
    on regions.region_code = reported.region_code
        and regions.year = reported.year
        and regions.period = reported.period
where coalesce(regions.plan_initial_mvnd, -1) <> coalesce(unit_sums.plan_initial_mvnd, -1)
    or coalesce(regions.plan_adjusted_mvnd, -1) <> coalesce(unit_sums.plan_adjusted_mvnd, -1)
    or coalesce(regions.allocated_mvnd, -1) <> coalesce(unit_sums.allocated_mvnd, -1)
    or coalesce(regions.executed_mvnd, -1) <> coalesce(unit_sums.executed_mvnd, -1)
    or regions.units_reported <> coalesce(reported.units_reported, 0)

union all

-- and no unit row is left out of its region
select
    unit_sums.region_code,
    unit_sums.year,
    unit_sums.period,
    unit_sums.funding_source
from unit_sums
left join regions
    on unit_sums.region_code = regions.region_code
        and unit_sums.year = regions.year
        and unit_sums.period = regions.period
        and unit_sums.funding_source = regions.funding_source
where regions.region_code is null
