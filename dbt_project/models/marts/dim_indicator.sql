with

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

)

select
    cast(indicator_code as {{ dbt.type_string() }}) as indicator_code,
    cast(name_vi as {{ dbt.type_string() }}) as name_vi,
    cast(unit_vi as {{ dbt.type_string() }}) as unit_vi,
    cast(name_en as {{ dbt.type_string() }}) as name_en,
    cast(unit_en as {{ dbt.type_string() }}) as unit_en
from indicators
