"""The figures quoted at the regional conferences come out of the marts exactly.

Hand-made reports (one per province) whose unit figures add up to the published totals
(khuyencong_sample.conference, which the shipped sample's 2016 and 2017 reports also add up to):
- 2016 executed in the 28 northern provinces: 123,37 tỷ đồng, 97,02% of plan;
  KCQG 56,3 tỷ (99,98%), 55,37% of the national KCQG total;
- total 2017 plan of the 15 Central–Highlands provinces: 48.331 triệu đồng, +20,85% on 2016;
  KCQG 23.600, KCĐP 24.731 (+14,31%);
- first 9 months of 2017 in the North: 3.275 workers trained, 25 demonstration models,
  750 establishments supported with machinery, 151 fair participations;
- by 30/6/2024 only 34,6% of the national KCQG budget had been allocated.
"""

from __future__ import annotations

import csv
from decimal import Decimal

import duckdb
import pytest
from dbt_fixtures import DBT_PROJECT_DIR, submission

from khuyencong_sample.conference import BAC_2017_9T, MTTN_2017_KH, REGION_2016, split

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("conference_build_db")]  # dbt, shared with test_conference_report


def _units(era: int, region: str) -> list[str]:
    with (DBT_PROJECT_DIR / "seeds" / "units.csv").open(encoding="utf-8") as f:
        return [
            r["unit_id"]
            for r in csv.DictReader(f)
            if r["era"] == str(era) and r["region_code"] == region
        ]


BAC = _units(63, "BAC")
MTTN = _units(63, "MTTN")
NAM = _units(63, "NAM")
ALL_63 = BAC + MTTN + NAM


def _funding_rows(figures: dict[str, dict[str, str]], n: int) -> list[list[dict]]:
    """Per-unit funding rows whose sums are `figures` (source -> column -> total)."""
    per_unit: list[list[dict]] = [[] for _ in range(n)]
    for source, columns in figures.items():
        split_columns = {col: split(total, n) for col, total in columns.items()}
        for i in range(n):
            per_unit[i].append(
                {"funding_source": source, **{c: v[i] for c, v in split_columns.items()}}
            )
    return per_unit


def conference_submissions() -> list[dict]:
    subs = []
    for region, units in (("BAC", BAC), ("MTTN", MTTN), ("NAM", NAM)):
        for unit, rows in zip(units, _funding_rows(REGION_2016[region], len(units)), strict=True):
            subs.append(submission(unit, 2016, "CN", funding=rows))
    kh = {s: {"plan_initial_mvnd": v} for s, v in MTTN_2017_KH.items()}
    for unit, rows in zip(MTTN, _funding_rows(kh, len(MTTN)), strict=True):
        subs.append(submission(unit, 2017, "KH", funding=rows))
    outcome_parts = {code: split(total, len(BAC)) for code, total in BAC_2017_9T.items()}
    for i, unit in enumerate(BAC):
        outcomes = [
            {"indicator_code": code, "target_value": parts[i] * 2, "actual_value": parts[i]}
            for code, parts in outcome_parts.items()
        ]
        subs.append(
            submission(
                unit,
                2017,
                "9T",
                funding=[{"funding_source": "KCQG", "plan_initial_mvnd": 1}],
                outcomes=outcomes,
            )
        )
    # 30/6/2024: 34,6% of the national KCQG budget allocated
    for unit, rows in zip(
        ALL_63,
        _funding_rows(
            {
                "KCQG": {
                    "plan_initial_mvnd": "100000",
                    "allocated_mvnd": "34600",
                    "executed_mvnd": "20000",
                }
            },
            len(ALL_63),
        ),
        strict=True,
    ):
        subs.append(submission(unit, 2024, "6T", funding=rows))
    return subs


@pytest.fixture(scope="module")
def marts(conference_build_db):
    assert (len(BAC), len(MTTN), len(NAM)) == (28, 15, 20)
    con = duckdb.connect(str(conference_build_db), read_only=True)
    yield con
    con.close()


def _region_funding(con, region: str, year: int, period: str, source: str) -> dict:
    cur = con.execute(
        "select * from marts.region_funding where region_code = ? and year = ? and period = ? and funding_source = ?",
        [region, year, period, source],
    )
    names = [d[0] for d in cur.description]
    rows = cur.fetchall()
    assert len(rows) == 1
    return dict(zip(names, rows[0], strict=True))


def test_north_2016_executed_and_execution_rate(marts):
    row = _region_funding(marts, "BAC", 2016, "CN", "TONG")
    assert row["units_expected"] == 28
    assert row["units_reported"] == 28
    assert row["executed_mvnd"] == Decimal(123370)
    assert row["plan_adjusted_mvnd"] == Decimal(127165)
    assert row["execution_rate_pct"] == 97.02


def test_north_2016_kcqg_rate_and_share_of_national(marts):
    row = _region_funding(marts, "BAC", 2016, "CN", "KCQG")
    assert row["executed_mvnd"] == Decimal(56300)
    assert row["execution_rate_pct"] == 99.98
    assert row["executed_share_of_national_pct"] == 55.37
    national = _region_funding(marts, "CA_NUOC", 2016, "CN", "KCQG")
    assert national["executed_mvnd"] == Decimal(101680)
    assert national["units_expected"] == 63
    assert national["executed_share_of_national_pct"] == 100.0


def test_central_highlands_2017_plan_growth(marts):
    tong = _region_funding(marts, "MTTN", 2017, "KH", "TONG")
    assert tong["units_expected"] == 15
    assert tong["plan_initial_mvnd"] == Decimal(48331)
    assert tong["plan_growth_pct"] == 20.85
    kcdp = _region_funding(marts, "MTTN", 2017, "KH", "KCDP")
    assert kcdp["plan_initial_mvnd"] == Decimal(24731)
    assert kcdp["plan_growth_pct"] == 14.31
    kcqg = _region_funding(marts, "MTTN", 2017, "KH", "KCQG")
    assert kcqg["plan_initial_mvnd"] == Decimal(23600)
    assert kcqg["plan_growth_pct"] == 28.55


def test_north_2017_nine_month_outcomes(marts):
    rows = dict(
        marts.execute(
            "select indicator_code, actual_value from marts.region_outcomes "
            "where region_code = 'BAC' and year = 2017 and period = '9T' and actual_value is not null"
        ).fetchall()
    )
    assert rows == {code: Decimal(v) for code, v in BAC_2017_9T.items()}
    achievement = marts.execute(
        "select distinct achievement_pct from marts.region_outcomes "
        "where region_code = 'BAC' and year = 2017 and period = '9T' and actual_value is not null"
    ).fetchall()
    assert achievement == [(50.0,)]


def test_national_kcqg_allocation_mid_2024(marts):
    row = _region_funding(marts, "CA_NUOC", 2024, "6T", "KCQG")
    assert row["allocation_rate_pct"] == 34.6
