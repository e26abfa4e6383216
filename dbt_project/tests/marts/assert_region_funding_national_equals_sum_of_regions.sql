-- CA_NUOC (whole country) equals the sum of BAC, MTTN and NAM for every year, period and
-- source, amounts and unit counts. Returns the rows that differ.
with

regions as (

    select
        year,
        period,
        funding_source,
        sum(units_expected) as units_expected,
        sum(units_reported) as units_reported,
        sum(plan_initial_mvnd) as plan_initial_mvnd,
        sum(plan_adjusted_mvnd) as plan_adjusted_mvnd,
        sum(allocated_mvnd) as allocated_mvnd,
        sum(executed_mvnd) as executed_mvnd
    from {{ ref('region_funding') }}
    where region_code in ('BAC', 'MTTN', 'NAM')
    group by year, period, funding_source

),

national as (

    select * from {{ ref('region_funding') }}
    where region_code = 'CA_NUOC'

)

select
    coalesce(national.year, regions.year) as year,
    coalesce(national.period, regions.period) as period,
    coalesce(national.funding_source, regions.funding_source) as funding_source
from national
full outer join regions
    on national.year = regions.year
        and national.period = regions.period
        and national.funding_source = regions.funding_source
where national.year is null
    or regions.year is null
    or national.units_expected <> regions.units_expected
    or national.units_reported <> regions.units_reported
    or coalesce(national.plan_initial_mvnd, -1) <> coalesce(regions.plan_initial_mvnd, -1)
    or coalesce(national.plan_adjusted_mvnd, -1) <> coalesce(regions.plan_adjusted_mvnd, -1)
    or coalesce(national.allocated_mvnd, -1) <> coalesce(regions.allocated_mvnd, -1)
    or coalesce(national.executed_mvnd, -1) <> coalesce(regions.executed_mvnd, -1)
