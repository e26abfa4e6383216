"""`kc sample --scale N`: about N times the files, the same mix, and counts a run finds exactly.

One generation at scale 2 (two earlier programme years, then more versions) is checked and loaded
through the pipeline's own stages (reader, GX gate, history rules, loader); the
verdicts, duplicates, rule counts and rows per raw table must equal the
generator's manifest.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from khuyencong.config import Settings
from khuyencong.run.pipeline import check_and_load
from khuyencong_sample.conference import CONFERENCE_YEARS
from khuyencong_sample.generate import (
    EARLIEST_YEAR,
    EXTRA_YEARS,
    INVALID_SAMPLE_FILES,
    build_sample,
    manifest,
    write_plan,
)

pytestmark = pytest.mark.xdist_group("sample_scale")  # module fixtures: built once, on one worker

SCALE = 2


# 2: two earlier years; 10 (slow): every year back to 2005, then more versions per report
@pytest.fixture(scope="module", params=[SCALE, pytest.param(10, marks=pytest.mark.slow)])
def scaled(request, tmp_path_factory):
    raw = tmp_path_factory.mktemp("scaled") / "raw"
    plan = build_sample(scale=request.param)
    write_plan(raw, plan)
    return raw, plan, manifest(plan), request.param


@pytest.fixture(scope="module")
def loaded(scaled, tmp_path_factory):
    raw = scaled[0]
    settings = Settings.from_env(raw, tmp_path_factory.mktemp("wh_scaled"))
    return settings, check_and_load(settings)


def test_scale_multiplies_the_files_and_keeps_the_mix(scaled):
    raw, plan, expected, scale = scaled
    base = manifest(build_sample())
    files = [p for p in raw.rglob("*") if p.is_file()]
    assert len(files) == expected["files"]
    assert abs(expected["files"] / base["files"] - scale) < 0.1
    for measure in ("rejected", "accepted_with_warnings", "duplicates", "superseded"):
        assert expected[measure] >= scale * base[measure] * 0.8, measure
    assert set(expected["rules"]) == set(base["rules"])  # every refusal and warning of the sample, again
    assert {p.suffix for p in files} == {".xlsx", ".zip", ".xls"}
    added = sorted(set(expected["years"]) - set(base["years"]))
    # 2: two years before the committed sample's; 10: every year back to EARLIEST_YEAR, the first the reader accepts,
    # but the conference years, which the committed sample holds
    assert added == {2: [2021, 2022], 10: list(EXTRA_YEARS[::-1])}[scale]
    assert EXTRA_YEARS[-1] == EARLIEST_YEAR and not set(added) & set(CONFERENCE_YEARS)


def test_scale_one_is_the_committed_sample_plan():
    """The scaled plan contains the committed sample unchanged: the extra years draw from their own streams."""
    small = {sf.relpath for sf in build_sample()}
    assert set(INVALID_SAMPLE_FILES) <= small
    assert small <= {sf.relpath for sf in build_sample(scale=SCALE)}


def test_a_run_finds_exactly_the_manifest(scaled, loaded):
    _, plan, expected, _ = scaled
    settings, result = loaded
    assert result["total"] == expected["files"]
    assert result["duplicates"] == expected["duplicates"]
    for verdict in ("accepted", "accepted_with_warnings", "rejected"):
        assert result[verdict] == expected[verdict], verdict
    intended = {sf.relpath: sf.rule for sf in plan if sf.role != "duplicate"}
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        # raw.findings, not the stage result: that names only the first FILES_LISTED refused or warned files
        found = {path: (status, rules or []) for path, status, rules in con.execute(
            "SELECT s.path, s.status, list(DISTINCT f.rule) FILTER (WHERE f.rule IS NOT NULL) FROM raw.submissions s"
            " LEFT JOIN raw.findings f USING (submission_id) GROUP BY ALL").fetchall()}
        assert found.keys() == intended.keys()
        for path, (status, rules) in found.items():  # each file shows the rule it was made for, and no other warning
            rule = intended[path]
            if rule:
                assert rule in rules, (path, status, rules)
            if status != "rejected":
                assert rules == ([rule] if rule else []), (path, status, rules)
        found_rules = Counter(intended[path] for path in found if intended[path])
        assert dict(found_rules) == expected["rules"]
        for table, rows in expected["rows"].items():
            assert con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0] == rows, table
    finally:
        con.close()


def test_scaled_generation_is_deterministic(scaled, tmp_path):
    raw, _, _, scale = scaled
    again = tmp_path / "raw"
    write_plan(again, build_sample(scale=scale))

    def digest(root: Path) -> str:
        h = hashlib.sha256()
        for p in sorted(root.rglob("*")):
            if p.is_file():
                h.update(p.relative_to(root).as_posix().encode() + p.read_bytes())
        return h.hexdigest()

    assert digest(again) == digest(raw)
