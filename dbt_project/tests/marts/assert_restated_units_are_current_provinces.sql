-- Restated facts only carry the 34 provinces formed on 2025-07-01.
select
    'funding_by_current_unit' as model,
    restated.unit_id
from {{ ref('funding_by_current_unit') }} as restated
left join {{ ref('dim_unit') }} as units on restated.unit_id = units.unit_id
where units.era is null or units.era <> 34

union all

select
    'outcomes_by_current_unit' as model,
    restated.unit_id
from {{ ref('outcomes_by_current_unit') }} as restated
left join {{ ref('dim_unit') }} as units on restated.unit_id = units.unit_id
where units.era is null or units.era <> 34
