"""The shrink guard: a publication never holds less than the one it replaces, unless the run says so.

Every mart expectation passes on empty tables, so a night that reads nothing (an empty or
unmounted raw/, a lost build database, every file refused) would otherwise replace good marts
with empty ones. Two measures, taken on the marts dbt just built against the published file:
- no mart may be empty;
- the accepted reports (`submission_status` rows accepted, with or without warnings) may not
  fall below the published count.
Either one refuses the publication (`PublicationWouldShrink`, a verdict) naming what would have
shrunk and by how much; `kc run --allow-shrink` (DAG param `allow_shrink`) says it is meant.
"""

from __future__ import annotations

from pathlib import Path

from khuyencong.errors import PublicationWouldShrink
from khuyencong.warehouse.sql import ident

ACCEPTED = ("accepted", "accepted_with_warnings")


def _mart_rows(con, catalog: str) -> dict[str, int]:
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'marts'"
        " AND table_type = 'BASE TABLE' AND table_name <> 'publication' ORDER BY 1", [catalog]).fetchall()]
    return {t: con.execute(f"SELECT count(*) FROM {ident(catalog)}.marts.{ident(t)}").fetchone()[0] for t in tables}


def _accepted_reports(con, catalog: str) -> int:
    return con.execute(f"SELECT count(*) FROM {ident(catalog)}.marts.submission_status WHERE status IN (?, ?)",
                       list(ACCEPTED)).fetchone()[0]


def shrinkage(build_db: Path, published_db: Path) -> list[str]:
    """What the new marts of `build_db` would lose against `published_db` (empty: nothing)."""
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(build_db)])
        new_rows = _mart_rows(con, "build")
        problems = [f"{t} would have 0 rows" for t, n in new_rows.items() if n == 0]
        if published_db.exists():
            con.execute("ATTACH ? AS published (READ_ONLY)", [str(published_db)])
            old_rows = _mart_rows(con, "published")
            old, new = _accepted_reports(con, "published"), _accepted_reports(con, "build")
            if new < old:
                problems.insert(0, f"accepted reports {old} → {new} (−{old - new})")
                problems += [f"{t} {old_rows[t]} → {n} rows (−{old_rows[t] - n})"
                             for t, n in new_rows.items() if n and n < old_rows.get(t, 0)]
    finally:
        con.close()
    return problems


def guard_publication(build_db: Path, published_db: Path, allow_shrink: bool) -> dict:
    """Raise `PublicationWouldShrink` when the new marts would shrink (unless allowed); else what was measured."""
    problems = shrinkage(build_db, published_db)
    if problems and not allow_shrink:
        raise PublicationWouldShrink(
            "Publication refused: the new marts would hold less than the published warehouse: "
            + "; ".join(problems) + ". Nothing was published: the DuckDB file, the Parquet copies and the "
            "PostgreSQL schema are as they were. If this is meant (reports withdrawn from raw/), run again with "
            "`kc run --allow-shrink` (DAG param allow_shrink=true).")
    return {"shrinks": problems, "allowed": bool(problems)}
