"""Discover new files in `raw/` and load checked submissions into the build database's `raw` schema.

This is the one writer of the build database's `raw` schema. Each file goes in
one transaction: its submission row, its findings and (only when accepted) its
rows, so a failure half-way leaves nothing of that file behind. `raw/` itself is
only ever read.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from khuyencong.findings import FATAL, could_not_process, finding
from khuyencong.ingest.reader import arrival_date_from_path, file_sha256
from khuyencong.model import FileCheck, display_path
from khuyencong.warehouse.schema import create_raw_schema_sql
from khuyencong.warehouse.sql import ident


def ensure_raw_schema(con) -> None:
    for statement in create_raw_schema_sql():
        con.execute(statement)


@dataclass(frozen=True)
class Discovery:
    new: list[Path]  # files to check, in a stable order
    duplicates: list[tuple[Path, str]]  # (path, submission_id of the file with the same bytes)
    seen: int  # files already recorded before this run
    total: int  # entries in raw/<folder>/, of an accepted type or not
    refused: list[tuple[Path, str]] = field(default_factory=list)  # (path, why) never opened: symlinks


@dataclass(frozen=True)
class LandingEntry:
    path: str  # the real path, to open it (`Path(entry.path)`)
    relative: str  # as `raw.submissions.path` stores it: `relative(Path(path), raw_dir)`, computed from the names
    symlink: bool  # refused without being opened


def scan_landing_zone(raw_dir: Path) -> list[LandingEntry]:
    """Every entry of raw/<folder>/ in path order (bytes of the names): regular files of any type (wrong
    types are refused with F01) and symbolic links at either level (refused, never followed).

    Names only, no `Path` per entry: a landing zone of 50 000 files is listed in a fraction of a second.
    """
    entries: list[LandingEntry] = []
    with os.scandir(raw_dir) as top:
        folders = sorted(top, key=lambda e: os.fsencode(e.name))
    for folder in folders:
        if folder.name.startswith("."):
            continue
        if folder.is_symlink():
            entries.append(LandingEntry(folder.path, _as_stored(folder.name), True))
            continue
        if not folder.is_dir(follow_symlinks=False):
            continue  # files directly in raw/ are not in an arrival folder: not part of the landing zone
        with os.scandir(folder.path) as inner:
            names = sorted(inner, key=lambda e: os.fsencode(e.name))
        for entry in names:
            if entry.name.startswith("."):
                continue
            if entry.is_symlink():
                entries.append(LandingEntry(entry.path, _as_stored(f"{folder.name}/{entry.name}"), True))
            elif entry.is_file(follow_symlinks=False):
                entries.append(LandingEntry(entry.path, _as_stored(f"{folder.name}/{entry.name}"), False))
    return entries


def _as_stored(relative_name: str) -> str:
    """`model.display_path` of a clean relative name, without building paths (same text)."""
    return os.fsencode(relative_name).decode("utf-8", "backslashreplace")


def landing_files(raw_dir: Path) -> list[Path]:
    """The regular files of the landing zone (benchmarks read them)."""
    return [Path(e.path) for e in scan_landing_zone(raw_dir) if not e.symlink]


def _recorded_paths(con) -> set[str]:
    """Every path under raw/ already recorded: loaded, refused or a byte-identical duplicate."""
    return {r[0] for r in con.execute(
        "SELECT path FROM raw.submissions UNION ALL SELECT path FROM raw.duplicate_files").fetchall()}


def submission_ids(con, catalog: str | None = None) -> set[str]:
    """Every submission recorded, refused ones included (from the database attached as `catalog` when given)."""
    raw = f"{ident(catalog)}.raw" if catalog else "raw"
    return {r[0] for r in con.execute(f"SELECT submission_id FROM {raw}.submissions").fetchall()}


def relative(path: Path, raw_dir: Path) -> str:
    """The path under raw/ as stored in `raw.submissions.path`."""
    return display_path(path, raw_dir)


def _symlink_sha256(path: Path, raw_dir: Path) -> str:
    """A refused symlink is recorded by what it is (its name and target), never by what it points to."""
    target = os.fsencode(os.readlink(path))
    return hashlib.sha256(b"symlink\0" + os.fsencode(relative(path, raw_dir)) + b"\0" + target).hexdigest()


def refused_entry(path: Path, reason: str, raw_dir: Path) -> FileCheck:
    """A landing-zone entry refused unopened (F01), with its own report, recorded once."""
    target = os.fsencode(os.readlink(path)).decode("utf-8", "backslashreplace")
    return FileCheck(path, _symlink_sha256(path, raw_dir), arrival_date_from_path(path), None, [finding(
        "F01",
        f"'{relative(path, raw_dir)}' là liên kết tượng trưng (symlink) tới '{target}': không được mở. "
        "Hãy đặt chính tệp báo cáo vào thư mục nhận.",
        f"'{relative(path, raw_dir)}' is a symbolic link to '{target}': it is not followed. "
        "Put the report file itself in the arrival folder.",
        value=target, expected="a regular file",
    )])


def discover(con, raw_dir: Path) -> Discovery:
    """Split raw/ into already-seen paths, byte-identical duplicates, refused entries and new files (by sha256)."""
    ensure_raw_schema(con)
    known_paths = _recorded_paths(con)
    known_sha = dict(con.execute("SELECT sha256, submission_id FROM raw.submissions").fetchall())
    entries = scan_landing_zone(raw_dir)
    unseen = [e for e in entries if e.relative not in known_paths]  # only these are opened
    new, duplicates, refused = [], [], []
    batch_sha: dict[str, Path] = {}
    for entry in unseen:
        path = Path(entry.path)
        if entry.symlink:
            refused.append((path, "symlink"))
            continue
        sha = file_sha256(path)
        if sha in known_sha:
            duplicates.append((path, known_sha[sha]))
        elif sha in batch_sha:  # two copies arriving in the same run: the first (in path order) counts
            duplicates.append((path, sha[:16]))
        else:
            batch_sha[sha] = path
            new.append(path)
    return Discovery(new=new, duplicates=duplicates, seen=len(entries) - len(unseen), total=len(entries),
                     refused=refused)


def pending(con, raw_dir: Path) -> dict | None:
    """Read-only: None if raw/ holds any entry not yet recorded, else the counts a no-op run reports."""
    try:
        known = _recorded_paths(con)
    except Exception:  # noqa: BLE001 - no raw schema yet: everything is new
        return None
    entries = scan_landing_zone(raw_dir)
    if any(e.relative not in known for e in entries):
        return None
    return {"total": len(entries), "seen": len(entries), "new": 0, "duplicates": 0,
            "accepted": 0, "accepted_with_warnings": 0, "rejected": 0, "rows_loaded": 0, "files": []}


def record_duplicates(con, duplicates: list[tuple[Path, str]], raw_dir: Path, loaded_at: datetime) -> None:
    for path, submission_id in duplicates:
        con.execute(
            "INSERT INTO raw.duplicate_files VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [relative(path, raw_dir), file_sha256(path), submission_id, _arrival(path), loaded_at],
        )


def rows_loaded(con, loaded_at: datetime) -> int:
    """The data rows of the files loaded at `loaded_at` (one run's loads)."""
    return int(con.execute(
        "SELECT (SELECT count(*) FROM raw.funding_rows f JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)"
        " + (SELECT count(*) FROM raw.outcome_rows o JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)"
        " + (SELECT count(*) FROM raw.project_rows p JOIN raw.submissions s USING (submission_id) WHERE s.loaded_at = ?)",
        [loaded_at, loaded_at, loaded_at],
    ).fetchone()[0])


def _arrival(path: Path) -> date | None:
    """The arrival folder's date; None when the folder is not a date (such a file is refused with F04)."""
    return arrival_date_from_path(path)


def _rows_of(check: FileCheck, raw_dir: Path, loaded_at: datetime) -> dict[str, list[list]]:
    """The rows one checked file adds to each `raw` table; data rows only when it was not rejected."""
    sub = check.submission
    meta = sub.metadata if sub is not None else None
    rejected = check.status == "rejected"
    errors = sum(f.severity == FATAL for f in check.findings)
    warnings = len(check.findings) - errors
    funding = [] if rejected or sub is None else sub.funding
    outcomes = [] if rejected or sub is None else sub.outcomes
    projects = [] if rejected or sub is None else sub.projects
    sid = check.submission_id
    return {
        "submissions": [[
            sid, check.sha256, relative(check.path, raw_dir), relative(check.path, check.path.parent),
            check.path.lstat().st_size, check.arrival_date or _arrival(check.path),
            meta.unit_id if meta else None, meta.unit_name_in_file if meta else None,
            meta.year if meta else None, meta.period if meta else None,
            meta.period_months if meta else None, meta.report_date if meta else None,
            meta.money_unit if meta else None,
            check.status, errors, warnings, len(funding), len(outcomes), len(projects),
            meta.preparer_name if meta else None, meta.preparer_phone if meta else None,
            meta.preparer_email if meta else None, loaded_at,
        ]],
        "funding_rows": [[sid, r.sheet, r.row, r.funding_source, r.plan_initial_mvnd, r.plan_adjusted_mvnd,
                          r.allocated_mvnd, r.executed_mvnd, None if r.project_count is None else int(r.project_count)]
                         for r in funding],
        "outcome_rows": [[sid, r.sheet, r.row, r.indicator_code, r.unit_label, r.target_value, r.actual_value]
                         for r in outcomes],
        "project_rows": [[sid, r.sheet, r.row, r.project_code, r.project_name, r.funding_source, r.activity,
                          r.approved_mvnd, r.executed_mvnd, r.status,
                          None if r.beneficiaries is None else int(r.beneficiaries)] for r in projects],
        "findings": [[sid, f.rule, f.severity, f.sheet, f.row, f.column, f.value, f.expected, f.message_vi,
                      f.message_en] for f in check.findings],
    }


def _insert(con, table: str, rows: list[list]) -> None:
    """Many rows in one statement (an Arrow table, cast by DuckDB to the column types), not row by row."""
    if not rows:
        return
    import pyarrow as pa

    batch = pa.table({f"c{i}": pa.array([r[i] for r in rows]) for i in range(len(rows[0]))})
    con.register("kc_batch", batch)  # replaced by the next batch; no unregister inside a failed transaction
    con.execute(f"INSERT INTO raw.{table} SELECT * FROM kc_batch")


def load_checks(con, checks: list[FileCheck], raw_dir: Path, loaded_at: datetime, before_commit=None) -> None:
    """Write checked files in one transaction: all of them or none (a crash leaves no file half-loaded)."""
    tables: dict[str, list[list]] = {}
    for check in checks:
        for table, rows in _rows_of(check, raw_dir, loaded_at).items():
            tables.setdefault(table, []).extend(rows)
    con.execute("BEGIN TRANSACTION")
    try:
        for table, rows in tables.items():
            _insert(con, table, rows)
        if before_commit:
            before_commit()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def load_check(con, check: FileCheck, raw_dir: Path, loaded_at: datetime) -> None:
    """Write one checked file in one transaction."""
    load_checks(con, [check], raw_dir, loaded_at)


def _file_errors() -> tuple[type[BaseException], ...]:
    import duckdb
    import pyarrow as pa

    return (duckdb.ConversionException, duckdb.ConstraintException, duckdb.InvalidInputException,
            duckdb.OutOfRangeException, pa.ArrowException, OverflowError, ValueError, TypeError, UnicodeError)


def load_batch(con, checks: list[FileCheck], raw_dir: Path, loaded_at: datetime, before_commit=None) -> list[FileCheck]:
    """Load many files in one transaction; if that fails on a file's values, file by file so only it is refused.

    Returns the checks as stored (a file refused at the load comes back with its F01 finding).
    """
    try:
        load_checks(con, checks, raw_dir, loaded_at, before_commit)
        return list(checks)
    except _file_errors():
        return [load_isolated(con, check, raw_dir, loaded_at) for check in checks]


def load_isolated(con, check: FileCheck, raw_dir: Path, loaded_at: datetime) -> FileCheck:
    """`load_check`, and if the file's rows can't be stored, store it refused (F01) instead.

    A lock conflict or a lost database is not about the file: it is raised, and the file stays new.
    """
    try:
        load_check(con, check, raw_dir, loaded_at)
        return check
    except _file_errors() as exc:
        refused = FileCheck(check.path, check.sha256, check.arrival_date, check.submission,
                            [*check.findings, could_not_process("load", exc)])
        load_check(con, refused, raw_dir, loaded_at)
        return refused
