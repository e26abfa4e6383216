with

source as (

    select * from {{ source('raw', 'project_rows') }}

),

renamed as (

    select

        ----------  ids
        submission_id,
        sheet,
        source_row,
        project_code,
        project_name,
        funding_source,
        activity,
        status as project_status,

        ---------- numerics
        cast(approved_mvnd as {{ kc_type_money() }}) as approved_mvnd,
        cast(executed_mvnd as {{ kc_type_money() }}) as executed_mvnd,
        cast(beneficiaries as {{ dbt.type_int() }}) as beneficiaries

    from source

)

select * from renamed
