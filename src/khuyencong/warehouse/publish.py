"""Atomic publication of the `marts` schema for BI tools.

The published DuckDB file holds only `marts`. It is written under a temporary
name next to its final place, checkpointed, closed and renamed over the old one:
a BI process that holds the old file open keeps reading the old version, new
connections see the new one, and nobody ever sees a half-written file. Parquet
copies are written to a fresh folder that then replaces the old folder.

The file is written in DuckDB's v1.1 storage format, so BI clients still on DuckDB 1.1+
(Metabase's and DBeaver's drivers, duckdb-engine) can open it. Each mart carries the
descriptions and grain (primary key) of the dbt YAML, and `marts.publication` says when and
from which loads the file was published.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from khuyencong.warehouse.fingerprint import raw_counts
from khuyencong.warehouse.loader import submission_ids
from khuyencong.warehouse.mart_docs import document_table, read_mart_docs
from khuyencong.warehouse.publication import PUBLICATION_TABLE, write_publication
from khuyencong.warehouse.sql import ident as _ident

MART_SCHEMA = "marts"
# the oldest storage format BI drivers still ship (DuckDB 1.1); newer formats are unreadable to them
BI_STORAGE_VERSION = "v1.1.0"


def mart_tables(con, catalog: str) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_catalog = ? AND table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        [catalog, MART_SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _export(con, table: str, parquet_dir: Path) -> int:
    """Write the published table's Parquet copy; returns its row count."""
    target = (parquet_dir / f"{table}.parquet").as_posix().replace("'", "''")
    con.execute(f"COPY {MART_SCHEMA}.{_ident(table)} TO '{target}' (FORMAT parquet)")
    return con.execute(f"SELECT count(*) FROM {MART_SCHEMA}.{_ident(table)}").fetchone()[0]


def _remove_leftovers(published_db: Path, parquet_dir: Path) -> None:
    """Temporary files of a publication that was killed half-way (the published file is whole regardless)."""
    for pattern, folder in ((f".{published_db.name}.*.tmp*", published_db.parent),
                            (f".{parquet_dir.name}.*", parquet_dir.parent)):
        for leftover in folder.glob(pattern):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)


def publish_marts(build_db: Path, published_db: Path, parquet_dir: Path, *, fingerprint: Mapping | None = None,
                  project: str | None = None, with_submission_ids: bool = False, models_dir: Path | None = None,
                  checkpoint=None) -> dict:
    """Publish the build database's marts; the fingerprint they reflect goes into `marts.publication`.

    The build database is read through one read-only attachment, nothing else: the fingerprint is
    `fingerprint` when given, else the build database's raw half (`fingerprint.raw_counts`) with `project`;
    `with_submission_ids` adds `submission_ids` to the result: every submission the build database records
    (the caller's clean-up of per-file reports reads them). `models_dir` holds the dbt YAML
    describing the marts (default: the dbt project's models/marts); `checkpoint(name)` marks the points
    the crash tests kill at.
    """
    import duckdb

    checkpoint = checkpoint or (lambda name: None)
    _remove_leftovers(published_db, parquet_dir)
    token = uuid.uuid4().hex[:8]
    tmp_db = published_db.with_name(f".{published_db.name}.{token}.tmp")
    tmp_parquet = parquet_dir.with_name(f".{parquet_dir.name}.{token}.tmp")
    published_db.parent.mkdir(parents=True, exist_ok=True)
    tmp_parquet.mkdir(parents=True)
    con = duckdb.connect(str(tmp_db), config={"storage_compatibility_version": BI_STORAGE_VERSION})
    try:
        docs = read_mart_docs(models_dir)
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(build_db)])
        tables = mart_tables(con, "build")
        if not tables:
            raise RuntimeError(f"no tables in {build_db}:{MART_SCHEMA}; has dbt build run?")
        if PUBLICATION_TABLE in tables:
            raise RuntimeError(f"{MART_SCHEMA}.{PUBLICATION_TABLE} is written by publish; dbt must not build it")
        con.execute(f"CREATE SCHEMA {MART_SCHEMA}")
        rows = {}
        for t in tables:
            con.execute(f"CREATE TABLE {MART_SCHEMA}.{_ident(t)} AS SELECT * FROM build.{MART_SCHEMA}.{_ident(t)}")
            document_table(con, MART_SCHEMA, t, docs.get(t))
            rows[t] = _export(con, t, tmp_parquet)
            checkpoint("mid_publish")
        if fingerprint is None:
            fingerprint = {**raw_counts(con, "build"), "project": project}
        recorded = submission_ids(con, "build") if with_submission_ids else None
        published_at = datetime.now(UTC)
        write_publication(con, MART_SCHEMA, "build", fingerprint, published_at)
        rows[PUBLICATION_TABLE] = _export(con, PUBLICATION_TABLE, tmp_parquet)
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
    result = {"published": str(published_db), "parquet": str(parquet_dir), "tables": rows,
              "published_at": published_at.isoformat()}
    if with_submission_ids:
        result["submission_ids"] = recorded
    return result
