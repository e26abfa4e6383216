with

source as (

    select * from {{ source('raw', 'funding_rows') }}

),

renamed as (

    select

        ----------  ids
        submission_id,
        sheet,
        source_row,
        funding_source,

        ---------- numerics
        cast(plan_initial_mvnd as {{ kc_type_money() }}) as plan_initial_mvnd,
        cast(plan_adjusted_mvnd as {{ kc_type_money() }}) as plan_adjusted_mvnd,
        cast(allocated_mvnd as {{ kc_type_money() }}) as allocated_mvnd,
        cast(executed_mvnd as {{ kc_type_money() }}) as executed_mvnd,
        cast(project_count as {{ dbt.type_int() }}) as project_count

    from source

)

select * from renamed
