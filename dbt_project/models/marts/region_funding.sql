-- Funding by conference region (BAC, MTTN, NAM) and the whole country (CA_NUOC), per year ×
-- period × funding source, plus TONG = KCQG + KCDP. A region row sums the units that belonged
-- to the region in the period's era; a year × period appears once any unit has reported it.
with

-- each unit counts in its region and in the whole country
scoped_units as (

    select * from {{ ref('int_units_scoped_to_regions') }}

),

funding as (

    select * from {{ ref('fct_funding') }}

),

funding_sources as (

    select funding_source from {{ ref('stg_reference__funding_sources') }}

),

-- a reported source rolls up into itself, and KCQG / KCDP also into TONG
source_rollup as (

    select
        funding_source as reported_source,
        funding_source
    from funding_sources

    union all

    select
        funding_source as reported_source,
        'TONG' as funding_source
    from funding_sources
    where funding_source in ('KCQG', 'KCDP')

),

output_sources as (

    select distinct funding_source from source_rollup

),

funding_rolled_up as (

    select
        funding.unit_id,
        funding.year,
        funding.period,
        source_rollup.funding_source,
        funding.plan_initial_mvnd,
        funding.plan_adjusted_mvnd,
        funding.allocated_mvnd,
        funding.executed_mvnd
    from funding
    inner join source_rollup
        on funding.funding_source = source_rollup.reported_source

),

aggregated as (

    select
        scoped_units.region_code,
        scoped_units.year,
        scoped_units.period,
        scoped_units.period_months,
        output_sources.funding_source,
        cast(count(distinct scoped_units.unit_id) as {{ dbt.type_int() }}) as units_expected,
        cast(
            count(distinct case when scoped_units.has_accepted_report then scoped_units.unit_id end)
            as {{ dbt.type_int() }}
        ) as units_reported,
        cast(sum(funding_rolled_up.plan_initial_mvnd) as {{ kc_type_money() }}) as plan_initial_mvnd,
        cast(sum(funding_rolled_up.plan_adjusted_mvnd) as {{ kc_type_money() }}) as plan_adjusted_mvnd,
        cast(sum(funding_rolled_up.allocated_mvnd) as {{ kc_type_money() }}) as allocated_mvnd,
        cast(sum(funding_rolled_up.executed_mvnd) as {{ kc_type_money() }}) as executed_mvnd
    from scoped_units
    cross join output_sources
    left join funding_rolled_up
        on scoped_units.unit_id = funding_rolled_up.unit_id
            and scoped_units.year = funding_rolled_up.year
            and scoped_units.period = funding_rolled_up.period
            and output_sources.funding_source = funding_rolled_up.funding_source
    group by
        scoped_units.region_code,
        scoped_units.year,
        scoped_units.period,
        scoped_units.period_months,
        output_sources.funding_source

),

-- the latest period of each region and year with at least one accepted report (CN if present)
latest_period_per_year as (

    select
        region_code,
        year,
        max(period_months) as period_months
    from aggregated
    where units_reported > 0
    group by region_code, year

),

year_plans as (

    select
        aggregated.region_code,
        aggregated.year,
        aggregated.funding_source,
        aggregated.plan_initial_mvnd
    from aggregated
    inner join latest_period_per_year
        on aggregated.region_code = latest_period_per_year.region_code
            and aggregated.year = latest_period_per_year.year
            and aggregated.period_months = latest_period_per_year.period_months

),

national as (

    select
        year,
        period,
        funding_source,
        executed_mvnd
    from aggregated
    where region_code = 'CA_NUOC'

)

select
    aggregated.region_code,
    aggregated.year,
    aggregated.period,
    aggregated.funding_source,
    aggregated.units_expected,
    aggregated.units_reported,
    aggregated.plan_initial_mvnd,
    aggregated.plan_adjusted_mvnd,
    aggregated.allocated_mvnd,
    aggregated.executed_mvnd,
    {{ kc_pct('aggregated.executed_mvnd', 'aggregated.plan_adjusted_mvnd') }} as execution_rate_pct,
    {{ kc_pct('aggregated.allocated_mvnd', 'aggregated.plan_adjusted_mvnd') }} as allocation_rate_pct,
    {{ kc_growth_pct('aggregated.plan_initial_mvnd', 'previous_year.plan_initial_mvnd') }}
        as plan_growth_pct,
    {{ kc_pct('aggregated.executed_mvnd', 'national.executed_mvnd') }}
        as executed_share_of_national_pct
from aggregated
left join year_plans as previous_year
    on aggregated.region_code = previous_year.region_code
        and aggregated.funding_source = previous_year.funding_source
        and aggregated.year - 1 = previous_year.year
left join national
    on aggregated.year = national.year
        and aggregated.period = national.period
        and aggregated.funding_source = national.funding_source
