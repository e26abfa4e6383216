-- Each expected unit of a year × period once in its region (in the period's era) and once in
-- the whole country (CA_NUOC): the scope the region marts sum over.
with

expected_units as (

    select * from {{ ref('int_units_expected') }}

)

select
    region_code,
    unit_id,
    year,
    period,
    period_months,
    has_accepted_report
from expected_units

union all

select
    'CA_NUOC' as region_code,
    unit_id,
    year,
    period,
    period_months,
    has_accepted_report
from expected_units
