-- `starts_on` is NULL for the oldest era: it also covers the years before it began
-- (reports from 2005 on use the 63 provinces), so only its end is a boundary.
with

source as (

    select * from {{ ref('eras') }}

),

first_era as (

    select min(cast(oldest.valid_from as date)) as valid_from from source as oldest

),

renamed as (

    select

        ----------  ids
        cast(source.era as {{ dbt.type_int() }}) as era,

        ---------- dates
        cast(source.valid_from as date) as valid_from,
        cast(source.valid_to as date) as valid_to,
        case
            when cast(source.valid_from as date) > first_era.valid_from
                then cast(source.valid_from as date)
        end as starts_on,

        ---------- labels
        source.label_vi,
        source.label_en

    from source
    cross join first_era

)

select * from renamed
