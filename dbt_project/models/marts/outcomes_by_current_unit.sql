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
        sum(outcomes.target_value) as target_value,
        sum(outcomes.actual_value) as actual_value
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

select
    cast(unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(year as {{ dbt.type_int() }}) as year,
    cast(period as {{ dbt.type_string() }}) as period,
    cast(period_months as {{ dbt.type_int() }}) as period_months,
    cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
    cast(target_value as {{ kc_type_money() }}) as target_value,
    cast(actual_value as {{ kc_type_money() }}) as actual_value
from restated
