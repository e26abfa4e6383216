"""`kill -9` of `kc run` at any moment leaves the published file whole, and the next plain run converges.

Real runs (`kc run` subprocesses, the real DAG, dbt and GX) killed with SIGKILL at named points
(`KC_CRASH_AT`, see `config.crash_point`) or by the test itself during start-up:

  from empty (the committed sample, raw/ read in place):  start-up, mid_load (before the first batch
                     of files commits), before_dbt, mid_publish
  over a published warehouse (a copy of the session's published sample, plus two new files):
                     before_swap (new file complete, not swapped), after_swap (swapped, manifest not written);
                     and two runs started together
  in a rebuild (a copy of the published sample, `--rebuild`): after_reset (build database deleted,
                     published file kept)

After each kill the published file is either absent (never published yet) or whole: it opens and
holds all ten marts, equal to a version some uninterrupted run published. After each chain, one
plain `kc run` gives exactly the marts of an uninterrupted run: the session's published sample
(tests/shared_warehouse.py) for the chains from empty and in a rebuild, `incremental_reference`
(one uninterrupted run over a copy of it plus the same two files, built once per session) for the others.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest
from builders import valid_report
from kc_runs import kc_env, kc_run, kc_run_cmd
from shared_warehouse import PublishedSample, published_sample_for, shared_once

pytestmark = pytest.mark.e2e

MARTS = ["dim_indicator", "dim_unit", "fct_funding", "fct_outcomes", "fct_projects", "funding_by_current_unit",
         "outcomes_by_current_unit", "region_funding", "region_outcomes", "submission_status"]
UNITS = {"01": "Thành phố Hà Nội", "79": "Thành phố Hồ Chí Minh"}
NEW_ARRIVAL = "2024-07-12"


def new_files(raw: Path) -> None:
    """Two files arriving after the sample: a report of TP HCM and a later version of Hà Nội's 6T 2024."""
    valid_report().with_meta(ma_don_vi="79", ten_don_vi=UNITS["79"]).write_xlsx(raw / NEW_ARRIVAL / "79_6T.xlsx")
    valid_report().with_meta(ma_don_vi="01", ten_don_vi=UNITS["01"], ngay_lap="11/07/2024").with_cell(
        "kinh_phi", "KCQG", "thuc_hien", 999).write_xlsx(raw / NEW_ARRIVAL / "01_6T_v2.xlsx")


def sample_with_new_files(sample: PublishedSample, root: Path) -> tuple[Path, Path]:
    """(raw, warehouse): a copy of the sample's raw/ plus the new files, and a copy of its published warehouse."""
    raw = root / "raw"
    shutil.copytree(sample.raw, raw)
    new_files(raw)
    return raw, sample.copy_to(root / "wh", airflow=True)


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


@pytest.fixture(scope="session")
def sample_marts(published_sample) -> dict[str, list[tuple]]:
    """The marts of an uninterrupted run over the committed sample, from empty."""
    return marts(published_sample.published_db)


def _incremental_reference(folder: Path, tmp_path_factory) -> dict:
    raw, warehouse = sample_with_new_files(published_sample_for(tmp_path_factory), folder)
    run = kc_run(raw, warehouse, cwd=folder)
    if run.returncode != 0:
        return {"error": run.output[-5000:]}
    return {}


@pytest.fixture(scope="session")
def incremental_reference(tmp_path_factory, sample_marts) -> dict[str, list[tuple]]:
    """The marts of an uninterrupted run over a copy of the published sample plus `new_files` (once per session)."""
    folder, _ = shared_once(tmp_path_factory, "crash_incremental_reference",
                            lambda f: _incremental_reference(f, tmp_path_factory))
    after = marts(folder / "wh" / "khuyencong.duckdb")
    assert after != sample_marts  # the new files change the marts: the two versions are told apart
    return after


def test_kills_from_an_empty_warehouse_converge(published_sample, sample_marts, tmp_path):
    raw, warehouse = published_sample.raw, tmp_path / "wh"
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
    assert marts(warehouse / "khuyencong.duckdb") == sample_marts


def test_kills_around_the_swap_leave_a_whole_file_and_converge(published_sample, sample_marts,
                                                                incremental_reference, tmp_path):
    raw, warehouse = sample_with_new_files(published_sample, tmp_path)
    killed(raw, warehouse, "before_swap")
    assert marts(warehouse / "khuyencong.duckdb") == sample_marts  # the previous version, whole
    killed(raw, warehouse, "after_swap")
    assert marts(warehouse / "khuyencong.duckdb") == incremental_reference  # the new version, whole
    ok(raw, warehouse)
    assert marts(warehouse / "khuyencong.duckdb") == incremental_reference
    assert not list(warehouse.glob(".khuyencong.duckdb.*"))  # leftovers of killed publications are gone


def test_a_killed_rebuild_keeps_the_published_file_and_converges(published_sample, sample_marts, tmp_path):
    raw, warehouse = published_sample.raw, published_sample.copy_to(tmp_path / "wh", airflow=True)
    killed(raw, warehouse, "after_reset", "--rebuild")
    assert not (warehouse / "build.duckdb").exists()  # the reset happened
    assert marts(warehouse / "khuyencong.duckdb") == sample_marts
    ok(raw, warehouse)  # a plain run: the build database is rebuilt from raw/, then published
    assert marts(warehouse / "khuyencong.duckdb") == sample_marts


def test_two_runs_started_together_one_publishes_the_other_waits_or_says_who_holds_it(
        published_sample, incremental_reference, tmp_path):
    raw, warehouse = sample_with_new_files(published_sample, tmp_path)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = []
    lock = warehouse / "build.lock"
    assert lock.read_text() == ""  # the copy's lock is free (and says nobody holds it)
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
    assert marts(warehouse / "khuyencong.duckdb") == incremental_reference  # nothing lost, nothing mixed
    ok(raw, warehouse)  # and the next run finds nothing left to do
