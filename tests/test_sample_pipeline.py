"""Acceptance on the shipped sample, through the real DAG (`kc run`, as a user runs it).

- dbt build passes with zero test warnings;
- every invalid file is rejected with its rule and has its report (CSV + HTML, vi and en);
- the invalid files change no mart value: the marts equal those built from the sample
  without them (except `submission_status.versions_received`, which counts refused files by design).

The run on the whole sample is the session's shared `kc run` (`published_sample`, tests/shared_warehouse.py);
the warehouse without the invalid files is built by the same stages, called in this process.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse.publication import PUBLICATION_TABLE
from khuyencong_sample.generate import INVALID_SAMPLE_FILES

pytestmark = pytest.mark.e2e

RAW = Path(__file__).resolve().parents[1] / "raw"


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
