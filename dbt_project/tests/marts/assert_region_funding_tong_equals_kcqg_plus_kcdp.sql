-- TONG = KCQG + KCDP for every region, year and period. Returns the rows that differ.
with

funding as (

    select * from {{ ref('region_funding') }}

),

components as (

    select
        region_code,
        year,
        period,
        sum(plan_initial_mvnd) as plan_initial_mvnd,
        sum(plan_adjusted_mvnd) as plan_adjusted_mvnd,
        sum(allocated_mvnd) as allocated_mvnd,
        sum(executed_mvnd) as executed_mvnd
    from funding
    where funding_source in ('KCQG', 'KCDP')
    group by region_code, year, period

),

totals as (

    select * from funding
    where funding_source = 'TONG'

)

select
    totals.region_code,
    totals.year,
    totals.period
from totals
left join components
    on totals.region_code = components.region_code
        and totals.year = components.year
        and totals.period = components.period
where components.region_code is null
    or coalesce(totals.plan_initial_mvnd, -1) <> coalesce(components.plan_initial_mvnd, -1)
    or coalesce(totals.plan_adjusted_mvnd, -1) <> coalesce(components.plan_adjusted_mvnd, -1)
    or coalesce(totals.allocated_mvnd, -1) <> coalesce(components.allocated_mvnd, -1)
    or coalesce(totals.executed_mvnd, -1) <> coalesce(components.executed_mvnd, -1)
