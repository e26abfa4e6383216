"""The second gate: Great Expectations suites over the marts dbt just built, before anything is published.

One owner per check: the reconciliations (region = sum of its units, CA_NUOC = sum of the
regions, TONG = KCQG + KCDP, restated = as-was totals) are dbt singular tests
(`dbt_project/tests/marts/`), which run first and block publication on their own. This gate
owns what GX is good at: the distribution and bounds of the percentages, personal-data
patterns in the marts' columns, and the coverage of `submission_status`.

GX 1.x cannot validate DuckDB tables through SQLAlchemy, so the marts are read into pandas
frames. An expectation whose meta says `blocks_publication: yes` (every mart expectation
today) blocks on failure; the result names the failed checks, a few failing items, and where
the full result is; the caller then leaves the last published warehouse as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from khuyencong.periods import era_for
from khuyencong.rules.gate import SuiteRunner, new_context
from khuyencong.warehouse.lock import connect_writer

MART_SUITES = ("marts_percentages", "marts_outcome_percentages", "marts_status_coverage", "marts_no_personal_data")


def blocks_publication(meta: dict) -> bool:
    """The expectation's own say (meta `blocks_publication`, shown in Data Docs); absent means it blocks."""
    return str(meta.get("blocks_publication", "yes")).lower() == "yes"


def mart_frames(con, seeds: Path | None = None) -> dict:
    """The frames the mart suites validate. The era of each period comes from the `eras` seed of `seeds`."""
    import pandas as pd

    periods = con.execute("SELECT DISTINCT year, period FROM marts.submission_status").fetchall()
    period_eras = pd.DataFrame([(y, p, era_for(y, p, seeds)) for y, p in periods],
                               columns=["year", "period", "era"]).astype({"year": "int32", "era": "int32"})
    con.register("period_eras", period_eras)
    coverage = con.execute("""
        SELECT 'every expected unit in submission_status' AS check_name,
               p.year || ' ' || p.period AS item,
               (SELECT count(DISTINCT s.unit_id) FROM marts.submission_status s
                 JOIN marts.dim_unit u ON u.unit_id = s.unit_id AND u.era = p.era
                 WHERE s.year = p.year AND s.period = p.period) AS units_in_status,
               (SELECT count(*) FROM marts.dim_unit u WHERE u.era = p.era) AS units_expected
        FROM period_eras p ORDER BY 2""").df()
    con.unregister("period_eras")
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
        "status_coverage": coverage, "mart_columns": columns,
        "percentages": percentages, "outcome_percentages": outcome_percentages,
    }


def check_marts(build_db: Path, reports_dir: Path, context=None,
                expectations_dir: Path | None = None, seeds_dir: Path | None = None) -> tuple[dict, dict]:
    """Run the mart suites on the build database; write the full result.

    Returns the verdict (success, the failed checks that block publication, those that only
    warn, and every blocking check) and the GX results, which the caller renders as Data Docs.
    """
    with connect_writer(build_db, read_only=True) as con:
        frames = mart_frames(con, seeds_dir)
    runner = SuiteRunner(context if context is not None else new_context(), MART_SUITES, "kc_marts", expectations_dir)
    failed, warned, details = [], [], {}
    for name, suite in runner.suites.items():
        df = frames[suite.table]
        if df.empty:
            continue
        result = runner.validate(name, df, ["check_name", "item"])
        details[name] = result.to_json_dict()
        for item in result.results:
            if item.success:
                continue
            meta = item.expectation_config.meta or {}
            rows = item.result.get("unexpected_index_list") or []
            examples = ", ".join(sorted({str(r.get("item")) for r in rows})[:5])
            (failed if blocks_publication(meta) else warned).append(
                f"{meta.get('check', name)} [{len(rows)} failing: {examples}{' …' if len(rows) > 5 else ''}]")
    blocking = [e.get("meta", {}).get("check", name) for name, suite in runner.suites.items()
                for e in suite.document["expectations"] if blocks_publication(e.get("meta", {}))]
    out_dir = reports_dir / "mart_gate"
    out_dir.mkdir(parents=True, exist_ok=True)
    result_path = out_dir / "latest.json"
    verdict = {"success": not failed, "failed": failed, "warnings": warned, "blocking_checks": blocking,
               "checks": sum(len(s.document["expectations"]) for s in runner.suites.values())}
    result_path.write_text(json.dumps({**verdict, "results": details},
                                      ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    verdict["result_path"] = str(result_path)
    return verdict, runner.last_results
