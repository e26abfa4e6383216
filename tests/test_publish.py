"""Atomic publication (`khuyencong.warehouse.publish.publish_marts`) with BI readers in other processes.

docs/architecture.md#single-writer-atomic-publication: the published file is replaced atomically,
so a BI query never sees a half-built or failed load. Two reader processes query the published file in a loop while
the test publishes a new version: one holds a single read-only connection (a BI tool left open),
one opens a fresh read-only connection for every query (a dashboard refresh). The build databases
are made here (a `marts` schema is all publish reads), big enough that publishing takes a while.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from khuyencong.warehouse.publication import PUBLICATION_TABLE
from khuyencong.warehouse.publish import publish_marts

OLD = {"version": 1, "fund_rows": 400_000, "status_rows": 150_000}
NEW = {"version": 2, "fund_rows": 900_000, "status_rows": 250_000}
FINGERPRINT = {"submissions": 1, "duplicates": 0, "last_loaded_at": "2026-01-01 03:00:00"}

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb

    db, mode, ready, stop, out = sys.argv[1:6]
    query = ("SELECT (SELECT count(*) FROM marts.fct_big), (SELECT count(*) FROM marts.status_small),"
             " (SELECT min(version) FROM marts.fct_big), (SELECT max(version) FROM marts.fct_big),"
             " (SELECT min(version) FROM marts.status_small), (SELECT max(version) FROM marts.status_small),"
             " (SELECT sum(amount) FROM marts.fct_big)")
    results, errors = [], []
    con = duckdb.connect(db, read_only=True) if mode == "hold" else None
    while True:
        t0 = time.time()
        try:
            c = con if con is not None else duckdb.connect(db, read_only=True)
            row = c.execute(query).fetchone()
            if con is None:
                c.close()
            results.append([t0, time.time(), [float(x) if x is not None else None for x in row]])
        except Exception as exc:  # recorded, never raised: the test asserts there are none
            errors.append([t0, repr(exc)])
        if len(results) + len(errors) == 1:
            Path(ready).write_text("ready")
        if Path(stop).exists():
            break
    Path(out).write_text(json.dumps({"results": results, "errors": errors}))
    """
)


def make_build_db(path: Path, spec: dict, extra_tables: dict[str, str] | None = None) -> Path:
    """A build database whose `marts` schema has two tables of `spec`'s sizes (plus a non-mart schema)."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.submissions AS SELECT 'secret' AS preparer_email, TIMESTAMP '2026-01-01 03:00' AS loaded_at")
    v = spec["version"]
    con.execute(f"CREATE TABLE marts.fct_big AS SELECT i AS id, {v} AS version, i * {v} AS amount,"
                f" 'unit ' || (i % 63) AS unit_id FROM range({spec['fund_rows']}) t(i)")
    con.execute(f"CREATE TABLE marts.status_small AS SELECT i AS id, {v} AS version FROM range({spec['status_rows']}) t(i)")
    con.execute("CREATE VIEW marts.v_not_published AS SELECT 1 AS x")
    for name, sql in (extra_tables or {}).items():
        con.execute(f'CREATE TABLE marts."{name}" AS {sql}')
    con.close()
    return path


def expected_row(spec: dict) -> list:
    n, v = spec["fund_rows"], spec["version"]
    return [n, spec["status_rows"], v, v, v, v, float(v * n * (n - 1) // 2)]


def parquet_rows(path: Path) -> int:
    con = duckdb.connect()
    try:
        return con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    finally:
        con.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(warehouse: Path) -> list[str]:
    """Anything publish leaves besides the published file and the Parquet folder (temp files, .old folders)."""
    names = [p.relative_to(warehouse).as_posix() for p in warehouse.rglob("*")]
    return sorted(n for n in names if ".tmp" in n or ".old" in n or n.endswith(".wal"))


@pytest.fixture
def warehouse(tmp_path) -> Path:
    w = tmp_path / "warehouse"
    w.mkdir()
    return w


@pytest.fixture
def published(warehouse, tmp_path):
    """The old version, published; returns (published_db, parquet_dir)."""
    build = make_build_db(tmp_path / "build_old.duckdb", OLD, {"only_in_old": "SELECT 1 AS x"})
    db, parquet = warehouse / "khuyencong.duckdb", warehouse / "parquet" / "marts"
    result = publish_marts(build, db, parquet, fingerprint=FINGERPRINT)
    assert result["tables"] == {"fct_big": OLD["fund_rows"], "only_in_old": 1, "status_small": OLD["status_rows"],
                                PUBLICATION_TABLE: 1}
    return db, parquet


def read_rows(db: Path) -> list:
    con = duckdb.connect(str(db), read_only=True)
    try:
        schemas = {r[0] for r in con.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE catalog_name = current_database()").fetchall()}
        tables = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables"
                             " WHERE table_catalog = current_database() ORDER BY 1").fetchall()
        row = con.execute(
            "SELECT (SELECT count(*) FROM marts.fct_big), (SELECT count(*) FROM marts.status_small),"
            " (SELECT min(version) FROM marts.fct_big), (SELECT max(version) FROM marts.fct_big),"
            " (SELECT min(version) FROM marts.status_small), (SELECT max(version) FROM marts.status_small),"
            " (SELECT sum(amount) FROM marts.fct_big)").fetchone()
    finally:
        con.close()
    return [float(x) for x in row], schemas, [t[0] for t in tables]


def test_publish_writes_marts_only_with_parquet_and_no_temp_files(published, warehouse):
    db, parquet = published
    row, schemas, tables = read_rows(db)
    assert row == expected_row(OLD)
    assert schemas - {"main", "information_schema", "pg_catalog"} == {"marts"}  # no raw schema, no personal data
    assert tables == ["marts.fct_big", "marts.only_in_old", "marts.publication", "marts.status_small"]  # base tables only
    assert sorted(p.name for p in parquet.iterdir()) == ["fct_big.parquet", "only_in_old.parquet", "publication.parquet",
                                                         "status_small.parquet"]
    assert parquet_rows(parquet / "fct_big.parquet") == OLD["fund_rows"]
    assert leftovers(warehouse) == []


def _start_reader(db: Path, mode: str, tmp: Path):
    files = {k: tmp / f"{mode}.{k}" for k in ("ready", "stop", "out")}
    proc = subprocess.Popen([sys.executable, "-c", READER, str(db), mode, *(str(files[k]) for k in ("ready", "stop", "out"))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, files


def test_publish_while_other_processes_read(published, warehouse, tmp_path):
    db, parquet = published
    new_build = make_build_db(tmp_path / "build_new.duckdb", NEW)
    readers = {mode: _start_reader(db, mode, tmp_path) for mode in ("hold", "reopen")}
    try:
        deadline = time.time() + 60
        while not all(files["ready"].exists() for _, files in readers.values()):
            assert time.time() < deadline, "readers did not start"
            assert all(p.poll() is None for p, _ in readers.values()), [p.communicate() for p, _ in readers.values()]
            time.sleep(0.05)
        time.sleep(0.3)
        started = time.time()
        result = publish_marts(new_build, db, parquet, fingerprint=FINGERPRINT)  # must not wait for the readers
        finished = time.time()
        time.sleep(0.5)  # let the re-opening reader see the new file
    finally:
        for _, files in readers.values():
            files["stop"].write_text("stop")
        outs = {}
        for mode, (proc, files) in readers.items():
            _, stderr = proc.communicate(timeout=60)
            assert proc.returncode == 0, stderr[-3000:]
            outs[mode] = json.loads(files["out"].read_text())

    assert finished - started < 30, "publish was blocked by the readers"
    assert result["tables"] == {"fct_big": NEW["fund_rows"], "status_small": NEW["status_rows"], PUBLICATION_TABLE: 1}
    old, new = expected_row(OLD), expected_row(NEW)
    for mode, out in outs.items():
        assert out["errors"] == [], (mode, out["errors"][:5])
        states = [r[2] for r in out["results"]]
        assert states, mode
        partial = [s for s in states if s not in (old, new)]
        assert partial == [], (mode, partial[:5])
        # the readers really were querying while publish ran
        assert any(r[1] >= started and r[0] <= finished for r in out["results"]), mode

    hold = [r[2] for r in outs["hold"]["results"]]
    assert set(map(tuple, hold)) == {tuple(old)}, "a held connection keeps reading the version it opened"
    reopen = [r[2] for r in outs["reopen"]["results"]]
    assert reopen[0] == old and reopen[-1] == new
    first_new = reopen.index(new)
    assert all(s == new for s in reopen[first_new:]), "once the new version is visible it stays visible"
    # no fresh connection opened after publish returned saw the old file
    assert all(r[2] == new for r in outs["reopen"]["results"] if r[0] > finished)

    row, _, tables = read_rows(db)
    assert row == new
    assert tables == ["marts.fct_big", "marts.publication", "marts.status_small"]  # a mart dropped from the build is gone
    assert sorted(p.name for p in parquet.iterdir()) == ["fct_big.parquet", "publication.parquet", "status_small.parquet"]
    assert parquet_rows(parquet / "fct_big.parquet") == NEW["fund_rows"]
    assert leftovers(warehouse) == []


@pytest.mark.parametrize("broken", ["no_marts", "missing_build_db", "bad_table_name"])
def test_failed_publish_leaves_the_old_warehouse_intact(published, warehouse, tmp_path, broken):
    db, parquet = published
    before_db, before_parquet = sha(db), tree_digest(parquet)
    inode = os.stat(db).st_ino
    build = tmp_path / f"build_{broken}.duckdb"
    if broken == "no_marts":
        con = duckdb.connect(str(build))
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.submissions AS SELECT 1 AS x")
        con.close()
        expected_error = RuntimeError
    elif broken == "missing_build_db":
        expected_error = duckdb.Error
    else:
        # fails half-way: the first tables are copied (and written to Parquet) before the odd name is refused
        make_build_db(build, NEW, {"zz-odd name": "SELECT 1 AS x"})
        expected_error = ValueError
    with pytest.raises(expected_error):
        publish_marts(build, db, parquet, fingerprint=FINGERPRINT)
    assert sha(db) == before_db
    assert os.stat(db).st_ino == inode
    assert tree_digest(parquet) == before_parquet
    assert read_rows(db)[0] == expected_row(OLD)
    assert leftovers(warehouse) == []
    assert sorted(p.name for p in warehouse.iterdir()) == ["khuyencong.duckdb", "parquet"]
    assert sorted(p.name for p in (warehouse / "parquet").iterdir()) == ["marts"]
