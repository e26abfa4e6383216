"""Wall time of `kc validate FILE` from the shell, one real subprocess per file.

    make bench-validate        (or: python benchmarks/bench_validate.py raw [N] [--gx])

N different files of the sample (spread over xlsx and zipped CSV), each validated
alone as a person would; prints the median and worst wall time (start-up, reading,
both rule engines' share included). `--gx` passes `--gx` to time the GX path.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from khuyencong.warehouse.loader import landing_files

KC = str(Path(sys.executable).parent / "kc")


def main(raw: Path, count: int, extra: list[str]) -> None:
    files = [f for f in landing_files(raw) if f.suffix in (".xlsx", ".zip")]
    step = max(len(files) // count, 1)
    walls = []
    for f in files[::step][:count]:
        t = time.perf_counter()
        run = subprocess.run([KC, "validate", *extra, str(f)], capture_output=True, check=False)
        walls.append(time.perf_counter() - t)
        if run.returncode not in (0, 1):  # 1 is a rejected file: a valid outcome
            raise SystemExit(f"kc validate {f} failed ({run.returncode}): {run.stderr.decode()[-500:]}")
        print(f"  {walls[-1]:6.2f} s  {f.relative_to(raw)}")
    command = " ".join(["kc validate", *extra])
    print(f"{command}: {len(walls)} files one process each: "
          f"median {statistics.median(walls):.2f} s, max {max(walls):.2f} s wall")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(Path(args[0] if args else "raw"), int(args[1]) if len(args) > 1 else 10,
         [a for a in sys.argv[1:] if a == "--gx"])
