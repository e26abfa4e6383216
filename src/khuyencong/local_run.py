"""`kc run`: the nightly DAG, in this process (`dag.test()`), with a local Airflow home under the warehouse."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path


def latest_run_record(warehouse: Path, since: float) -> dict | None:
    runs = sorted((warehouse / "reports" / "runs").glob("*.json"))
    if not runs or runs[-1].stat().st_mtime < since:
        return None
    return json.loads(runs[-1].read_text(encoding="utf-8"))


def format_summary(stages: dict, warehouse: Path) -> list[str]:
    d, c = stages.get("discover", {}), stages.get("check_and_load", {})
    lines = [
        f"files:      {d.get('total', 0)} in raw/, {d.get('seen', 0)} already seen, {len(d.get('new', []))} new, "
        f"{len(d.get('duplicates', []))} duplicates",
        f"verdicts:   {c.get('accepted', 0)} accepted, {c.get('accepted_with_warnings', 0)} accepted with warnings, "
        f"{c.get('rejected', 0)} rejected",
        f"rows:       {c.get('rows_loaded', 0)} loaded",
    ]
    if "dbt_build" in stages:
        passed = stages["dbt_build"].get("passed", {})
        lines.append("dbt build:  " + ", ".join(f"{n} {k}s" for k, n in sorted(passed.items())) + " passed")
    else:
        lines.append("dbt build:  skipped (nothing new; the published warehouse is current)")
    if "mart_gate" in stages:
        lines.append(f"mart gate:  {stages['mart_gate'].get('checks', 0)} expectations passed")
    if "publish" in stages:
        tables = stages["publish"].get("tables", {})
        lines.append(f"published:  {stages['publish']['published']} ({len(tables)} marts) and {stages['publish']['parquet']}")
        if "report" in stages["publish"]:
            lines.append(f"conference: {stages['publish']['report']}")
    times = ", ".join(f"{k} {v['seconds']:.1f}s" for k, v in stages.items() if isinstance(v, dict) and "seconds" in v)
    lines.append(f"stage time: {times}")
    lines.append(f"reports:    {warehouse / 'reports' / 'latest_run.md'} and {warehouse / 'reports' / 'submissions'}/")
    return lines


def run_local(raw: Path, warehouse: Path, rebuild: bool = False) -> int:
    os.environ["KC_RAW_DIR"] = str(raw)
    os.environ["KC_WAREHOUSE_DIR"] = str(warehouse)
    os.environ.setdefault("KC_RETRY_DELAY_SECONDS", "5")  # in-process: do not sit a minute on a retry
    warehouse.mkdir(parents=True, exist_ok=True)
    from khuyencong.airflow_local import run_dag_in_process

    started = time.time()
    outcome = run_dag_in_process("khuyencong_nightly", {"rebuild": rebuild}, warehouse)
    wall = time.time() - started
    print()
    print(f"khuyencong_nightly: {outcome.state} (run {outcome.run_id}, {wall:.1f} s)")
    record = latest_run_record(warehouse, started)
    if record:
        for line in format_summary(record, warehouse):
            print("  " + line)
    if record and "blocked" in record:
        print("  " + record["blocked"]["message"].replace("\n", "\n  "))
    if not outcome.succeeded:
        print("  failed tasks: " + ", ".join(outcome.failed_tasks))
        if "mart_gate" in outcome.failed_tasks or "dbt_build" in outcome.failed_tasks:
            print("  publication blocked: the last published warehouse is unchanged.")
            print(f"  mart gate result: {warehouse / 'reports' / 'mart_gate' / 'latest.json'}; "
                  f"dbt results: {warehouse / 'dbt' / 'target' / 'run_results.json'}")
        return 1
    return 0
