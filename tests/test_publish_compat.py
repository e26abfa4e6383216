"""The published file for BI tools: readable by DuckDB 1.1 clients, documented, keyed, and dated.

Metabase's and DBeaver's DuckDB drivers and duckdb-engine installs still ship DuckDB 1.x, which
cannot open DuckDB 2.0's storage format. The old client is real: duckdb 1.1.3 from PyPI in its
own virtual environment (made once, kept under .tools/), reading the file in a subprocess.
The marts are real too: dbt builds them from a small `raw` fixture and `pipeline.publish`
publishes them.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

import duckdb
import pytest
from dbt_fixtures import LOADED_AT, REPO_ROOT, create_raw_fixture, run_dbt, submission

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse import fingerprint as fingerprints
from khuyencong.warehouse.mart_docs import MartDoc, clean_text, read_mart_docs
from khuyencong.warehouse.publication import COLUMNS, PUBLICATION_TABLE, publication_doc
from khuyencong.warehouse.publish import MART_SCHEMA, publish_marts

pytestmark = pytest.mark.xdist_group("publish_compat")  # module fixtures: built once, on one worker

OLD_DUCKDB = "1.1.3"

# Run by both interpreters: everything a BI tool would see of each table, as JSON.
SNAPSHOT = textwrap.dedent(
    """
    import hashlib, json, sys
    import duckdb

    con = duckdb.connect(sys.argv[1], read_only=True)
    out = {"duckdb": duckdb.__version__, "tables": {}}
    tables = con.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'"
                         " ORDER BY table_name").fetchall()
    for table, comment in tables:
        columns = con.execute("SELECT column_name, data_type, comment FROM duckdb_columns()"
                              " WHERE schema_name = 'marts' AND table_name = ? ORDER BY column_index", [table]).fetchall()
        # TIMESTAMPTZ as microseconds: old clients need pytz to turn it into Python objects
        select = ", ".join(f'epoch_us("{c}")' if t == "TIMESTAMP WITH TIME ZONE" else f'"{c}"' for c, t, _ in columns)
        rows = con.execute(f'SELECT {select} FROM marts."{table}"').fetchall()
        keys = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = 'marts'"
                           " AND table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]).fetchall()
        found_by_key = None
        if keys and rows:  # a point lookup on the primary key: old clients read the key's index too
            key = ['"' + c + '"' for c in keys[0][0]]
            first = con.execute(f'SELECT {", ".join(key)} FROM marts."{table}" ORDER BY ALL LIMIT 1').fetchone()
            where = " AND ".join(f"{c} = ?" for c in key)
            found_by_key = con.execute(f'SELECT count(*) FROM marts."{table}" WHERE {where}', list(first)).fetchone()[0]
        out["tables"][table] = {
            "comment": comment,
            "columns": [[c, t, note] for c, t, note in columns],
            "primary_key": [list(k[0]) for k in keys],
            "rows": len(rows),
            "found_by_key": found_by_key,
            "checksum": hashlib.sha256("\\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest(),
        }
    print(json.dumps(out))
    """
)


def snapshot(python: str | Path, db: Path) -> dict:
    proc = subprocess.run([str(python), "-c", SNAPSHOT, str(db)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


@pytest.fixture(scope="session")
def old_duckdb_python() -> Path:
    """The interpreter of a virtual environment holding duckdb 1.1.3 (made once; kept under .tools/)."""
    uv = shutil.which("uv") or str(REPO_ROOT / ".tools" / "bin" / "uv")
    home = REPO_ROOT / ".tools" / f"duckdb-{OLD_DUCKDB}"
    python = home / "bin" / "python"
    home.parent.mkdir(exist_ok=True)
    with open(home.parent / f"duckdb-{OLD_DUCKDB}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers share the one environment
        check = [str(python), "-c", "import duckdb; print(duckdb.__version__)"]
        if python.exists() and subprocess.run(check, capture_output=True, text=True).stdout.strip() == OLD_DUCKDB:
            return python
        shutil.rmtree(home, ignore_errors=True)
        for cmd in ([uv, "venv", "--quiet", "--python", sys.executable, str(home)],
                    [uv, "pip", "install", "--quiet", "--python", str(python), f"duckdb=={OLD_DUCKDB}"]):
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"cannot install duckdb {OLD_DUCKDB} to play the old BI client: {exc!r}")
            if proc.returncode != 0:
                shutil.rmtree(home, ignore_errors=True)
                pytest.skip(f"cannot install duckdb {OLD_DUCKDB} to play the old BI client"
                            f" ({' '.join(cmd[:3])} failed): {proc.stderr.strip()[-500:]}")
    return python


def _submissions() -> list[dict]:
    money = {"funding_source": "KCQG", "plan_initial_mvnd": 1250.125, "plan_adjusted_mvnd": 1300,
             "allocated_mvnd": 900.5, "executed_mvnd": 640.333333, "project_count": 2}
    return [
        submission("P63-01", 2024, "6T", funding=[money, {**money, "funding_source": "KCDP", "executed_mvnd": None}],
                   outcomes=[{"indicator_code": "dao_tao_nghe", "target_value": 4000, "actual_value": 3275}],
                   projects=[{"project_code": "DA-01", "project_name": "Đề án 'máy' \"mới\"", "funding_source": "KCQG",
                              "activity": "machinery", "approved_mvnd": 40, "executed_mvnd": 30,
                              "status": "hoàn thành", "beneficiaries": 5}]),
        submission("P63-48", 2024, "6T", funding=[{**money, "plan_initial_mvnd": 0}], status="accepted_with_warnings",
                   warning_count=1, arrival_date=date(2024, 7, 30)),
        submission("P63-02", 2024, "6T", status="rejected"),
        submission("P34-01", 2025, "CN", funding=[money]),
    ]


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    """A warehouse whose marts dbt built from a small raw fixture, published by `pipeline.publish`."""
    warehouse = tmp_path_factory.mktemp("compat") / "warehouse"
    settings = Settings.from_env(warehouse.parent / "raw", warehouse, environ={})
    create_raw_fixture(settings.build_db, _submissions())
    run_dbt(["build"], db_path=settings.build_db, target_dir=warehouse / "dbt" / "target")
    result = pipeline.publish(settings)
    return {"settings": settings, "result": result, "fingerprint": fingerprints.fingerprint(settings)}


def build_marts(settings) -> list[str]:
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        return [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1").fetchall()]
    finally:
        con.close()


@pytest.mark.integration  # dbt builds the marts
def test_a_duckdb_1_1_client_reads_every_published_mart(published, old_duckdb_python):
    db = published["settings"].published_db
    old = snapshot(old_duckdb_python, db)
    new = snapshot(sys.executable, db)
    assert old["duckdb"] == OLD_DUCKDB and new["duckdb"] == duckdb.__version__
    assert sorted(old["tables"]) == sorted([*build_marts(published["settings"]), PUBLICATION_TABLE])
    # same rows, types, comments and keys, whoever reads the file
    assert old["tables"] == new["tables"]
    assert {t: v["found_by_key"] for t, v in old["tables"].items() if v["primary_key"] and v["rows"]} == {
        t: 1 for t, v in old["tables"].items() if v["primary_key"] and v["rows"]}
    assert sum(t["rows"] for t in old["tables"].values()) == sum(published["result"]["tables"].values())


@pytest.mark.integration  # dbt builds the marts
def test_the_file_is_in_a_storage_format_duckdb_1_1_reads(published):
    """Without the old client: the project's DuckDB reports the file's storage format (`v1.0.0+` and newer)."""
    con = duckdb.connect(str(published["settings"].published_db), read_only=True)
    try:
        [tags] = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    finally:
        con.close()
    major, minor = (int(x) for x in tags["storage_version"].lstrip("v").split(".")[:2])
    assert (major, minor) <= (1, 1), tags


@pytest.mark.integration  # dbt builds the marts
def test_published_marts_equal_the_build_marts(published):
    settings = published["settings"]
    con = duckdb.connect()
    try:
        con.execute("ATTACH ? AS build (READ_ONLY)", [str(settings.build_db)])
        con.execute("ATTACH ? AS pub (READ_ONLY)", [str(settings.published_db)])
        tables = build_marts(settings)
        assert len(tables) == 10
        for t in tables:
            def columns(catalog, table=t):
                return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ?"
                                   " AND schema_name = 'marts' AND table_name = ? ORDER BY column_index",
                                   [catalog, table]).fetchall()
            assert columns("pub") == columns("build"), t
            for a, b in (("build", "pub"), ("pub", "build")):
                extra = con.execute(f'SELECT count(*) FROM (SELECT * FROM {a}.marts."{t}"'
                                    f' EXCEPT ALL SELECT * FROM {b}.marts."{t}")').fetchone()[0]
                assert extra == 0, (t, a, b)
            n = con.execute(f'SELECT count(*) FROM build.marts."{t}"').fetchone()[0]
            assert published["result"]["tables"][t] == n, t
        assert sum(published["result"]["tables"][t] for t in ("fct_funding", "fct_outcomes", "fct_projects")) > 0
    finally:
        con.close()


def published_catalogue(db: Path) -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        for table, comment in con.execute(
                "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall():
            columns = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'"
                                       " AND table_name = ?", [table]).fetchall())
            keys = con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE schema_name = 'marts'"
                               " AND table_name = ? AND constraint_type = 'PRIMARY KEY'", [table]).fetchall()
            out[table] = {"comment": comment, "columns": columns, "keys": [tuple(k[0]) for k in keys]}
        return out
    finally:
        con.close()


@pytest.mark.integration  # dbt builds the marts
def test_marts_carry_the_dbt_yaml_descriptions_and_grain(published):
    catalogue = published_catalogue(published["settings"].published_db)
    docs = {**read_mart_docs(), PUBLICATION_TABLE: publication_doc()}
    assert set(catalogue) == set(docs)
    for table, doc in docs.items():
        got = catalogue[table]
        assert got["comment"] == doc.description and doc.description, table
        assert {c: n for c, n in got["columns"].items() if n} == doc.columns, table
        assert set(doc.columns) == set(got["columns"]), f"{table}: a column has no description"
        assert got["keys"] == ([doc.grain] if doc.grain else []), table
    # the grain of every mart is known from its tests
    assert all(docs[t].grain for t in docs if t != PUBLICATION_TABLE)
    assert catalogue["dim_unit"]["keys"] == [("unit_id",)]
    assert catalogue["fct_funding"]["keys"] == [("unit_id", "year", "period", "funding_source")]


@pytest.mark.integration  # dbt builds the marts
def test_publication_says_when_and_from_which_loads(published):
    settings, result = published["settings"], published["result"]
    con = duckdb.connect(str(settings.published_db), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {MART_SCHEMA}.{PUBLICATION_TABLE}")
        names = [d[0] for d in cur.description]
        [row] = cur.fetchall()
        types = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?"
                            " ORDER BY column_index", [PUBLICATION_TABLE]).fetchall()
    finally:
        con.close()
    assert types == [(c, t) for c, t, _ in COLUMNS]
    got = dict(zip(names, row))
    assert got["published_at"] == datetime.fromisoformat(result["published_at"])
    assert got["published_at"].tzinfo is not None  # an instant, whatever the BI tool's time zone
    assert got["submissions_loaded"] == len(_submissions())
    assert got["last_loaded_at"] == LOADED_AT.replace(tzinfo=UTC)  # the fixture's loads, stored as naive UTC
    assert json.loads(got["fingerprint"]) == json.loads(json.dumps(published["fingerprint"], default=str))
    assert fingerprints.published_fingerprint(settings) == published["fingerprint"]  # what needs_build compares
    assert got["package_version"] == metadata.version("khuyencong")
    # the Parquet copy holds the same row
    parquet = settings.parquet_dir / f"{PUBLICATION_TABLE}.parquet"
    con = duckdb.connect()
    try:
        assert con.execute("SELECT submissions_loaded, fingerprint FROM read_parquet(?)",
                           [str(parquet)]).fetchall() == [(got["submissions_loaded"], got["fingerprint"])]
    finally:
        con.close()
    assert result["tables"][PUBLICATION_TABLE] == 1


def _tiny_build(path: Path, duplicate: bool) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.submissions AS SELECT TIMESTAMP '2026-01-01 03:00' AS loaded_at")
        con.execute("CREATE SCHEMA marts")
        con.execute("CREATE TABLE marts.dim_thing AS SELECT * FROM (VALUES ('a', 1), ('b', 2)) t(thing_id, n)")
        if duplicate:
            con.execute("INSERT INTO marts.dim_thing VALUES ('a', 3)")
    finally:
        con.close()
    return path


def test_a_mart_breaking_its_grain_is_not_published(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "dim_thing.yml").write_text(textwrap.dedent("""
        version: 2
        models:
          - name: dim_thing
            description: Things.
            columns:
              - name: thing_id
                description: Thing key.
                data_tests: [unique, not_null]
        """), encoding="utf-8")
    db, parquet = tmp_path / "w" / "khuyencong.duckdb", tmp_path / "w" / "parquet" / "marts"
    fingerprint = {"submissions": 1}
    publish_marts(_tiny_build(tmp_path / "ok.duckdb", False), db, parquet, fingerprint=fingerprint, models_dir=models)
    before = db.read_bytes()
    with pytest.raises(duckdb.ConstraintException):
        publish_marts(_tiny_build(tmp_path / "dup.duckdb", True), db, parquet, fingerprint=fingerprint,
                      models_dir=models)
    assert db.read_bytes() == before
    assert sorted(p.name for p in db.parent.iterdir()) == ["khuyencong.duckdb", "parquet"]
    assert published_catalogue(db)["dim_thing"] == {
        "comment": "Things.", "columns": {"thing_id": "Thing key.", "n": None}, "keys": [("thing_id",)]}


def test_read_mart_docs_reads_every_yaml_and_finds_the_grain(tmp_path):
    (tmp_path / "a.yml").write_text(textwrap.dedent(r"""
        version: 2
        models:
          - name: fct_a
            description: >
              Folded
              text with 'quotes'.
            data_tests:
              - unique_combination:
                  arguments: {combination_of_columns: [unit_id, year]}
            columns:
              - {name: unit_id, description: "Unit\a\tkey\r\n.", data_tests: [unique]}
              - {name: year, data_type: integer}
        unit_tests: []
        """), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.yml").write_text(textwrap.dedent("""
        version: 2
        models:
          - name: fct_b
            tests:
              - dbt_utils.unique_combination_of_columns:
                  combination_of_columns: [k1, k2]
          - name: dim_c
            constraints: [{type: primary_key, columns: [c_id]}]
            columns:
              - {name: other, tests: [unique]}
          - name: dim_d
            columns:
              - {name: d_id, tests: [not_null, {unique: {config: {severity: warn}}}]}
          - name: agg_e
        """), encoding="utf-8")
    docs = read_mart_docs(tmp_path)
    assert docs["fct_a"] == MartDoc("fct_a", "Folded text with 'quotes'.", {"unit_id": "Unit key ."},
                                 ("unit_id", "year"), {"unit_id": None, "year": "integer"})
    assert docs["fct_b"].grain == ("k1", "k2")
    assert docs["dim_c"].grain == ("c_id",)  # an explicit primary key wins over a unique test
    assert docs["dim_d"].grain == ("d_id",)
    assert docs["agg_e"] == MartDoc("agg_e")
    (tmp_path / "again.yml").write_text("models: [{name: fct_a}]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="described twice"):
        read_mart_docs(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_mart_docs(tmp_path / "missing")


def test_clean_text_leaves_one_printable_line():
    assert clean_text("a\n  b\r\n\tc\x00d\x1b[31m") == "a b cd[31m"
    assert clean_text("  \n ") is None
    assert clean_text(None) is None
