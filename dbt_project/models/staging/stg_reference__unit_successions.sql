with

source as (

    select * from {{ ref('unit_succession_2025') }}

),

successors as (

    select * from {{ ref('stg_reference__units') }}

),

renamed as (

    select

        ----------  ids
        source.from_unit_id,
        source.to_unit_id,

        ---------- dates: the succession takes effect when the successor's era begins
        successors.valid_from as effective_date

    from source
    left join successors
        on source.to_unit_id = successors.unit_id

)

select * from renamed
