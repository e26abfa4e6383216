with

source as (

    select * from {{ ref('units') }}

),

renamed as (

    select

        ----------  ids
        unit_id,
        cast(era as {{ dbt.type_int() }}) as era,
        code,
        name as unit_name,
        region_code,

        ---------- dates
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to

    from source

)

select * from renamed
