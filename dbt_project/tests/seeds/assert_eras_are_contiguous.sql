-- The eras follow each other day by day, and only the newest is open-ended.
-- Returns the eras that break this.
with eras as (
    select
        era,
        cast(valid_from as date) as valid_from,
        cast(valid_to as date) as valid_to,
        lead(cast(valid_from as date)) over (
            order by cast(valid_from as date)
        ) as next_valid_from
    from {{ ref('eras') }}
)

select
    era,
    'ends before it begins' as problem
from eras
where valid_to < valid_from

union all

select
    era,
    'open-ended but not the newest era' as problem
from eras
where valid_to is null and next_valid_from is not null

union all

select
    era,
    'the newest era must be open-ended' as problem
from eras
where valid_to is not null and next_valid_from is null

union all

select
    era,
    'the next era does not begin the day after this one ends' as problem
from eras
where valid_to is not null
    and next_valid_from is not null
    and next_valid_from <> cast({{ dbt.dateadd('day', '1', 'valid_to') }} as date)
