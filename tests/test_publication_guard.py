"""A run never publishes marts that hold less than the published ones unless it says so (`--allow-shrink`).

Real `kc run`s on a small landing zone. Every mart expectation passes on empty tables, so before the
shrink guard an empty or unmounted raw/ with `--rebuild`, a lost build database with an empty raw/, or
a fresh warehouse whose every file was refused published empty marts and said so with exit 0. Now the
publication is refused, naming what would have shrunk; the published file, Parquet and the per-file
reports stay as they were. A night whose new files are all refused publishes nothing and says why.
A task that hangs past its `execution_timeout` leaves the published file whole too.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from builders import valid_report
from kc_runs import kc_run, latest_record, sha, tree

pytestmark = [pytest.mark.e2e]

UNITS = {"01": "Thành phố Hà Nội", "79": "Thành phố Hồ Chí Minh"}


def write_files(raw: Path) -> None:
    for code, name in UNITS.items():
        valid_report().with_meta(ma_don_vi=code, ten_don_vi=name).write_xlsx(raw / "2024-07-10" / f"{code}_6T.xlsx")


def refused_file(raw: Path, name: str = "99_6T.xlsx") -> Path:
    path = raw / "2024-07-11" / name
    valid_report().with_meta(ma_don_vi="99", ten_don_vi="Tỉnh Không Có").write_xlsx(path)  # F03: no such unit
    return path


def state(warehouse: Path) -> dict:
    """What a BI user and a province see: the published file, its Parquet copies, the per-file reports."""
    return {"published": sha(warehouse / "khuyencong.duckdb"), "parquet": tree(warehouse / "parquet"),
            "reports": sorted(p.name for p in (warehouse / "reports" / "submissions").iterdir())}


def rows(warehouse: Path, table: str) -> int:
    con = duckdb.connect(str(warehouse / "khuyencong.duckdb"), read_only=True)
    try:
        return con.execute(f'SELECT count(*) FROM marts."{table}"').fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Path:
    """A warehouse that published the two files' marts (copied by each test)."""
    root = tmp_path_factory.mktemp("guard")
    write_files(root / "raw")
    run = kc_run(root / "raw", root / "wh", cwd=root)
    assert run.returncode == 0, run.output[-4000:]
    return root


@pytest.fixture
def copy(published, tmp_path) -> tuple[Path, Path]:
    shutil.copytree(published / "raw", tmp_path / "raw")
    shutil.copytree(published / "wh", tmp_path / "wh")
    return tmp_path / "raw", tmp_path / "wh"


def empty(raw: Path) -> None:
    """raw/ as an unmounted volume leaves it: the folder, nothing in it."""
    shutil.rmtree(raw)
    raw.mkdir()


def test_rebuild_over_an_empty_raw_is_refused_and_changes_nothing(copy):
    raw, warehouse = copy
    before = state(warehouse)
    empty(raw)
    run = kc_run(raw, warehouse, "--rebuild", cwd=warehouse.parent)
    assert run.returncode == 1, run.output[-4000:]
    assert "Publication refused" in run.output and "accepted reports 2 → 0 (−2)" in run.output, run.output[-4000:]
    assert "fct_funding would have 0 rows" in run.output
    assert "--allow-shrink" in run.output
    assert state(warehouse) == before  # DuckDB file, Parquet, the reports of earlier runs
    assert "Publication refused" in latest_record(warehouse)["blocked"]["message"]
    # said explicitly, it publishes
    run = kc_run(raw, warehouse, "--rebuild", "--allow-shrink", cwd=warehouse.parent)
    assert run.returncode == 0, run.output[-4000:]
    assert rows(warehouse, "fct_funding") == 0


def test_a_lost_build_database_with_an_empty_raw_is_refused_with_one_alert(copy, webhook):
    raw, warehouse = copy
    before = state(warehouse)
    (warehouse / "build.duckdb").unlink()
    empty(raw)
    run = kc_run(raw, warehouse, cwd=warehouse.parent, KC_ALERT_WEBHOOK_URL=webhook.url)
    assert run.returncode == 1, run.output[-4000:]
    assert "accepted reports 2 → 0 (−2)" in run.output, run.output[-4000:]
    assert state(warehouse) == before
    # one alert for the failed run (the mart gate's failure and the summary's used to send two)
    assert len(webhook.received) == 1, webhook.received
    assert "Publication refused" in json.loads(webhook.received[0]["body"])["error"]


def test_a_fresh_warehouse_with_only_refused_files_publishes_nothing(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    refused_file(raw)
    run = kc_run(raw, warehouse, cwd=tmp_path)
    assert run.returncode == 1, run.output[-4000:]
    assert "fct_funding would have 0 rows" in run.output, run.output[-4000:]
    assert not (warehouse / "khuyencong.duckdb").exists()
    assert not (warehouse / "parquet").exists()
    # the province still gets its report
    assert any(p.suffix == ".html" for p in (warehouse / "reports" / "submissions").iterdir())


def test_a_night_of_only_refused_files_publishes_nothing_and_says_why(copy):
    raw, warehouse = copy
    before = state(warehouse)
    refused_file(raw)
    run = kc_run(raw, warehouse, cwd=warehouse.parent)
    assert run.returncode == 0, run.output[-4000:]
    assert "the 1 new file(s) of this run were all refused" in run.output, run.output[-4000:]
    assert "were all refused" in (warehouse / "reports" / "latest_run.md").read_text(encoding="utf-8")
    after = state(warehouse)
    assert after["published"] == before["published"] and after["parquet"] == before["parquet"]
    assert len(after["reports"]) == len(before["reports"]) + 2  # the refused file's CSV and HTML
    # and the next night has nothing to do (the refusal is recorded; the published file is current)
    run = kc_run(raw, warehouse, cwd=warehouse.parent)
    assert run.returncode == 0 and "Airflow not started" in run.output, run.output[-4000:]


def test_a_publish_that_hangs_past_its_timeout_leaves_the_published_file_whole(copy):
    raw, warehouse = copy
    before = state(warehouse)
    valid_report().with_meta(ma_don_vi="46", ten_don_vi="Tỉnh Thừa Thiên Huế").write_xlsx(
        raw / "2024-07-12" / "46_6T.xlsx")
    run = kc_run(raw, warehouse, cwd=warehouse.parent, KC_CRASH_AT="mid_publish:hang",
                 KC_TASK_TIMEOUT_MINUTES="0.1", KC_TASK_RETRIES="0")
    assert run.returncode == 1, run.output[-4000:]
    assert "publish" in run.output and "Timeout" in run.output, run.output[-4000:]
    assert state(warehouse)["published"] == before["published"]
    assert not list(warehouse.glob(".khuyencong.duckdb.*"))  # the half-written copy is gone
    # (that the next plain run then converges is what the kill tests show for every crash point)
