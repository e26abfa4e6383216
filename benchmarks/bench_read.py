"""Read and check the whole sample in-process, as `kc validate` does: files/s and the slowest file.

    make bench-read            (or: python benchmarks/bench_read.py raw)

Great Expectations start-up is included in the total, as the issue asks.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

started = time.perf_counter()
from khuyencong.ingest.reader import read_file  # noqa: E402
from khuyencong.rules.checking import check_files  # noqa: E402
from khuyencong.warehouse.loader import landing_files  # noqa: E402


def main(raw: Path) -> None:
    files = landing_files(raw)
    per_file = []
    for f in files:  # the reader alone, per file, to find the slowest
        t = time.perf_counter()
        read_file(f)
        per_file.append((time.perf_counter() - t, f))
    reader_total = sum(t for t, _ in per_file)
    t = time.perf_counter()
    from khuyencong.rules.gate import FileGate

    gate = FileGate()
    gx_start = time.perf_counter() - t
    t = time.perf_counter()
    checks = check_files(files, gate=gate)  # reader again + one GX batch per suite
    check_total = time.perf_counter() - t
    total = time.perf_counter() - started
    slowest_t, slowest = max(per_file, key=lambda x: x[0])
    statuses = {s: sum(c.status == s for c in checks) for s in ("accepted", "accepted_with_warnings", "rejected")}
    print(f"files:                 {len(files)} ({statuses})")
    print(f"reader only:           {reader_total:.2f} s ({len(files) / reader_total:.0f} files/s)")
    print(f"GX start-up:           {gx_start:.2f} s (import + context + suites)")
    print(f"check (reader + GX):   {check_total:.2f} s ({len(files) / check_total:.0f} files/s)")
    print(f"slowest file (reader): {slowest_t * 1000:.1f} ms  {slowest.relative_to(raw)}")
    print(f"TOTAL in-process:      {total:.2f} s  (target < 20 s)")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "raw"))
