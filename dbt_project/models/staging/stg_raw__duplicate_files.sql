with

source as (

    select * from {{ source('raw', 'duplicate_files') }}

),

renamed as (

    select

        ----------  ids
        path,
        sha256,
        submission_id,

        ---------- dates
        arrival_date,
        loaded_at

    from source

)

select * from renamed
