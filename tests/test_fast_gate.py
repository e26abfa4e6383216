"""The fast evaluator of `kc validate` and the GX gate of the pipeline give identical findings.

Both engines check the whole shipped sample and many crafted variants in one batch
each (the history rules W02/W06 included); every finding is compared field by
field, and the failing rows of every expectation too. A change of one finding in
either engine fails here. `kc validate` of one file must not import GX at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from builders import DROP, valid_report

from khuyencong.rules import fast_gate
from khuyencong.rules.checking import check_files
from khuyencong.rules.fast_gate import FastFileGate, FastSuiteRunner, UnsupportedExpectation
from khuyencong.rules.gate import (
    CONTEXT_COLUMNS,
    FILE_SUITES,
    ROW_ID_COLUMNS,
    SuiteRunner,
    build_frames,
)
from khuyencong.rules.history import HISTORY_SUITES, HistoryRules

pytestmark = pytest.mark.xdist_group("fast_gate")  # module fixtures: built once, on one worker

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "raw"
KC = str(Path(sys.executable).parent / "kc")


def variants() -> dict[str, object]:
    """Reports that break the value rules one way each (and some several ways)."""
    v = valid_report()
    return {
        "valid": v,
        "negative_plan": v.with_cell("kinh_phi", "KCQG", "ke_hoach_dau_nam", -5),
        "negative_everything": v.with_cell("kinh_phi", "KCDP", "da_phan_bo", -1).with_cell(
            "kinh_phi", "KCDP", "thuc_hien", -2).with_cell("ket_qua", "dao_tao_nghe", "thuc_hien", -3).with_cell(
            "de_an", "DA-02", "kinh_phi_duyet", -450).with_cell("de_an", "DA-03", "so_co_so_thu_huong", -1),
        "fraction_count": v.with_cell("kinh_phi", "KCQG", "so_de_an", Decimal("2.5")),
        "fraction_outcome": v.with_cell("ket_qua", "dao_tao_nghe", "ke_hoach", Decimal("500.25")).with_cell(
            "ket_qua", "mo_hinh_trinh_dien", "thuc_hien", Decimal("1.5")),
        "fraction_money_indicator": v.with_cell("ket_qua", "tu_van_doanh_thu", "thuc_hien", Decimal("80.125")),
        "fraction_beneficiaries": v.with_cell("de_an", "DA-04", "so_co_so_thu_huong", Decimal("0.5")),
        "unknown_source": v.with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", "Ngân sách xã"),
        "unknown_project_source": v.with_cell("de_an", "DA-05", "nguon_kinh_phi", "Tài trợ"),
        "unknown_indicator": v.with_cell("ket_qua", "mo_hinh_trinh_dien", "ma_chi_tieu", "chi_tieu_la").with_cell(
            "ket_qua", "mo_hinh_trinh_dien", "chi_tieu", "Chỉ tiêu lạ"),
        "nan_text": v.with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", "NaN").with_cell(
            "ket_qua", "dao_tao_nghe", "ma_chi_tieu", "nan").with_cell("ket_qua", "dao_tao_nghe", "chi_tieu", "NaN"),
        "duplicate_source": v.with_row("kinh_phi", ["KCQG", 10, None, 5, 5, 1], key="KCQG-2"),
        "duplicate_three": v.with_row("kinh_phi", ["KCQG", 10, None, 5, 5, 1], key="KCQG-2").with_row(
            "kinh_phi", ["KCQG", 20, None, 5, 5, 1], key="KCQG-3"),
        "duplicate_indicator": v.with_row("ket_qua", ["dao_tao_nghe", "Lao động", "người", 10, 5], key="dup"),
        "duplicate_project": v.with_row(
            "de_an", ["DA-01", "Lặp", "KCDP", "đào tạo", 0, 0, "hoàn thành", 1], key="DA-01b"),
        "executed_over_plan_w01": v.with_cell("kinh_phi", "KCQG", "thuc_hien", 1400),
        "executed_over_initial_w01": v.with_cell("kinh_phi", "KCDP", "thuc_hien", 801),
        "executed_equal_plan": v.with_cell("kinh_phi", "KCDP", "thuc_hien", 800),
        "no_plan_w01": v.with_cell("kinh_phi", "KCDP", "ke_hoach_dau_nam", None),
        "approved_over_plan_w04": v.with_cell("de_an", "DA-01", "kinh_phi_duyet", 520),
        "approved_just_within_w04": v.with_cell("de_an", "DA-01", "kinh_phi_duyet", Decimal("513")),
        "approved_just_over_w04": v.with_cell("de_an", "DA-01", "kinh_phi_duyet", Decimal("513.1")),
        "project_without_plan_w04": v.with_cell("de_an", "DA-05", "nguon_kinh_phi", "DOI_UNG"),
        "zero_plan_w04": v.with_cell("kinh_phi", "KCDP", "ke_hoach_dau_nam", 0),
        "extreme_numbers": v.with_cell("kinh_phi", "KCQG", "ke_hoach_dau_nam", Decimal("1e15")).with_cell(
            "kinh_phi", "KCQG", "thuc_hien", Decimal("999999999999999.99")).with_cell(
            "ket_qua", "dao_tao_nghe", "thuc_hien", 10**12),
        "tiny_numbers": v.with_cell("kinh_phi", "KCQG", "thuc_hien", Decimal("0.000001")).with_cell(
            "kinh_phi", "KCDP", "so_de_an", Decimal("0.0000001")),
        "blank_cells": v.with_cell("kinh_phi", "KCQG", "thuc_hien", None).with_cell(
            "ket_qua", "dao_tao_nghe", "ke_hoach", None).with_cell("de_an", "DA-02", "kinh_phi_duyet", None),
        "late_w06": v.with_meta(ky_bao_cao="1T", nam=2024, ngay_lap="01/02/2024"),
        "plan_kh": v.with_meta(ky_bao_cao="KH", ngay_lap="01/01/2024"),
        "last_year_cn": v.with_meta(nam=2023, ky_bao_cao="CN", ngay_lap="10/01/2024"),
        "plan_up_w03": v.with_meta(ky_bao_cao="KH", ngay_lap="02/01/2024").with_cell(
            "kinh_phi", "KCQG", "ke_hoach_dau_nam", 3000).with_cell("kinh_phi", "KCDP", "ke_hoach_dau_nam", 100),
        "cn_lower_w02": v.with_meta(ky_bao_cao="CN", ngay_lap="09/07/2024").with_cell(
            "kinh_phi", "KCQG", "thuc_hien", 100).with_cell("ket_qua", "dao_tao_nghe", "thuc_hien", 1),
        "no_period": v.with_meta(ky_bao_cao=DROP),
        "money_in_dong": v.in_money_unit("đồng", 1_000_000),
        "everything_wrong": v.with_cell("kinh_phi", "KCQG", "so_de_an", -1.5).with_cell(
            "kinh_phi", "KCDP", "nguon_kinh_phi", "KCQG").with_cell("ket_qua", "dao_tao_nghe", "ke_hoach", -0.5)
        .with_cell("de_an", "DA-02", "ma_de_an", "DA-01").with_cell("de_an", "DA-03", "nguon_kinh_phi", "?"),
    }


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> list[Path]:
    """The shipped sample plus every variant, as xlsx and as zipped CSV."""
    folder = tmp_path_factory.mktemp("fastval") / "raw" / "2024-07-10"
    folder.mkdir(parents=True)
    crafted = []
    for name, report in variants().items():
        crafted.append(report.write_xlsx(folder / f"Bao cao {name}.xlsx"))
        crafted.append(report.write_zip(folder / f"Bao cao {name}.zip"))
    sample = sorted(p for p in SAMPLE.rglob("*") if p.is_file())
    assert len(sample) >= 495
    return sample + crafted


def outcome(checks) -> list[tuple]:
    return [(str(c.path), c.status, [f.to_dict() for f in c.findings]) for c in checks]


@pytest.fixture(scope="module")
def both(paths, gate) -> tuple[list, list]:
    return (outcome(check_files(paths, gate=gate, landing_zone=True)),
            outcome(check_files(paths, gate=FastFileGate(), landing_zone=True)))


def test_same_findings_on_sample_and_variants(both):
    gx, fast = both
    assert len(gx) == len(fast)
    for expected, got in zip(gx, fast, strict=True):
        assert got == expected
    rules = {f["rule"] for _, _, findings in gx for f in findings}
    # the comparison covers every rule the suites and history produce, not only clean files
    assert {"F05", "F06", "F07", "W01", "W02", "W03", "W04", "W06"} <= rules, rules


def test_every_crafted_variant_but_the_valid_one_has_findings(both):
    _, fast = both
    by_name = {Path(p).name: findings for p, _, findings in fast}
    for name in variants():
        if name not in ("valid", "executed_equal_plan", "approved_just_within_w04", "money_in_dong"):
            assert by_name[f"Bao cao {name}.xlsx"], name


def _plain(value):
    """GX hands back numpy scalars, NaN for a missing number and Timestamps: compare as Python values."""
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def test_same_failing_rows_for_every_expectation(paths, gate):
    """Below the findings: each expectation's unexpected rows, value by value and in order."""
    checks = [c for c in check_files(paths, gate=FastFileGate()) if c.submission is not None]
    frames = {**build_frames(checks, gate.reference), **HistoryRules.empty().frames(checks)}
    params = gate.expectation_parameters()
    fast = FastSuiteRunner(FILE_SUITES + HISTORY_SUITES)
    gx = SuiteRunner(gate.context, HISTORY_SUITES, "kc_history_test")
    compared, failing_suites = 0, set()
    for name, suite in fast.suites.items():
        table = frames[suite.table]
        index = ROW_ID_COLUMNS + CONTEXT_COLUMNS.get(suite.table, [])
        engine = gate if name in FILE_SUITES else gx
        gx_result = SuiteRunner.validate(engine, name, table.frame(), index, params)
        for gx_item, fast_item in zip(gx_result.results, fast.validate(name, table, index, params), strict=True):
            assert gx_item.expectation_config.type == fast_item.expectation_config.type
            gx_rows = [{k: _plain(v) for k, v in r.items()} for r in gx_item.result.get("unexpected_index_list") or []]
            fast_rows = [{k: _plain(v) for k, v in r.items()} for r in fast_item.result["unexpected_index_list"]]
            assert fast_rows == gx_rows, (name, gx_item.expectation_config.kwargs)
            assert fast_item.success == gx_item.success
            compared += len(gx_rows)
            if gx_rows:
                failing_suites.add(name)
    assert compared > 20
    assert set(fast.suites) == failing_suites


@pytest.mark.parametrize("change", [
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "funding_source", "regex": "^K"}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0, "mostly": 0.9}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x", "min_value": 0, "parse_strings_as_datetimes": True}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "x"}},
    {"type": "expect_column_pair_values_a_to_be_greater_than_b",
     "kwargs": {"column_A": "a", "column_B": "b", "ignore_row_if": "both_values_are_missing"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "x", "value_set": [1], "row_condition": "y>0",
                                                             "condition_parser": "pandas"}},
])
def test_unknown_types_and_arguments_fail_loudly(tmp_path, change):
    """A rule the evaluator cannot run must stop `kc validate`, never be skipped."""
    for source in (ROOT / "expectations").glob("*.json"):
        (tmp_path / source.name).write_bytes(source.read_bytes())
    doc = json.loads((tmp_path / "kinh_phi.json").read_text(encoding="utf-8"))
    doc["expectations"].append({**change, "meta": {"rule": "F05"}})
    (tmp_path / "kinh_phi.json").write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UnsupportedExpectation):
        FastFileGate(directory=tmp_path)


def test_shipped_suites_are_all_supported():
    FastSuiteRunner(FILE_SUITES)
    FastSuiteRunner(("nop_dung_han", "luy_ke", "ke_hoach_nam"))
    assert fast_gate.KINDS  # the evaluator's table of supported types


HOOK = "import atexit, os, sys; atexit.register(lambda: open(os.environ['KC_TEST_MODULES'], 'w').write('\\n'.join(sys.modules)))"


def test_validate_one_file_imports_no_great_expectations(tmp_path):
    """`kc validate FILE` runs in a real subprocess; the modules it loaded are written at exit."""
    modules = tmp_path / "modules.txt"
    sample_file = SAMPLE / "2024-01-12" / "Bao cao CN 2023 - Thanh Hoa.xlsx"
    code = f"{HOOK}; from khuyencong.cli import main; sys.exit(main(['validate', '--json', {str(sample_file)!r}]))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                         env={**os.environ, "KC_TEST_MODULES": str(modules)}, check=False)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["files"][0]["status"] == "accepted"
    loaded = set(modules.read_text().split())
    assert "khuyencong.rules.fast_gate" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("great_expectations", "pandas", "numpy")}
