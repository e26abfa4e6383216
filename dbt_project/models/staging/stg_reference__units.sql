with

source as (

    select * from {{ ref('units') }}

),

eras as (

    select * from {{ ref('stg_reference__eras') }}

),

renamed as (

    select

        ----------  ids
        source.unit_id,
        cast(source.era as {{ dbt.type_int() }}) as era,
        source.code,
        source.name as unit_name,
        source.region_code,

        ---------- dates: a unit exists for its era (seed eras, the one copy of the boundary)
        eras.valid_from,
        eras.valid_to

    from source
    inner join eras
        on cast(source.era as {{ dbt.type_int() }}) = eras.era

)

select * from renamed
