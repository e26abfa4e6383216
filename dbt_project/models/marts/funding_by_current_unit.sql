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
        cast(sum(funding.plan_initial_mvnd) as {{ kc_type_money() }}) as plan_initial_mvnd,
        cast(sum(funding.plan_adjusted_mvnd) as {{ kc_type_money() }}) as plan_adjusted_mvnd,
        cast(sum(funding.allocated_mvnd) as {{ kc_type_money() }}) as allocated_mvnd,
        cast(sum(funding.executed_mvnd) as {{ kc_type_money() }}) as executed_mvnd,
        cast(sum(funding.project_count) as {{ dbt.type_int() }}) as project_count
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

select * from restated
