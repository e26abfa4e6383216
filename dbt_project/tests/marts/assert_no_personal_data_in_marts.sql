-- depends_on: {{ ref("dim_unit") }}
-- depends_on: {{ ref("dim_indicator") }}
-- depends_on: {{ ref("fct_funding") }}
-- depends_on: {{ ref("fct_outcomes") }}
-- depends_on: {{ ref("fct_projects") }}
-- depends_on: {{ ref("region_funding") }}
-- depends_on: {{ ref("region_outcomes") }}
-- depends_on: {{ ref("submission_status") }}
-- depends_on: {{ ref("funding_by_current_unit") }}
-- depends_on: {{ ref("outcomes_by_current_unit") }}
-- Personal data (preparer name, phone, email) never reaches the marts schema.
-- duckdb-specific: information_schema column listing of the built database (standard view,
-- but schema names are adapter-dependent).
select
    table_name,
    column_name
from information_schema.columns
where table_schema = 'marts'
    and (
        lower(column_name) like '%preparer%'
        or lower(column_name) like '%phone%'
        or lower(column_name) like '%email%'
    )
