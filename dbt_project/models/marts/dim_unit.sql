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
    units.unit_id,
    units.era,
    units.code,
    units.unit_name as name,
    units.region_code,
    regions.region_name_vi as region_name,
    units.valid_from,
    units.valid_to,
    successions.to_unit_id as successor_unit_id
from units
left join regions
    on units.region_code = regions.region_code
left join successions
    on units.unit_id = successions.from_unit_id
