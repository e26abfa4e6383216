"""Where the time of one `kc run` goes: pyinstrument over the run's main process.

    python benchmarks/profile_run.py --raw RAW --warehouse WAREHOUSE [--out profile.txt] [--html profile.html]

Runs `kc run` in this process (as `kc run` does, without its fast exit) under pyinstrument and
prints the call tree of the main process: Airflow's start, each task and the waits on the two
helper processes (`check_and_load` and `gate_marts` in the stage process, the build in the dbt
process), whose own time shows as the wait. Also prints the tasks' start and end from Airflow's
metadata database, which shows the gaps between them. Not a test; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path


def task_timeline(warehouse: Path) -> list[str]:
    db = warehouse / "airflow" / "airflow.db"
    con = sqlite3.connect(db)
    try:
        run_id, start, end = con.execute(
            "SELECT run_id, start_date, end_date FROM dag_run ORDER BY start_date DESC LIMIT 1").fetchone()
        lines = [f"dag run {run_id}: {start} -> {end}"]
        for task, t0, t1, seconds in con.execute(
                "SELECT task_id, start_date, end_date, duration FROM task_instance WHERE run_id = ?"
                " ORDER BY start_date", [run_id]):
            lines.append(f"  {task:18} {t0} -> {t1}  {seconds or 0:6.2f} s")
        return lines
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, required=True)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="also write the text profile here")
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML profile here")
    args = parser.parse_args(argv)

    from pyinstrument import Profiler

    from khuyencong.config import Settings
    from khuyencong.run.local_run import run_local

    profiler = Profiler(interval=0.005)
    started = time.perf_counter()
    profiler.start()
    code = run_local(Settings.from_env(args.raw, args.warehouse))
    profiler.stop()
    print(f"\nkc run exited {code} after {time.perf_counter() - started:.1f} s (in process)\n")
    text = profiler.output_text(unicode=True, color=False, show_all=False)
    print(text)
    timeline = task_timeline(args.warehouse)
    print("\n".join(timeline))
    if args.out:
        args.out.write_text(text + "\n" + "\n".join(timeline) + "\n", encoding="utf-8")
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main())
