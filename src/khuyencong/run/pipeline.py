"""The nightly run's stages, as plain functions the DAG's tasks call.

The DAG (`dags/khuyencong_nightly.py`) is the only definition of their order:
check_and_load -> anything to build? -> build_marts -> gate_marts -> publish -> summarise.
Each stage takes the run's `Settings` and returns a small JSON-able dict that Airflow
carries as XCom. Writers of the build database (`check_and_load`, `build_marts`,
`publish`'s read of it) hold its lock (`warehouse.lock`); `raw/` is only read; the
published file changes only in `publish`, by an atomic rename.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from khuyencong.config import Settings, crash_point
from khuyencong.errors import PublicationBlocked, Transient, WarehouseBusy, is_transient_text
from khuyencong.model import FileCheck
from khuyencong.reports.conference import write_conference_report
from khuyencong.reports.data_docs import docs_context, publish_results
from khuyencong.reports.safe import plain_text
from khuyencong.reports.submission_reports import write_file_reports, write_run_summary
from khuyencong.rules.checking import check_files
from khuyencong.rules.gate import FileGate
from khuyencong.rules.history import HistoryRules
from khuyencong.rules.mart_gate import check_marts
from khuyencong.rules.publication_guard import guard_publication
from khuyencong.run import dbt_process
from khuyencong.warehouse import build_state
from khuyencong.warehouse.fingerprint import fingerprint, project_fingerprint, published_fingerprint
from khuyencong.warehouse.loader import (
    Discovery,
    discover,
    load_batch,
    pending,
    record_duplicates,
    refused_entry,
    relative,
    rows_loaded,
)
from khuyencong.warehouse.lock import build_lock, connect_writer, is_lock_conflict
from khuyencong.warehouse.postgres import describe_failure, publish_to_postgres
from khuyencong.warehouse.publish import publish_marts

log = logging.getLogger(__name__)

#: how many refused / warned files a stage result names (the rest are counted); the per-file
#: reports and `raw.findings` hold every file
FILES_LISTED = 200
#: files loaded per transaction (a batch is all-or-nothing; a batch that fails is retried file by file)
LOAD_BATCH = 500
#: files read and gated together (one GX validation per suite per batch)
CHECK_BATCH = 5000
#: the stages whose results the summary reads (DAG task ids)
STAGES = ("check_and_load", "dbt_build", "mart_gate", "publish")


def _timed(result: dict, started: float) -> dict:
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


def _lock(settings: Settings, purpose: str):
    return build_lock(settings.build_db, purpose, settings.lock_timeout_seconds)


# ---------------------------------------------------------------- stages


def run_settings(params: dict) -> dict:
    """The run's settings, read once (`prepare`): `kc run`'s own, whole, or the environment's with the params."""
    if params.get("settings"):
        settings = Settings.from_dict(params["settings"])
    else:
        settings = Settings.from_env(params.get("raw_dir"), params.get("warehouse_dir"))
    return replace(settings, allow_shrink=bool(params.get("allow_shrink") or settings.allow_shrink)).to_dict()


def reset_for_rebuild(settings: Settings) -> dict:
    """Rebuild from raw/ alone: forget the build database; keep the published file and the reports until publish.

    The per-file reports stay: a rebuild writes each file's report again under the same name, and
    only a publication removes the reports of files raw/ no longer holds (`_prune_file_reports`).
    """
    started = time.perf_counter()
    with _lock(settings, "rebuild"):
        for path in (settings.build_db, settings.build_db.with_name(settings.build_db.name + ".wal")):
            path.unlink(missing_ok=True)
    crash_point(settings, "after_reset")
    return _timed({"rebuild": True}, started)


def check_and_load(settings: Settings) -> dict:
    """Find new files in raw/, gate them (reader + GX, one batch per table), load each in one transaction.

    Whatever goes wrong with one file becomes a finding on that file (its report says so) and the
    run goes on; anything else (the database, the gate itself) raises.
    """
    started = time.perf_counter()
    if not settings.raw_dir.is_dir():
        raise FileNotFoundError(f"landing zone not found: {settings.raw_dir} (set KC_RAW_DIR or --raw)")
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    results: list[dict] = []
    docs = None
    with _lock(settings, "check_and_load"), connect_writer(settings.build_db, settings.lock_timeout_seconds) as con:
        found = _discover(con, settings)
        store = partial(_store, con, settings, loaded_at, results)
        store([refused_entry(path, reason, settings.raw_dir) for path, reason in found.refused])
        if found.new:
            docs = _check(con, settings, found.new, store)
        record_duplicates(con, found.duplicates, settings.raw_dir, loaded_at)
        rows = rows_loaded(con, loaded_at)
        con.execute("CHECKPOINT")
    counts = {s: sum(r["status"] == s for r in results) for s in ("accepted", "accepted_with_warnings", "rejected")}
    listed = [r for r in results if r["status"] != "accepted"]
    return _timed({
        "total": found.total, "seen": found.seen, "new": len(results), "duplicates": len(found.duplicates),
        **counts, "rows_loaded": rows,
        "files": listed[:FILES_LISTED], "files_not_listed": max(0, len(listed) - FILES_LISTED),
        "data_docs": str(docs) if docs else None,
    }, started)


def _discover(con, settings: Settings) -> Discovery:
    """The landing zone against the records: new files, byte-identical copies, entries refused unopened."""
    found = discover(con, settings.raw_dir)
    log.info("discover: %d files in raw/, %d already seen, %d new, %d duplicates, %d refused entries",
             found.total, found.seen, len(found.new), len(found.duplicates), len(found.refused))
    return found


def _check(con, settings: Settings, new: list[Path], store: Callable[[list[FileCheck]], None]) -> Path:
    """Read and gate the new files (reader + GX + history rules) a slice at a time, each slice handed to
    `store`; returns the Data Docs page of the last slice's results (the run's one GX context)."""
    context = docs_context(settings.warehouse_dir)
    gate = FileGate(context=context, directory=settings.expectations_dir)
    history = HistoryRules.from_connection(con, settings.raw_dir)
    # memory follows the batch, not the night: a rebuild of years of history is checked in slices
    for start in range(0, len(new), CHECK_BATCH):
        store(check_files(new[start:start + CHECK_BATCH], gate=gate, history=history,
                          limits=settings.limits, landing_zone=True, crash_at=settings.crash_at))
    return publish_results(context, {**gate.last_results, **history.last_results}, settings.warehouse_dir, "files")


def _store(con, settings: Settings, loaded_at: datetime, results: list[dict], checks: list[FileCheck]) -> None:
    """Write each checked file's report, then load it, `LOAD_BATCH` files per transaction; append their results."""
    reports_dir = settings.reports_dir / "submissions"
    for start in range(0, len(checks), LOAD_BATCH):
        batch = checks[start:start + LOAD_BATCH]
        # the reports first: a crash before the commit re-does both on the next run
        reports = [write_file_reports(check, reports_dir, settings.raw_dir) for check in batch]
        stored = load_batch(con, batch, settings.raw_dir, loaded_at,
                            before_commit=lambda: crash_point(settings, "mid_load"))
        for check, kept, report in zip(batch, stored, reports):
            if kept is not check:  # refused at the load: its report says so
                report = write_file_reports(kept, reports_dir, settings.raw_dir)
            results.append(_file_result(kept, report, settings))
            log.info("%-24s %-40s %s", kept.status, plain_text(results[-1]["path"]),
                     " ".join(results[-1]["rules"]) or "-")


def _file_result(check: FileCheck, report: Path, settings: Settings) -> dict:
    return {
        "path": relative(check.path, settings.raw_dir),
        "submission_id": check.submission_id,
        "status": check.status,
        "errors": sum(f.is_fatal for f in check.findings),
        "warnings": sum(not f.is_fatal for f in check.findings),
        "rules": sorted({f.rule for f in check.findings}),
        "report": report.relative_to(settings.warehouse_dir).as_posix(),
    }


# ---------------------------------------------------------------- is the published warehouse current?


def needs_build(settings: Settings, loaded: dict | None = None) -> bool:
    """Build unless the published warehouse already reflects everything loaded and the current project.

    Comparing with the fingerprint of the last publication (not only "was anything new this
    run") means a run blocked by a gate or killed half-way is caught up by the next one, and an
    edited seed, model, test or package version reaches BI (`warehouse/fingerprint.py`).
    """
    if loaded and (loaded.get("accepted") or loaded.get("accepted_with_warnings") or loaded.get("duplicates")):
        return True
    return published_fingerprint(settings) != fingerprint(settings)


def nothing_to_do(settings: Settings) -> dict | None:
    """Without writing anything: the landing zone's counts when there is nothing to load, build or publish
    (every file already recorded, the published file current), else None. `kc run` then skips Airflow."""
    if not (settings.build_db.exists() and settings.published_db.exists() and settings.raw_dir.is_dir()):
        return None
    with _lock(settings, "nothing to do?"):
        with connect_writer(settings.build_db, settings.lock_timeout_seconds, read_only=True) as con:
            counts = pending(con, settings.raw_dir)
        if counts is None or needs_build(settings):
            return None
    return counts


# ---------------------------------------------------------------- dbt, the mart gate, publication


#: the build when only data changed: what depends on `raw` and its tests; seeds, reference views and
#: unit tests (which test SQL, not data) wait for a project change
DATA_ONLY_BUILD = ["build", "--select", "source:raw+", "--exclude", "resource_type:unit_test"]


def build_marts(settings: Settings) -> dict:
    """`dbt build`: whole after a rebuild or a project change, else only what the loaded rows feed.

    dbt runs in its own process (`dbt_process`: started ahead by `kc run`), so its DuckDB handle dies
    with it before the mart gate opens the database.
    """
    started = time.perf_counter()
    target = settings.dbt_target_dir
    project = project_fingerprint(settings)
    with _lock(settings, "dbt_build"):
        with connect_writer(settings.build_db, settings.lock_timeout_seconds) as con:  # waits out a hand `dbt build`
            full = build_state.last_full_build(con) != project
            if full:
                build_state.forget_full_build(con)
        crash_point(settings, "before_dbt")
        outcome = dbt_process.take(settings).run(["build"] if full else DATA_ONLY_BUILD)
        if outcome.returncode == 0 and full:
            with connect_writer(settings.build_db, settings.lock_timeout_seconds) as con:
                build_state.record_full_build(con, project)
    results_file = target / "run_results.json"
    summary = _dbt_summary(results_file) if results_file.exists() else {}
    summary["scope"] = "full" if full else "data"
    if outcome.returncode != 0:
        if is_lock_conflict(RuntimeError(outcome.output)):
            raise WarehouseBusy("dbt build could not open the build database: another process holds it. "
                                "Nothing was published; the task is retried.")
        if is_transient_text(outcome.output):  # a full disk is the machine's fault, not the data's
            tail = "\n".join(outcome.output.splitlines()[-5:])
            raise Transient(f"dbt build failed for a reason of the machine (disk full?), not of the data: "
                            f"nothing was published; the task is retried.\n{tail}")
        failed = summary.get("failed") or []
        tail = "\n".join(outcome.output.splitlines()[-25:])
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
    started = time.perf_counter()
    context = docs_context(settings.warehouse_dir)
    with _lock(settings, "mart_gate"):
        result, gx_results = check_marts(settings.build_db, settings.reports_dir, context,
                                         expectations_dir=settings.expectations_dir, seeds_dir=settings.seeds_dir)
        if result["success"]:  # the marts are right in themselves; now: would they shrink the published ones?
            result["shrink_guard"] = guard_publication(settings.build_db, settings.published_db, settings.allow_shrink)
    result["data_docs"] = str(publish_results(context, gx_results, settings.warehouse_dir, "marts"))
    if not result["success"]:
        raise PublicationBlocked(
            "Mart gate failed; publication blocked, the last published warehouse is unchanged.\n"
            f"Failed checks: {'; '.join(result['failed'])}\nFull result: {result['result_path']}"
            f" (Data Docs: {result['data_docs']})"
        )
    return _timed(result, started)


def publish(settings: Settings) -> dict:
    """The marts into the published file (one read-only attachment of the build database, under its lock),
    then the per-file reports pruned, the officials' report and the PostgreSQL copy."""
    started = time.perf_counter()
    with _lock(settings, "publish"):
        result = publish_marts(settings.build_db, settings.published_db, settings.parquet_dir,
                               project=project_fingerprint(settings), with_submission_ids=True,
                               models_dir=settings.dbt_project_dir / "models" / "marts",
                               checkpoint=lambda name: crash_point(settings, name))
    _prune_file_reports(settings, result.pop("submission_ids"))
    result["report"] = _write_conference_report(settings)
    if settings.postgres_url:
        result["postgres"] = _publish_to_postgres(settings)
    return _timed(result, started)


def _prune_file_reports(settings: Settings, submission_ids: set[str]) -> None:
    """After a publication: drop the per-file reports of files the build database no longer records (a rebuild
    after files left raw/). Only here: a run that publishes nothing never deletes a report."""
    folder = settings.reports_dir / "submissions"
    if not folder.is_dir():
        return
    recorded = {sid[:8] for sid in submission_ids}
    for report in folder.iterdir():  # <arrival>_<name>_<first 8 of the submission id>.{csv,html}
        if report.stem.rsplit("_", 1)[-1] not in recorded:
            report.unlink(missing_ok=True)


def _write_conference_report(settings: Settings) -> str | None:
    """The officials' report, from the file just published; if it can't be written the marts still stand."""
    try:
        return str(write_conference_report(settings.published_db, settings.reports_dir))
    except Exception:  # noqa: BLE001 - logged loudly; the summary shows no report line
        log.exception("the conference report could not be written; the marts are published")
        return None


def _publish_to_postgres(settings: Settings) -> dict:
    """The PostgreSQL copy is a second target: its failure is reported, the DuckDB publication stands."""
    try:
        return publish_to_postgres(settings.published_db, settings.postgres_url, settings.postgres_reader_role,
                                   settings.dbt_project_dir / "models" / "marts")
    except Exception as exc:  # noqa: BLE001 - reported in the run summary, never blocks the DuckDB publication
        error = describe_failure(exc, settings.postgres_url)
        log.error("publish to PostgreSQL failed: %s", error)
        return {"ok": False, "error": error}


def summarise(settings: Settings, stages: dict) -> dict:
    """The run record (`reports/runs/`, the one place) and `reports/latest_run.md`."""
    path = write_run_summary(settings, {k: v for k, v in stages.items() if v is not None})
    return {"summary": str(path)}


def finish_run(settings: Settings, stages: dict, blocked: list[str], run_id: str | None = None
               ) -> tuple[dict, str | None]:
    """The run's end: its record, and why it failed (None when it did not).

    `stages` holds each stage's result (None: it did not finish); `blocked`, the verdicts of the stages
    that refused to publish. A run fails unless every stage that had to run did; after a good publication
    nothing is left to build, and a night whose new files were all refused publishes nothing and says so.
    """
    stages = dict(stages)
    missing = [name for name, result in stages.items() if result is None]
    failed = ("check_and_load" if stages.get("check_and_load") is None
              else missing[0] if missing and needs_build(settings) else None)
    failure = None
    if blocked:
        stages["blocked"] = {"message": blocked[0]}
        failure = blocked[0]
    elif failed:
        failure = f"{failed} failed (not a refused file, not a gate verdict): see its log"
        stages["failed"] = {"message": failure}
    elif stages.get("publish") is None:
        loaded = stages.get("check_and_load") or {}
        if loaded.get("new") and loaded.get("rejected") == loaded.get("new"):
            stages["nothing_published"] = {"message": (
                f"Nothing new was published: the {loaded['new']} new file(s) of this run were all refused "
                "(their reports say why); the published warehouse is as it was.")}
    if run_id:
        stages["run_id"] = run_id
    result = {**summarise(settings, stages), **{k: v for k, v in stages.items() if v}}
    return result, failure
