"""`kill -9` of `kc run` at any moment leaves the published file whole, and the next plain run converges.

Real runs (`kc run` subprocesses, the real DAG, dbt and GX) on a small landing zone, killed with
SIGKILL at named points (`KC_CRASH_AT`, see `config.crash_point`) or by the test itself during start-up:

  from empty:        start-up, mid_load (after the first file's transaction), before_dbt, mid_publish
  over a published:  before_swap (new file complete, not swapped), after_swap (swapped, manifest not written)
  in a rebuild:      after_reset (build database deleted, published file kept)

After each kill the published file is either absent (never published yet) or whole: it opens and
holds all ten marts, equal to a version some uninterrupted run published. After each chain, one
plain `kc run` gives exactly the marts of an uninterrupted run.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from builders import valid_report
from kc_runs import kc_env, kc_run, kc_run_cmd

MARTS = ["dim_indicator", "dim_unit", "fct_funding", "fct_outcomes", "fct_projects", "funding_by_current_unit",
         "outcomes_by_current_unit", "region_funding", "region_outcomes", "submission_status"]
UNITS = {"01": "Thành phố Hà Nội", "46": "Tỉnh Thừa Thiên Huế", "79": "Thành phố Hồ Chí Minh"}


def first_files(raw: Path) -> None:
    for code, name in list(UNITS.items())[:2]:
        valid_report().with_meta(ma_don_vi=code, ten_don_vi=name).write_xlsx(raw / "2024-07-10" / f"{code}_6T.xlsx")


def later_files(raw: Path) -> None:
    valid_report().with_meta(ma_don_vi="79", ten_don_vi=UNITS["79"]).write_xlsx(raw / "2024-07-12" / "79_6T.xlsx")
    valid_report().with_meta(ma_don_vi="01", ten_don_vi=UNITS["01"], ngay_lap="11/07/2024").with_cell(
        "kinh_phi", "KCQG", "thuc_hien", 999).write_xlsx(raw / "2024-07-12" / "01_6T_v2.xlsx")


def marts(db: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL').fetchall() for t in MARTS}
    finally:
        con.close()


def killed(raw: Path, warehouse: Path, point: str, *extra: str) -> None:
    run = kc_run(raw, warehouse, *extra, cwd=warehouse.parent, KC_CRASH_AT=point)
    assert run.returncode == -signal.SIGKILL, f"{point}: {run.returncode}\n{run.output[-3000:]}"


def ok(raw: Path, warehouse: Path, *extra: str) -> None:
    run = kc_run(raw, warehouse, *extra, cwd=warehouse.parent)
    assert run.returncode == 0, run.output[-5000:]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Uninterrupted runs: the marts after the first files, and after the later ones."""
    root = tmp_path_factory.mktemp("reference")
    raw, warehouse = root / "raw", root / "wh"
    first_files(raw)
    ok(raw, warehouse)
    v1 = marts(warehouse / "khuyencong.duckdb")
    later_files(raw)
    ok(raw, warehouse)
    return {"v1": v1, "v2": marts(warehouse / "khuyencong.duckdb")}


def test_kills_from_an_empty_warehouse_converge(reference, tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    first_files(raw)
    later_files(raw)
    # start-up: killed while Airflow and its metadata database are being set up
    proc = subprocess.Popen(kc_run_cmd(raw, warehouse), env=kc_env(), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for point in ("mid_load", "before_dbt", "mid_publish"):
        killed(raw, warehouse, point)
        assert not (warehouse / "khuyencong.duckdb").exists(), point  # never published: nothing half-there
    ok(raw, warehouse)
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]


def test_kills_around_the_swap_leave_a_whole_file_and_converge(reference, tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    first_files(raw)
    ok(raw, warehouse)
    later_files(raw)
    killed(raw, warehouse, "before_swap")
    assert marts(warehouse / "khuyencong.duckdb") == reference["v1"]  # the previous version, whole
    killed(raw, warehouse, "after_swap")
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]  # the new version, whole
    ok(raw, warehouse)
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]
    assert not list(warehouse.glob(".khuyencong.duckdb.*"))  # leftovers of killed publications are gone


def test_a_killed_rebuild_keeps_the_published_file_and_converges(reference, tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    first_files(raw)
    later_files(raw)
    ok(raw, warehouse)
    killed(raw, warehouse, "after_reset", "--rebuild")
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]
    ok(raw, warehouse)  # a plain run: the build database is rebuilt from raw/, then published
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]


def test_two_runs_started_together_one_publishes_the_other_waits_or_says_who_holds_it(reference, tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    first_files(raw)
    later_files(raw)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    lock = warehouse / "build.lock"
    for log, timeout in zip(logs, ("600", "1")):  # the second gives up after a second
        procs.append(subprocess.Popen(kc_run_cmd(raw, warehouse), env=kc_env(KC_LOCK_TIMEOUT_SECONDS=timeout),
                                      cwd=tmp_path, stdout=log.open("w"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # the first run holds the lock (and says so) before the second starts
    codes = [p.wait(timeout=900) for p in procs]
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 75], outputs
    assert "is in use by pid" in outputs[1] and "kc run" in outputs[1] and "Nothing was changed" in outputs[1]
    assert marts(warehouse / "khuyencong.duckdb") == reference["v2"]  # nothing lost, nothing mixed
    ok(raw, warehouse)  # and the next run finds nothing left to do
