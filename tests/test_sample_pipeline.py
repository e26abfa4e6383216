"""Acceptance on the shipped sample, through the real DAG (`kc run`, as a user runs it).

- dbt build passes with zero test warnings;
- every invalid file is rejected with its rule and has its report (CSV + HTML, vi and en);
- the invalid files change no mart value: the marts equal those built from the sample
  without them (except `submission_status.versions_received`, which counts refused files by design);
- the README's query example gives the conference figures it quotes (khuyencong_sample.conference).

The run on the whole sample is the session's shared `kc run` (`published_sample`, tests/shared_warehouse.py);
the warehouse without the invalid files is built by the same stages, called in this process.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse.publication import PUBLICATION_TABLE
from khuyencong_sample.conference import BAC_2017_9T
from khuyencong_sample.generate import INVALID_SAMPLE_FILES

pytestmark = pytest.mark.e2e

RAW = Path(__file__).resolve().parents[1] / "raw"
README = RAW.parent / "README.md"


def mart_contents(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        # marts.publication says when the file was published: it differs between any two runs
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_name <> ?"
            " ORDER BY 1", [PUBLICATION_TABLE]).fetchall()]
        out = {}
        for t in tables:
            cols = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ?"
                " ORDER BY ordinal_position", [t]).fetchall()]
            if t == "submission_status":
                cols = [c for c in cols if c != "versions_received"]
            out[t] = con.execute(f'SELECT {", ".join(cols)} FROM marts."{t}" ORDER BY ALL').fetchall()
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def full_run(published_sample):
    assert published_sample.raw == RAW
    return published_sample.warehouse, published_sample.record


def test_dbt_build_on_the_sample_has_no_warnings(full_run):
    warehouse, stages = full_run
    results = json.loads((warehouse / "dbt" / "target" / "run_results.json").read_text())["results"]
    assert results and {r["status"] for r in results} <= {"success", "pass", "no-op"}  # no warn, no fail
    assert stages["dbt_build"]["failed"] == []
    assert stages["mart_gate"]["success"]


def test_invalid_sample_files_are_rejected_with_reports(full_run):
    warehouse, stages = full_run
    files = {f["path"]: f for f in stages["check_and_load"]["files"]}
    for rel, rule in INVALID_SAMPLE_FILES.items():
        entry = files[rel]
        assert entry["status"] == "rejected" and rule in entry["rules"], entry
        report = warehouse / entry["report"]
        html = report.read_text(encoding="utf-8")
        assert "bị từ chối" in html and "rejected" in html and rule in html
        rows = list(csv.reader(report.with_suffix(".csv").open(encoding="utf-8-sig")))
        assert any(r[0] == rule and r[7] and r[8] for r in rows[1:])  # message_vi, message_en


def test_invalid_files_change_no_mart_value(full_run, tmp_path):
    warehouse, _ = full_run
    clean_raw = tmp_path / "raw"
    shutil.copytree(RAW, clean_raw)
    for rel in INVALID_SAMPLE_FILES:
        (clean_raw / rel).unlink()
    clean_wh = tmp_path / "wh"
    # the comparison is built by the stages the DAG calls, in this process (the run above is the DAG's)
    settings = Settings.from_env(clean_raw, clean_wh, environ={})
    pipeline.check_and_load(settings)
    pipeline.build_marts(settings)
    pipeline.gate_marts(settings)
    pipeline.publish(settings)
    with_invalid = mart_contents(warehouse / "khuyencong.duckdb")
    without = mart_contents(clean_wh / "khuyencong.duckdb")
    assert with_invalid.keys() == without.keys()
    for table in with_invalid:
        assert with_invalid[table] == without[table], table


def readme_queries() -> list[str]:
    """The SQL of the README's "Querying the marts" example, as a reader copies it."""
    section = README.read_text(encoding="utf-8").split("## Querying the marts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r'con\.sql\("""(.*?)"""\)', section, re.S)


def test_readme_query_gives_the_conference_figures(full_run):
    warehouse, _ = full_run
    north, central = readme_queries()
    con = duckdb.connect(str(warehouse / "khuyencong.duckdb"), read_only=True)
    try:
        def by_source(sql: str) -> dict[str, dict]:
            cur = con.execute(sql)
            names = [d[0] for d in cur.description]
            return {r["funding_source"]: r for r in (dict(zip(names, row, strict=True)) for row in cur.fetchall())}

        bac, mttn = by_source(north), by_source(central)
        nine_months = dict(con.execute(
            "SELECT indicator_code, actual_value FROM marts.region_outcomes"
            " WHERE region_code = 'BAC' AND year = 2017 AND period = '9T'").fetchall())
    finally:
        con.close()
    # "2016 executed in the 28 northern provinces: 123,37 tỷ đồng, 97,02% of plan; KCQG 55,37% of the national total"
    assert bac["TONG"]["units_reported"] == 28
    assert (bac["TONG"]["plan_adjusted_mvnd"], bac["TONG"]["executed_mvnd"]) == (Decimal(127165), Decimal(123370))
    assert bac["TONG"]["execution_rate_pct"] == 97.02
    assert (bac["KCQG"]["executed_mvnd"], bac["KCQG"]["execution_rate_pct"]) == (Decimal(56300), 99.98)
    assert bac["KCQG"]["executed_share_of_national_pct"] == 55.37
    # "the 15 Central–Highlands provinces planned 48.331 triệu đồng for 2017, +20,85% on 2016"
    assert mttn["TONG"]["units_reported"] == 15
    assert (mttn["TONG"]["plan_initial_mvnd"], mttn["TONG"]["plan_growth_pct"]) == (Decimal(48331), 20.85)
    assert (mttn["KCDP"]["plan_growth_pct"], mttn["KCQG"]["plan_growth_pct"]) == (14.31, 28.55)
    # "first 9 months of 2017 in the North: 3.275 workers trained, 25 demonstration models, ..."
    assert {code: nine_months[code] for code in BAC_2017_9T} == {c: Decimal(v) for c, v in BAC_2017_9T.items()}
