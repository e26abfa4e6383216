with

source as (

    select * from {{ ref('periods') }}

),

renamed as (

    select

        ----------  ids
        period,

        ---------- numerics
        cast(months as {{ dbt.type_int() }}) as period_months,

        ---------- labels
        label_vi,
        label_en

    from source

)

select * from renamed
