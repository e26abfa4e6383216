"""The second gate: Great Expectations suites over the marts dbt just built, before anything is published.

GX 1.x cannot validate DuckDB tables through SQLAlchemy, so the marts (and the
reconciliation differences computed from them) are read into pandas frames.
A failure names the failed checks, a few failing items, and where the full
result is; the caller then leaves the last published warehouse as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

MART_SUITES = (
    "marts_percentages", "marts_outcome_percentages", "marts_reconciliation",
    "marts_status_coverage", "marts_no_personal_data",
)
MEASURES = ("plan_initial_mvnd", "plan_adjusted_mvnd", "allocated_mvnd", "executed_mvnd")  # fixed list: safe identifiers
_KEY = "r.region_code || ' ' || r.year || ' ' || r.period || ' ' || r.funding_source"

_ERA_OF_PERIOD = """CASE WHEN year > 2025 OR (year = 2025 AND
    CASE period WHEN 'KH' THEN 0 WHEN 'CN' THEN 12 ELSE CAST(replace(period, 'T', '') AS INTEGER) END >= 7)
    THEN 34 ELSE 63 END"""


def _reconciliation_sql(measure: str) -> str:
    return f"""
WITH unit_sums AS (
    SELECT u.region_code, f.year, f.period, f.funding_source, sum(f.{measure}) AS v
    FROM marts.fct_funding f JOIN marts.dim_unit u USING (unit_id) GROUP BY ALL
    UNION ALL
    SELECT u.region_code, f.year, f.period, 'TONG', sum(f.{measure})
    FROM marts.fct_funding f JOIN marts.dim_unit u USING (unit_id)
    WHERE f.funding_source IN ('KCQG', 'KCDP') GROUP BY ALL
),
region_sums AS (
    SELECT year, period, funding_source, sum({measure}) AS v
    FROM marts.region_funding WHERE region_code <> 'CA_NUOC' GROUP BY ALL
)
SELECT 'region = sum of its units ({measure})' AS check_name, {_KEY} AS item,
       CAST(coalesce(r.{measure}, 0) - coalesce(u.v, 0) AS DOUBLE) AS difference
FROM marts.region_funding r
LEFT JOIN unit_sums u USING (region_code, year, period, funding_source)
WHERE r.region_code <> 'CA_NUOC'
UNION ALL
SELECT 'CA_NUOC = sum of regions ({measure})', {_KEY},
       CAST(coalesce(r.{measure}, 0) - coalesce(s.v, 0) AS DOUBLE)
FROM marts.region_funding r LEFT JOIN region_sums s USING (year, period, funding_source)
WHERE r.region_code = 'CA_NUOC'
UNION ALL
SELECT 'TONG = KCQG + KCDP ({measure})', {_KEY},
       CAST(coalesce(r.{measure}, 0) - coalesce(q.{measure}, 0) - coalesce(d.{measure}, 0) AS DOUBLE)
FROM marts.region_funding r
LEFT JOIN marts.region_funding q ON q.region_code = r.region_code AND q.year = r.year
    AND q.period = r.period AND q.funding_source = 'KCQG'
LEFT JOIN marts.region_funding d ON d.region_code = r.region_code AND d.year = r.year
    AND d.period = r.period AND d.funding_source = 'KCDP'
WHERE r.funding_source = 'TONG'
"""


def mart_frames(con) -> dict:
    import pandas as pd

    reconciliation = pd.concat([con.execute(_reconciliation_sql(m)).df() for m in MEASURES], ignore_index=True)
    coverage = con.execute(f"""
        WITH periods AS (SELECT DISTINCT year, period, {_ERA_OF_PERIOD} AS era FROM marts.submission_status)
        SELECT 'every expected unit in submission_status' AS check_name,
               p.year || ' ' || p.period AS item,
               (SELECT count(DISTINCT s.unit_id) FROM marts.submission_status s
                 JOIN marts.dim_unit u ON u.unit_id = s.unit_id AND u.era = p.era
                 WHERE s.year = p.year AND s.period = p.period) AS units_in_status,
               (SELECT count(*) FROM marts.dim_unit u WHERE u.era = p.era) AS units_expected
        FROM periods p ORDER BY 2""").df()
    columns = con.execute("""
        SELECT 'no personal data columns in marts' AS check_name, table_name || '.' || column_name AS item, column_name
        FROM information_schema.columns WHERE table_schema = 'marts' ORDER BY 2""").df()
    percentages = con.execute("""
        SELECT 'percentages' AS check_name, region_code || ' ' || year || ' ' || period || ' ' || funding_source AS item,
               execution_rate_pct, allocation_rate_pct, executed_share_of_national_pct, plan_growth_pct
        FROM marts.region_funding""").df()
    outcome_percentages = con.execute("""
        SELECT 'achievement' AS check_name, region_code || ' ' || year || ' ' || period || ' ' || indicator_code AS item,
               achievement_pct FROM marts.region_outcomes""").df()
    return {
        "reconciliation": reconciliation, "status_coverage": coverage, "mart_columns": columns,
        "percentages": percentages, "outcome_percentages": outcome_percentages,
    }


def check_marts(build_db: Path, reports_dir: Path, context=None,
                expectations_dir: Path | None = None) -> tuple[dict, dict]:
    """Run the mart suites on the build database; write the full result.

    Returns the verdict (success, failed checks) and the GX results, which the caller renders as Data Docs.
    """
    from khuyencong.rules.gate import SuiteRunner, new_context
    from khuyencong.warehouse.loader import connect

    con = connect(build_db, read_only=True)
    try:
        frames = mart_frames(con)
    finally:
        con.close()
    runner = SuiteRunner(context if context is not None else new_context(), MART_SUITES, "kc_marts", expectations_dir)
    failed, details = [], {}
    for name, suite in runner.suites.items():
        df = frames[suite.table]
        if df.empty:
            continue
        result = runner.validate(name, df, ["check_name", "item"])
        details[name] = result.to_json_dict()
        for item in result.results:
            if item.success:
                continue
            rows = item.result.get("unexpected_index_list") or []
            examples = ", ".join(sorted({str(r.get("item")) for r in rows})[:5])
            failed.append(f"{item.expectation_config.meta.get('check', name)}"
                          f" [{len(rows)} failing: {examples}{' …' if len(rows) > 5 else ''}]")
    out_dir = reports_dir / "mart_gate"
    out_dir.mkdir(parents=True, exist_ok=True)
    result_path = out_dir / "latest.json"
    result_path.write_text(json.dumps({"success": not failed, "failed": failed, "results": details},
                                      ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    verdict = {"success": not failed, "failed": failed, "result_path": str(result_path),
               "checks": sum(len(s.document["expectations"]) for s in runner.suites.values())}
    return verdict, runner.last_results
