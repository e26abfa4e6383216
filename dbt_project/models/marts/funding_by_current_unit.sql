-- fct_funding restated on the 34 provinces formed on 2025-07-01: rows of an era-63 unit are
-- summed into its successor, so series run unbroken across the merger. submission_id is
-- dropped (a restated row can combine several submissions).
with

funding as (

    select * from {{ ref('fct_funding') }}

),

current_units as (

    select * from {{ ref('int_units_mapped_to_current') }}

),

restated as (

    select
        current_units.current_unit_id as unit_id,
        funding.year,
        funding.period,
        funding.period_months,
        funding.funding_source,
        sum(funding.plan_initial_mvnd) as plan_initial_mvnd,
        sum(funding.plan_adjusted_mvnd) as plan_adjusted_mvnd,
        sum(funding.allocated_mvnd) as allocated_mvnd,
        sum(funding.executed_mvnd) as executed_mvnd,
        sum(funding.project_count) as project_count
    from funding
    inner join current_units
        on funding.unit_id = current_units.unit_id
    group by
        current_units.current_unit_id,
        funding.year,
        funding.period,
        funding.period_months,
        funding.funding_source

)

select
    cast(unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(year as {{ dbt.type_int() }}) as year,
    cast(period as {{ dbt.type_string() }}) as period,
    cast(period_months as {{ dbt.type_int() }}) as period_months,
    cast(funding_source as {{ dbt.type_string() }}) as funding_source,
    cast(plan_initial_mvnd as {{ kc_type_money() }}) as plan_initial_mvnd,
    cast(plan_adjusted_mvnd as {{ kc_type_money() }}) as plan_adjusted_mvnd,
    cast(allocated_mvnd as {{ kc_type_money() }}) as allocated_mvnd,
    cast(executed_mvnd as {{ kc_type_money() }}) as executed_mvnd,
    cast(project_count as {{ dbt.type_int() }}) as project_count
from restated
