with

source as (

    select * from {{ ref('unit_succession_2025') }}

),

renamed as (

    select

        ----------  ids
        from_unit_id,
        to_unit_id,

        ---------- dates
        cast(effective_date as date) as effective_date

    from source

)

select * from renamed
