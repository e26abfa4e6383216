"""History-aware warnings (docs/submission-format.md#rules): W02 cumulative figure fell, W03 plan ±50% on
last year, W06 late; against files loaded in an earlier run (`HistoryRules.from_connection`) and
against earlier files of the same batch, and through `kc validate --warehouse`.

Files are built with `tests/builders.py` into a `raw/<arrival-date>/` landing zone; the earlier
ones are loaded into a DuckDB `raw` schema with the real loader (`khuyencong.warehouse.loader.load_check`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from builders import valid_report

from khuyencong.rules.checking import check_files
from khuyencong.rules.history import HistoryRules
from khuyencong.warehouse.loader import ensure_raw_schema, load_check

LOADED_AT = datetime(2025, 11, 1, 2, 0)
UNIT_NAMES = {
    "01": "Thành phố Hà Nội", "17": "Tỉnh Hòa Bình", "25": "Tỉnh Phú Thọ", "26": "Tỉnh Vĩnh Phúc",
    "46": "Tỉnh Thừa Thiên Huế",
}
FUNDING_FIELDS = ("ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an")


def report(code="01", year=2024, period="6T", ngay_lap="05/07/2024", *, kcqg=None, kcdp="keep", outcomes="keep"):
    """A valid KC-1 report (no de_an sheet, so W04 stays out of the way).

    kcqg / kcdp: dict of funding fields to override; kcdp=None drops the KCDP row.
    outcomes: "keep" (builder's three indicators), None (no outcome rows) or {indicator: actual}.
    """
    r = valid_report().without_sheet("de_an").with_meta(
        ma_don_vi=code, ten_don_vi=UNIT_NAMES[code], nam=year, ky_bao_cao=period, ngay_lap=ngay_lap)
    for field, value in (kcqg or {}).items():
        r = r.with_cell("kinh_phi", "KCQG", field, value)
    if kcdp is None:
        r = r.without_row("kinh_phi", "KCDP")
    elif kcdp != "keep":
        for field, value in kcdp.items():
            r = r.with_cell("kinh_phi", "KCDP", field, value)
    if outcomes is None:
        r = r.without_rows("ket_qua")
    elif outcomes != "keep":
        for indicator, actual in outcomes.items():
            r = r.with_cell("ket_qua", indicator, "thuc_hien", actual)
    return r


def write(raw: Path, arrival: str, name: str, rep) -> Path:
    return rep.write_xlsx(raw / arrival / name)


def loaded_db(raw: Path, gate, paths: list[Path]):
    """A DuckDB `raw` schema holding `paths`, checked and loaded as the pipeline's first run would."""
    con = duckdb.connect()
    ensure_raw_schema(con)
    for check in check_files(paths, gate=gate, history=HistoryRules.from_connection(con, raw)):
        assert check.status != "rejected", check.findings
        load_check(con, check, raw, LOADED_AT)
    return con


def findings(check, rule=None):
    return [f for f in check.findings if rule is None or f.rule == rule]


def where(f):
    return (f.rule, f.severity, f.sheet, f.row, f.column)


@pytest.fixture
def raw(tmp_path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


# ---------------------------------------------------------------- W02: cumulative figure fell


def hanoi_6t(raw):
    """Hà Nội 2024 6T, on time: KCQG allocated 1000, executed 850.5; dao_tao_nghe 320."""
    return write(raw, "2024-07-10", "HaNoi_6T_2024.xlsx", report())


def hanoi_9t(raw, executed=800, trained=320, name="HaNoi_9T_2024.xlsx"):
    return write(raw, "2024-10-10", name,
                 report(period="9T", ngay_lap="05/10/2024", kcqg={"thuc_hien": executed},
                        outcomes={"dao_tao_nghe": trained}))


def test_w02_executed_lower_than_loaded_6t(raw, gate):
    con = loaded_db(raw, gate, [hanoi_6t(raw)])
    rep = report(period="9T", ngay_lap="05/10/2024", kcqg={"thuc_hien": 800})
    path = write(raw, "2024-10-10", "HaNoi_9T_2024.xlsx", rep)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert check.status == "accepted_with_warnings"
    [w02] = findings(check)
    assert where(w02) == ("W02", "warning", "kinh_phi", rep.row_of("kinh_phi", "KCQG"),
                          rep.label_of("kinh_phi", "thuc_hien"))
    assert where(w02)[3:] == (2, "thuc_hien (E)")
    assert "800" in w02.message_en and "850.5" in w02.message_en and "6T" in w02.message_en
    assert "800" in w02.message_vi and "850,5" in w02.message_vi and "6T" in w02.message_vi


def test_w02_value_found_is_the_files_own_figure(raw, gate):
    con = loaded_db(raw, gate, [hanoi_6t(raw)])
    [check] = check_files([hanoi_9t(raw)], gate=gate, history=HistoryRules.from_connection(con, raw))
    [w02] = findings(check, "W02")
    assert w02.value == "800"


def test_w02_on_an_outcome_indicator(raw, gate):
    con = loaded_db(raw, gate, [hanoi_6t(raw)])
    rep = report(period="9T", ngay_lap="05/10/2024", outcomes={"dao_tao_nghe": 300})
    path = write(raw, "2024-10-10", "HaNoi_9T_2024.xlsx", rep)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    [w02] = findings(check)
    assert where(w02) == ("W02", "warning", "ket_qua", rep.row_of("ket_qua", "dao_tao_nghe"),
                          rep.label_of("ket_qua", "thuc_hien"))
    assert "dao_tao_nghe" in w02.message_en and "320" in w02.message_en


def test_no_w02_when_the_cumulative_figure_grows_or_stays(raw, gate):
    con = loaded_db(raw, gate, [hanoi_6t(raw)])
    same = hanoi_9t(raw, executed=Decimal("850.5"), name="same.xlsx")
    more = hanoi_9t(raw, executed=900, trained=400, name="more.xlsx")
    checks = check_files([same, more], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert [c.findings for c in checks] == [[], []]


def test_w02_compares_with_the_latest_version_of_the_earlier_period(raw, gate):
    """A 6T resubmission (later ngay_lap) correcting 850.5 down to 700 is what the 9T is compared with."""
    first = hanoi_6t(raw)
    corrected = write(raw, "2024-07-14", "HaNoi_6T_2024_v2.xlsx",
                      report(ngay_lap="12/07/2024", kcqg={"thuc_hien": 700}))
    con = loaded_db(raw, gate, [first, corrected])
    [check] = check_files([hanoi_9t(raw, executed=800)], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


@pytest.mark.parametrize("history", ["raw_dir", "default"])
def test_w02_against_an_earlier_file_of_the_same_batch(raw, gate, history):
    """Batch order does not matter: the 9T arrived after the 6T, whichever comes first in the call."""
    p9, p6 = hanoi_9t(raw), hanoi_6t(raw)
    rules = HistoryRules([], raw) if history == "raw_dir" else None
    c9, c6 = check_files([p9, p6], gate=gate, history=rules)
    assert c6.findings == []
    [w02] = findings(c9)
    assert where(w02) == ("W02", "warning", "kinh_phi", 2, "thuc_hien (E)")


def test_w02_among_files_of_one_call_with_the_same_arrival_date(tmp_path, gate):
    inbox = tmp_path / "inbox"
    p6 = report().write_xlsx(inbox / "HaNoi_6T_2024.xlsx")
    p9 = report(period="9T", ngay_lap="05/10/2024", kcqg={"thuc_hien": 800}).write_xlsx(inbox / "HaNoi_9T_2024.xlsx")
    _, c9 = check_files([p6, p9], gate=gate, arrival_date=date(2024, 10, 10))
    assert [f.rule for f in c9.findings] == ["W02"]


# W02 across the 2025 merger: P34-25 Phú Thọ = P63-17 Hòa Bình + P63-25 Phú Thọ + P63-26 Vĩnh Phúc.
PREDECESSORS_6T_2025 = {"17": 300, "25": 400, "26": 500}  # KCQG executed: 1200 together


def predecessors_6t(raw):
    return [
        write(raw, "2025-07-10", f"P63-{code}_6T_2025.xlsx",
              report(code, 2025, "6T", "05/07/2025", kcdp=None, outcomes=None,
                     kcqg={"ke_hoach_dau_nam": 1000, "ke_hoach_dieu_chinh": None, "da_phan_bo": None,
                           "thuc_hien": executed, "so_de_an": 1}))
        for code, executed in PREDECESSORS_6T_2025.items()
    ]


def phu_tho_9t(raw, executed, name="PhuTho_9T_2025.xlsx"):
    rep = report("25", 2025, "9T", "05/10/2025", kcdp=None, outcomes=None,
                 kcqg={"ke_hoach_dau_nam": 3000, "ke_hoach_dieu_chinh": None, "da_phan_bo": None,
                       "thuc_hien": executed, "so_de_an": 3})
    return rep, write(raw, "2025-10-10", name, rep)


def test_w02_p34_province_against_its_predecessors_summed(raw, gate):
    con = loaded_db(raw, gate, predecessors_6t(raw))
    history = HistoryRules.from_connection(con, raw)
    # 1100 is above every single predecessor (max 500) but below their sum (1200)
    rep, low = phu_tho_9t(raw, 1100, "low.xlsx")
    [check] = check_files([low], gate=gate, history=history)
    assert check.submission.metadata.unit_id == "P34-25"
    [w02] = findings(check)
    assert where(w02) == ("W02", "warning", "kinh_phi", rep.row_of("kinh_phi", "KCQG"), "thuc_hien (E)")
    assert "1200" in w02.message_en and "6T" in w02.message_en


def test_no_w02_p34_province_above_its_predecessors_sum(raw, gate):
    con = loaded_db(raw, gate, predecessors_6t(raw))
    _, high = phu_tho_9t(raw, 1250, "high.xlsx")
    [check] = check_files([high], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


def test_w02_p34_province_with_predecessors_in_the_same_batch(raw, gate):
    _, low = phu_tho_9t(raw, 1100)
    checks = check_files([low, *predecessors_6t(raw)], gate=gate, history=HistoryRules([], raw))
    assert [f.rule for f in checks[0].findings] == ["W02"]
    assert all(c.findings == [] for c in checks[1:])


def test_w02_p34_province_ignores_unrelated_provinces(raw, gate):
    """Hà Nội's 2025 6T (P63-01 -> P34-01) is not a predecessor of P34-25."""
    hanoi = write(raw, "2025-07-10", "HaNoi_6T_2025.xlsx",
                  report("01", 2025, "6T", "05/07/2025", kcdp=None, outcomes=None,
                         kcqg={"ke_hoach_dau_nam": 9000, "ke_hoach_dieu_chinh": None, "da_phan_bo": None,
                               "thuc_hien": 5000, "so_de_an": 1}))
    con = loaded_db(raw, gate, [hanoi])
    _, low = phu_tho_9t(raw, 1100)
    [check] = check_files([low], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


# ---------------------------------------------------------------- W03: plan ±50% on last year


def hanoi_cn_2024(raw, kcqg_plan=1000, kcdp_plan=800):
    return write(raw, "2025-01-20", "HaNoi_CN_2024.xlsx",
                 report(year=2024, period="CN", ngay_lap="15/01/2025",
                        kcqg={"ke_hoach_dau_nam": kcqg_plan, "ke_hoach_dieu_chinh": None, "da_phan_bo": 900,
                              "thuc_hien": 900},
                        kcdp={"ke_hoach_dau_nam": kcdp_plan, "da_phan_bo": 700, "thuc_hien": 700}))


def hanoi_kh_2025(raw, kcqg_plan, kcdp_plan, name="HaNoi_KH_2025.xlsx"):
    rep = report(year=2025, period="KH", ngay_lap="15/03/2025",
                 kcqg={"ke_hoach_dau_nam": kcqg_plan, "ke_hoach_dieu_chinh": None, "da_phan_bo": None,
                       "thuc_hien": None},
                 kcdp={"ke_hoach_dau_nam": kcdp_plan, "da_phan_bo": None, "thuc_hien": None})
    return rep, write(raw, "2025-03-20", name, rep)


def test_w03_plan_up_60_percent_warns_and_40_percent_does_not(raw, gate):
    con = loaded_db(raw, gate, [hanoi_cn_2024(raw)])
    rep, path = hanoi_kh_2025(raw, kcqg_plan=1600, kcdp_plan=1120)  # KCQG +60 %, KCDP +40 %
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert check.status == "accepted_with_warnings"
    [w03] = findings(check)
    assert where(w03) == ("W03", "warning", "kinh_phi", rep.row_of("kinh_phi", "KCQG"),
                          rep.label_of("kinh_phi", "ke_hoach_dau_nam"))
    assert where(w03)[3:] == (2, "ke_hoach_dau_nam (B)")
    assert "KCQG" in w03.message_en and "60" in w03.message_en and "CN" in w03.message_en
    assert "KCQG" in w03.message_vi and "60" in w03.message_vi


def test_w03_plan_down_60_percent_warns(raw, gate):
    con = loaded_db(raw, gate, [hanoi_cn_2024(raw)])
    rep, path = hanoi_kh_2025(raw, kcqg_plan=1000, kcdp_plan=320)  # KCQG same, KCDP -60 %
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    [w03] = findings(check)
    assert where(w03) == ("W03", "warning", "kinh_phi", rep.row_of("kinh_phi", "KCDP"), "ke_hoach_dau_nam (B)")
    assert "-60" in w03.message_en


def test_no_w03_within_50_percent(raw, gate):
    con = loaded_db(raw, gate, [hanoi_cn_2024(raw)])
    _, path = hanoi_kh_2025(raw, kcqg_plan=1400, kcdp_plan=480)  # +40 %, -40 %
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


def test_w03_uses_last_years_cn_when_present(raw, gate):
    """2024 6T planned 1000 and CN 1500: the 2025 plan of 1600 is +6.7 % on the CN, not +60 % on the 6T."""
    six = write(raw, "2024-07-10", "HaNoi_6T_2024.xlsx",
                report(kcqg={"ke_hoach_dau_nam": 1000, "ke_hoach_dieu_chinh": None, "da_phan_bo": 500,
                             "thuc_hien": 400}))
    con = loaded_db(raw, gate, [six, hanoi_cn_2024(raw, kcqg_plan=1500)])
    _, path = hanoi_kh_2025(raw, kcqg_plan=1600, kcdp_plan=800)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


def test_w03_against_last_year_in_the_same_batch(raw, gate):
    _, path = hanoi_kh_2025(raw, kcqg_plan=1600, kcdp_plan=1120)
    kh, cn = check_files([path, hanoi_cn_2024(raw)], gate=gate, history=HistoryRules([], raw))
    assert cn.findings == []
    assert [(f.rule, f.row, f.column) for f in kh.findings] == [("W03", 2, "ke_hoach_dau_nam (B)")]


def test_no_w03_without_last_year(raw, gate):
    _, path = hanoi_kh_2025(raw, kcqg_plan=1600, kcdp_plan=1120)
    con = duckdb.connect()
    ensure_raw_schema(con)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    assert findings(check) == []


# ---------------------------------------------------------------- W06: late


@pytest.mark.parametrize(("period", "ngay_lap", "arrival", "late"), [
    ("6T", "05/07/2024", "2024-07-10", False),
    ("6T", "05/07/2024", "2024-07-15", False),  # the deadline day itself is on time
    ("6T", "05/07/2024", "2024-07-16", True),
    ("6T", "05/07/2024", "2024-07-20", True),
    ("CN", "15/01/2025", "2025-01-31", False),  # CN 2024 is due 31 January 2025
    ("CN", "15/01/2025", "2025-02-01", True),
    ("KH", "15/03/2024", "2024-04-01", True),  # KH due 31 March
])
def test_w06_arrival_folder_against_the_deadline(raw, gate, period, ngay_lap, arrival, late):
    con = duckdb.connect()
    ensure_raw_schema(con)
    rep = report(period=period, ngay_lap=ngay_lap)
    path = write(raw, arrival, f"HaNoi_{period}_2024.xlsx", rep)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    w06 = findings(check, "W06")
    if not late:
        assert w06 == []
        return
    [f] = w06
    assert (f.rule, f.severity, f.sheet) == ("W06", "warning", "thong_tin")
    # the finding points at the report's period: the ky_bao_cao field's row, value column
    assert f.row == rep.meta_row("ky_bao_cao")
    assert f.column == "gia_tri (B)"
    day, month, year = arrival[8:], arrival[5:7], arrival[:4]
    assert f.value == f"{day}/{month}/{year}"
    assert f"{day}/{month}/{year}" in f.message_en and f"{day}/{month}/{year}" in f.message_vi


def test_w06_without_a_warehouse(raw, gate):
    """No history at all (kc validate on a file in raw/<date>/): W06 still comes from the arrival folder."""
    path = write(raw, "2024-07-20", "late.xlsx", report())
    [check] = check_files([path], gate=gate)
    assert [f.rule for f in check.findings] == ["W06"]


def test_history_findings_are_loaded_with_the_file(raw, gate):
    """The loader keeps the history warnings with the submission (they reach submission_status)."""
    con = loaded_db(raw, gate, [hanoi_6t(raw)])
    path = hanoi_9t(raw)
    [check] = check_files([path], gate=gate, history=HistoryRules.from_connection(con, raw))
    load_check(con, check, raw, LOADED_AT)
    rows = con.execute(
        "SELECT s.status, s.warning_count, f.rule, f.sheet, f.source_row, f.column_name FROM raw.submissions s"
        " JOIN raw.findings f USING (submission_id) WHERE s.path = ?", ["2024-10-10/HaNoi_9T_2024.xlsx"]).fetchall()
    assert rows == [("accepted_with_warnings", 1, "W02", "kinh_phi", 2, "thuc_hien (E)")]
    # and its rows were loaded: a warning does not keep a file out
    assert con.execute("SELECT count(*) FROM raw.funding_rows WHERE submission_id = ?",
                       [check.submission_id]).fetchone()[0] == 2


# ---------------------------------------------------------------- kc validate --warehouse


def test_kc_validate_reports_w02_and_w03_from_an_existing_warehouse(tmp_path, gate):
    raw = tmp_path / "raw"
    warehouse = tmp_path / "warehouse"
    warehouse.mkdir()
    con = duckdb.connect(str(warehouse / "build.duckdb"))
    ensure_raw_schema(con)
    for check in check_files([hanoi_6t(raw), hanoi_cn_2024(raw)], gate=gate, history=HistoryRules.from_connection(con, raw)):
        load_check(con, check, raw, LOADED_AT)
    con.close()

    inbox = tmp_path / "inbox"
    nine = report(period="9T", ngay_lap="05/10/2024", kcqg={"thuc_hien": 800}).write_xlsx(
        inbox / "2024-10-10" / "HaNoi_9T_2024.xlsx")
    _, kh = hanoi_kh_2025(tmp_path / "inbox", kcqg_plan=1600, kcdp_plan=1120)
    proc = subprocess.run(
        [sys.executable, "-m", "khuyencong.cli", "validate", "--warehouse", str(warehouse), str(nine), str(kh), "--json"],
        capture_output=True, text=True, timeout=180, cwd=tmp_path, check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]  # warnings only: accepted
    out = json.loads(proc.stdout)
    by_file = {Path(f["file"]).name: f for f in out["files"]}
    assert by_file["HaNoi_9T_2024.xlsx"]["status"] == "accepted_with_warnings"
    assert by_file["HaNoi_KH_2025.xlsx"]["status"] == "accepted_with_warnings"
    got = sorted((Path(f["file"]).name, f["rule"], f["severity"], f["sheet"], f["row"], f["column"])
                 for f in out["findings"])
    assert got == [
        ("HaNoi_9T_2024.xlsx", "W02", "warning", "kinh_phi", 2, "thuc_hien (E)"),
        ("HaNoi_KH_2025.xlsx", "W03", "warning", "kinh_phi", 2, "ke_hoach_dau_nam (B)"),
    ]
    for f in out["findings"]:
        assert f["message_vi"] and f["message_en"] and f["expected"]
    # the warehouse was only read
    assert sorted(p.name for p in warehouse.iterdir()) == ["build.duckdb"]


def test_w02_same_arrival_folder_does_not_depend_on_file_names(raw, gate):
    p9 = write(raw, "2024-10-10", "A_HaNoi_9T_2024.xlsx",
               report(period="9T", ngay_lap="05/10/2024", kcqg={"thuc_hien": 800}))
    p6 = write(raw, "2024-10-10", "B_HaNoi_6T_2024.xlsx", report())
    c9, _ = check_files([p9, p6], gate=gate, history=HistoryRules([], raw))
    assert [f.rule for f in c9.findings] == ["W02"]
