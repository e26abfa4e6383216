-- One row per distinct file received. Personal data (preparer_*) stays in raw.
with

source as (

    select * from {{ source('raw', 'submissions') }}

),

renamed as (

    select

        ----------  ids
        submission_id,
        sha256,
        unit_id,
        cast(year as {{ dbt.type_int() }}) as year,
        upper(trim(period)) as period,
        status,
        path,
        file_name,
        unit_name_in_file,
        money_unit,

        ---------- numerics
        cast(period_months as {{ dbt.type_int() }}) as period_months,
        file_size,
        error_count,
        warning_count,
        funding_row_count,
        outcome_row_count,
        project_row_count,

        ---------- dates
        arrival_date,
        report_date,
        loaded_at

    from source

)

select * from renamed
