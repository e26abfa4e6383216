"""`marts.publication`: one row saying when the published file was written and from which loads.

Written by publish (not dbt) into the published file only, so a BI user can tell how fresh the
marts are. Its columns and their descriptions are declared here, once: the DDL, the comments
and the contract documentation all come from `COLUMNS`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from khuyencong.warehouse.mart_docs import MartDoc, document_table
from khuyencong.warehouse.sql import ident

PUBLICATION_TABLE = "publication"

DESCRIPTION = ("When this file was published (thời điểm công bố) and from which loads: one row,"
               " written by publish, not dbt.")
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("published_at", "TIMESTAMP WITH TIME ZONE", "When the file was published (thời điểm công bố), UTC."),
    ("submissions_loaded", "BIGINT",
     "Distinct files in raw.submissions when published (số bản báo cáo đã nạp), refused ones included,"
     " byte-identical copies not."),
    ("last_loaded_at", "TIMESTAMP WITH TIME ZONE",
     "When the latest of those files was loaded (lần nạp gần nhất), UTC; NULL when none was."),
    ("fingerprint", "VARCHAR",
     "The loads the marts reflect (dấu vân tay dữ liệu nạp), as JSON: accepted submissions, duplicates"
     " and last_loaded_at; the nightly run rebuilds only when the build database no longer matches it."),
    ("package_version", "VARCHAR", "Version of the khuyencong package that published the file (phiên bản)."),
)


def publication_doc() -> MartDoc:
    return MartDoc(name=PUBLICATION_TABLE, description=DESCRIPTION, columns={c: d for c, _, d in COLUMNS})


def package_version() -> str | None:
    try:
        return metadata.version("khuyencong")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return None


def write_publication(con, schema: str, build_catalog: str, fingerprint: Mapping,
                      published_at: datetime) -> None:
    """Create `schema.publication` in `con`'s database from the build database attached as `build_catalog`."""
    target = f"{ident(schema)}.{ident(PUBLICATION_TABLE)}"
    submissions, last_loaded = con.execute(
        f"SELECT count(*), max(loaded_at) FROM {ident(build_catalog)}.raw.submissions").fetchone()
    con.execute(f"CREATE TABLE {target} ({', '.join(f'{ident(c)} {t}' for c, t, _ in COLUMNS)})")
    con.execute(
        f"INSERT INTO {target} VALUES (?, ?, ?, ?, ?)",
        [published_at, submissions,
         last_loaded.replace(tzinfo=UTC) if last_loaded else None,  # the loader stores naive UTC
         json.dumps(dict(fingerprint), sort_keys=True, default=str), package_version()],
    )
    document_table(con, schema, PUBLICATION_TABLE, publication_doc())


def read_fingerprint(published_db: Path) -> dict | None:
    """The fingerprint a published file was made from; None for a file without one (or unreadable)."""
    import duckdb

    try:
        con = duckdb.connect(str(published_db), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(f"SELECT fingerprint FROM marts.{ident(PUBLICATION_TABLE)}").fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    return json.loads(row[0]) if row and row[0] else None
