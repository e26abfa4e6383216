-- The version the facts use for each report (unit × year × period): the latest accepted one in
-- int_submissions_ranked's version order. A refused resubmission never supersedes it; a report
-- with no accepted version has no row.
with

accepted_versions as (

    select
        submission_id,
        unit_id,
        year,
        period,
        period_months,
        row_number() over (
            partition by unit_id, year, period
            order by version_rank
        ) as accepted_version_rank
    from {{ ref('int_submissions_ranked') }}
    where is_accepted

)

select
    submission_id,
    unit_id,
    year,
    period,
    period_months
from accepted_versions
where accepted_version_rank = 1
