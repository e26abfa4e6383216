"""Issue acceptance, end to end: the whole sample plus every hostile file of `tests/hostile/` (and a symlink
out of raw/, and names that are not UTF-8 or hold newlines), through the real nightly DAG (`kc run`).

The run exits 0, loads and publishes every good file of the sample, refuses each hostile file with its
rule and a report, and the second run touches none of them again.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from kc_runs import kc_run

from khuyencong_sample.generate import build_sample, manifest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[1]
HOSTILE = REPO / "tests" / "hostile"
ARRIVAL = "2024-07-20"


def test_the_sample_with_every_hostile_file_runs_and_refuses_each_with_its_rule(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    shutil.copytree(REPO / "raw", raw)
    expected = {r["file"]: r["rule"] for r in csv.DictReader((HOSTILE / "expected.csv").open(encoding="utf-8"))}
    folder = raw / ARRIVAL
    folder.mkdir()
    for name in expected:
        shutil.copy(HOSTILE / name, folder / name)
    (tmp_path / "outside.xlsx").write_bytes((REPO / "raw" / "2024-01-12" / "Bao cao CN 2023 - Thanh Hoa.xlsx").read_bytes())
    os.symlink(tmp_path / "outside.xlsx", folder / "link_out_of_raw.xlsx")
    expected["link_out_of_raw.xlsx"] = "F01"
    with open(os.path.join(os.fsencode(folder), b"garbage_\xff\nname.xlsx"), "wb") as f:
        f.write(b"not a workbook")
    expected["garbage_\\xff\nname.xlsx"] = "F01"

    # byte-identical hostile files are one submission: the later names (in discovery's order) are duplicates
    seen: dict[bytes, str] = {}
    for name in sorted(n for n in expected if (folder / n).is_file() and not (folder / n).is_symlink()):
        content = (folder / name).read_bytes()
        if content in seen:
            del expected[name]
        else:
            seen[content] = name

    first = kc_run(raw, warehouse, cwd=tmp_path)
    assert first.returncode == 0, first.output[-5000:]
    plan = build_sample()  # the committed sample (test_sample_committed)
    sample = manifest(plan)
    assert (f"verdicts:   {sample['accepted']} accepted, {sample['accepted_with_warnings']} accepted with warnings,"
            f" {sample['rejected'] + len(expected)} rejected") in first.output
    assert "published:" in first.output

    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:
        rows = con.execute(
            "SELECT s.file_name, s.status, list(DISTINCT f.rule) FROM raw.submissions s"
            " LEFT JOIN raw.findings f USING (submission_id) WHERE s.path LIKE ? GROUP BY ALL", [f"{ARRIVAL}/%"],
        ).fetchall()
    finally:
        con.close()
    refused = {name: (status, set(rules)) for name, status, rules in rows}
    assert set(refused) == set(expected)
    for name, rule in expected.items():
        status, rules = refused[name]
        assert status == "rejected" and rule in rules, (name, status, rules)
    reports = {p.name for p in (warehouse / "reports" / "submissions").glob(f"{ARRIVAL}_*.html")}
    assert len(reports) == len(expected)  # one error page per refused file

    published = duckdb.connect(str(warehouse / "khuyencong.duckdb"), read_only=True)
    try:  # the good files are all there: the sample's facts, nothing from the hostile ones
        funding = sum(len(sf.figures.funding) for sf in plan if sf.role == "main")  # the latest version of each report
        assert published.execute("SELECT count(*) FROM marts.fct_funding").fetchone()[0] == funding
    finally:
        published.close()

    second = kc_run(raw, warehouse, cwd=tmp_path)
    assert second.returncode == 0, second.output[-3000:]
    assert "nothing new" in second.output and "0 new" in second.output
