"""`dbt build` on a small hand-made raw fixture: every model, data test and unit test passes
with no warning, and the marts follow the versioning, status and merger rules."""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import duckdb
import pytest
from dbt_fixtures import DBT_PROJECT_DIR, create_raw_fixture, run_dbt, submission

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("dbt_build")]  # dbt

KCQG = "KCQG"
MART_TABLES = {
    "dim_unit",
    "dim_indicator",
    "fct_funding",
    "fct_outcomes",
    "fct_projects",
    "region_funding",
    "region_outcomes",
    "submission_status",
    "funding_by_current_unit",
    "outcomes_by_current_unit",
}


def _funding(plan: float, executed: float, source: str = KCQG, **extra) -> dict:
    return {"funding_source": source, "plan_initial_mvnd": plan, "executed_mvnd": executed, **extra}


def _fixture_submissions() -> list[dict]:
    subs = [
        # P63-01 2016 CN: v1 accepted, v2 accepted later (wins), v3 refused even later
        submission(
            "P63-01",
            2016,
            "CN",
            report_date=date(2017, 1, 10),
            arrival_date=date(2017, 1, 12),
            funding=[_funding(100, 50)],
            submission_id="v1",
        ),
        submission(
            "P63-01",
            2016,
            "CN",
            report_date=date(2017, 1, 20),
            arrival_date=date(2017, 1, 22),
            funding=[_funding(100, 90, plan_adjusted_mvnd=120)],
            outcomes=[{"indicator_code": "dao_tao_nghe", "target_value": 100, "actual_value": 80}],
            projects=[
                {
                    "project_code": "DA-01",
                    "funding_source": KCQG,
                    "approved_mvnd": 40,
                    "executed_mvnd": 30,
                    "status": "hoàn thành",
                    "beneficiaries": 5,
                }
            ],
            status="accepted_with_warnings",
            warning_count=1,
            submission_id="v2",
        ),
        submission(
            "P63-01",
            2016,
            "CN",
            report_date=date(2017, 1, 25),
            arrival_date=date(2017, 2, 5),
            status="rejected",
            error_count=2,
            submission_id="v3",
        ),
        # P63-02 2016 CN: only a refused file
        submission("P63-02", 2016, "CN", status="rejected", submission_id="r1"),
        # a refused file whose identity could not be read
        submission(
            None,
            None,
            None,
            status="rejected",
            arrival_date=date(2017, 1, 3),
            file_name="scan.pdf",
            submission_id="anon",
        ),
        # a refused file with an unreadable period, and one with an unknown unit: no status rows
        submission("P63-04", 2016, "13T", status="rejected", submission_id="badperiod"),
        submission("P63-99", 2016, "CN", status="rejected", submission_id="badunit"),
        # MTTN and NAM units
        submission(
            "P63-46",
            2016,
            "CN",
            funding=[_funding(40, 30), _funding(10, 10, "KCDP")],
            submission_id="m1",
        ),
        submission("P63-79", 2016, "CN", funding=[_funding(60, 60)], submission_id="n1"),
        # 2017 KH plans for growth
        submission("P63-01", 2017, "KH", funding=[_funding(110, 0)], submission_id="k1"),
        # the merger: 2025 6T (era 63) and 2025 CN (era 34)
        submission(
            "P63-01",
            2025,
            "6T",
            funding=[_funding(30, 10)],
            outcomes=[{"indicator_code": "hoi_cho", "target_value": 2, "actual_value": 1}],
            submission_id="e63a",
        ),
        submission("P63-08", 2025, "6T", funding=[_funding(20, 5)], submission_id="e63b"),
        submission("P63-02", 2025, "6T", funding=[_funding(7, 1)], submission_id="e63c"),
        submission(
            "P34-08",
            2025,
            "CN",
            funding=[_funding(60, 55)],
            outcomes=[{"indicator_code": "hoi_cho", "target_value": 2, "actual_value": 2}],
            submission_id="e34",
        ),
    ]
    return subs


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbt_build")
    db_path = root / "build.duckdb"
    create_raw_fixture(
        db_path,
        _fixture_submissions(),
        duplicate_files=[
            {
                "path": "2017-01-30/copy.xlsx",
                "submission_index": 1,
                "arrival_date": date(2017, 1, 30),
            }
        ],
    )
    result = run_dbt(["build"], DBT_PROJECT_DIR, db_path, root / "target")
    return db_path, root, result


def _query(db_path, sql):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_build_passes_without_warnings(built):
    _, _, result = built
    out = result.stdout
    assert "Completed successfully" in out
    assert re.search(r"Done\. PASS=\d+ WARN=0 ERROR=0 SKIP=0", out), out[-3000:]
    assert not [
        line for line in out.splitlines() if re.search(r"\bWARN\b", line) and "WARN=0" not in line
    ]
    assert re.search(r"\d+ unit tests", out)


def test_marts_schema_has_exactly_the_contract_tables(built):
    db_path, _, _ = built
    tables = {
        r[0]
        for r in _query(
            db_path, "select table_name from information_schema.tables where table_schema = 'marts'"
        )
    }
    assert tables == MART_TABLES
    cols = {
        r[0]
        for r in _query(
            db_path,
            "select column_name from information_schema.columns where table_schema = 'marts'",
        )
    }
    assert not {c for c in cols if "preparer" in c or "phone" in c or "email" in c}


def test_latest_accepted_version_is_used(built):
    db_path, _, _ = built
    rows = _query(
        db_path,
        "select submission_id, plan_adjusted_mvnd, executed_mvnd from marts.fct_funding "
        "where unit_id = 'P63-01' and year = 2016 and period = 'CN'",
    )
    assert rows == [("v2", Decimal(120), Decimal(90))]
    # not adjusted -> adjusted = initial
    rows = _query(
        db_path,
        "select plan_adjusted_mvnd from marts.fct_funding where submission_id = 'm1' and funding_source = 'KCQG'",
    )
    assert rows == [(Decimal(40),)]


def test_submission_status(built):
    db_path, _, _ = built
    rows = {
        r[0]: r[1:]
        for r in _query(
            db_path,
            "select unit_id, status, versions_received, latest_submission_id, deadline, on_time "
            "from marts.submission_status where year = 2016 and period = 'CN'",
        )
    }
    assert len(rows) == 63  # every era-63 unit is expected
    assert rows["P63-01"] == ("accepted_with_warnings", 3, "v2", date(2017, 1, 31), True)
    assert rows["P63-02"][:3] == ("rejected", 1, "r1")
    assert rows["P63-04"] == ("missing", 0, None, date(2017, 1, 31), None)
    # 2025 CN is expected from the 34 provinces only
    era34 = _query(
        db_path,
        "select count(*), count(distinct left(unit_id, 3)) from marts.submission_status "
        "where year = 2025 and period = 'CN'",
    )
    assert era34 == [(34, 1)]


def test_region_rows(built):
    db_path, _, _ = built
    rows = {
        (r[0], r[1]): r[2:]
        for r in _query(
            db_path,
            "select region_code, funding_source, units_expected, units_reported, executed_mvnd, "
            "plan_growth_pct, executed_share_of_national_pct from marts.region_funding "
            "where year = 2016 and period = 'CN' and funding_source in ('KCQG', 'TONG')",
        )
    }
    assert rows[("BAC", KCQG)][:3] == (28, 1, Decimal(90))
    assert rows[("CA_NUOC", KCQG)][:3] == (63, 3, Decimal(180))
    assert rows[("BAC", KCQG)][4] == 50.0
    assert rows[("MTTN", "TONG")][2] == Decimal(40)
    growth = _query(
        db_path,
        "select plan_growth_pct from marts.region_funding "
        "where region_code = 'BAC' and year = 2017 and period = 'KH' and funding_source = 'KCQG'",
    )
    assert growth == [(10.0,)]


def test_merger_restatement(built):
    db_path, _, _ = built
    # 2025-07-01: Hà Giang (P63-02) and Tuyên Quang (P63-08) form Tuyên Quang (P34-08);
    # Hà Nội (P63-01) continues as P34-01.
    rows = _query(
        db_path,
        "select unit_id, period, plan_initial_mvnd, executed_mvnd "
        "from marts.funding_by_current_unit where year = 2025 order by period, unit_id",
    )
    assert rows == [
        ("P34-01", "6T", Decimal(30), Decimal(10)),
        ("P34-08", "6T", Decimal(27), Decimal(6)),
        ("P34-08", "CN", Decimal(60), Decimal(55)),
    ]
    outcomes = _query(
        db_path,
        "select unit_id, period, actual_value from marts.outcomes_by_current_unit "
        "where year = 2025 order by period",
    )
    assert outcomes == [("P34-01", "6T", Decimal(1)), ("P34-08", "CN", Decimal(2))]


def test_docs_describe_every_built_mart_column_with_its_type(built):
    """The docs site analysts read (`make docs`): every mart, from its own `<mart>.yml`, describes each
    column the build produced, in the built order and with the built type."""
    db_path, root, _ = built
    run_dbt(["docs", "generate"], DBT_PROJECT_DIR, db_path, root / "target")
    manifest = json.loads((root / "target" / "manifest.json").read_text(encoding="utf-8"))
    catalog = json.loads((root / "target" / "catalog.json").read_text(encoding="utf-8"))
    marts = {node["name"]: (uid, node) for uid, node in manifest["nodes"].items()
             if node["resource_type"] == "model" and node["schema"] == "marts"}
    assert set(marts) == MART_TABLES
    for name, (uid, node) in marts.items():
        assert node["description"].strip(), name
        assert node["patch_path"] == f"khuyencong://models/marts/{name}.yml", node["patch_path"]
        built_columns = sorted(catalog["nodes"][uid]["columns"].values(), key=lambda c: c["index"])
        assert [c["name"] for c in built_columns] == list(node["columns"]), name
        for column in built_columns:
            documented = node["columns"][column["name"]]
            assert documented["description"].strip(), f"{name}.{column['name']} has no description"
            # the contract says `double precision` (PostgreSQL's name, which DuckDB also accepts for DOUBLE)
            assert column["type"].replace(" ", "").lower() == documented["data_type"].replace(" ", "").lower().replace(
                "doubleprecision", "double"), (
                name, column)
