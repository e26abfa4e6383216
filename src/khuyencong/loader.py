"""Discover new files in `raw/` and load checked submissions into the build database's `raw` schema.

This is the one writer of the build database's `raw` schema. Each file goes in
one transaction: its submission row, its findings and (only when accepted) its
rows, so a failure half-way leaves nothing of that file behind. `raw/` itself is
only ever read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from khuyencong.findings import FATAL
from khuyencong.periods import deadline
from khuyencong.reader import FileCheck, file_sha256
from khuyencong.warehouse_schema import create_raw_schema_sql


def connect(db_path: Path, read_only: bool = False):
    import duckdb

    db_path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(db_path), read_only=read_only)


def ensure_raw_schema(con) -> None:
    for statement in create_raw_schema_sql():
        con.execute(statement)


@dataclass(frozen=True)
class Discovery:
    new: list[Path]  # files to check, in a stable order
    duplicates: list[tuple[Path, str]]  # (path, submission_id of the file with the same bytes)
    seen: int  # files already recorded before this run
    total: int  # files in raw/ of an accepted type or not


def landing_files(raw_dir: Path) -> list[Path]:
    """Every regular file under raw/<folder>/ (any type: wrong types are refused with F01), sorted."""
    return sorted(
        p for p in raw_dir.glob("*/*")
        if p.is_file() and not p.name.startswith(".")
    )


def relative(path: Path, raw_dir: Path) -> str:
    return path.resolve().relative_to(raw_dir.resolve()).as_posix()


def discover(con, raw_dir: Path) -> Discovery:
    """Split raw/ into already-seen paths, byte-identical duplicates and new files (by sha256)."""
    ensure_raw_schema(con)
    known_paths = {r[0] for r in con.execute(
        "SELECT path FROM raw.submissions UNION ALL SELECT path FROM raw.duplicate_files"
    ).fetchall()}
    known_sha = dict(con.execute("SELECT sha256, submission_id FROM raw.submissions").fetchall())
    files = landing_files(raw_dir)
    new, duplicates, seen = [], [], 0
    batch_sha: dict[str, Path] = {}
    for path in files:
        rel = relative(path, raw_dir)
        if rel in known_paths:
            seen += 1
            continue
        sha = file_sha256(path)
        if sha in known_sha:
            duplicates.append((path, known_sha[sha]))
        elif sha in batch_sha:  # two copies arriving in the same run: the first (in path order) counts
            duplicates.append((path, sha[:16]))
        else:
            batch_sha[sha] = path
            new.append(path)
    return Discovery(new=new, duplicates=duplicates, seen=seen, total=len(files))


def record_duplicates(con, duplicates: list[tuple[Path, str]], raw_dir: Path, loaded_at: datetime) -> None:
    for path, submission_id in duplicates:
        con.execute(
            "INSERT INTO raw.duplicate_files VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [relative(path, raw_dir), file_sha256(path), submission_id, _arrival(path), loaded_at],
        )


def _arrival(path: Path) -> date:
    try:
        return date.fromisoformat(path.parent.name)
    except ValueError:
        return date.fromtimestamp(path.stat().st_mtime)


def load_check(con, check: FileCheck, raw_dir: Path, loaded_at: datetime) -> None:
    """Write one checked file in one transaction; rows only when it was not rejected."""
    sub = check.submission
    meta = sub.metadata if sub is not None else None
    rejected = check.status == "rejected"
    errors = sum(f.severity == FATAL for f in check.findings)
    warnings = len(check.findings) - errors
    due = deadline(meta.year, meta.period) if meta and meta.year and meta.period else None
    funding = [] if rejected or sub is None else sub.funding
    outcomes = [] if rejected or sub is None else sub.outcomes
    projects = [] if rejected or sub is None else sub.projects
    sid = check.submission_id
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO raw.submissions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                sid, check.sha256, relative(check.path, raw_dir), check.path.name, check.path.stat().st_size,
                check.arrival_date or _arrival(check.path),
                meta.unit_id if meta else None, meta.unit_name_in_file if meta else None,
                meta.year if meta else None, meta.period if meta else None,
                meta.period_months if meta else None, meta.report_date if meta else None,
                meta.money_unit if meta else None,
                check.status, errors, warnings, len(funding), len(outcomes), len(projects), due,
                meta.preparer_name if meta else None, meta.preparer_phone if meta else None,
                meta.preparer_email if meta else None, loaded_at,
            ],
        )
        if funding:
            con.executemany(
                "INSERT INTO raw.funding_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[sid, r.sheet, r.row, r.funding_source, r.plan_initial_mvnd, r.plan_adjusted_mvnd,
                  r.allocated_mvnd, r.executed_mvnd, None if r.project_count is None else int(r.project_count)]
                 for r in funding],
            )
        if outcomes:
            con.executemany(
                "INSERT INTO raw.outcome_rows VALUES (?, ?, ?, ?, ?, ?, ?)",
                [[sid, r.sheet, r.row, r.indicator_code, r.unit_label, r.target_value, r.actual_value] for r in outcomes],
            )
        if projects:
            con.executemany(
                "INSERT INTO raw.project_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[sid, r.sheet, r.row, r.project_code, r.project_name, r.funding_source, r.activity,
                  r.approved_mvnd, r.executed_mvnd, r.status, None if r.beneficiaries is None else int(r.beneficiaries)]
                 for r in projects],
            )
        if check.findings:
            con.executemany(
                "INSERT INTO raw.findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[sid, f.rule, f.severity, f.sheet, f.row, f.column, f.value, f.expected, f.message_vi, f.message_en]
                 for f in check.findings],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
