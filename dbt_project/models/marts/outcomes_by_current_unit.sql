-- fct_outcomes restated on the 34 provinces formed on 2025-07-01: rows of an era-63 unit are
-- summed into its successor. submission_id is dropped (a restated row can combine several).
with

outcomes as (

    select * from {{ ref('fct_outcomes') }}

),

current_units as (

    select * from {{ ref('int_units_mapped_to_current') }}

),

restated as (

    select
        current_units.current_unit_id as unit_id,
        outcomes.year,
        outcomes.period,
        outcomes.period_months,
        outcomes.indicator_code,
        cast(sum(outcomes.target_value) as {{ kc_type_money() }}) as target_value,
        cast(sum(outcomes.actual_value) as {{ kc_type_money() }}) as actual_value
    from outcomes
    inner join current_units
        on outcomes.unit_id = current_units.unit_id
    group by
        current_units.current_unit_id,
        outcomes.year,
        outcomes.period,
        outcomes.period_months,
        outcomes.indicator_code

)

select * from restated
