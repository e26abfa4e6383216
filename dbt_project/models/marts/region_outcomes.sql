-- Outcomes by conference region (BAC, MTTN, NAM) and the whole country (CA_NUOC), per year ×
-- period × indicator. A region row sums the units that belonged to the region in the period's era.
with

-- each unit counts in its region and in the whole country
scoped_units as (

    select * from {{ ref('int_units_scoped_to_regions') }}

),

outcomes as (

    select * from {{ ref('fct_outcomes') }}

),

indicators as (

    select indicator_code from {{ ref('stg_reference__indicators') }}

),

aggregated as (

    select
        scoped_units.region_code,
        scoped_units.year,
        scoped_units.period,
        indicators.indicator_code,
        cast(
            count(distinct case when scoped_units.has_accepted_report then scoped_units.unit_id end)
            as {{ dbt.type_int() }}
        ) as units_reported,
        cast(sum(outcomes.target_value) as {{ kc_type_money() }}) as target_value,
        cast(sum(outcomes.actual_value) as {{ kc_type_money() }}) as actual_value
    from scoped_units
    cross join indicators
    left join outcomes
        on scoped_units.unit_id = outcomes.unit_id
            and scoped_units.year = outcomes.year
            and scoped_units.period = outcomes.period
            and indicators.indicator_code = outcomes.indicator_code
    group by
        scoped_units.region_code,
        scoped_units.year,
        scoped_units.period,
        indicators.indicator_code

)

select
    region_code,
    year,
    period,
    indicator_code,
    units_reported,
    target_value,
    actual_value,
    {{ kc_pct('actual_value', 'target_value') }} as achievement_pct
from aggregated
