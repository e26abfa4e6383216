with

source as (

    select * from {{ ref('indicators') }}

),

renamed as (

    select

        ----------  ids
        indicator_code,
        name_vi,
        unit_vi,
        name_en,
        unit_en,

        ---------- flags
        cumulative as is_cumulative

    from source

)

select * from renamed
