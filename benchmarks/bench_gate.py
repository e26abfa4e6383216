"""Per-file gate time once the GX context is up: median and worst.

    make bench-gate            (or: python benchmarks/bench_gate.py raw [N])

Two figures, because the pipeline gates the files of a run in one batch:
- batched: one `check_files` call over every file (one GX validation per suite),
  per-file time = total / files, and the reader's own time per file (median, worst);
- alone: N files gated one call each (what `kc validate FILE` pays after start-up).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from khuyencong.ingest.reader import read_file
from khuyencong.rules.checking import check_files
from khuyencong.rules.gate import FileGate
from khuyencong.warehouse.loader import landing_files


def main(raw: Path, alone: int) -> None:
    files = [f for f in landing_files(raw) if f.suffix in (".xlsx", ".zip")]
    gate = FileGate()
    check_files(files[:2], gate=gate)  # warm-up: first validation compiles metrics
    t = time.perf_counter()
    check_files(files, gate=gate)
    batch = time.perf_counter() - t
    reader = []
    for f in files:
        t = time.perf_counter()
        read_file(f)
        reader.append(time.perf_counter() - t)
    gx_share = max(batch - sum(reader), 0) / len(files)
    print(f"batched, {len(files)} files: {batch:.2f} s -> {batch / len(files) * 1000:.1f} ms per file "
          f"(reader median {statistics.median(reader) * 1000:.1f} ms, worst {max(reader) * 1000:.1f} ms; "
          f"GX share {gx_share * 1000:.1f} ms per file)")
    step = max(len(files) // alone, 1)
    single = []
    for f in files[::step][:alone]:
        t = time.perf_counter()
        check_files([f], gate=gate)
        single.append(time.perf_counter() - t)
    print(f"alone, {len(single)} files one call each: median {statistics.median(single) * 1000:.0f} ms, "
          f"worst {max(single) * 1000:.0f} ms per file")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "raw"), int(sys.argv[2]) if len(sys.argv) > 2 else 40)
