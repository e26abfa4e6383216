"""Which project the build database's models were last built whole from (`meta.full_build`).

A full `dbt build` (seeds, every model, every test and unit test) is needed when the build database
is new or rebuilt, or when the project changed since the last full build. Otherwise only the data
changed, and only what depends on `raw` needs building (docs/architecture.md, "What a run rebuilds").
The row is cleared before a full build starts and written when it has succeeded, so a full build
that failed half-way is done again in full, even if the project is then put back as it was.
"""

from __future__ import annotations

from datetime import UTC, datetime

_DDL = "CREATE SCHEMA IF NOT EXISTS meta; CREATE TABLE IF NOT EXISTS meta.full_build " \
       "(project_fingerprint VARCHAR NOT NULL, built_at TIMESTAMP NOT NULL)"


def last_full_build(con) -> str | None:
    """The project fingerprint of the last successful full build, or None."""
    exists = con.execute("SELECT count(*) FROM information_schema.tables "
                         "WHERE table_schema = 'meta' AND table_name = 'full_build'").fetchone()[0]
    if not exists:
        return None
    row = con.execute("SELECT project_fingerprint FROM meta.full_build").fetchone()
    return row[0] if row else None


def forget_full_build(con) -> None:
    con.execute(_DDL)
    con.execute("DELETE FROM meta.full_build")


def record_full_build(con, project_fingerprint: str) -> None:
    con.execute(_DDL)
    con.execute("BEGIN")
    con.execute("DELETE FROM meta.full_build")
    con.execute("INSERT INTO meta.full_build VALUES (?, ?)",
                [project_fingerprint, datetime.now(UTC).replace(tzinfo=None)])
    con.execute("COMMIT")
