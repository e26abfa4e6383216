"""`kc run` at 1x, 10x and 100x the sample: wall time per stage, peak memory, database size.

    make bench-scale                      (or: python benchmarks/bench_scale.py --scales 1,10)

For each scale N: `kc sample --scale N` (cached under .bench/sample-xN/, with its
manifest), hard-linked into a temporary raw/, then three `kc run` subprocesses:

1. full:        everything, from an empty warehouse
2. incremental: one new valid file in a new arrival-date folder
3. nothing new: the same raw/ again

Per run: wall time, each stage's seconds (from the run record in
warehouse/reports/runs/), peak RSS of the whole process tree (psutil, polled
every 50 ms), and the size of build.duckdb and of the published khuyencong.duckdb.
The full run's verdicts are compared with the generator's manifest. Prints a
Markdown table (and writes it with --out FILE). Not a test: no target is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_run import new_file  # the one "new valid file" of the run benchmarks

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("check_and_load", "dbt_build", "mart_gate", "publish")
POLL_SECONDS = 0.05
VERDICTS = ("accepted", "accepted_with_warnings", "rejected")


def cached_sample(scale: int, cache: Path) -> tuple[Path, dict, float | None]:
    """(raw dir, manifest, generation seconds or None when it came from the cache)."""
    folder = cache / f"sample-x{scale}"
    raw, manifest_file = folder / "raw", folder / "manifest.json"
    if manifest_file.exists():
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        if sum(1 for p in raw.rglob("*") if p.is_file()) == manifest["files"]:
            return raw, manifest, None
    shutil.rmtree(folder, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "khuyencong.cli", "sample", "--scale", str(scale), "--out", str(raw),
                    "--manifest", str(manifest_file)], check=True, capture_output=True)
    return raw, json.loads(manifest_file.read_text(encoding="utf-8")), time.perf_counter() - started


def tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def kc_run(raw: Path, warehouse: Path, timeout: float | None) -> dict:
    """One `kc run` subprocess: wall seconds, stage seconds, peak tree RSS, database sizes, the run record."""
    started_wall = time.time()
    started = time.perf_counter()
    log = warehouse.parent / f"{warehouse.name}-kc-run.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "khuyencong.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        root, peak = psutil.Process(proc.pid), 0
        while proc.poll() is None:
            peak = max(peak, tree_rss(root))
            if timeout is not None and time.perf_counter() - started > timeout:
                os.killpg(proc.pid, 9)  # the run's own process group, started above
                proc.wait()
                raise SystemExit(f"kc run exceeded {timeout:.0f} s; log: {log}")
            time.sleep(POLL_SECONDS)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kc run failed ({proc.returncode}); log: {log}")
    runs = sorted((warehouse / "reports" / "runs").glob("*.json"))
    # with nothing new `kc run` answers without starting Airflow, and records no run
    record = json.loads(runs[-1].read_text(encoding="utf-8")) if runs and runs[-1].stat().st_mtime >= started_wall else {}
    return {
        "wall": wall,
        "stages": {k: v["seconds"] for k, v in record.items() if isinstance(v, dict) and "seconds" in v},
        "peak_rss": peak,
        "build_db": _size(warehouse / "build.duckdb"),
        "published_db": _size(warehouse / "khuyencong.duckdb"),
        "record": record,
    }


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + ".wal")) if p.exists())


def bench_scale(scale: int, cache: Path, work: Path, timeout: float | None) -> list[dict]:
    source, manifest, generated = cached_sample(scale, cache)
    raw = work / f"raw-x{scale}"
    shutil.copytree(source, raw, copy_function=os.link)  # the runs only read raw/: links are enough
    warehouse = work / f"wh-x{scale}"
    rows = []
    full = kc_run(raw, warehouse, timeout)
    loaded = full["record"].get("check_and_load", {})
    matches = all(loaded.get(v) == manifest[v] for v in VERDICTS) and loaded.get("duplicates") == manifest["duplicates"]
    rows.append({"scale": scale, "files": manifest["files"], "run": "full", "generated": generated,
                 "manifest": "yes" if matches else "NO", **full})
    new_file(raw)
    rows.append({"scale": scale, "files": manifest["files"] + 1, "run": "incremental (+1 file)",
                 **kc_run(raw, warehouse, timeout)})
    rows.append({"scale": scale, "files": manifest["files"] + 1, "run": "nothing new", **kc_run(raw, warehouse, timeout)})
    return rows


def markdown(rows: list[dict]) -> str:
    mb = 1024 * 1024
    head = ["scale", "files", "run", "wall s", *(f"{s} s" for s in STAGES), "rest s", "dbt scope", "peak RSS MB",
            "build.duckdb MB", "khuyencong.duckdb MB", "verdicts = manifest", "generation s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        stages = [f"{r['stages'][s]:.1f}" if s in r["stages"] else "-" for s in STAGES]
        generated = r.get("generated")
        # rest: Python and Airflow start-up, Airflow's per-task work, the summary
        rest = f"{r['wall'] - sum(r['stages'].values()):.1f}" if r["stages"] else "-"
        scope = (r["record"].get("dbt_build") or {}).get("scope", "-")
        cells = [f"{r['scale']}x", str(r["files"]), r["run"], f"{r['wall']:.1f}", *stages, rest, scope,
                 f"{r['peak_rss'] / mb:.0f}", f"{r['build_db'] / mb:.1f}", f"{r['published_db'] / mb:.1f}",
                 r.get("manifest", ""), "" if "generated" not in r else ("cached" if generated is None
                                                                          else f"{generated:.0f}")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100", help="comma-separated scales (default 1,10,100)")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench", help="generated samples (default .bench/)")
    parser.add_argument("--timeout", type=float, help="seconds allowed per kc run (default: no limit)")
    parser.add_argument("--out", type=Path, help="also write the Markdown table to this file")
    args = parser.parse_args(argv)
    scales = [int(s) for s in args.scales.split(",") if s.strip()]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kc-bench-scale-") as tmp:
        for scale in scales:
            rows += bench_scale(scale, args.cache, Path(tmp), args.timeout)
            print(f"scale {scale}x done", file=sys.stderr, flush=True)
    table = markdown(rows)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
