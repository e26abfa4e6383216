"""The nightly run's stages, as plain functions the DAG's tasks call (and tests call without Airflow).

discover -> check_and_load -> build_marts -> gate_marts -> publish -> summarise

Each stage takes the run's `Settings` and returns a small JSON-able dict (Airflow
XCom carries ids and paths, never frames). Only `check_and_load` writes the
build database's `raw` schema and only `build_marts` (dbt) writes the rest, one
after the other: one writer at a time. `raw/` is only read. The published file
changes only in `publish`, by an atomic rename.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from khuyencong import config

log = logging.getLogger(__name__)

BUILD_DB = "build.duckdb"
PUBLISHED_DB = "khuyencong.duckdb"


@dataclass(frozen=True)
class Settings:
    raw_dir: Path
    warehouse_dir: Path

    @classmethod
    def from_env(cls, raw_dir: str | Path | None = None, warehouse_dir: str | Path | None = None) -> Settings:
        return cls(
            raw_dir=Path(raw_dir).resolve() if raw_dir else config.raw_dir(),
            warehouse_dir=Path(warehouse_dir).resolve() if warehouse_dir else config.warehouse_dir(),
        )

    @property
    def build_db(self) -> Path:
        return self.warehouse_dir / BUILD_DB

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / PUBLISHED_DB

    @property
    def parquet_dir(self) -> Path:
        return self.warehouse_dir / "parquet" / "marts"

    @property
    def reports_dir(self) -> Path:
        return self.warehouse_dir / "reports"

    @property
    def dbt_target_dir(self) -> Path:
        return self.warehouse_dir / "dbt" / "target"

    def to_dict(self) -> dict[str, str]:
        return {"raw_dir": str(self.raw_dir), "warehouse_dir": str(self.warehouse_dir)}


class PublicationBlocked(RuntimeError):
    """A dbt test or a mart expectation failed: the last published warehouse stays as it was."""


def _timed(result: dict, started: float) -> dict:
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


# ---------------------------------------------------------------- stages


def reset_for_rebuild(settings: Settings) -> dict:
    """Rebuild from raw/ alone: forget the build database and the reports; keep the published file until publish."""
    started = time.perf_counter()
    for path in (settings.build_db, settings.build_db.with_suffix(".duckdb.wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(settings.reports_dir / "submissions", ignore_errors=True)
    return _timed({"rebuild": True}, started)


def discover(settings: Settings) -> dict:
    from khuyencong.loader import connect
    from khuyencong.loader import discover as discover_files

    started = time.perf_counter()
    if not settings.raw_dir.is_dir():
        raise FileNotFoundError(f"landing zone not found: {settings.raw_dir} (set KC_RAW_DIR or --raw)")
    con = connect(settings.build_db)
    try:
        found = discover_files(con, settings.raw_dir)
    finally:
        con.close()
    log.info("discover: %d files in raw/, %d already seen, %d new, %d duplicates",
             found.total, found.seen, len(found.new), len(found.duplicates))
    return _timed({
        "total": found.total,
        "seen": found.seen,
        "new": [str(p) for p in found.new],
        "duplicates": [[str(p), sid] for p, sid in found.duplicates],
    }, started)


def check_and_load(settings: Settings, discovered: dict) -> dict:
    """Gate every new file (reader + GX, one batch per table) and load it: one transaction per file."""
    from khuyencong.checking import check_files
    from khuyencong.loader import connect, record_duplicates
    from khuyencong.reports.files import write_file_reports

    started = time.perf_counter()
    paths = [Path(p) for p in discovered["new"]]
    duplicates = [(Path(p), sid) for p, sid in discovered["duplicates"]]
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    results = []
    con = connect(settings.build_db)
    try:
        if paths:
            from khuyencong.data_docs import docs_context, publish_results
            from khuyencong.gate import FileGate
            from khuyencong.history import HistoryRules
            from khuyencong.loader import load_check

            context = docs_context(settings.warehouse_dir)  # the run's one GX context
            gate = FileGate(context=context)
            history = HistoryRules.from_connection(con, settings.raw_dir)
            checks = check_files(paths, gate=gate, history=history)
            docs = publish_results(context, {**gate.last_results, **history.last_results},
                                   settings.warehouse_dir, "files")
            for check in checks:
                load_check(con, check, settings.raw_dir, loaded_at)
                report = write_file_reports(check, settings.reports_dir / "submissions", settings.raw_dir)
                results.append({
                    "path": str(check.path.relative_to(settings.raw_dir)),
                    "submission_id": check.submission_id,
                    "status": check.status,
                    "errors": sum(f.is_fatal for f in check.findings),
                    "warnings": sum(not f.is_fatal for f in check.findings),
                    "rules": sorted({f.rule for f in check.findings}),
                    "report": str(report.relative_to(settings.warehouse_dir)),
                })
                log.info("%-24s %-40s %s", check.status, results[-1]["path"],
                         " ".join(results[-1]["rules"]) or "-")
        record_duplicates(con, duplicates, settings.raw_dir, loaded_at)
        rows = con.execute(
            "SELECT (SELECT count(*) FROM raw.funding_rows f JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)"
            " + (SELECT count(*) FROM raw.outcome_rows o JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)"
            " + (SELECT count(*) FROM raw.project_rows p JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)",
            [loaded_at, loaded_at, loaded_at],
        ).fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "accepted_with_warnings", "rejected")}
    return _timed({"files": results, "duplicates": len(duplicates), "rows_loaded": int(rows), **counts,
                   "data_docs": str(docs) if paths else None}, started)


def raw_fingerprint(settings: Settings) -> dict:
    """What the build database holds from raw/: changes whenever a file is loaded or recorded."""
    from khuyencong.loader import connect, ensure_raw_schema

    con = connect(settings.build_db)
    try:
        ensure_raw_schema(con)
        subs, last = con.execute("SELECT count(*), max(loaded_at) FROM raw.submissions").fetchone()
        dups = con.execute("SELECT count(*) FROM raw.duplicate_files").fetchone()[0]
    finally:
        con.close()
    return {"submissions": subs, "duplicates": dups, "last_loaded_at": str(last)}


def _manifest(settings: Settings) -> Path:
    return settings.warehouse_dir / "published.json"


def needs_build(settings: Settings, loaded: dict) -> bool:
    """Build unless the published warehouse already reflects everything loaded.

    Comparing with the fingerprint recorded at the last publication (not only "was
    anything new this run") means a run blocked by a gate is caught up by the next one.
    """
    if loaded["files"] or loaded["duplicates"] or not settings.published_db.exists():
        return True
    try:
        published = json.loads(_manifest(settings).read_text(encoding="utf-8"))["fingerprint"]
    except (OSError, ValueError, KeyError):
        return True
    return published != raw_fingerprint(settings)


def build_marts(settings: Settings) -> dict:
    """`dbt build` (seeds, models, tests, unit tests) in a subprocess: dbt's DuckDB handle dies with it."""
    started = time.perf_counter()
    project = config.dbt_project_dir()
    target = settings.dbt_target_dir
    env = {
        **os.environ,
        "KC_BUILD_DB": str(settings.build_db),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(settings.warehouse_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [str(dbt) if dbt.exists() else "dbt", "build", "--profiles-dir", str(project), "--project-dir", str(project)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    results_file = target / "run_results.json"
    summary = _dbt_summary(results_file) if results_file.exists() else {}
    if proc.returncode != 0:
        failed = summary.get("failed") or []
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        raise PublicationBlocked(
            "dbt build failed; publication blocked, the last published warehouse is unchanged.\n"
            f"Failed: {', '.join(failed) or '(see log)'}\nFull result: {results_file}\n{tail}"
        )
    return _timed(summary, started)


def _dbt_summary(path: Path) -> dict:
    data = json.loads(path.read_text())
    by_type: dict[str, int] = {}
    failed = []
    for r in data.get("results", []):
        kind = r["unique_id"].split(".")[0]
        if r["status"] in ("success", "pass"):
            by_type[kind] = by_type.get(kind, 0) + 1
        elif r["status"] != "no-op":  # exposures; `warn` counts as a failure worth naming
            failed.append(f"{r['unique_id']} ({r['status']})")
    return {"passed": by_type, "failed": failed}


def gate_marts(settings: Settings) -> dict:
    from khuyencong.mart_gate import check_marts

    started = time.perf_counter()
    from khuyencong.data_docs import docs_context

    result = check_marts(settings.build_db, settings.reports_dir, docs_context(settings.warehouse_dir),
                         warehouse_dir=settings.warehouse_dir)
    if not result["success"]:
        raise PublicationBlocked(
            "Mart gate failed; publication blocked, the last published warehouse is unchanged.\n"
            f"Failed checks: {'; '.join(result['failed'])}\nFull result: {result['result_path']}"
            f" (Data Docs: {result.get('data_docs')})"
        )
    return _timed(result, started)


def publish(settings: Settings) -> dict:
    from khuyencong.publish import publish_marts
    from khuyencong.reports.conference import write_conference_report

    started = time.perf_counter()
    fingerprint = raw_fingerprint(settings)
    result = publish_marts(settings.build_db, settings.published_db, settings.parquet_dir)
    result["report"] = str(write_conference_report(settings.published_db, settings.reports_dir))
    manifest = {"fingerprint": fingerprint, "tables": result["tables"],
                "published_at": datetime.now(UTC).isoformat()}
    tmp = _manifest(settings).with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    os.replace(tmp, _manifest(settings))
    return _timed(result, started)


def record_stage(settings: Settings, run_id: str, stage: str, result: dict) -> dict:
    """Keep a stage's result for the run summary (skipped stages simply leave no file)."""
    folder = _run_folder(settings, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stage}.json").write_text(json.dumps(result, ensure_ascii=False, default=str), encoding="utf-8")
    return result


def recorded_stages(settings: Settings, run_id: str) -> dict:
    folder = _run_folder(settings, run_id)
    order = ["reset", "discover", "check_and_load", "dbt_build", "mart_gate", "publish", "blocked"]
    found = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")} if folder.exists() else {}
    shutil.rmtree(folder, ignore_errors=True)
    return {k: found[k] for k in order if k in found}


def _run_folder(settings: Settings, run_id: str) -> Path:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in run_id)
    return settings.warehouse_dir / "runs" / safe


def summarise(settings: Settings, stages: dict) -> dict:
    from khuyencong.reports.files import write_run_summary

    path = write_run_summary(settings, stages)
    return {"summary": str(path)}


def run_all(settings: Settings, rebuild: bool = False) -> dict:
    """The whole run without Airflow (tests, debugging); the DAG calls the same stages."""
    stages: dict = {}
    if rebuild:
        stages["reset"] = reset_for_rebuild(settings)
    stages["discover"] = discover(settings)
    stages["check_and_load"] = check_and_load(settings, stages["discover"])
    try:
        if needs_build(settings, stages["check_and_load"]):
            stages["dbt_build"] = build_marts(settings)
            stages["mart_gate"] = gate_marts(settings)
            stages["publish"] = publish(settings)
    except PublicationBlocked as exc:
        stages["blocked"] = {"message": str(exc)}
        summarise(settings, stages)
        raise
    stages["summary"] = summarise(settings, stages)
    return stages
