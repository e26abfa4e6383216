with

units as (

    select * from {{ ref('stg_reference__units') }}

),

regions as (

    select * from {{ ref('stg_reference__regions') }}

),

successions as (

    select * from {{ ref('stg_reference__unit_successions') }}

)

select
    cast(units.unit_id as {{ dbt.type_string() }}) as unit_id,
    cast(units.era as {{ dbt.type_int() }}) as era,
    cast(units.code as {{ dbt.type_string() }}) as code,
    cast(units.unit_name as {{ dbt.type_string() }}) as name,
    cast(units.region_code as {{ dbt.type_string() }}) as region_code,
    cast(regions.region_name_vi as {{ dbt.type_string() }}) as region_name,
    cast(units.valid_from as date) as valid_from,
    cast(units.valid_to as date) as valid_to,
    cast(successions.to_unit_id as {{ dbt.type_string() }}) as successor_unit_id
from units
left join regions
    on units.region_code = regions.region_code
left join successions
    on units.unit_id = successions.from_unit_id
