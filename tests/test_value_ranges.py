"""F05 value ranges: a figure is refused unless the warehouse column it goes to can hold it exactly.

Money and quantities are DECIMAL(20, 6) (|x| < 10^14, at most 6 decimal places: DuckDB
would round a 7th away without a word), counts are INTEGER (<= 2 147 483 647). The limits
live in `khuyencong.warehouse.schema`; the expectation suites take them as parameters, and
these tests tie the suites' texts and DuckDB's real behaviour to the same constants.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import duckdb
import pytest
from builders import Formula, valid_report

from khuyencong import config
from khuyencong.rules.gate import COUNT as COUNT_KIND
from khuyencong.rules.gate import DECIMAL as DECIMAL_KIND
from khuyencong.rules.gate import VALUE_COLUMNS
from khuyencong.warehouse.loader import ensure_raw_schema, load_check
from khuyencong.warehouse.schema import (
    COUNT,
    COUNT_MAX,
    DECIMAL_LIMIT,
    DECIMAL_SCALE,
    MONEY,
    QUANTITY,
    RAW_TABLES,
    value_range_parameters,
)

# raw table -> the gate's frame of the same rows (same column names)
FRAMES = {"funding_rows": "funding", "outcome_rows": "outcomes", "project_rows": "projects"}


def typed_columns(table: str) -> dict[str, str]:
    columns = {}
    for line in RAW_TABLES[table].strip().splitlines():
        name, _, rest = line.strip().partition(" ")
        columns[name] = rest.split("--")[0].strip().rstrip(",").strip()
    return columns


def suite(name: str) -> list[dict]:
    return json.loads((config.EXPECTATIONS_DIR / f"{name}.json").read_text(encoding="utf-8"))["expectations"]


def test_the_limits_are_what_duckdb_columns_hold():
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (amount {MONEY}, count {COUNT})")
    largest = Decimal(DECIMAL_LIMIT) - Decimal(1).scaleb(-DECIMAL_SCALE)
    con.execute("INSERT INTO t VALUES (?, ?)", [largest, COUNT_MAX])
    assert con.execute("SELECT amount, count FROM t").fetchone() == (largest, COUNT_MAX)
    with pytest.raises(duckdb.Error):
        con.execute("INSERT INTO t (amount) VALUES (?)", [Decimal(DECIMAL_LIMIT)])
    with pytest.raises(duckdb.Error):
        con.execute("INSERT INTO t (count) VALUES (?)", [COUNT_MAX + 1])
    # one place more than the scale is silently rounded away: hence the decimal-places rule
    con.execute("INSERT INTO t (amount) VALUES (?)", [Decimal("1.0000004")])
    assert con.execute("SELECT amount FROM t WHERE amount < 2").fetchone()[0] == Decimal("1.000000")


@pytest.mark.parametrize(("raw_table", "frame"), FRAMES.items())
def test_every_decimal_and_integer_column_is_checked_as_its_type(raw_table, frame):
    typed = {c: t for c, t in typed_columns(raw_table).items() if t in (MONEY, QUANTITY, COUNT)}
    assert typed, raw_table
    kinds = {field: spec[3] for field, spec in VALUE_COLUMNS[frame].items()}
    assert kinds == {c: COUNT_KIND if t == COUNT else DECIMAL_KIND for c, t in typed.items()}


def test_the_suite_takes_its_limits_from_the_schema():
    expectations = {e["kwargs"]["column"]: e for e in suite("gia_tri")}
    decimal, places, count = (expectations[c] for c in ("decimal_value", "decimal_places", "count_value"))
    assert decimal["kwargs"] == {"column": "decimal_value", "min_value": {"$PARAMETER": "decimal_floor"},
                                 "max_value": {"$PARAMETER": "decimal_limit"}, "strict_min": True, "strict_max": True}
    assert places["kwargs"] == {"column": "decimal_places", "max_value": {"$PARAMETER": "decimal_places"}}
    assert count["kwargs"] == {"column": "count_value", "max_value": {"$PARAMETER": "count_max"}}
    assert all(e["meta"]["rule"] == "F05" for e in expectations.values())
    # the texts people read state the same limits as the schema
    exponent = len(str(DECIMAL_LIMIT)) - 1
    assert decimal["meta"]["expected"] == f"|x| < 10^{exponent}"
    assert f"10^{exponent}" in decimal["meta"]["message_vi"] and f"10^{exponent}" in decimal["meta"]["message_en"]
    assert places["meta"]["expected"] == f"<= {DECIMAL_SCALE} decimal places"
    assert f"at most {DECIMAL_SCALE}" in places["meta"]["message_en"]
    assert f"tối đa {DECIMAL_SCALE}" in places["meta"]["message_vi"]
    assert count["meta"]["expected"] == f"<= {COUNT_MAX}"
    assert f"{COUNT_MAX:,}" in count["meta"]["message_en"]
    assert f"{COUNT_MAX:,}".replace(",", ".") in count["meta"]["message_vi"]


def test_parameters_are_the_schema_constants():
    assert value_range_parameters() == {
        "decimal_limit": float(DECIMAL_LIMIT), "decimal_floor": -float(DECIMAL_LIMIT),
        "decimal_places": DECIMAL_SCALE, "count_max": COUNT_MAX,
    }


def fatal(check) -> list:
    return [f for f in check.findings if f.is_fatal]


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
@pytest.mark.parametrize(("sheet", "key", "column", "value", "refused"), [
    ("kinh_phi", "KCQG", "ke_hoach_dau_nam", 99_999_999_999_999, False),
    ("kinh_phi", "KCQG", "ke_hoach_dau_nam", 10**14, True),
    ("kinh_phi", "KCQG", "thuc_hien", 10**15, True),
    ("kinh_phi", "KCQG", "so_de_an", COUNT_MAX, False),
    ("kinh_phi", "KCQG", "so_de_an", COUNT_MAX + 1, True),
    ("ket_qua", "dao_tao_nghe", "thuc_hien", 10**14, True),
    ("de_an", 0, "kinh_phi_thuc_hien", 10**14, True),
    ("de_an", 0, "so_co_so_thu_huong", 3_000_000_000, True),
])
def test_range_at_the_edge(check, fmt, sheet, key, column, value, refused):
    report = valid_report().with_cell(sheet, key, column, value)
    c = check(report, fmt)
    f05 = [f for f in fatal(c) if f.rule == "F05"]
    if not refused:
        assert fatal(c) == []
        return
    assert c.status == "rejected"
    assert any(f.sheet == report.name_of(sheet) and f.row == report.row_of(sheet, key)
               and f.column == report.label_of(sheet, column) for f in f05), f05


@pytest.mark.parametrize(("text", "refused"), [("850,123456", False), ("850,1234567", True), ("0,0000001", True)])
def test_decimal_places(check, text, refused):
    report = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", text)
    c = check(report, "zip")
    f05 = [f for f in fatal(c) if f.rule == "F05"]
    assert bool(f05) == refused, c.findings
    if refused:
        [f] = f05
        assert (f.row, f.column, f.value) == (2, "thuc_hien (E)", text.replace(",", "."))
        assert f"{len(text.split(',')[1])} decimal places" in f.message_en and text in f.message_vi


def test_amount_in_dong_keeps_every_dong(check):
    """1 đồng is 0.000001 million VND: the sixth place, still kept."""
    report = valid_report().in_money_unit("đồng", 10**6).with_cell("kinh_phi", "KCQG", "thuc_hien", 850_000_001)
    c = check(report, "zip")
    assert fatal(c) == []
    assert c.submission.funding[0].executed_mvnd == Decimal("850.000001")


def test_float_noise_of_a_cached_formula_is_no_decimal_place(check):
    """Excel shows 15 significant digits; 0.1 + 0.2 cached as 0.30000000000000004 is 0.3."""
    report = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", Formula("E3+0.1", cached=0.1 + 0.2))
    c = check(report, "xlsx")
    assert fatal(c) == []
    assert c.submission.funding[0].executed_mvnd == Decimal("0.3")


def test_largest_accepted_values_load_exactly(check, raw_dir, tmp_path):
    report = (valid_report()
              .with_cell("kinh_phi", "KCQG", "ke_hoach_dau_nam", "99.999.999.999.999,99")
              .with_cell("kinh_phi", "KCQG", "thuc_hien", "0,000001")
              .with_cell("kinh_phi", "KCQG", "so_de_an", str(COUNT_MAX))
              .with_cell("de_an", 0, "so_co_so_thu_huong", str(COUNT_MAX)))
    c = check(report, "zip")
    assert fatal(c) == []
    con = duckdb.connect(str(tmp_path / "build.duckdb"))
    ensure_raw_schema(con)
    load_check(con, c, raw_dir.parent, datetime(2024, 7, 10, 12))
    assert con.execute(
        "SELECT plan_initial_mvnd, executed_mvnd, project_count FROM raw.funding_rows WHERE source_row = 2"
    ).fetchone() == (Decimal("99999999999999.990000"), Decimal("0.000001"), COUNT_MAX)
    assert con.execute("SELECT max(beneficiaries) FROM raw.project_rows").fetchone()[0] == COUNT_MAX
