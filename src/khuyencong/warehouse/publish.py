"""Atomic publication of the `marts` schema for BI tools.

The published DuckDB file holds only `marts`. It is written under a temporary
name next to its final place, checkpointed, closed and renamed over the old one:
a BI process that holds the old file open keeps reading the old version, new
connections see the new one, and nobody ever sees a half-written file. Parquet
copies are written to a fresh folder that then replaces the old folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

MART_SCHEMA = "marts"


def mart_tables(con, catalog: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = ? AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        [catalog, MART_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _ident(name: str) -> str:
    # identifiers come from the catalogue, never from a file; still, quote and refuse anything odd
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected table name {name!r}")
    return f'"{name}"'


def _remove_leftovers(published_db: Path, parquet_dir: Path) -> None:
    """Temporary files of a publication that was killed half-way (the published file is whole regardless)."""
    for pattern, folder in ((f".{published_db.name}.*.tmp*", published_db.parent),
                            (f".{parquet_dir.name}.*", parquet_dir.parent)):
        for leftover in folder.glob(pattern):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def publish_marts(build_db: Path, published_db: Path, parquet_dir: Path, checkpoint=None) -> dict:
    """Copy `marts` to a new file and swap it in; `checkpoint(name)` marks points the crash tests kill at."""
    import duckdb

    checkpoint = checkpoint or (lambda name: None)
    _remove_leftovers(published_db, parquet_dir)
    token = uuid.uuid4().hex[:8]
    tmp_db = published_db.with_name(f".{published_db.name}.{token}.tmp")
    tmp_parquet = parquet_dir.with_name(f".{parquet_dir.name}.{token}.tmp")
    published_db.parent.mkdir(parents=True, exist_ok=True)
    tmp_parquet.mkdir(parents=True)
    con = duckdb.connect(str(tmp_db))
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(build_db)])
        tables = mart_tables(con, "build")
        if not tables:
            raise RuntimeError(f"no tables in {build_db}:{MART_SCHEMA}; has dbt build run?")
        con.execute(f"CREATE SCHEMA {MART_SCHEMA}")
        rows = {}
        for t in tables:
            con.execute(f"CREATE TABLE {MART_SCHEMA}.{_ident(t)} AS SELECT * FROM build.{MART_SCHEMA}.{_ident(t)}")
            rows[t] = con.execute(f"SELECT count(*) FROM {MART_SCHEMA}.{_ident(t)}").fetchone()[0]
            target = (tmp_parquet / f"{t}.parquet").as_posix().replace("'", "''")
            con.execute(f"COPY {MART_SCHEMA}.{_ident(t)} TO '{target}' (FORMAT parquet)")
            checkpoint("mid_publish")
        con.execute("DETACH build")
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp_db.unlink(missing_ok=True)
        shutil.rmtree(tmp_parquet, ignore_errors=True)
        raise
    con.close()
    checkpoint("before_swap")
    os.replace(tmp_db, published_db)  # atomic on one filesystem
    checkpoint("after_swap")
    old = parquet_dir.with_name(f".{parquet_dir.name}.{token}.old")
    if parquet_dir.exists():
        os.replace(parquet_dir, old)
    os.replace(tmp_parquet, parquet_dir)
    shutil.rmtree(old, ignore_errors=True)
    return {"published": str(published_db), "parquet": str(parquet_dir), "tables": rows}
