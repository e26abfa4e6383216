-- Every era-63 unit has exactly one successor, and every successor is an era-34 unit.
with era_63 as (
    select unit_id from {{ ref('units') }}
    where era = 63
),

successions as (
    select
        s.from_unit_id,
        s.to_unit_id,
        f.era as from_era,
        t.era as to_era
    from {{ ref('unit_succession_2025') }} as s
    left join {{ ref('units') }} as f on s.from_unit_id = f.unit_id
    left join {{ ref('units') }} as t on s.to_unit_id = t.unit_id
),

per_unit as (
    select
        u.unit_id,
        count(s.from_unit_id) as n_successors
    from era_63 as u
    left join successions as s on u.unit_id = s.from_unit_id
    group by u.unit_id
)

select
    unit_id,
    {{ dbt.concat(["'successor count '", dbt.safe_cast('n_successors', dbt.type_string())]) }} as problem
from per_unit
where n_successors <> 1

union all

select
    from_unit_id,
    {{ dbt.concat(["'successor '", 'to_unit_id', "' is not an era-34 unit'"]) }}
from successions
where to_era is null or to_era <> 34 or from_era is null or from_era <> 63
