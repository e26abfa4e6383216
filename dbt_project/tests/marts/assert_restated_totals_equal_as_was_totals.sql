-- Restating on the 34 current provinces moves rows between units but never changes a total:
-- per year, period and source (indicator), funding_by_current_unit (outcomes_by_current_unit)
-- sums to the same as fct_funding (fct_outcomes). Returns the totals that differ.
with

funding_as_was as (

    select
        year,
        period,
        funding_source as item,
        sum(plan_initial_mvnd) as a,
        sum(plan_adjusted_mvnd) as b,
        sum(allocated_mvnd) as c,
        sum(executed_mvnd) as d,
        sum(project_count) as e
    from {{ ref('fct_funding') }}
    group by year, period, funding_source

),

funding_restated as (

    select
        year,
        period,
        funding_source as item,
        sum(plan_initial_mvnd) as a,
        sum(plan_adjusted_mvnd) as b,
        sum(allocated_mvnd) as c,
        sum(executed_mvnd) as d,
        sum(project_count) as e
    from {{ ref('funding_by_current_unit') }}
    group by year, period, funding_source

),

outcomes_as_was as (

    select
        year,
        period,
        indicator_code as item,
        sum(target_value) as a,
        sum(actual_value) as b
    from {{ ref('fct_outcomes') }}
    group by year, period, indicator_code

),

outcomes_restated as (

    select
        year,
        period,
        indicator_code as item,
        sum(target_value) as a,
        sum(actual_value) as b
    from {{ ref('outcomes_by_current_unit') }}
    group by year, period, indicator_code

)

select
    'funding' as fact,
    coalesce(w.year, r.year) as year,
    coalesce(w.period, r.period) as period,
    coalesce(w.item, r.item) as item
from funding_as_was as w
full outer join funding_restated as r
    on w.year = r.year and w.period = r.period and w.item = r.item
where w.year is null or r.year is null
    or coalesce(w.a, -1) <> coalesce(r.a, -1)
    or coalesce(w.b, -1) <> coalesce(r.b, -1)
    or coalesce(w.c, -1) <> coalesce(r.c, -1)
    or coalesce(w.d, -1) <> coalesce(r.d, -1)
    or coalesce(w.e, -1) <> coalesce(r.e, -1)

union all

select
    'outcomes' as fact,
    coalesce(w.year, r.year) as year,
    coalesce(w.period, r.period) as period,
    coalesce(w.item, r.item) as item
from outcomes_as_was as w
full outer join outcomes_restated as r
    on w.year = r.year and w.period = r.period and w.item = r.item
where w.year is null or r.year is null
    or coalesce(w.a, -1) <> coalesce(r.a, -1)
    or coalesce(w.b, -1) <> coalesce(r.b, -1)
