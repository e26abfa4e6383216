"""Run an Airflow DAG in-process (``dag.test()``) for ``kc run``: no server, no scheduler.

The nightly DAG is the only orchestrator. Under docker-compose the scheduler runs it; locally
``kc run`` runs *the same DAG* through ``DAG.test()``, which executes every task in this
process against a local SQLite metadata database kept under the warehouse directory::

    <warehouse>/airflow/            AIRFLOW_HOME (no airflow.cfg is written)
    <warehouse>/airflow/airflow.db  SQLite metadata database, created on the first run

Task logs go to this process's stdout/stderr (``dag.test()`` writes no log files).

Recipe (Airflow 3.3.2, established empirically):

1. Every ``AIRFLOW__*`` variable must be in ``os.environ`` *before* ``import airflow``: the
   configuration, the ORM engine and logging are all set up at import time.
   ``prepare_local_airflow`` does that, and refuses if ``airflow`` is already imported with
   another ``AIRFLOW_HOME`` (the old settings would silently stay in force). Run it in a fresh
   process (the CLI does; tests use a subprocess).
2. ``ensure_metadata_db``: compare the database's Alembic revision with the code's head and
   call ``airflow.utils.db.initdb()`` only when they differ. On an empty database ``initdb``
   creates the schema from the ORM models and stamps it (~1.4 s); on an old one it runs the
   Alembic upgrade; when current, the check costs ~0.5 s (loading the migration scripts).
3. ``load_dag``: parse the DAGs folder with ``airflow.dag_processing.dagbag.DagBag``
   (``airflow.models.dagbag.DagBag`` is a deprecated shim in 3.x and ``include_examples`` is
   gone). No separate serialization step is needed: ``DAG.test()`` syncs the ``dags-folder``
   bundle (serialized DAG + DAG version) itself, but only from ``[core] dags_folder``; a DAG
   loaded from elsewhere fails with "Cannot create DagRun ... because the dag is not
   serialized". Hence ``AIRFLOW__CORE__DAGS_FOLDER`` = ``KC_DAGS_DIR`` or the repo's ``dags/``.
4. ``dag.test(run_conf=conf)`` (signature: ``run_after, logical_date, run_conf,
   conn_file_path, variable_file_path, use_executor=False, mark_success_pattern``) returns the
   ``DagRun``. A failing task does not raise: it is logged, downstream tasks become
   ``upstream_failed`` and the run's state is ``failed``. Tasks run through Airflow's in-process
   execution API (a FastAPI TestClient), so no API server, scheduler or executor is involved.

Measured on the 2-core dev machine, trivial 3-task TaskFlow DAG, wall clock of the process:
about 9 s for both a fresh and an existing AIRFLOW_HOME (import airflow ~2.1 s; database
create ~1.4 s vs. revision check ~0.5 s; dag.test ~3.5-4 s, of which ~2.7 s is the one-off
start of the in-process execution API on the first task). A second run in the same process
takes ~0.3 s.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khuyencong.config import Settings

#: Loggers that are chatty at INFO when imported under Airflow's structlog set-up.
_NOISY_LOGGERS = (
    "great_expectations",
    "dbt",
    "alembic",
    "airflow.models.dagbag",
    "airflow.dag_processing",
)


def local_airflow_env(settings: Settings) -> dict[str, str]:
    """Airflow's own configuration (Airflow reads only the environment) for a local run under the warehouse.

    These are ``AIRFLOW__*`` variables, not ours: our settings reach the DAG as run params.
    """
    home = settings.warehouse_dir / "airflow"
    level = settings.airflow_log_level
    return {
        "AIRFLOW_HOME": str(home),
        # Absolute path: sqlite:/// + /abs/path.
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.dags_dir),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(home / "plugins"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": level,
    }


def prepare_local_airflow(settings: Settings) -> dict[str, str]:
    """Put the local Airflow configuration into ``os.environ``; call before importing airflow.

    Returns the variables it set. Creates ``<warehouse>/airflow``. Raises ``RuntimeError`` if
    ``airflow`` was already imported with another ``AIRFLOW_HOME`` (too late to configure it).
    """
    env = local_airflow_env(settings)
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != env["AIRFLOW_HOME"]:
        raise RuntimeError(
            "airflow is already imported with AIRFLOW_HOME="
            f"{os.environ.get('AIRFLOW_HOME')!r}; call prepare_local_airflow() before importing "
            "airflow (or run in a fresh process)"
        )
    os.environ.update(env)
    return env


def quiet_third_party_logging(level: int = logging.WARNING) -> None:
    """Silence libraries that log at INFO once Airflow has configured logging.

    ``import airflow`` configures the stdlib root logger (structlog-formatted, to stdout) at
    ``[logging] logging_level``: INFO by default; ``kc run`` uses WARNING unless
    ``KC_AIRFLOW_LOG_LEVEL`` says otherwise. At INFO, importing great_expectations (which our
    gate tasks do) prints one line per function it skips while building its API docs registry
    ("Skipping registering function ... because it is a closure", about 210 lines, from the
    stdlib logger ``great_expectations._docs_decorators``). Raising the level of the
    ``great_expectations`` logger, and of a few other chatty ones, removes them whatever the
    root level, without touching the logs of our own code; ``khuyencong.*`` loggers are kept
    at INFO and let through Airflow's stdout handler. Call it after ``import airflow`` (which
    configures logging) and before great_expectations is imported; calling it again is harmless.
    """
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    # Our own progress messages stay visible whatever Airflow's level is: Airflow puts the level
    # on the root logger *and* on its stdout handler, so the handler must let INFO through; the
    # other loggers still inherit the root's level.
    logging.getLogger("khuyencong").setLevel(logging.INFO)
    for handler in logging.getLogger().handlers:
        if handler.level > logging.INFO:
            handler.setLevel(logging.INFO)
    # Emitted when dag.test() starts Airflow's in-process execution API (FastAPI TestClient).
    warnings.filterwarnings("ignore", message=r".*starlette\.testclient.*")


@dataclass
class TaskOutcome:
    task_id: str
    state: str | None
    duration_s: float | None
    try_number: int = 0
    map_index: int = -1


@dataclass
class DagRunOutcome:
    dag_id: str
    run_id: str
    state: str
    tasks: list[TaskOutcome] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    metadata_db: str = ""

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def failed_tasks(self) -> list[str]:
        return [t.task_id for t in self.tasks if t.state in ("failed", "upstream_failed")]

    def to_dict(self) -> dict[str, Any]:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "state": self.state,
            "tasks": [t.__dict__ for t in self.tasks],
            "timings": self.timings,
            "metadata_db": self.metadata_db,
        }


def ensure_metadata_db() -> str:
    """Create or migrate the metadata database; a no-op when it is already at head.

    Returns ``"created"``, ``"migrated"`` or ``"current"``.
    """
    from airflow.utils import db
    from airflow.utils.session import create_session

    try:  # private helpers of airflow.utils.db (3.x); without them, always run initdb()
        with create_session() as session:
            current = db._get_current_revision(session)
        head = db._get_script_object().get_current_head()
    except AttributeError:
        current, head = "unknown", None
    if current == head:
        return "current"
    db.initdb()  # idempotent: creates a new database, upgrades an old one
    return "migrated" if current else "created"


def load_dag(dag_id: str, dags_folder: Path):
    """Parse the DAGs folder and return the DAG ``dag_id``; raise with the import errors."""
    from airflow.dag_processing.dagbag import DagBag

    folder = dags_folder
    bag = DagBag(dag_folder=str(folder), safe_mode=False)
    dag = bag.dags.get(dag_id)
    if dag is None:
        errors = "; ".join(f"{path}: {err}" for path, err in bag.import_errors.items())
        raise LookupError(
            f"DAG {dag_id!r} not found in {folder}" + (f" ({errors})" if errors else "")
        )
    return dag


def run_dag_in_process(dag_id: str, conf: dict | None, settings: Settings) -> DagRunOutcome:
    """Run ``dag_id`` once, in this process, with ``conf`` as the run configuration."""
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare_local_airflow(settings)
    import airflow  # noqa: F401  (reads the environment prepared above)

    quiet_third_party_logging()
    timings["import_airflow_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    db_state = ensure_metadata_db()
    timings["metadata_db_s"] = time.perf_counter() - t

    t = time.perf_counter()
    dag = load_dag(dag_id, settings.dags_dir)
    timings["parse_dag_s"] = time.perf_counter() - t

    t = time.perf_counter()
    dag_run = dag.test(run_conf=dict(conf or {}))
    timings["dag_test_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - t0

    outcome = DagRunOutcome(
        dag_id=dag_id,
        run_id=dag_run.run_id,
        state=str(getattr(dag_run.state, "value", dag_run.state)),
        timings={k: round(v, 3) for k, v in timings.items()},
    )
    outcome.metadata_db = db_state
    outcome.tasks = _task_outcomes(dag_run)
    return outcome


def _task_outcomes(dag_run) -> list[TaskOutcome]:
    from airflow.utils.session import create_session

    with create_session() as session:
        tis = dag_run.get_task_instances(session=session)
        result = [
            TaskOutcome(
                task_id=ti.task_id,
                state=str(getattr(ti.state, "value", ti.state)) if ti.state else None,
                duration_s=round(ti.duration, 3) if ti.duration is not None else None,
                try_number=ti.try_number,
                map_index=ti.map_index,
            )
            for ti in tis
        ]
    return sorted(result, key=lambda t: (t.task_id, t.map_index))
