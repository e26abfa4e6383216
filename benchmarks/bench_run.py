"""`kc run` wall time per stage: the whole sample from an empty warehouse, then one new file.

    make bench            (or: python benchmarks/bench_run.py [--raw raw])

1. full:        the whole sample, empty warehouse          (target < 90 s)
2. incremental: one new file on the full warehouse          (target < 30 s)
3. one-file:    the same new file alone, empty warehouse    (incremental <= 1.5x this)
Runs `kc run` as a subprocess each time (a fresh Airflow process, as a user would).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from khuyencong_sample.writers import Report, write_xlsx_report


def new_file(raw: Path) -> Path:
    """A valid late resubmission for Hà Nội 2025 9T, in a new arrival folder."""
    folder = raw / "2025-11-20"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Bao cao 9T 2025 - Ha Noi (bo sung).xlsx"
    report = Report(
        metadata=[("ma_don_vi", "01"), ("ten_don_vi", "Thành phố Hà Nội"), ("nam", 2025), ("ky_bao_cao", "9T"),
                  ("ngay_lap", "18/11/2025"), ("don_vi_tien", "triệu đồng")],
        kinh_phi=[{"nguon_kinh_phi": "KCQG", "ke_hoach_dau_nam": 9000, "da_phan_bo": 7000, "thuc_hien": 6500,
                   "so_de_an": 6},
                  {"nguon_kinh_phi": "KCĐP", "ke_hoach_dau_nam": 15000, "da_phan_bo": 11000, "thuc_hien": 9800,
                   "so_de_an": 9}],
        ket_qua=[{"ma_chi_tieu": "dao_tao_nghe", "ke_hoach": 900, "thuc_hien": 700}],
        de_an=None,
    )
    write_xlsx_report(path, report)
    return path


def run(raw: Path, warehouse: Path) -> dict:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "khuyencong.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"kc run failed ({proc.returncode})")
    record = json.loads(sorted((warehouse / "reports" / "runs").glob("*.json"))[-1].read_text())
    stages = {k: v["seconds"] for k, v in record.items() if isinstance(v, dict) and "seconds" in v}
    return {"wall": wall, "stages": stages}


def show(name: str, r: dict) -> None:
    stages = ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items())
    print(f"{name:12} {r['wall']:6.1f} s   stages (s): {stages}; rest = Python/Airflow start-up and task overhead")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", type=Path, default=Path("raw"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        raw = tmp / "raw"
        shutil.copytree(args.raw, raw)
        full = run(raw, tmp / "wh")
        show("full", full)
        extra = new_file(raw)
        incremental = run(raw, tmp / "wh")
        show("incremental", incremental)
        alone_raw = tmp / "raw_one" / extra.parent.name
        alone_raw.mkdir(parents=True)
        shutil.copy2(extra, alone_raw / extra.name)
        one = run(tmp / "raw_one", tmp / "wh_one")
        show("one-file", one)
        print(f"targets: full {full['wall']:.1f} s < 90 s; incremental {incremental['wall']:.1f} s < 30 s; "
              f"incremental / one-file = {incremental['wall'] / one['wall']:.2f} (<= 1.5)")


if __name__ == "__main__":
    main()
