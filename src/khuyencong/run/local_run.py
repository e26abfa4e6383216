"""`kc run`: the nightly DAG, in this process (`dag.test()`), with a local Airflow home under the warehouse.

`kc run` holds the build database's lock for the whole run: a second `kc run` (or a DAG task)
waits up to `KC_LOCK_TIMEOUT_SECONDS`, then exits naming the holder, and nothing is lost.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from khuyencong.config import Settings
from khuyencong.reports.safe import plain_text
from khuyencong.run import pipeline, stage_process
from khuyencong.run.airflow_local import run_dag_in_process
from khuyencong.warehouse.lock import WarehouseBusy, build_lock


def latest_run_record(settings: Settings, since: float) -> dict | None:
    runs = sorted(settings.runs_dir.glob("*.json"))
    if not runs or runs[-1].stat().st_mtime < since:
        return None
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def format_summary(stages: dict, warehouse: Path) -> list[str]:
    c = stages.get("check_and_load") or {}
    lines = [
        f"files:      {c.get('total', 0)} in raw/, {c.get('seen', 0)} already seen, {c.get('new', 0)} new, "
        f"{c.get('duplicates', 0)} duplicates",
        f"verdicts:   {c.get('accepted', 0)} accepted, {c.get('accepted_with_warnings', 0)} accepted with warnings, "
        f"{c.get('rejected', 0)} rejected",
        f"rows:       {c.get('rows_loaded', 0)} loaded",
    ]
    if stages.get("dbt_build"):
        passed = stages["dbt_build"].get("passed", {})
        scope = {"full": " (the whole project)", "data": " (what the new rows feed)"}.get(
            stages["dbt_build"].get("scope"), "")
        lines.append("dbt build:  " + ", ".join(f"{n} {k}s" for k, n in sorted(passed.items())) + " passed"
                     + scope)
    else:
        lines.append("dbt build:  skipped (nothing new; the published warehouse is current)")
    if "mart_gate" in stages:
        lines.append(f"mart gate:  {stages['mart_gate'].get('checks', 0)} expectations passed")
    if "publish" in stages:
        tables = stages["publish"].get("tables", {})
        marts = len([t for t in tables if t != "publication"])
        lines.append(f"published:  {stages['publish']['published']} ({marts} marts + publication) "
                     f"and {stages['publish']['parquet']}")
        if stages["publish"].get("report"):
            lines.append(f"conference: {stages['publish']['report']}")
        postgres = stages["publish"].get("postgres")
        if postgres:
            lines.append("postgres:   " + (f"published ({postgres.get('seconds')} s)" if postgres.get("ok")
                                         else f"NOT published: {postgres.get('error')}"))
    times = ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in stages.items() if isinstance(v, dict) and "seconds" in v)
    if times:
        lines.append(f"stage time: {times}")
    lines.append(f"reports:    {warehouse / 'reports' / 'latest_run.md'} and {warehouse / 'reports' / 'submissions'}/")
    return lines


def run_local(settings: Settings, rebuild: bool = False) -> int:
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    started = time.time()
    try:
        with build_lock(settings.build_db, "kc run", settings.lock_timeout_seconds):
            idle = None if rebuild else pipeline.nothing_to_do(settings)
            if idle is not None:  # nothing to load, build or publish: no need to start Airflow at all
                print(f"khuyencong_nightly: nothing new ({time.time() - started:.1f} s; Airflow not started)")
                for line in format_summary({"check_and_load": idle}, settings.warehouse_dir):
                    print("  " + plain_text(line))
                return 0
            # GX's import and dbt's import and parse, on the second core while Airflow starts on this one
            stage_process.start_ahead(settings)
            try:
                conf = {"rebuild": rebuild, "allow_shrink": settings.allow_shrink, "settings": settings.to_dict()}
                outcome = run_dag_in_process("khuyencong_nightly", conf, settings)
            finally:
                stage_process.close_all()
    except WarehouseBusy as exc:
        print(f"kc run: {plain_text(str(exc))}")
        return 75  # EX_TEMPFAIL: try again later
    wall = time.time() - started
    print()
    print(f"khuyencong_nightly: {outcome.state} (run {outcome.run_id}, {wall:.1f} s)")
    record = latest_run_record(settings, started)
    if record:
        for line in format_summary(record, settings.warehouse_dir):
            print("  " + plain_text(line))
    for key in ("blocked", "failed", "nothing_published"):  # dbt's output, the failing mart items, the guard
        if record and key in record:
            print("  " + plain_text(record[key]["message"], keep_newlines=True).replace("\n", "\n  "))
    if not outcome.succeeded:
        print("  failed tasks: " + ", ".join(outcome.failed_tasks))
        if "mart_gate" in outcome.failed_tasks or "dbt_build" in outcome.failed_tasks:
            print("  publication blocked: the last published warehouse is unchanged.")
            print(f"  mart gate result: {settings.reports_dir / 'mart_gate' / 'latest.json'}; "
                  f"dbt results: {settings.dbt_target_dir / 'run_results.json'}")
        return 1
    return 0


def exit_now(code: int):
    """End the `kc run` process without tearing down what it imported (about 2 s for Airflow's modules).

    By now everything the run wrote is committed and closed (the build database, the published file,
    the run record, Airflow's SQLite database) and the helper processes have ended, so a teardown has
    nothing left to finish; the logs and the terminal are flushed first.
    """
    import logging

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
