"""PostgreSQL serving target: the published marts, and the `raw` schema for dbt on PostgreSQL.

`publish_to_postgres` copies every table of the already-published DuckDB file into schema
`marts` of a PostgreSQL database so BI tools that speak PostgreSQL can read them:

1. Under a session advisory lock (one publisher at a time), leftovers of an interrupted run are
   dropped and the tables are built in a fresh staging schema with the same column types,
   primary keys and comments (from the dbt YAML of the marts), loaded with COPY, and committed.
   The staging schema is invisible to the reader role (no grants), so committing it early is
   harmless and makes its rows visible to every snapshot taken after that point.
2. One short transaction swaps it in: lock every current mart table (waits for running queries
   to finish and holds new ones back), rename `marts` away, rename staging to `marts`, grant the
   reader role, drop the old schema, commit. A reader therefore sees all old or all new tables.

DuckDB's postgres extension is not used: it is downloaded on first use, and this runs offline.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from khuyencong.config import Settings
from khuyencong.warehouse.mart_docs import MartDoc, read_mart_docs
from khuyencong.warehouse.publication import PUBLICATION_TABLE, publication_doc

MART_SCHEMA = "marts"
RAW_SCHEMA = "raw"
_STAGING_PREFIX = "kc_staging_"
_OLD_PREFIX = "kc_old_"
_PUBLISH_LOCK_KEY = "khuyencong.publish_to_postgres"
_COPY_BATCH_ROWS = 10_000
_SWAP_ATTEMPTS = 5
_SWAP_LOCK_TIMEOUT = "10s"

# DuckDB type -> PostgreSQL type; DECIMAL(p,s) keeps its precision and scale.
_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric(38, 0)",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "BLOB": "bytea",
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def pg_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB column type; refuses types it has no exact match for."""
    t = duckdb_type.upper().strip()
    if m := _DECIMAL.fullmatch(t):
        return f"numeric({m.group(1)}, {m.group(2)})"
    if t in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[t]
    raise ValueError(f"no PostgreSQL type for DuckDB type {duckdb_type!r}")


def _duck_columns(duck, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    return duck.execute(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_catalog = ? AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        [catalog, schema, table],
    ).fetchall()


def _duck_tables(duck, catalog: str, schema: str) -> list[str]:
    rows = duck.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = ?"
        " AND table_type = 'BASE TABLE' ORDER BY table_name",
        [catalog, schema],
    ).fetchall()
    return [r[0] for r in rows]


def _duck_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _copy_schema(duck, catalog: str, source_schema: str, pg, target_schema: str,
                 docs: dict[str, MartDoc] | None = None) -> dict[str, int]:
    """Create every table of `catalog.source_schema` in `target_schema` (which must exist) and COPY its rows."""
    from psycopg import sql

    counts: dict[str, int] = {}
    for table in _duck_tables(duck, catalog, source_schema):
        columns = _duck_columns(duck, catalog, source_schema, table)
        doc = (docs or {}).get(table) or MartDoc(table)
        target = sql.Identifier(target_schema, table)
        pg.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(pg_type(dtype))) for name, dtype in columns
        )))
        names = sql.SQL(", ").join(sql.Identifier(name) for name, _ in columns)
        source = f"{_duck_ident(catalog)}.{_duck_ident(source_schema)}.{_duck_ident(table)}"
        result = duck.execute(f"SELECT {', '.join(_duck_ident(n) for n, _ in columns)} FROM {source}")
        count = 0
        with pg.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
            while batch := result.fetchmany(_COPY_BATCH_ROWS):
                for row in batch:
                    copy.write_row(row)
                count += len(batch)
        counts[table] = count
        if doc.grain:
            pg.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(
                target, sql.SQL(", ").join(sql.Identifier(c) for c in doc.grain)))
        with pg.pipeline():  # one round trip for the comments
            if doc.description:
                pg.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(doc.description)))
            for name, _ in columns:
                if name in doc.columns:
                    pg.execute(sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                        sql.Identifier(target_schema, table, name), sql.Literal(doc.columns[name])))
            pg.execute(sql.SQL("ANALYZE {}").format(target))
    return counts


def _schemas_like(pg, prefix: str) -> list[str]:
    rows = pg.execute(
        "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname", [prefix]
    ).fetchall()
    return [r[0] for r in rows]


def _tables_in(pg, schema: str) -> list[str]:
    rows = pg.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", [schema]
    ).fetchall()
    return [r[0] for r in rows]


def _drop_schemas(pg, names: Iterable[str]) -> None:
    from psycopg import sql

    for name in names:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def _ensure_reader_role(pg, role: str) -> None:
    from psycopg import sql

    if pg.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone() is None:
        pg.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


def _swap_in(pg, staging: str, schema: str, reader_role: str | None) -> None:
    """One transaction: staging becomes `schema`, the old one disappears; all or nothing for readers."""
    import psycopg
    from psycopg import sql

    for attempt in range(1, _SWAP_ATTEMPTS + 1):
        old = f"{_OLD_PREFIX}{uuid.uuid4().hex[:8]}"
        try:
            with pg.transaction():
                pg.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(_SWAP_LOCK_TIMEOUT)))
                current = _tables_in(pg, schema)
                if current:
                    # all at once, in name order: waits for running readers, then holds new ones back
                    pg.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
                        sql.SQL(", ").join(sql.Identifier(schema, t) for t in current)))
                if pg.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone():
                    pg.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(schema), sql.Identifier(old)))
                pg.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                    sql.Identifier(staging), sql.Identifier(schema)))
                if reader_role:
                    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(reader_role)))
                    pg.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                        sql.Identifier(schema), sql.Identifier(reader_role)))
                _drop_schemas(pg, [old])
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected):
            # a long BI query holds the old tables: nothing changed, try again
            if attempt == _SWAP_ATTEMPTS:
                raise


def publish_to_postgres(published_duckdb: Path, url: str, reader_role: str | None,
                        models_dir: Path | None = None) -> dict:
    """Copy the marts of the published DuckDB file into PostgreSQL schema `marts`, atomically.

    Raises on failure (the old `marts` stays as it was); the pipeline reports it.
    """
    import duckdb
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    docs = {**read_mart_docs(models_dir), PUBLICATION_TABLE: publication_doc()}  # the same YAML as the DuckDB file
    duck = duckdb.connect(str(published_duckdb), read_only=True)
    try:
        catalog = duck.execute("SELECT current_database()").fetchone()[0]
        if not _duck_tables(duck, catalog, MART_SCHEMA):
            raise RuntimeError(f"no tables in {published_duckdb}:{MART_SCHEMA}")
        with psycopg.connect(url, autocommit=True, application_name="khuyencong publish") as pg:
            pg.execute("SELECT pg_advisory_lock(hashtext(%s))", [_PUBLISH_LOCK_KEY])
            staging = f"{_STAGING_PREFIX}{uuid.uuid4().hex[:8]}"
            try:
                # interrupted earlier runs: their staging / old schemas are ours to remove
                _drop_schemas(pg, _schemas_like(pg, _STAGING_PREFIX) + _schemas_like(pg, _OLD_PREFIX))
                if reader_role:
                    _ensure_reader_role(pg, reader_role)
                with pg.transaction():
                    pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
                    counts = _copy_schema(duck, catalog, MART_SCHEMA, pg, staging, docs)
                _swap_in(pg, staging, MART_SCHEMA, reader_role)
            except BaseException:
                with contextlib.suppress(psycopg.Error):  # a broken connection must not hide the cause
                    _drop_schemas(pg, [staging])
                raise
            finally:
                with contextlib.suppress(psycopg.Error):  # the lock ends with the session anyway
                    pg.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_PUBLISH_LOCK_KEY])
    finally:
        duck.close()
    return {"ok": True, "schema": MART_SCHEMA, "tables": counts, "reader_role": reader_role,
            "seconds": round(time.perf_counter() - started, 2)}


def copy_raw_schema(build_duckdb: Path, url: str) -> dict[str, int]:
    """Replace schema `raw` in PostgreSQL with the build database's `raw` (for `dbt build --target postgres`)."""
    import duckdb
    import psycopg
    from psycopg import sql

    duck = duckdb.connect(str(build_duckdb), read_only=True)
    try:
        catalog = duck.execute("SELECT current_database()").fetchone()[0]
        with psycopg.connect(url) as pg, pg.transaction():
            pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(RAW_SCHEMA)))
            pg.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(RAW_SCHEMA)))
            return _copy_schema(duck, catalog, RAW_SCHEMA, pg, RAW_SCHEMA)
    finally:
        duck.close()


def describe_failure(exc: BaseException, url: str) -> str:
    """One line for the run summary: no password (libpq may echo the URL), no control characters."""
    from urllib.parse import urlsplit

    text = f"{type(exc).__name__}: {exc}"
    secrets = [url]
    try:
        if password := urlsplit(url).password:
            secrets.append(password)
    except ValueError:
        pass
    for secret in secrets:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:500]


def ensure_database(url: str | None = None) -> bool:
    """Create the database named in the URL (default: `Settings.postgres_url`) when missing; True if created.

    Connects to the server's `postgres` maintenance database with the same credentials.
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    url = url or Settings.from_env().postgres_url
    if not url:
        raise RuntimeError("KC_POSTGRES_URL is not set")
    name = conninfo_to_dict(url).get("dbname")
    if not name:
        raise ValueError("the PostgreSQL URL names no database")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as pg:
        if pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        pg.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True
