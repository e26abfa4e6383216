"""Smoke test of `make bench-scale`: the runs succeed and the table is produced.

At 1x in the default run; at 1x and 10x in the `slow` tier (`make test-all`: generating and
running 10x the sample costs about four CPU-minutes). No timing is asserted (the benchmark
measures; it does not judge). The full runs' verdicts must equal the generator's manifest,
and a run with nothing new must load nothing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from khuyencong_sample.generate import build_sample, manifest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks" / "bench_scale.py"
RUNS = ("full", "incremental (+1 file)", "nothing new")


def committed_sample_as_cache(cache: Path) -> None:
    """The benchmark's cache of the 1x sample, filled with the committed raw/ (what `kc sample --scale 1`
    writes: tests/test_sample_committed.py) and the generator's manifest, so the run at 1x does not
    generate it again. The 10x run (slow) generates its sample, as `make bench-scale` does."""
    folder = cache / "sample-x1"
    shutil.copytree(REPO / "raw", folder / "raw")
    (folder / "manifest.json").write_text(json.dumps(manifest(build_sample())), encoding="utf-8")


def bench_table(tmp_path: Path, scales: str) -> list[dict]:
    """Run the benchmark at `scales`; check its table's shape and every row; return the rows."""
    committed_sample_as_cache(tmp_path / "cache")
    table_file = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--scales", scales, "--cache", str(tmp_path / "cache"), "--out", str(table_file),
         "--timeout", "600"],  # a box against a hung run, not a target: the benchmark measures
        capture_output=True, text=True, timeout=3600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = table_file.read_text(encoding="utf-8").splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(header, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    assert [(r["scale"], r["run"]) for r in rows] == [
        (f"{scale}x", run) for scale in scales.split(",") for run in RUNS]
    for r in rows:
        assert float(r["wall s"]) > 0 and float(r["peak RSS MB"]) > 0 and float(r["build.duckdb MB"]) > 0
        # with nothing new, kc run does not start Airflow at all: no stage runs
        assert (r["check_and_load s"] == "-") == (r["run"] == "nothing new"), r
    for full in (r for r in rows if r["run"] == "full"):
        assert full["verdicts = manifest"] == "yes"
        assert full["dbt_build s"] != "-" and float(full["khuyencong.duckdb MB"]) > 0
        assert full["dbt scope"] == "full"
    for incremental in (r for r in rows if r["run"] == "incremental (+1 file)"):  # what the new rows feed
        assert incremental["dbt scope"] == "data"
    assert proc.stdout.strip().splitlines()[-len(lines):] == lines  # the same table on the terminal
    return rows


@pytest.mark.e2e
def test_bench_scale_at_1x(tmp_path):
    rows = bench_table(tmp_path, "1")
    assert int(rows[0]["files"]) > 400
    assert rows[0]["generation s"] == "cached"  # the committed sample, not generated again


@pytest.mark.slow
@pytest.mark.e2e
def test_bench_scale_at_1x_and_10x(tmp_path):
    rows = bench_table(tmp_path, "1,10")
    assert int(rows[3]["files"]) > 9 * int(rows[0]["files"])
    assert rows[3]["generation s"] not in ("", "cached")  # 10x generated here
