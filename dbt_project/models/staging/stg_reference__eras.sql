-- `starts_on` is NULL for the oldest era: it also covers the years before it began
-- (reports from 2005 on use the 63 provinces), so only its end is a boundary.
with

source as (

    select * from {{ ref('eras') }}

),

renamed as (

    select

        ----------  ids
        cast(era as {{ dbt.type_int() }}) as era,

        ---------- dates
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        case
            when cast(valid_from as date) > (select min(cast(valid_from as date)) from source)
                then cast(valid_from as date)
        end as starts_on,

        ---------- labels
        label_vi,
        label_en

    from source

)

select * from renamed
