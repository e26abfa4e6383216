with

source as (

    select * from {{ ref('reporting_deadlines') }}

),

renamed as (

    select

        ----------  ids
        period,

        ---------- numerics
        cast(deadline_month as {{ dbt.type_int() }}) as deadline_month,
        cast(deadline_day as {{ dbt.type_int() }}) as deadline_day,
        cast(deadline_year_offset as {{ dbt.type_int() }}) as deadline_year_offset

    from source

)

select * from renamed
