"""DAG integrity: every file in dags/ parses in a real Airflow DagBag, and the nightly DAG is what we run.

Airflow reads its configuration once per process at import time, so everything that imports
airflow runs in a subprocess with a throw-away AIRFLOW_HOME / SQLite database
(`khuyencong.run.airflow_local.local_airflow_env`): this test process never imports airflow.
The parse results are collected once per module and printed as JSON.

Also here: `khuyencong.run.alerts.notify_failure` (the DAG's on_failure_callback) against a
local HTTP server.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from khuyencong.config import DAGS_DIR, Settings
from khuyencong.run.airflow_local import local_airflow_env

pytestmark = pytest.mark.xdist_group("dag_integrity")  # module fixtures: built once, on one worker

DAG_ID = "khuyencong_nightly"
EXPECTED_TASKS = [
    "prepare", "check_and_load", "anything_to_build", "dbt_build", "mart_gate", "publish", "summary",
]
HEAVY_MODULES = ("great_expectations", "dbt", "pandas", "duckdb")

# Runs in a fresh interpreter: parse a DAGs folder with DagBag, dump what the tests need.
PARSE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from airflow.dag_processing.dagbag import DagBag

    folder = sys.argv[1]
    bag = DagBag(dag_folder=folder, safe_mode=False)
    out = {
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "dag_ids": sorted(bag.dags),
        "files": sorted({d.fileloc for d in bag.dags.values()}),
        "dags": {},
    }
    for dag_id, dag in bag.dags.items():
        tt = dag.timetable
        param = dag.params.get_param("rebuild") if "rebuild" in dag.params else None
        out["dags"][dag_id] = {
            "fileloc": dag.fileloc,
            "timetable": type(tt).__name__,
            "schedule": str(dag.schedule),
            "timetable_repr": repr(tt),
            "cron": getattr(tt, "_expression", None),
            "timetable_timezone": str(getattr(tt, "_timezone", None)),
            "timetable_summary": tt.summary,
            "timezone": getattr(dag.timezone, "name", str(dag.timezone)),
            "start_date": dag.start_date.isoformat() if dag.start_date else None,
            "catchup": dag.catchup,
            "description": dag.description,
            "dagrun_timeout_s": dag.dagrun_timeout.total_seconds() if dag.dagrun_timeout else None,
            "dag_on_failure_callback": getattr(dag.on_failure_callback, "__name__", None),
            "max_active_runs": dag.max_active_runs,
            "params": {k: dag.params[k] for k in dag.params},
            "rebuild_schema": getattr(param, "schema", None),
            "default_args": {k: (v.total_seconds() if hasattr(v, "total_seconds") else
                                 (getattr(v, "__name__", None) if callable(v) else v))
                             for k, v in dag.default_args.items()},
            "topological": [t.task_id for t in dag.topological_sort()],
            "tasks": {
                t.task_id: {
                    "retries": t.retries,
                    "execution_timeout_s": t.execution_timeout.total_seconds() if t.execution_timeout else None,
                    "retry_delay_s": t.retry_delay.total_seconds() if t.retry_delay else None,
                    "on_failure_callback": [getattr(c, "__name__", str(c)) for c in (
                        t.on_failure_callback if isinstance(t.on_failure_callback, list)
                        else [t.on_failure_callback] if t.on_failure_callback else [])],
                    "upstream": sorted(t.upstream_task_ids),
                    "downstream": sorted(t.downstream_task_ids),
                    "trigger_rule": str(getattr(t.trigger_rule, "value", t.trigger_rule)),
                    "operator": type(t).__name__,
                    "outlets": [getattr(o, "uri", str(o)) for o in (t.outlets or [])],
                }
                for t in dag.tasks
            },
        }
    print("DAGBAG " + json.dumps(out, default=str))
    """
)

# Runs in a fresh interpreter: import the DAG module the way the scheduler would, report sys.modules.
IMPORT_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    heavy = sys.argv[2].split(",")
    import airflow.sdk  # the DAG file's own framework; measured separately from the DAG module
    before = sorted(m for m in heavy if m in sys.modules)
    spec = importlib.util.spec_from_file_location("kc_dag_under_test", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    after = sorted(m for m in heavy if m in sys.modules)
    prefixes = sorted({m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy)})
    kc = sorted(m for m in sys.modules if m.startswith("khuyencong"))
    print("MODULES " + json.dumps({"before": before, "after": after, "prefixes": prefixes, "khuyencong": kc}))
    """
)

CYCLIC_DAG = textwrap.dedent(
    """
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.empty import EmptyOperator

    with DAG(dag_id="kc_cyclic", schedule=None) as dag:
        a = EmptyOperator(task_id="a")
        b = EmptyOperator(task_id="b")
        c = EmptyOperator(task_id="c")
        a >> b >> c >> a
    """
)
BROKEN_DAG = "import khuyencong_no_such_module  # noqa\n"


def _airflow_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(local_airflow_env(Settings.from_env(warehouse_dir=tmp_path / "wh")))
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS_DIR)
    return env


def _run(script: str, args: list[str], env: dict, marker: str, cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180,
        check=False,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(marker + " ")]
    assert proc.returncode == 0 and lines, (proc.stdout + proc.stderr)[-5000:]
    return json.loads(lines[-1].removeprefix(marker + " "))


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("dagbag")
    return _run(PARSE_SCRIPT, [str(DAGS_DIR)], _airflow_env(tmp), "DAGBAG", tmp)


@pytest.fixture(scope="module")
def nightly(dagbag) -> dict:
    assert DAG_ID in dagbag["dags"], dagbag
    return dagbag["dags"][DAG_ID]


# ---------------------------------------------------------------- every DAG file


def test_every_dag_file_imports_without_errors(dagbag):
    assert dagbag["import_errors"] == {}
    py_files = sorted(str(p) for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
    assert py_files, "no DAG files in dags/"
    # every Python file in dags/ defines at least one DAG (no stray helper modules parsed as DAGs)
    assert sorted(dagbag["files"]) == py_files


def test_the_integrity_harness_reports_cycles_and_import_errors(tmp_path):
    """The check above means something: a cyclic DAG and a broken import are reported by the same DagBag."""
    folder = tmp_path / "bad_dags"
    folder.mkdir()
    (folder / "cyclic.py").write_text(CYCLIC_DAG, encoding="utf-8")
    (folder / "broken.py").write_text(BROKEN_DAG, encoding="utf-8")
    env = _airflow_env(tmp_path)
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(folder)
    out = _run(PARSE_SCRIPT, [str(folder)], env, "DAGBAG", tmp_path)
    errors = out["import_errors"]
    assert any(k.endswith("broken.py") and "khuyencong_no_such_module" in v for k, v in errors.items()), errors
    assert any(k.endswith("cyclic.py") and "cycle" in v.lower() for k, v in errors.items()), errors
    assert "kc_cyclic" not in out["dag_ids"]


# ---------------------------------------------------------------- the nightly DAG


def test_nightly_dag_exists_in_its_file(dagbag, nightly):
    assert DAG_ID in dagbag["dag_ids"]
    assert Path(nightly["fileloc"]).name == "khuyencong_nightly.py"


def test_schedule_timezone_catchup_and_concurrency(nightly):
    assert nightly["timetable"] == "CronTriggerTimetable"
    assert nightly["cron"] == "0 1 * * *"
    assert nightly["timezone"] == "Asia/Ho_Chi_Minh"
    # the cron fires at 01:00 Hanoi time, not UTC: the timetable carries its own timezone
    assert "Asia/Ho_Chi_Minh" in nightly["timetable_timezone"], nightly["timetable_timezone"]
    assert "01:00 Vietnam time" in nightly["description"] and "Asia/Ho_Chi_Minh" in nightly["description"]
    assert nightly["start_date"] is not None
    assert nightly["catchup"] is False
    assert nightly["max_active_runs"] == 1


def test_rebuild_param_is_a_boolean_defaulting_to_false(nightly):
    assert nightly["params"] == {"rebuild": False, "allow_shrink": False, "raw_dir": None, "warehouse_dir": None}
    assert nightly["rebuild_schema"]["type"] == "boolean"


def test_tasks_in_order_with_expected_dependencies(nightly):
    assert nightly["topological"] == EXPECTED_TASKS
    tasks = nightly["tasks"]
    assert sorted(tasks) == sorted(EXPECTED_TASKS)
    chain = EXPECTED_TASKS[:-1]
    for up, down in itertools.pairwise(chain):
        # every stage also takes the run's settings from `prepare`
        assert tasks[down]["upstream"] == sorted({up, "prepare"}), (down, tasks[down]["upstream"])
    # the summary is the only leaf: it runs after publish whatever happened, and reads every stage's XCom
    assert tasks["summary"]["upstream"] == ["prepare", "publish"]
    assert [t for t, v in tasks.items() if not v["downstream"]] == ["summary"]
    # all_done: the summary is written after a blocked publication too (it then fails the run itself)
    assert tasks["summary"]["trigger_rule"] == "all_done"
    assert "shortcircuit" in tasks["anything_to_build"]["operator"].lower()  # nothing new: skip the build
    # downstream DAGs can be scheduled on fresh marts: only publish updates the asset
    assert {t: v["outlets"] for t, v in tasks.items() if v["outlets"]} == {
        "publish": ["khuyencong://warehouse/marts"]}


def test_retries_timeouts_and_one_failure_callback_per_run(nightly):
    defaults = nightly["default_args"]
    assert defaults["retries"] >= 1
    assert defaults["retry_delay"] > 0
    # one alert per failed run: the DAG's callback, not each task's (a failing task and the summary
    # that then fails the run used to send two)
    assert nightly["dag_on_failure_callback"] == "_on_failure"
    assert "on_failure_callback" not in defaults
    assert nightly["dagrun_timeout_s"] == 180 * 60
    for task_id, t in nightly["tasks"].items():
        assert t["on_failure_callback"] == [], f"{task_id} alerts on its own"
        assert t["retry_delay_s"] and t["retry_delay_s"] > 0, task_id
        # every task can meet the lock (check_and_load too): transient errors are retried (`_stage`
        # turns a verdict or a bug into a failure without retries)
        assert t["retries"] >= 1, f"{task_id} has no retries"
        assert t["execution_timeout_s"] == 60 * 60, task_id


def test_timeouts_come_from_the_settings(tmp_path):
    env = _airflow_env(tmp_path)
    env.update(KC_TASK_TIMEOUT_MINUTES="7", KC_DAGRUN_TIMEOUT_MINUTES="30")
    out = _run(PARSE_SCRIPT, [str(DAGS_DIR)], env, "DAGBAG", tmp_path)["dags"][DAG_ID]
    assert out["dagrun_timeout_s"] == 30 * 60
    assert {t["execution_timeout_s"] for t in out["tasks"].values()} == {7 * 60}


def test_importing_the_dag_module_loads_no_heavy_library(tmp_path):
    out = _run(IMPORT_SCRIPT, [str(DAGS_DIR / "khuyencong_nightly.py"), ",".join(HEAVY_MODULES)],
               _airflow_env(tmp_path), "MODULES", tmp_path)
    assert out["before"] == [], f"airflow itself already imported {out['before']}: the check below would be moot"
    assert out["after"] == [], out
    assert out["prefixes"] == [], out
    # nor does it touch the pipeline package (which would be the route to them)
    assert "khuyencong.run.pipeline" not in out["khuyencong"]


# ---------------------------------------------------------------- failure alerts


def _context(error="dbt build failed; publication blocked"):
    ti = SimpleNamespace(dag_id=DAG_ID, task_id="dbt_build", run_id="manual__2025-01-01", try_number=1)
    return {"task_instance": ti, "exception": RuntimeError(error)}


def test_notify_failure_posts_to_the_webhook(webhook, monkeypatch, caplog):
    from khuyencong.run.alerts import notify_failure

    with caplog.at_level(logging.INFO, logger="khuyencong.run.alerts"):
        notify_failure(_context("Mart gate failed: reconciliation differences are zero"), webhook.url)
    assert len(webhook.received) == 1
    request = webhook.received[0]
    assert request["path"] == "/hooks/kc"
    assert request["headers"]["Content-Type"] == "application/json"
    body = json.loads(request["body"].decode("utf-8"))
    assert body["dag_id"] == DAG_ID
    assert body["task_id"] == "dbt_build"
    assert body["run_id"] == "manual__2025-01-01"
    assert body["try_number"] == 1
    assert body["error"] == "Mart gate failed: reconciliation differences are zero"
    assert "dbt_build" in body["text"] and "reconciliation differences are zero" in body["text"]
    messages = [r.getMessage() for r in caplog.records]
    assert any("khuyencong run failed" in m for m in messages)
    assert any("alert posted: HTTP 204" in m for m in messages)


def test_notify_failure_without_webhook_only_logs(webhook, monkeypatch, caplog):
    from khuyencong.run.alerts import notify_failure

    with caplog.at_level(logging.INFO, logger="khuyencong.run.alerts"):
        notify_failure(_context(), None)
    assert webhook.received == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "dbt_build" in errors[0].getMessage() and "publication blocked" in errors[0].getMessage()


def test_unreachable_webhook_does_not_hide_the_failure(monkeypatch, caplog):
    """A dead alert endpoint is logged as a warning; the callback itself must not raise."""
    import socket

    from khuyencong.run.alerts import notify_failure

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with caplog.at_level(logging.INFO, logger="khuyencong.run.alerts"):
        notify_failure(_context(), f"http://127.0.0.1:{port}/nobody")
    assert any(r.levelno == logging.WARNING and "alert webhook failed" in r.getMessage() for r in caplog.records)
    assert any(r.levelno == logging.ERROR for r in caplog.records)
