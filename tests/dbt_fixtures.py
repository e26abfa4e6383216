"""Hand-made `raw` build databases and a dbt runner for the dbt tests and benchmark.

`create_raw_fixture(db_path, submissions=[...])` creates the loader's `raw` schema
(the dbt sources contract, `khuyencong.warehouse.schema`) in a fresh DuckDB file and
inserts the given submissions with their funding, outcome and project rows.
`run_dbt(args, project_dir, db_path, target_dir)` runs dbt in a subprocess, so the
DuckDB file is closed when it returns (dbtRunner keeps its connection open in-process).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from khuyencong.periods import normalise_period, period_months
from khuyencong.warehouse.schema import RAW_TABLES, create_raw_schema_sql

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
LOADED_AT = datetime(2026, 1, 1, 3, 0, 0)

FUNDING_KEYS = (
    "plan_initial_mvnd",
    "plan_adjusted_mvnd",
    "allocated_mvnd",
    "executed_mvnd",
    "project_count",
)


def _columns(table: str) -> list[str]:
    names = []
    for line in RAW_TABLES[table].strip().splitlines():
        line = line.split("--")[0].strip()
        if line:
            names.append(line.split()[0])
    return names


def _money(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value))


def submission(
    unit_id: str | None,
    year: int | None,
    period: str | None,
    *,
    status: str = "accepted",
    report_date: date | None = None,
    arrival_date: date | None = None,
    file_name: str | None = None,
    submission_id: str | None = None,
    funding: Iterable[Mapping[str, Any]] = (),
    outcomes: Iterable[Mapping[str, Any]] = (),
    projects: Iterable[Mapping[str, Any]] = (),
    error_count: int | None = None,
    warning_count: int = 0,
) -> dict[str, Any]:
    """One submission (a distinct file) with its rows; defaults make a valid accepted report.

    `funding` items: {"funding_source": "KCQG", "plan_initial_mvnd": 10, "executed_mvnd": 9, ...}
    `outcomes` items: {"indicator_code": "dao_tao_nghe", "target_value": 100, "actual_value": 80}
    `projects` items: {"project_code": "DA-01", "funding_source": "KCQG", "approved_mvnd": 1, ...}
    Rows of a rejected submission are ignored (the loader never writes them).
    """
    if report_date is None and year is not None and period is not None and normalise_period(period):
        report_date = date(year, 1, 1) + timedelta(days=20 + 30 * period_months(period))
    if arrival_date is None:
        arrival_date = (report_date or date(2020, 1, 1)) + timedelta(days=3)
    if file_name is None:
        file_name = f"Bao cao {unit_id} {period} {year}.xlsx"
    rejected = status == "rejected"
    return {
        "submission_id": submission_id,
        "unit_id": unit_id,
        "year": year,
        "period": period,
        "status": status,
        "report_date": report_date,
        "arrival_date": arrival_date,
        "file_name": file_name,
        "error_count": (1 if rejected else 0) if error_count is None else error_count,
        "warning_count": warning_count,
        "funding": [] if rejected else [dict(r) for r in funding],
        "outcomes": [] if rejected else [dict(r) for r in outcomes],
        "projects": [] if rejected else [dict(r) for r in projects],
    }


def _submission_id(sub: Mapping[str, Any], index: int) -> str:
    if sub.get("submission_id"):
        return str(sub["submission_id"])
    key = f"{index}|{sub['unit_id']}|{sub['year']}|{sub['period']}|{sub['file_name']}|{sub['report_date']}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def create_raw_fixture(
    db_path: str | os.PathLike[str],
    submissions: Iterable[Mapping[str, Any]] = (),
    *,
    duplicate_files: Iterable[Mapping[str, Any]] = (),
) -> list[str]:
    """Create the `raw` schema in `db_path` and insert `submissions` (see `submission()`).

    Returns the submission ids in input order. `duplicate_files` items:
    {"path": ..., "submission_index": i, "arrival_date": date}.
    """
    db_path = Path(db_path)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    sub_rows, funding_rows, outcome_rows, project_rows, finding_rows = [], [], [], [], []
    for index, sub in enumerate(submissions):
        sid = _submission_id(sub, index)
        ids.append(sid)
        sha = hashlib.sha256(sid.encode()).hexdigest()
        sid_sha = sid + sha[16:]
        period = sub["period"]
        year = sub["year"]
        valid_period = bool(period) and normalise_period(period) == period
        months = period_months(period) if valid_period else None
        path = f"{sub['arrival_date'].isoformat()}/{sub['file_name']}"
        funding = sub.get("funding", [])
        outcomes = sub.get("outcomes", [])
        projects = sub.get("projects", [])
        sub_rows.append(
            {
                "submission_id": sid,
                "sha256": sid_sha,
                "path": path,
                "file_name": sub["file_name"],
                "file_size": 10_000 + index,
                "arrival_date": sub["arrival_date"],
                "unit_id": sub["unit_id"],
                "unit_name_in_file": None,
                "year": year,
                "period": period,
                "period_months": months,
                "report_date": sub["report_date"],
                "money_unit": "triệu đồng",
                "status": sub["status"],
                "error_count": sub["error_count"],
                "warning_count": sub["warning_count"],
                "funding_row_count": len(funding),
                "outcome_row_count": len(outcomes),
                "project_row_count": len(projects),
                "preparer_name": "Nguyễn Văn A",
                "preparer_phone": "0900000000",
                "preparer_email": "a@example.vn",
                "loaded_at": LOADED_AT,
            }
        )
        for n, row in enumerate(funding, start=2):
            funding_rows.append(
                {
                    "submission_id": sid,
                    "sheet": "kinh_phi",
                    "source_row": n,
                    "funding_source": row["funding_source"],
                    **{
                        k: (row.get(k) if k == "project_count" else _money(row.get(k)))
                        for k in FUNDING_KEYS
                    },
                }
            )
        for n, row in enumerate(outcomes, start=2):
            outcome_rows.append(
                {
                    "submission_id": sid,
                    "sheet": "ket_qua",
                    "source_row": n,
                    "indicator_code": row["indicator_code"],
                    "unit_label": row.get("unit_label"),
                    "target_value": _money(row.get("target_value")),
                    "actual_value": _money(row.get("actual_value")),
                }
            )
        for n, row in enumerate(projects, start=2):
            project_rows.append(
                {
                    "submission_id": sid,
                    "sheet": "de_an",
                    "source_row": n,
                    "project_code": row["project_code"],
                    "project_name": row.get("project_name"),
                    "funding_source": row["funding_source"],
                    "activity": row.get("activity"),
                    "approved_mvnd": _money(row.get("approved_mvnd")),
                    "executed_mvnd": _money(row.get("executed_mvnd")),
                    "status": row.get("status"),
                    "beneficiaries": row.get("beneficiaries"),
                }
            )
        if sub["status"] == "rejected":
            finding_rows.append(
                {
                    "submission_id": sid,
                    "rule": "F05",
                    "severity": "fatal",
                    "sheet": "kinh_phi",
                    "source_row": 2,
                    "column_name": "thuc_hien",
                    "value": "-1",
                    "expected": ">= 0",
                    "message_vi": "Giá trị âm",
                    "message_en": "Negative value",
                }
            )
    dup_rows = []
    for dup in duplicate_files:
        sid = ids[dup["submission_index"]]
        dup_rows.append(
            {
                "path": dup["path"],
                "sha256": sid + hashlib.sha256(sid.encode()).hexdigest()[16:],
                "submission_id": sid,
                "arrival_date": dup["arrival_date"],
                "loaded_at": LOADED_AT,
            }
        )

    con = duckdb.connect(str(db_path))
    try:
        for statement in create_raw_schema_sql():
            con.execute(statement)
        for table, rows in (
            ("submissions", sub_rows),
            ("funding_rows", funding_rows),
            ("outcome_rows", outcome_rows),
            ("project_rows", project_rows),
            ("findings", finding_rows),
            ("duplicate_files", dup_rows),
        ):
            if not rows:
                continue
            cols = _columns(table)
            sql = f"INSERT INTO raw.{table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})"
            con.executemany(sql, [[r.get(c) for c in cols] for r in rows])
    finally:
        con.close()
    return ids


def dbt_executable() -> str:
    candidate = Path(sys.executable).with_name("dbt")
    return str(candidate) if candidate.exists() else "dbt"


def run_dbt(
    args: list[str],
    project_dir: str | os.PathLike[str] = DBT_PROJECT_DIR,
    db_path: str | os.PathLike[str] | None = None,
    target_dir: str | os.PathLike[str] | None = None,
    *,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args> --profiles-dir <project_dir>` in a subprocess against `db_path`.

    Artifacts and logs go to `target_dir` (and `target_dir/logs`) so parallel runs do
    not share dbt_project/target. Raises AssertionError with dbt's output when dbt fails
    and `check` is true.
    """
    project_dir = Path(project_dir)
    env = dict(os.environ)
    if db_path is not None:
        env["KC_BUILD_DB"] = str(Path(db_path).resolve())
    if target_dir is not None:
        target_dir = Path(target_dir).resolve()
        env["DBT_TARGET_PATH"] = str(target_dir)
        env["DBT_LOG_PATH"] = str(target_dir / "logs")
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    env["DBT_USE_COLORS"] = "false"
    cmd = [
        dbt_executable(),
        *args,
        "--profiles-dir",
        str(project_dir),
        "--project-dir",
        str(project_dir),
    ]
    result = subprocess.run(
        cmd, check=False, cwd=project_dir, env=env, capture_output=True, text=True
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"dbt {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-20000:]}\n{result.stderr[-5000:]}"
        )
    return result
