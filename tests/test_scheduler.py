"""The nightly DAG under the real Airflow scheduler, as docker-compose.yml deploys it.

Real `airflow api-server`, `scheduler` (LocalExecutor: each task in its own supervised process,
where Airflow blocks its metadata database) and `dag-processor` on 127.0.0.1, against a throwaway
PostgreSQL server, with compose's environment (`airflow_services.py`). On the shipped sample:
1. the run the scheduler creates on deployment succeeds, every file's verdict and every mart equal
   to `kc run`'s (before the reader's own workers, every file was refused F01 and empty marts were
   published as success);
2. one new file, triggered through the REST API: only it is loaded;
3. `{"rebuild": true}`: the same marts;
4. a scheduler whose reader workers cannot start (`KC_CRASH_AT=reader_start`): the run fails loudly,
   no file is refused for it, the published file stays as it was.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import duckdb
import pytest
from airflow_services import AirflowServices
from builders import valid_report
from compose_file import ROOT
from kc_runs import sha
from pg_fixtures import PgServer

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.xdist_group("scheduler")]


def verdicts(build_db: Path) -> dict[str, str]:
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        rows = con.execute("SELECT path, status FROM raw.submissions UNION ALL "
                           "SELECT path, 'duplicate' FROM raw.duplicate_files").fetchall()
    finally:
        con.close()
    return dict(rows)


def marts(published_db: Path) -> dict[str, list[tuple]]:
    """Every mart's rows (not `publication`: it says when)."""
    con = duckdb.connect(str(published_db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM information_schema.tables"
                                            " WHERE table_schema = 'marts' AND table_name <> 'publication'").fetchall()]
        return {t: con.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL').fetchall() for t in sorted(tables)}
    finally:
        con.close()


@pytest.fixture(scope="module")
def reference(published_sample) -> Path:
    """`kc run` on the sample (the session's shared one): what the scheduler must reproduce."""
    assert published_sample.raw == ROOT / "raw"
    return published_sample.warehouse


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    reason = PgServer.unavailable_reason()
    if reason:
        pytest.skip(reason)
    pg = PgServer.start(max_connections=120)  # each Airflow process keeps a pool of connections
    root = tmp_path_factory.mktemp("scheduler")
    shutil.copytree(ROOT / "raw", root / "data" / "raw")  # in place before deployment, as on a first night
    services = None
    try:
        services = AirflowServices.start(pg.port, root)
        yield services
    finally:
        if services is not None:
            services.stop()
        pg.stop()


def _succeeded(services: AirflowServices, run_id: str) -> dict:
    run = services.wait_for_run(run_id)
    tis = services.task_instances(run_id)
    failed = [t for t, ti in tis.items() if ti["state"] not in ("success", "skipped")]
    logs = "\n".join(services.task_log(run_id, t) for t in failed)
    assert run["state"] == "success", f"{run['state']}: {failed}\n{logs}\n{services.log_tail()}"
    print(f"run {run_id}: " + ", ".join(f"{t} {ti['duration']:.1f}s" for t, ti in tis.items()
                                        if ti.get("duration") is not None))
    return tis


def test_the_nightly_dag_under_the_real_scheduler(services, reference):
    warehouse = services.warehouse
    services.wait_for_dag()
    # the first night: the run the scheduler creates on deployment (catchup=False: the latest 01:00)
    runs = []
    for _ in range(120):
        runs = services.runs()
        if runs:
            break
        time.sleep(1)
    assert runs, "the scheduler created no run on deployment"
    first = runs[0]["dag_run_id"]
    assert runs[0]["run_type"] == "scheduled"
    _succeeded(services, first)
    assert verdicts(warehouse / "build.duckdb") == verdicts(reference / "build.duckdb")
    assert marts(warehouse / "khuyencong.duckdb") == marts(reference / "khuyencong.duckdb")
    loaded = services.xcom(first, "check_and_load")
    assert loaded["rejected"] < 20 and loaded["accepted"] > 400, loaded

    # one new file, through the REST API: only it is read and loaded
    valid_report().with_meta(ma_don_vi="01", ten_don_vi="Thành phố Hà Nội", ngay_lap="05/12/2026").write_xlsx(
        services.raw / "2026-12-07" / "Bao cao 6T 2024 - Ha Noi (bo sung).xlsx")
    second = services.trigger()
    _succeeded(services, second)
    loaded = services.xcom(second, "check_and_load")
    assert loaded["new"] == 1 and loaded["seen"] == loaded["total"] - 1, loaded
    after_one = marts(warehouse / "khuyencong.duckdb")

    # rebuild from raw/ alone: the same marts
    third = services.trigger({"rebuild": True})
    _succeeded(services, third)
    assert marts(warehouse / "khuyencong.duckdb") == after_one

    # reader workers that cannot start: a bug of the run, not 495 refused files
    published = sha(warehouse / "khuyencong.duckdb")
    services.stop_service("airflow-scheduler")
    services.start_service("airflow-scheduler", ["airflow", "scheduler"], {"KC_CRASH_AT": "reader_start"})
    fourth = services.trigger({"rebuild": True})
    run = services.wait_for_run(fourth)
    assert run["state"] == "failed"
    tis = services.task_instances(fourth)
    assert tis["check_and_load"]["state"] == "failed" and tis["publish"]["state"] != "success", tis
    assert "could not start" in services.task_log(fourth, "check_and_load")
    assert sha(warehouse / "khuyencong.duckdb") == published
    assert verdicts(warehouse / "build.duckdb") == {}  # no file recorded as refused for it
