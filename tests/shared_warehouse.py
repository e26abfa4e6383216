"""Things built once per test session and shared by every pytest-xdist worker.

`published_sample` (a session fixture in tests/conftest.py) is the warehouse one real `kc run`
publishes from the committed sample `raw/`, read in place (the pipeline never writes raw/).
Import the type, or call `published_sample_for` from a fixture of your own::

    from shared_warehouse import PublishedSample, published_sample_for

    def test_something(published_sample: PublishedSample, tmp_path):
        published_sample.raw          # the committed raw/ (read it, never write it)
        published_sample.warehouse    # build.duckdb, khuyencong.duckdb, parquet/, reports/, dbt/target/
        published_sample.record       # the run record (reports/runs/*.json) of that run
        published_sample.output       # what `kc run` printed
        published_sample.marts()      # {mart: rows ORDER BY ALL} of khuyencong.duckdb (publication left out)
        copy = published_sample.copy_to(tmp_path / "wh")   # a warehouse of your own to change

It is read-only: open its DuckDB files with `read_only=True` and never run `kc run`, a stage or
dbt against it. A test that changes anything works on `copy_to(...)` (a `shutil.copytree`, well
under a second, against ~25 s for a run). At the end of each worker's session the warehouse is
compared, file by file (sha256), with what the run left: a test that wrote to it fails the session.

How "once" works (pytest-xdist, "Making session-scoped fixtures execute only once"): the
workers share `tmp_path_factory.getbasetemp().parent`; the first to take the `flock` of
`<name>.lock` there builds `<name>/`, writes `<name>.json` and lets go; the others wait on the lock
and read the marker. A failed build is recorded too, so the other worker fails at once with the
same output instead of building again. `shared_once(tmp_path_factory, name, build)` does that
for anything else worth building once (tests/test_crash_convergence.py uses it).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from kc_runs import kc_run, latest_record, tree

REPO = Path(__file__).resolve().parents[1]
SAMPLE_RAW = REPO / "raw"


class SharedBuildFailed(RuntimeError):
    """The one build of a shared fixture failed (in this worker or in another one)."""


def shared_root(tmp_path_factory) -> Path:
    """The folder every worker of this session sees: the parent of the workers' base temps under xdist."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def shared_once(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> tuple[Path, dict]:
    """Build `<shared root>/<name>/` once per session with `build(folder) -> dict` (JSON); return (folder, dict).

    `build` raises (or returns {"error": text}) to fail; the failure is kept for the other workers.
    """
    root = shared_root(tmp_path_factory)
    folder, marker = root / name, root / f"{name}.json"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not marker.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                info = build(folder)
            except Exception as exc:  # recorded for every worker, then raised here
                info = {"error": f"{type(exc).__name__}: {exc}"}
            marker.write_text(json.dumps(info, default=str), encoding="utf-8")
        info = json.loads(marker.read_text(encoding="utf-8"))
    if "error" in info:
        raise SharedBuildFailed(f"building the shared {name!r} failed:\n{info['error']}")
    return folder, info


MARTS_SQL = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'"
             " AND table_name <> 'publication' ORDER BY 1")


def read_marts(db: Path) -> dict[str, list[tuple]]:
    """{mart: all rows ORDER BY ALL} of a published file, read-only (`marts.publication` left out: it says when)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL').fetchall()
                for (t,) in con.execute(MARTS_SQL).fetchall()}
    finally:
        con.close()


@dataclass(frozen=True)
class PublishedSample:
    """The published warehouse of the committed sample (see the module docstring). Read-only."""

    raw: Path
    warehouse: Path
    record: dict
    output: str
    files: dict  # relative path -> sha256 of every file of the warehouse, as the run left it

    @property
    def published_db(self) -> Path:
        return self.warehouse / "khuyencong.duckdb"

    @property
    def build_db(self) -> Path:
        return self.warehouse / "build.duckdb"

    def marts(self) -> dict[str, list[tuple]]:
        return read_marts(self.published_db)

    def copy_to(self, target: Path, *, airflow: bool = False) -> Path:
        """A copy of the warehouse to change or to run `kc run` on. The local Airflow home is left out
        unless asked for (a run recreates it, as on a new machine)."""
        shutil.copytree(self.warehouse, target, ignore=None if airflow else shutil.ignore_patterns("airflow"))
        return target

    def changed_files(self) -> list[str]:
        """Files of the warehouse added, removed or changed since the run (should be none)."""
        now = tree(self.warehouse)
        return sorted(p for p in set(now) | set(self.files) if now.get(p) != self.files.get(p))


def _build_published_sample(folder: Path) -> dict:
    warehouse = folder / "warehouse"
    run = kc_run(SAMPLE_RAW, warehouse, cwd=folder)
    if run.returncode != 0:
        return {"error": f"kc run exited {run.returncode}\n{run.output[-6000:]}"}
    if run.raw_after != run.raw_before:
        return {"error": "kc run changed raw/"}
    return {"output": run.output, "files": tree(warehouse)}


def published_sample_for(tmp_path_factory) -> PublishedSample:
    """The session's published sample, built by the first worker that asks (one `kc run`, ~25 s)."""
    folder, info = shared_once(tmp_path_factory, "published_sample", _build_published_sample)
    warehouse = folder / "warehouse"
    return PublishedSample(SAMPLE_RAW, warehouse, latest_record(warehouse), info["output"], info["files"])
