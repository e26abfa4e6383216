-- Region sizes per era: 28/15/20 (era 63) and 18/8/8 (era 34). Returns the regions that differ.
with expected as (
    select region_sizes.* from (
        values
        (63, 'BAC', 28),
        (63, 'MTTN', 15),
        (63, 'NAM', 20),
        (34, 'BAC', 18),
        (34, 'MTTN', 8),
        (34, 'NAM', 8)
    ) as region_sizes (era, region_code, n_units)
),

actual as (
    select
        era,
        region_code,
        count(*) as n_units
    from {{ ref('units') }}
    group by era, region_code
)

select
    coalesce(e.era, a.era) as era,
    coalesce(e.region_code, a.region_code) as region_code,
    e.n_units as expected_units,
    a.n_units as actual_units
from expected as e
full outer join actual as a
    on e.era = a.era and e.region_code = a.region_code
where e.n_units is null or a.n_units is null or e.n_units <> a.n_units
