with

source as (

    select * from {{ source('raw', 'outcome_rows') }}

),

renamed as (

    select

        ----------  ids
        submission_id,
        sheet,
        source_row,
        indicator_code,
        unit_label,

        ---------- numerics
        cast(target_value as {{ kc_type_money() }}) as target_value,
        cast(actual_value as {{ kc_type_money() }}) as actual_value

    from source

)

select * from renamed
