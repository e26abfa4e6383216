"""Wall time of `dbt build` on a synthetic raw set (or on an existing build database).

    .venv/bin/python benchmarks/bench_dbt.py                    # scales 1 and 10
    .venv/bin/python benchmarks/bench_dbt.py --scale 1 --scale 5
    .venv/bin/python benchmarks/bench_dbt.py --db /tmp/bench.duckdb --scale 1   # keep the database
    .venv/bin/python benchmarks/bench_dbt.py --existing-db warehouse/build.duckdb  # a loaded sample
                                                                # (copied first unless --in-place)

Scale N: all 63 provinces (34 after the 2025 merger) × 5·N years ending 2026 × periods
KH, 6T, 9T, CN, with deterministic pseudo-random figures; about 8% of reports are resubmitted
(accepted) and 5% get a refused version, some of them after an accepted one. Prints e.g.
`dbt build: scale 1x: 23.4 s; scale 10x: 31.0 s`.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "src"))

from dbt_fixtures import DBT_PROJECT_DIR, run_dbt

from khuyencong.periods import era_for, period_months
from khuyencong.warehouse.schema import create_raw_schema_sql

PERIODS = ("KH", "6T", "9T", "CN")
SOURCES = ("KCQG", "KCDP", "DOI_UNG", "KHAC")
LOADED_AT = datetime(2026, 6, 1, 2, 0, 0)


def _seed(name: str) -> list[dict[str, str]]:
    with (DBT_PROJECT_DIR / "seeds" / name).open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def generate(db_path: Path, scale: int, seed: int = 20160131) -> dict[str, int]:
    """Write a synthetic raw schema into a fresh DuckDB file; returns row counts."""
    rng = random.Random(seed)
    units = _seed("units.csv")
    by_era = {era: [u["unit_id"] for u in units if u["era"] == era] for era in ("63", "34")}
    indicators = [r["indicator_code"] for r in _seed("indicators.csv")]
    years = range(2026 - 5 * scale + 1, 2027)

    subs, funding, outcomes, projects, findings = [], [], [], [], []
    counter = 0

    def add(
        unit: str, year: int, period: str, status: str, report_date: date, arrival: date
    ) -> str:
        nonlocal counter
        counter += 1
        sha = hashlib.sha256(f"{counter}|{unit}|{year}|{period}".encode()).hexdigest()
        sid = sha[:16]
        subs.append(
            {
                "submission_id": sid,
                "sha256": sha,
                "path": f"{arrival.isoformat()}/f{counter}.xlsx",
                "file_name": f"Bao cao {unit} {period} {year} v{counter}.xlsx",
                "file_size": 20_000 + counter,
                "arrival_date": arrival,
                "unit_id": unit,
                "unit_name_in_file": None,
                "year": year,
                "period": period,
                "period_months": period_months(period),
                "report_date": report_date,
                "money_unit": "triệu đồng",
                "status": status,
                "error_count": 1 if status == "rejected" else 0,
                "warning_count": 1 if status == "accepted_with_warnings" else 0,
                "funding_row_count": 0 if status == "rejected" else len(SOURCES),
                "outcome_row_count": 0 if status == "rejected" else len(indicators),
                "project_row_count": 0 if status == "rejected" else 5,
                "preparer_name": "x",
                "preparer_phone": None,
                "preparer_email": None,
                "loaded_at": LOADED_AT,
            }
        )
        if status == "rejected":
            findings.append(
                {
                    "submission_id": sid,
                    "rule": "F05",
                    "severity": "fatal",
                    "sheet": "kinh_phi",
                    "source_row": 3,
                    "column_name": "thuc_hien",
                    "value": "-1",
                    "expected": ">= 0",
                    "message_vi": "Giá trị âm",
                    "message_en": "Negative value",
                }
            )
            return sid
        months = period_months(period)
        for n, source in enumerate(SOURCES, start=2):
            plan = round(rng.uniform(500, 5000), 3)
            adjusted = None if rng.random() < 0.6 else round(plan * rng.uniform(0.9, 1.2), 3)
            executed = round((adjusted or plan) * months / 12 * rng.uniform(0.7, 1.05), 3)
            funding.append(
                {
                    "submission_id": sid,
                    "sheet": "kinh_phi",
                    "source_row": n,
                    "funding_source": source,
                    "plan_initial_mvnd": plan,
                    "plan_adjusted_mvnd": adjusted,
                    "allocated_mvnd": round(executed * rng.uniform(1.0, 1.2), 3),
                    "executed_mvnd": executed,
                    "project_count": rng.randint(0, 20),
                }
            )
        for n, code in enumerate(indicators, start=2):
            target = rng.randint(0, 2000)
            outcomes.append(
                {
                    "submission_id": sid,
                    "sheet": "ket_qua",
                    "source_row": n,
                    "indicator_code": code,
                    "unit_label": None,
                    "target_value": target,
                    "actual_value": round(target * months / 12 * rng.uniform(0.5, 1.1), 1),
                }
            )
        for n in range(1, 6):
            approved = round(rng.uniform(50, 800), 3)
            projects.append(
                {
                    "submission_id": sid,
                    "sheet": "de_an",
                    "source_row": n + 1,
                    "project_code": f"DA-{year}-{n:02d}",
                    "project_name": f"Đề án {n}",
                    "funding_source": SOURCES[n % 2],
                    "activity": "đào tạo",
                    "approved_mvnd": approved,
                    "executed_mvnd": round(approved * months / 12, 3),
                    "status": "đang thực hiện",
                    "beneficiaries": rng.randint(1, 40),
                }
            )
        return sid

    for year in years:
        for period in PERIODS:
            era = str(era_for(year, period))
            base = date(year, 1, 15) + timedelta(days=30 * period_months(period))
            for unit in by_era[era]:
                if rng.random() < 0.03:
                    continue  # missing report
                status = "accepted_with_warnings" if rng.random() < 0.1 else "accepted"
                if rng.random() < 0.04:  # refused first, then fixed
                    add(unit, year, period, "rejected", base, base + timedelta(days=1))
                add(unit, year, period, status, base + timedelta(days=2), base + timedelta(days=3))
                if rng.random() < 0.08:  # accepted resubmission supersedes
                    add(
                        unit,
                        year,
                        period,
                        "accepted",
                        base + timedelta(days=9),
                        base + timedelta(days=10),
                    )
                if rng.random() < 0.02:  # refused resubmission never supersedes
                    add(
                        unit,
                        year,
                        period,
                        "rejected",
                        base + timedelta(days=12),
                        base + timedelta(days=13),
                    )

    if db_path.exists():
        db_path.unlink()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    try:
        for statement in create_raw_schema_sql():
            con.execute(statement)
        for table, rows in (
            ("submissions", subs),
            ("funding_rows", funding),
            ("outcome_rows", outcomes),
            ("project_rows", projects),
            ("findings", findings),
        ):
            frame = pd.DataFrame(rows)  # noqa: F841  (read by DuckDB's replacement scan)
            cols = ", ".join(rows[0].keys())
            con.execute(f"INSERT INTO raw.{table} ({cols}) SELECT {cols} FROM frame")
    finally:
        con.close()
    return {
        "submissions": len(subs),
        "funding_rows": len(funding),
        "outcome_rows": len(outcomes),
        "project_rows": len(projects),
        "years": len(years),
    }


def time_build(db_path: Path, target_dir: Path) -> float:
    start = time.perf_counter()
    run_dbt(["build"], DBT_PROJECT_DIR, db_path, target_dir)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=int, action="append", help="scale factor (repeatable); default 1 and 10"
    )
    parser.add_argument(
        "--db", type=Path, help="where to write the synthetic database (default: a temp dir)"
    )
    parser.add_argument(
        "--existing-db", type=Path, help="time dbt build on this loaded build database instead"
    )
    parser.add_argument(
        "--in-place", action="store_true", help="with --existing-db: build in that file, no copy"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench_dbt_") as tmp:
        tmp_dir = Path(tmp)
        # parse the project once so the timings compare builds, not the first full parse
        run_dbt(["parse"], DBT_PROJECT_DIR, tmp_dir / "parse.duckdb", tmp_dir / "target")
        if args.existing_db:
            db_path = args.existing_db
            if not args.in_place:
                db_path = tmp_dir / "existing.duckdb"
                shutil.copyfile(args.existing_db, db_path)
            seconds = time_build(db_path, tmp_dir / "target")
            print(f"dbt build: existing db {args.existing_db}: {seconds:.1f} s")
            return 0

        results = []
        for scale in args.scale or [1, 10]:
            db_path = args.db or tmp_dir / f"bench_{scale}x.duckdb"
            if args.db and len(args.scale or [1, 10]) > 1:
                db_path = args.db.with_name(f"{args.db.stem}_{scale}x{args.db.suffix}")
            gen_start = time.perf_counter()
            counts = generate(db_path, scale)
            gen_seconds = time.perf_counter() - gen_start
            seconds = time_build(db_path, tmp_dir / "target")
            print(
                f"  scale {scale}x: {counts} generated in {gen_seconds:.1f} s; dbt build {seconds:.1f} s",
                file=sys.stderr,
            )
            results.append(f"scale {scale}x: {seconds:.1f} s")
        print("dbt build: " + "; ".join(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
