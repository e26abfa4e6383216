with

source as (

    select * from {{ source('raw', 'findings') }}

),

renamed as (

    select

        ----------  ids
        submission_id,
        rule,
        severity,
        sheet,
        column_name,
        value as found_value,
        expected as expected_value,
        message_vi,
        message_en,

        ---------- numerics
        source_row

    from source

)

select * from renamed
