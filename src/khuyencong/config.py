"""The one typed configuration of a run: every path, cap and setting, read from the environment once.

`Settings.from_env()` is the only place the product reads `KC_*` variables (the DAG
file reads Airflow's retry settings through it too). Build it once at an entry point
(`kc`, the DAG's `prepare` task, a test), pass it down and across processes whole
(`to_dict` / `from_dict`), and install it with `activate` for what reads a setting deep
below (the reader's reference seeds); nothing below reads the environment.
Nothing here imports anything heavy: the CLI start-up path goes through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
DAGS_DIR = PROJECT_ROOT / "dags"


@dataclass(frozen=True)
class ReadLimits:
    """Caps that keep a hostile file from exhausting memory or time (rule F01).

    Each cap has its environment variable in `ENV`; defaults are documented in docs/submission-format.md.
    """

    max_file_bytes: int = 20 * 1024 * 1024
    max_uncompressed_bytes: int = 50 * 1024 * 1024
    max_entries: int = 20
    max_rows_per_sheet: int = 10_000
    max_columns_per_sheet: int = 64  # column BL; the widest sheet of the template has 8
    max_csv_field_chars: int = 10_000

    ENV = {
        "max_file_bytes": "KC_MAX_FILE_BYTES",
        "max_uncompressed_bytes": "KC_MAX_UNCOMPRESSED_BYTES",
        "max_entries": "KC_MAX_ARCHIVE_ENTRIES",
        "max_rows_per_sheet": "KC_MAX_ROWS_PER_SHEET",
        "max_columns_per_sheet": "KC_MAX_COLUMNS_PER_SHEET",
        "max_csv_field_chars": "KC_MAX_CSV_FIELD_CHARS",
    }

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ReadLimits:
        env = os.environ if environ is None else environ
        return cls(**{f.name: int(env[cls.ENV[f.name]]) for f in fields(cls) if cls.ENV[f.name] in env})


def _path(environ: Mapping[str, str], var: str, default: Path) -> Path:
    value = environ.get(var)
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    """Where the run reads and writes, and how it behaves. Defaults in parentheses are the README's."""

    raw_dir: Path  # KC_RAW_DIR (./raw): the landing zone, only ever read
    warehouse_dir: Path  # KC_WAREHOUSE_DIR (./warehouse)
    build_db: Path  # KC_BUILD_DB (<warehouse>/build.duckdb): dbt's database, one writer
    dbt_project_dir: Path = DBT_PROJECT_DIR  # KC_DBT_PROJECT_DIR
    expectations_dir: Path = EXPECTATIONS_DIR  # KC_EXPECTATIONS_DIR
    dags_dir: Path = DAGS_DIR  # KC_DAGS_DIR
    limits: ReadLimits = field(default_factory=ReadLimits)
    task_retries: int = 2  # KC_TASK_RETRIES: transient errors only
    retry_delay_seconds: int = 60  # KC_RETRY_DELAY_SECONDS
    lock_timeout_seconds: float = 600.0  # KC_LOCK_TIMEOUT_SECONDS: wait for another writer
    alert_webhook_url: str | None = None  # KC_ALERT_WEBHOOK_URL: failure alerts (off)
    airflow_log_level: str = "WARNING"  # KC_AIRFLOW_LOG_LEVEL, for `kc run`
    postgres_url: str | None = None  # KC_POSTGRES_URL: optional PostgreSQL serving target
    postgres_reader_role: str | None = None  # KC_POSTGRES_READER_ROLE
    crash_at: str | None = None  # KC_CRASH_AT: fault injection for the crash tests (kill -9 at a named point)
    task_timeout_minutes: float = 60.0  # KC_TASK_TIMEOUT_MINUTES: each task's execution_timeout
    dagrun_timeout_minutes: float = 180.0  # KC_DAGRUN_TIMEOUT_MINUTES: the whole run's
    allow_shrink: bool = False  # `kc run --allow-shrink`, DAG param allow_shrink: publish smaller marts

    @classmethod
    def from_env(
        cls,
        raw_dir: str | Path | None = None,
        warehouse_dir: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Explicit arguments win over the environment (`kc run --raw ... --warehouse ...`)."""
        env = os.environ if environ is None else environ
        cwd = Path.cwd()
        raw = Path(raw_dir).resolve() if raw_dir else _path(env, "KC_RAW_DIR", cwd / "raw")
        warehouse = (Path(warehouse_dir).resolve() if warehouse_dir
                     else _path(env, "KC_WAREHOUSE_DIR", cwd / "warehouse"))
        # an explicit warehouse brings its own build database; KC_BUILD_DB only overrides the default
        build = warehouse / "build.duckdb" if warehouse_dir else _path(env, "KC_BUILD_DB", warehouse / "build.duckdb")
        return cls(
            raw_dir=raw,
            warehouse_dir=warehouse,
            build_db=build,
            dbt_project_dir=_dbt_project_dir(env),
            expectations_dir=_path(env, "KC_EXPECTATIONS_DIR", EXPECTATIONS_DIR),
            dags_dir=_path(env, "KC_DAGS_DIR", DAGS_DIR),
            limits=ReadLimits.from_env(env),
            task_retries=int(env.get("KC_TASK_RETRIES", 2)),
            retry_delay_seconds=int(env.get("KC_RETRY_DELAY_SECONDS", 60)),
            lock_timeout_seconds=float(env.get("KC_LOCK_TIMEOUT_SECONDS", 600)),
            alert_webhook_url=env.get("KC_ALERT_WEBHOOK_URL") or None,
            airflow_log_level=env.get("KC_AIRFLOW_LOG_LEVEL", "WARNING"),
            postgres_url=env.get("KC_POSTGRES_URL") or None,
            postgres_reader_role=env.get("KC_POSTGRES_READER_ROLE") or None,
            crash_at=env.get("KC_CRASH_AT") or None,
            task_timeout_minutes=float(env.get("KC_TASK_TIMEOUT_MINUTES", 60)),
            dagrun_timeout_minutes=float(env.get("KC_DAGRUN_TIMEOUT_MINUTES", 180)),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Settings:
        """The inverse of `to_dict`, reading nothing else: how a task or a child process gets the run's settings."""
        values = dict(data)
        values["limits"] = ReadLimits(**values.get("limits", {}))
        for f in fields(cls):
            if f.type == "Path":
                values[f.name] = Path(values[f.name])
        return cls(**values)

    def to_dict(self) -> dict[str, object]:
        """Every setting, as JSON-able values: it crosses process boundaries whole (XCom, the stage process)."""
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = (str(value) if isinstance(value, Path) else asdict(value) if f.name == "limits"
                           else value)
        return out

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / "khuyencong.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.warehouse_dir / "parquet" / "marts"

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def runs_dir(self) -> Path:
        """The one place run records go (the last 30 runs)."""
        return self.reports_dir / "runs"

    @property
    def dbt_target_dir(self) -> Path:
        return self.warehouse_dir / "dbt" / "target"

    @property
    def seeds_dir(self) -> Path:
        return self.dbt_project_dir / "seeds"


#: the run this process works for (a stage process of `kc run`): a crash point kills it too
_crash_also: list[int] = []


def crash_with(pid: int) -> None:
    """In a process working for run `pid`: a crash point here is the run's, so it kills that run as well."""
    _crash_also.append(pid)


def crash_point(settings: Settings, name: str) -> None:
    """Die here, as `kill -9` of the run would, when the crash tests ask for this point (`KC_CRASH_AT=name`);
    hang here, as a stuck disk or database would, for `KC_CRASH_AT=name:hang` (the timeout tests)."""
    if settings.crash_at == f"{name}:hang":
        import time

        while True:
            time.sleep(1)
    if settings.crash_at == name:
        import signal

        for pid in _crash_also:
            os.kill(pid, signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)


def _dbt_project_dir(environ: Mapping[str, str]) -> Path:
    return _path(environ, "KC_DBT_PROJECT_DIR", DBT_PROJECT_DIR)


#: the settings this process works with, installed by its entry point (`activate`)
_active: list[Settings] = []


def activate(settings: Settings) -> Settings:
    """Install the run's settings for this process: an entry point (`kc`, a DAG task, a worker) calls it once.

    What reads a setting deep below (the reference seeds of the reader, the default caps) reads these,
    never the environment.
    """
    _active[:] = [settings]
    return settings


def active() -> Settings:
    """The installed settings; before any entry point installed some (a library call, a unit test), the
    defaults: the repository's project, the documented caps. Never the environment."""
    if not _active:
        _active.append(Settings(raw_dir=Path.cwd() / "raw", warehouse_dir=Path.cwd() / "warehouse",
                                build_db=Path.cwd() / "warehouse" / "build.duckdb"))
    return _active[0]


def seeds_dir() -> Path:
    """The reference seeds (read-only project data) of the active settings' dbt project."""
    return active().seeds_dir
