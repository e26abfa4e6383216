-- depends_on: {{ ref("dim_unit") }}, {{ ref("dim_indicator") }}, {{ ref("fct_funding") }}, {{ ref("fct_outcomes") }}, {{ ref("fct_projects") }}, {{ ref("region_funding") }}, {{ ref("region_outcomes") }}, {{ ref("submission_status") }}, {{ ref("funding_by_current_unit") }}, {{ ref("outcomes_by_current_unit") }}
-- Personal data (preparer name, phone, email) never reaches the marts schema.
-- duckdb-specific: information_schema column listing of the built database (standard view,
-- but schema names are adapter-dependent).
select table_name, column_name
from information_schema.columns
where table_schema = 'marts'
  and (
      lower(column_name) like '%preparer%'
      or lower(column_name) like '%phone%'
      or lower(column_name) like '%email%'
  )
