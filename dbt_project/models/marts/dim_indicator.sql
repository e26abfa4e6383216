with

indicators as (

    select * from {{ ref('stg_reference__indicators') }}

)

select
    indicator_code,
    name_vi,
    unit_vi,
    name_en,
    unit_en
from indicators
