"""PostgreSQL, against a real server on loopback: the serving target and dbt on PostgreSQL.

The whole pipeline runs once with KC_POSTGRES_URL set, over a copy of the session's published sample
(tests/shared_warehouse.py) plus one new file; then:
- PostgreSQL `marts` holds the same ten tables, column types and values as the published DuckDB file,
  with the primary keys and comments of the dbt YAML;
- the BI reader role can read every mart and write none;
- readers polling while the marts are republished over and over see all old or all new tables;
- an unreachable server is reported in the publish result and DuckDB publication still happens;
- `dbt build --target postgres` over the sample's `raw` copied to PostgreSQL gives the DuckDB marts.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psycopg
import pytest
import yaml
from builders import valid_report
from dbt_fixtures import run_dbt
from kc_runs import kc_run, latest_record

from khuyencong.config import Settings
from khuyencong.run.pipeline import publish, summarise
from khuyencong.warehouse.postgres import (
    copy_raw_schema,
    describe_failure,
    ensure_database,
    pg_type,
    publish_to_postgres,
)

pytestmark = pytest.mark.xdist_group("postgres")  # module fixtures: built once, on one worker

REPO = Path(__file__).resolve().parents[1]
RAW = REPO / "raw"
MART_YAMLS = REPO / "dbt_project" / "models" / "marts"  # one <mart>.yml per mart

# the marts contract, spelled the PostgreSQL way (format_type), independent of the module's own map
EXPECTED_PG_TYPE = {
    "VARCHAR": "text",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DECIMAL(20,6)": "numeric(20,6)",
    "DOUBLE": "double precision",
    "DATE": "date",
    "BOOLEAN": "boolean",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",  # marts.publication
}


def _sort_key(row: tuple) -> tuple:
    return tuple((v is None, v if v is not None else 0) for v in row)


def duckdb_marts(db: Path) -> dict[str, dict]:
    """{table: {"columns": [(name, type)], "rows": sorted rows}} of a DuckDB file's marts."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        out = {}
        tables = con.execute("SELECT table_name FROM information_schema.tables"
                             " WHERE table_schema = 'marts' ORDER BY 1").fetchall()
        for (t,) in tables:
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'marts' AND table_name = ? ORDER BY ordinal_position", [t]).fetchall()
            rows = con.execute(f'SELECT * FROM marts."{t}"').fetchall()
            out[t] = {"columns": columns, "rows": sorted(rows, key=_sort_key)}
        return out
    finally:
        con.close()


def postgres_marts(url: str) -> dict[str, dict]:
    """The same shape for PostgreSQL schema `marts`, types as format_type() spells them."""
    with psycopg.connect(url) as con:
        out = {}
        tables = con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY 1").fetchall()
        for (t,) in tables:
            columns = con.execute(
                "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                [f'marts."{t}"']).fetchall()
            rows = con.execute(f'SELECT * FROM marts."{t}"').fetchall()
            out[t] = {"columns": columns, "rows": sorted(rows, key=_sort_key)}
        return out


@pytest.fixture(scope="module")
def sample_run(pg_server, published_sample, tmp_path_factory):
    """`kc run` with the PostgreSQL target configured, over a copy of the session's published sample
    plus one new file (a whole run: every stage, and every mart published to PostgreSQL)."""
    url = pg_server.create_database("publish")
    role = f"kc_reader_{uuid.uuid4().hex[:6]}"
    root = tmp_path_factory.mktemp("wh_pg")
    raw = root / "raw"
    shutil.copytree(published_sample.raw, raw)
    valid_report().with_meta(ngay_lap="11/07/2024").write_xlsx(raw / "2024-07-12" / "HaNoi_6T_v2.xlsx")
    warehouse = published_sample.copy_to(root / "warehouse")
    run = kc_run(raw, warehouse, cwd=root, KC_POSTGRES_URL=url, KC_POSTGRES_READER_ROLE=role)
    assert run.returncode == 0, run.output[-5000:]
    assert "1 new" in run.output and "published:" in run.output
    return {"warehouse": warehouse, "raw": raw, "stages": latest_record(warehouse), "url": url, "role": role}


def test_postgres_marts_equal_the_published_duckdb_file(sample_run):
    result = sample_run["stages"]["publish"]["postgres"]
    assert result["ok"], result
    print(f"\nPostgreSQL publish of the sample: {result['seconds']} s, {sum(result['tables'].values())} rows")
    duck = duckdb_marts(sample_run["warehouse"] / "khuyencong.duckdb")
    pg = postgres_marts(sample_run["url"])
    assert len(duck) == 11  # the ten marts and `publication`
    assert sorted(pg) == sorted(duck)
    for table, expected in duck.items():
        got = pg[table]
        assert got["columns"] == [(name, EXPECTED_PG_TYPE[dtype]) for name, dtype in expected["columns"]], table
        assert expected["rows"], table  # the sample fills every mart
        assert got["rows"] == expected["rows"], table
        assert result["tables"][table] == len(expected["rows"])
    money = [v for row in pg["region_funding"]["rows"] for v in row if isinstance(v, Decimal)]
    assert money and all(v.as_tuple().exponent == -6 for v in money)  # numeric(20,6) keeps the scale


def test_postgres_marts_have_the_dbt_keys_and_comments(sample_run):
    from khuyencong.warehouse.mart_docs import clean_text

    models = {m["name"]: m for path in sorted(MART_YAMLS.glob("*.yml"))
              for m in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models") or []}
    assert len(models) == 10
    with psycopg.connect(sample_run["url"]) as con:
        for table, model in models.items():
            relation = f'marts."{table}"'
            assert con.execute("SELECT obj_description(%s::regclass, 'pg_class')",
                               [relation]).fetchone()[0] == clean_text(model["description"])
            comments = dict(con.execute(
                "SELECT attname, col_description(attrelid, attnum) FROM pg_attribute"
                " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped", [relation]).fetchall())
            for column in model["columns"]:
                assert comments[column["name"]] == clean_text(column["description"]), (table, column["name"])
            key = con.execute(
                "SELECT array_agg(a.attname ORDER BY k.ord) FROM pg_index i"
                " CROSS JOIN unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)"
                " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
                " WHERE i.indrelid = %s::regclass AND i.indisprimary", [relation]).fetchone()[0]
            combination = [t["unique_combination"]["arguments"]["combination_of_columns"]
                           for t in model.get("data_tests", []) if "unique_combination" in t]
            assert key == (combination[0] if combination else [model["columns"][0]["name"]]), table


def test_reader_role_reads_every_mart_and_writes_none(sample_run):
    role = sample_run["role"]
    with psycopg.connect(sample_run["url"], autocommit=True) as con:
        assert con.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [role]).fetchone() == (False,)
        con.execute(f'SET ROLE "{role}"')
        tables = [r[0] for r in con.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'marts' ORDER BY 1").fetchall()]
        assert len(tables) == 11  # the ten marts and `publication`
        for t in tables:
            assert con.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0] > 0
        for statement in (
            "DELETE FROM marts.dim_unit",
            "UPDATE marts.fct_funding SET executed_mvnd = 0",
            "INSERT INTO marts.dim_indicator (indicator_code) VALUES ('x')",
            "CREATE TABLE marts.scratch (x int)",
            "DROP TABLE marts.dim_unit",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def _changed_copy(published: Path, target: Path) -> Path:
    """A published file whose every mart has a third of its rows removed: a distinguishable new version."""
    shutil.copy(published, target)
    con = duckdb.connect(str(target))
    try:
        for (t,) in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts'").fetchall():
            con.execute(f'DELETE FROM marts."{t}" WHERE rowid % 3 = 0')
    finally:
        con.close()
    return target


def _counts(db: Path) -> tuple[int, ...]:
    return tuple(len(v["rows"]) for _, v in sorted(duckdb_marts(db).items()))


class Reader(threading.Thread):
    """Polls the marts until told to stop, keeping every observed tuple of row counts (tables in name order).

    `separate`: one REPEATABLE READ transaction per poll, one statement per table (a BI tool running
    several queries for one dashboard); otherwise one statement reads every table.
    """

    def __init__(self, url: str, tables: list[str], separate: bool):
        super().__init__(daemon=True)
        self.url, self.tables, self.separate = url, tables, separate
        self.seen: list[tuple[int, ...]] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        one_statement = "SELECT " + ", ".join(f'(SELECT count(*) FROM marts."{t}")' for t in self.tables)
        try:
            with psycopg.connect(self.url) as con:
                if self.separate:
                    con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                while not self.stop.is_set():
                    if self.separate:
                        with con.transaction():
                            seen = tuple(con.execute(f'SELECT count(*) FROM marts."{t}"').fetchone()[0]
                                         for t in self.tables)
                    else:
                        seen = tuple(con.execute(one_statement).fetchone())
                        con.commit()
                    self.seen.append(seen)
        except Exception as exc:  # recorded for the test to report
            self.errors.append(repr(exc))

    def observations_after(self, n: int, timeout: float = 60) -> None:
        """Wait until this reader has polled at least twice more than `n` times (or has died)."""
        done = threading.Event()
        while not done.wait(0.01):
            if len(self.seen) >= n + 2 or not self.is_alive():
                done.set()
            timeout -= 0.01
            if timeout <= 0:
                break


def test_readers_see_all_old_or_all_new_marts_during_publication(sample_run, pg_server, tmp_path):
    url = pg_server.create_database("swap")
    old = sample_run["warehouse"] / "khuyencong.duckdb"
    new = _changed_copy(old, tmp_path / "changed.duckdb")
    old_counts, new_counts = _counts(old), _counts(new)
    assert all(a != b for a, b in zip(old_counts, new_counts))  # every table tells the versions apart

    publish_to_postgres(old, url, "kc_swap_reader")
    tables = sorted(duckdb_marts(old))
    readers = [Reader(url, tables, separate=True), Reader(url, tables, separate=False)]
    for r in readers:
        r.start()
    try:
        for version in (new, old, new, old, new):
            publish_to_postgres(version, url, "kc_swap_reader")
            for r in readers:
                r.observations_after(len(r.seen))
    finally:
        for r in readers:
            r.stop.set()
            r.join()
    for r in readers:
        assert r.errors == []
        assert r.seen
        mixed = [s for s in r.seen if s not in (old_counts, new_counts)]
        assert mixed == [], f"{len(mixed)} mixed snapshots, e.g. {mixed[:3]}"
        assert {old_counts, new_counts} <= set(r.seen)
    assert _counts_in_postgres(url) == new_counts


def _counts_in_postgres(url: str) -> tuple[int, ...]:
    return tuple(len(v["rows"]) for _, v in sorted(postgres_marts(url).items()))


def test_unreachable_postgres_is_reported_and_duckdb_still_published(sample_run, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    shutil.copy(sample_run["warehouse"] / "build.duckdb", warehouse / "build.duckdb")
    monkeypatch.setenv("KC_POSTGRES_URL", "postgresql://kc:not-this-secret@127.0.0.1:1/warehouse")
    result = publish(Settings.from_env(RAW, warehouse))
    assert result["postgres"]["ok"] is False
    assert "OperationalError" in result["postgres"]["error"]
    assert "not-this-secret" not in result["postgres"]["error"]
    published, before = (duckdb_marts(w / "khuyencong.duckdb") for w in (warehouse, sample_run["warehouse"]))
    published.pop("publication"), before.pop("publication")  # when it was published differs, by design
    assert published == before
    summary = Path(summarise(Settings.from_env(RAW, warehouse), {"publish": result})["summary"])
    assert "PostgreSQL: **not published** `OperationalError" in summary.read_text(encoding="utf-8")


def test_a_failed_postgres_publish_leaves_the_previous_marts(sample_run, pg_server, tmp_path):
    url = pg_server.create_database("keep")
    old = sample_run["warehouse"] / "khuyencong.duckdb"
    publish_to_postgres(old, url, None)
    broken = tmp_path / "broken.duckdb"
    shutil.copy(old, broken)
    con = duckdb.connect(str(broken))
    # a copy of dim_unit with one unit twice (the published table's own key would refuse the insert)
    con.execute("CREATE TABLE marts.dim_unit_twice AS SELECT * FROM marts.dim_unit"
                " UNION ALL (SELECT * FROM marts.dim_unit LIMIT 1)")
    con.execute("DROP TABLE marts.dim_unit")
    con.execute("ALTER TABLE marts.dim_unit_twice RENAME TO dim_unit")
    con.close()
    with pytest.raises(psycopg.errors.UniqueViolation):
        publish_to_postgres(broken, url, None)
    assert _counts_in_postgres(url) == _counts(old)
    with psycopg.connect(url) as pg:
        schemas = [r[0] for r in pg.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kc\\_%'")]
    assert schemas == []  # no staging schema left behind


def test_dbt_build_on_postgres_gives_the_duckdb_marts(sample_run, pg_server, tmp_path, monkeypatch):
    url = pg_server.create_database("dbt")
    build_db = sample_run["warehouse"] / "build.duckdb"
    copied = copy_raw_schema(build_db, url)
    assert copied["submissions"] > 400 and copied["funding_rows"] > 0
    parts = urlsplit(url)
    for name, value in {"KC_PG_HOST": parts.hostname, "KC_PG_PORT": str(parts.port),
                        "KC_PG_USER": parts.username, "KC_PG_PASSWORD": "",
                        "KC_PG_DBNAME": parts.path.lstrip("/")}.items():
        monkeypatch.setenv(name, value)
    run_dbt(["build", "--target", "postgres"], target_dir=tmp_path / "target")  # models and every data test

    duck = duckdb_marts(build_db)
    pg = postgres_marts(url)
    assert len(duck) == 10 and sorted(pg) == sorted(duck)
    for table, expected in duck.items():
        got = pg[table]
        spelled = [(name, "text" if dtype == "character varying" else dtype) for name, dtype in got["columns"]]
        assert spelled == [(name, EXPECTED_PG_TYPE[dtype]) for name, dtype in expected["columns"]], table
        assert expected["rows"], table
        assert got["rows"] == expected["rows"], table  # money as exact decimals, percentages as equal doubles


def test_ensure_database_creates_the_warehouse_database_once(pg_server, monkeypatch):
    name = f"warehouse_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv("KC_POSTGRES_URL", pg_server.url(name))
    assert ensure_database() is True
    assert ensure_database() is False
    with psycopg.connect(pg_server.url(name)) as con:
        assert con.execute("SELECT current_database()").fetchone() == (name,)


def test_pg_type_keeps_precision_and_refuses_what_it_cannot_map():
    assert pg_type("DECIMAL(20,6)") == "numeric(20, 6)"
    assert pg_type("DECIMAL(38, 10)") == "numeric(38, 10)"
    assert pg_type("DOUBLE") == "double precision"
    assert pg_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    for unmapped in ("STRUCT(a INTEGER)", "INTEGER[]", "MAP(VARCHAR, INTEGER)"):
        with pytest.raises(ValueError, match="no PostgreSQL type"):
            pg_type(unmapped)


def test_failure_text_hides_the_password_and_control_characters():
    url = "postgresql://kc:s3cr3t@db:5432/warehouse"
    text = describe_failure(RuntimeError(f"bad {url}\n\x1b[31mline two\x07 s3cr3t"), url)
    assert "s3cr3t" not in text and "\n" not in text and "\x1b" not in text and "\x07" not in text
    assert text.startswith("RuntimeError: bad *** ")
