with

source as (

    select * from {{ ref('funding_sources') }}

),

renamed as (

    select

        ----------  ids
        funding_source,
        name_vi,
        name_en

    from source

)

select * from renamed
