-- Each unit mapped to the era-34 unit it belongs to today: an era-63 unit to its 2025
-- successor, an era-34 unit to itself. Used to restate earlier years on the 34 provinces.
with

units as (

    select * from {{ ref('stg_reference__units') }}

),

successions as (

    select * from {{ ref('stg_reference__unit_successions') }}

)

select
    units.unit_id,
    units.era,
    case when units.era = 34 then units.unit_id else successions.to_unit_id end as current_unit_id
from units
left join successions
    on units.unit_id = successions.from_unit_id
