"""The in-process runner behind ``kc run``: a real Airflow 3 ``dag.test()`` on SQLite.

Airflow reads its configuration once, at import time, so the runs happen in a subprocess: the
test process never imports airflow and other tests do not inherit its settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from khuyencong.config import PROJECT_ROOT, Settings
from khuyencong.run.airflow_local import local_airflow_env

TINY_DAG = textwrap.dedent(
    """
    from airflow.sdk import dag, get_current_context, task


    @dag(dag_id="kc_tiny", schedule=None, catchup=False)
    def kc_tiny():
        @task
        def read_conf():
            return get_current_context()["dag_run"].conf.get("n", 1)

        @task
        def double(n):
            if n < 0:
                raise ValueError("gate blocked: n is negative")
            return n * 2

        @task
        def report(m):
            import logging

            import great_expectations  # noqa: F401  (its import must stay quiet)

            logging.getLogger("khuyencong.tiny").info("KC-PROGRESS doubled=%s", m)
            return m

        report(double(read_conf()))


    kc_tiny()
    """
)

RUNNER = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from khuyencong.config import Settings
    from khuyencong.run.airflow_local import run_dag_in_process

    settings = Settings.from_env(warehouse_dir=Path(sys.argv[1]))
    for n in (3, -1):
        outcome = run_dag_in_process("kc_tiny", {"n": n}, settings)
        print("OUTCOME " + json.dumps(outcome.to_dict()), flush=True)
    """
)


def test_local_env_is_under_the_warehouse(tmp_path):
    env = local_airflow_env(Settings.from_env(warehouse_dir=tmp_path / "wh", environ={}))
    home = (tmp_path / "wh" / "airflow").resolve()
    assert env["AIRFLOW_HOME"] == str(home)
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] == f"sqlite:///{home / 'airflow.db'}"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(PROJECT_ROOT / "dags")
    assert not any(k.startswith("KC_") for k in env)  # our settings travel as run params, not environment
    elsewhere = Settings.from_env(warehouse_dir=tmp_path, environ={"KC_DAGS_DIR": str(tmp_path / "elsewhere")})
    assert local_airflow_env(elsewhere)["AIRFLOW__CORE__DAGS_FOLDER"] == str(tmp_path / "elsewhere")


@pytest.mark.e2e  # a real DAG through Airflow's dag.test()
def test_dag_runs_in_process_and_a_task_failure_fails_the_run(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "kc_tiny.py").write_text(TINY_DAG, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    # INFO so that the assertion on Great Expectations' import noise means something.
    env.update(KC_DAGS_DIR=str(dags), KC_AIRFLOW_LOG_LEVEL="INFO")
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, str(tmp_path / "wh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    outcomes = [
        json.loads(line.removeprefix("OUTCOME "))
        for line in proc.stdout.splitlines()
        if line.startswith("OUTCOME ")
    ]
    assert len(outcomes) == 2, output[-5000:]
    ok, failed = outcomes

    assert ok["state"] == "success"
    assert ok["metadata_db"] == "created"
    assert {t["task_id"]: t["state"] for t in ok["tasks"]} == {
        "read_conf": "success",
        "double": "success",
        "report": "success",
    }
    assert all(t["duration_s"] is not None for t in ok["tasks"])

    assert failed["state"] == "failed"
    assert failed["metadata_db"] == "current"
    assert {t["task_id"]: t["state"] for t in failed["tasks"]} == {
        "read_conf": "success",
        "double": "failed",
        "report": "upstream_failed",
    }
    assert "gate blocked: n is negative" in output

    # Everything Airflow writes stays under the warehouse, and nothing is left in the repo.
    assert (tmp_path / "wh" / "airflow" / "airflow.db").is_file()
    assert not (PROJECT_ROOT / "airflow.db").exists()
    # quiet_third_party_logging(): our INFO gets through, Great Expectations' INFO does not.
    assert "KC-PROGRESS doubled=6" in output
    assert "Skipping registering function" not in output


def test_importing_the_module_does_not_import_airflow():
    code = "import sys, khuyencong.run.airflow_local; print('airflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
