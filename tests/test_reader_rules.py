"""Every reader and file-gate rule of docs/submission-format.md#rules, through the real reader + GX gate.

Each rule has failing and passing cases built from `builders.valid_report()` with
exactly one thing broken; a failing case asserts the rule, the sheet, the row, the
column (the reader's label `code (LETTER)`) and the value of the finding. W02, W03
and W06 (history rules) are not covered here; files arrive on 2024-07-10, before the
6T deadline, so a valid file has no finding at all.

`check` runs the reader and the shared GX gate (~0.2 s a file); the many variants of a
reader rule use `read` (reader only) once the rule's main cases went through `check`.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal

import pytest
from builders import DROP, Formula, valid_report

from khuyencong.ingest.reader import read_file
from khuyencong.reference import load_reference
from khuyencong.rules.checking import check_files

ARRIVAL_2025_9T = date(2025, 10, 10)  # 9T 2025 is due on 15 October
Y2025_9T = {"nam": 2025, "ky_bao_cao": "9T", "ngay_lap": "05/10/2025"}  # after the 2025-07-01 merger
Y2025_6T = {"nam": 2025, "ky_bao_cao": "6T", "ngay_lap": "05/07/2025"}  # ends 2025-06-30: 63 provinces
Y2025_KH = {"nam": 2025, "ky_bao_cao": "KH", "ngay_lap": "05/01/2025"}  # counts as 2025-01-01



@pytest.fixture
def read(raw_dir):
    """Reader rules only (no GX, ~10 ms): for the many variants of a rule whose main cases go through `check`."""

    def run(report, fmt: str = "xlsx", *, arrival_date=None, **zip_options):
        path = report.write(raw_dir / f"variant.{fmt}", **zip_options)
        return read_file(path, arrival_date=arrival_date)

    return run


def rules(check) -> list[str]:
    return [f.rule for f in check.findings]


def one(check, rule: str):
    found = [f for f in check.findings if f.rule == rule]
    assert len(found) == 1, check.findings
    return found[0]


def at(f, sheet, row, column, value=None) -> None:
    assert (f.sheet, f.row, f.column) == (sheet, row, column), f
    if value is not None:
        assert f.value == value, f
    assert f.message_vi and f.message_en


def accepted(check) -> None:
    assert check.findings == [], check.findings
    assert check.status == "accepted" and check.submission is not None


def funding(check, source: str):
    [row] = [r for r in check.submission.funding if r.funding_source == source]
    return row


def report_2025_9t(**meta):
    return valid_report().with_meta(**Y2025_9T, **meta)


# ---------------------------------------------------------------- baseline


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_valid_report_is_accepted_with_typed_values(check, fmt):
    c = check(valid_report(), fmt)
    accepted(c)
    m = c.submission.metadata
    assert (m.unit_id, m.unit_code, m.year, m.period, m.period_months) == ("P63-01", "01", 2024, "6T", 6)
    assert m.report_date == date(2024, 7, 5) and m.money_unit == "trieu_dong"
    assert m.unit_name_in_file == "Thành phố Hà Nội"
    assert (m.preparer_name, m.preparer_email) == ("Nguyễn Thị Hồng", "khuyencong@hanoi.gov.vn")
    kcqg = funding(c, "KCQG")
    assert (kcqg.sheet, kcqg.row) == ("kinh_phi", 2)
    assert kcqg.plan_initial_mvnd == Decimal(1200) and kcqg.plan_adjusted_mvnd == Decimal(1300)
    assert kcqg.allocated_mvnd == Decimal(1000) and kcqg.executed_mvnd == Decimal("850.5")
    assert kcqg.project_count == 3
    assert isinstance(kcqg.executed_mvnd, Decimal)
    kcdp = funding(c, "KCDP")
    assert kcdp.plan_adjusted_mvnd is None and kcdp.row == 3
    assert [o.indicator_code for o in c.submission.outcomes] == ["dao_tao_nghe", "mo_hinh_trinh_dien", "tu_van_doanh_thu"]
    assert c.submission.outcomes[2].actual_value == Decimal("80.25")
    assert [p.project_code for p in c.submission.projects] == ["DA-01", "DA-02", "DA-03", "DA-04", "DA-05"]
    assert c.submission.projects[1].executed_mvnd == Decimal("300.5")
    assert c.submission.projects[3].beneficiaries == 60
    assert c.arrival_date == date(2024, 7, 10)


def test_several_files_in_one_gate_batch_keep_their_own_findings(raw_dir, gate):
    """The gate stacks all files in one frame: rows must go back to their own file, and the same
    source / indicator / project in two files is no duplicate (F07)."""
    good = valid_report().write_xlsx(raw_dir / "a.xlsx")
    bad = valid_report().with_cell("kinh_phi", "KCDP", "da_phan_bo", -5).write_zip(raw_dir / "b.zip")
    good2 = valid_report().write_zip(raw_dir / "c.zip")
    a, b, c = check_files([good, bad, good2], gate=gate)
    accepted(a)
    accepted(c)
    at(one(b, "F05"), "kinh_phi", 3, "da_phan_bo (D)", "-5")
    assert rules(b) == ["F05"]


# ---------------------------------------------------------------- F01


@pytest.mark.parametrize("name", ["bao_cao.xls", "bao_cao.ods", "bao_cao.pdf", "bao_cao.csv", "bao_cao"])
def test_f01_wrong_extension(check, name):
    c = check(valid_report(), name=name)  # a valid workbook, under a refused file type
    f = one(c, "F01")
    at(f, None, None, None, name)
    assert c.submission is None and c.status == "rejected"


@pytest.mark.parametrize("name", ["Bao cao KC 6 thang 2024 - Ha Noi.XLSX", "BC 6T-2024 (Hà Nội) bản cuối.Zip"])
def test_f01_file_name_is_free_and_suffix_case_insensitive(check, name):
    accepted(check(valid_report(), name=name))


# ---------------------------------------------------------------- F02


@pytest.mark.parametrize("sheet", ["thong_tin", "kinh_phi", "ket_qua"])
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f02_missing_required_sheet(check, sheet, fmt):
    c = check(valid_report().without_sheet(sheet), fmt)
    f = one(c, "F02")
    at(f, sheet, None, None)
    assert f.expected == sheet
    assert c.submission is None


def test_f02_de_an_sheet_is_optional(check):
    c = check(valid_report().without_sheet("de_an"))
    accepted(c)
    assert c.submission.projects == []


@pytest.mark.parametrize(
    "sheet, column",
    [("kinh_phi", "nguon_kinh_phi"), ("kinh_phi", "ke_hoach_dau_nam"), ("kinh_phi", "thuc_hien"),
     ("ket_qua", "thuc_hien"), ("de_an", "ma_de_an"), ("de_an", "nguon_kinh_phi"), ("de_an", "kinh_phi_duyet"),
     ("thong_tin", "gia_tri")],
)
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f02_missing_required_column(check, sheet, column, fmt):
    c = check(valid_report().without_column(sheet, column), fmt)
    f = one(c, "F02")
    at(f, sheet, 1, column)
    assert f.expected == column
    assert column in f.message_en and column in f.message_vi


def test_f02_missing_column_reports_the_header_row_below_title_rows(check):
    report = valid_report().with_title_rows("kinh_phi", "BÁO CÁO KINH PHÍ KHUYẾN CÔNG", "Đơn vị: triệu đồng")
    c = check(report.without_column("kinh_phi", "thuc_hien"))
    at(one(c, "F02"), "kinh_phi", 3, "thuc_hien")


def test_f02_indicator_needs_code_or_name(check):
    c = check(valid_report().without_column("ket_qua", "ma_chi_tieu").without_column("ket_qua", "chi_tieu"))
    f = one(c, "F02")
    at(f, "ket_qua", 1, "ma_chi_tieu")
    assert f.expected == "ma_chi_tieu | chi_tieu"


@pytest.mark.parametrize("kept", ["ma_chi_tieu", "chi_tieu"])
def test_f02_indicator_code_or_name_alone_is_enough(read, kept):
    dropped = "chi_tieu" if kept == "ma_chi_tieu" else "ma_chi_tieu"
    c = read(valid_report().without_column("ket_qua", dropped))
    accepted(c)
    assert [o.indicator_code for o in c.submission.outcomes] == ["dao_tao_nghe", "mo_hinh_trinh_dien", "tu_van_doanh_thu"]


@pytest.mark.parametrize(
    "sheet, column",
    [("kinh_phi", "ke_hoach_dieu_chinh"), ("kinh_phi", "da_phan_bo"), ("kinh_phi", "so_de_an"),
     ("ket_qua", "ke_hoach"), ("ket_qua", "don_vi_tinh"), ("de_an", "ten_de_an"), ("de_an", "so_co_so_thu_huong")],
)
def test_f02_optional_columns_may_be_absent(read, sheet, column):
    c = read(valid_report().without_column(sheet, column))
    accepted(c)


def test_f02_ket_qua_without_data_rows_is_accepted(check):
    c = check(valid_report().without_rows("ket_qua"))
    accepted(c)
    assert c.submission.outcomes == []


# ---------------------------------------------------------------- F03


def test_f03_unknown_unit_code(check):
    report = valid_report().with_meta(ma_don_vi="99")
    c = check(report)
    f = one(c, "F03")
    at(f, "thong_tin", report.meta_row("ma_don_vi"), "gia_tri (B)", "99")
    assert f.row == 2
    assert c.submission.metadata.unit_id is None


def test_f03_code_not_in_the_period_era(check):
    """Hà Giang (02) was merged into Tuyên Quang on 2025-07-01: 9T 2025 is in the 34-province era."""
    report = report_2025_9t(ma_don_vi="02", ten_don_vi="Tỉnh Hà Giang")
    c = check(report, arrival_date=ARRIVAL_2025_9T)
    f = one(c, "F03")
    at(f, "thong_tin", report.meta_row("ma_don_vi"), "gia_tri (B)", "02")
    # the era and its first day come from the eras seed (tests/test_era_boundary.py moves them)
    assert f.message_en == "Unit code '02' does not exist among the 34 provinces (from 2025-07-01)."
    assert f.message_vi == "Mã đơn vị '02' không tồn tại trong giai đoạn 34 tỉnh (từ 01/07/2025)."


def test_f03_code_exists_in_its_era(read):
    c = read(valid_report().with_meta(ma_don_vi="02", ten_don_vi="Hà Giang"))
    accepted(c)
    assert c.submission.metadata.unit_id == "P63-02"


@pytest.mark.parametrize(
    "meta, arrival, unit_id",
    [
        ({"ma_don_vi": "15", "ten_don_vi": "Tỉnh Yên Bái"}, None, "P63-15"),
        ({**Y2025_9T, "ma_don_vi": "15", "ten_don_vi": "Lào Cai"}, ARRIVAL_2025_9T, "P34-15"),
        ({**Y2025_6T, "ma_don_vi": "15", "ten_don_vi": "Yên Bái"}, date(2025, 7, 10), "P63-15"),
        ({**Y2025_KH, "ma_don_vi": "15", "ten_don_vi": "Yên Bái"}, date(2025, 1, 10), "P63-15"),
    ],
)
def test_f03_same_code_means_different_provinces_by_era(check, meta, arrival, unit_id):
    c = check(valid_report().with_meta(**meta), arrival_date=arrival)
    accepted(c)
    assert c.submission.metadata.unit_id == unit_id


@pytest.mark.parametrize(
    "name, meta, arrival, unit_id",
    [
        ("TP HCM", {}, None, "P63-79"),
        ("TP. Hồ Chí Minh", {}, None, "P63-79"),
        ("Thừa Thiên - Huế", {}, None, "P63-46"),
        ("Tỉnh Thừa Thiên Huế", {}, None, "P63-46"),
        ("Hà Nội", {}, None, "P63-01"),
        ("HÀ NỘI", {}, None, "P63-01"),
        ("Thành phố Huế", Y2025_9T, ARRIVAL_2025_9T, "P34-46"),
        ("Lào Cai", Y2025_9T, ARRIVAL_2025_9T, "P34-15"),
        ("Lào Cai", {}, None, "P63-10"),
        ("Thành phố Huế", {}, None, "P63-46"),
    ],
)
def test_f03_unit_by_name_with_aliases(read, name, meta, arrival, unit_id):
    c = read(valid_report().with_meta(ma_don_vi=DROP, ten_don_vi=name, **meta), arrival_date=arrival)
    accepted(c)
    assert c.submission.metadata.unit_id == unit_id
    assert c.submission.metadata.unit_code is None


@pytest.mark.parametrize("name", ["Tỉnh Hà Tây", "Yên Bái"])
def test_f03_unknown_unit_name(read, name):
    """Hà Tây never existed in the catalogue; Yên Bái no longer exists in 9T 2025."""
    report = report_2025_9t(ma_don_vi=DROP, ten_don_vi=name)
    c = read(report, arrival_date=ARRIVAL_2025_9T)
    at(one(c, "F03"), "thong_tin", report.meta_row("ten_don_vi"), "gia_tri (B)", name)


def test_f03_neither_code_nor_name(read):
    c = read(valid_report().with_meta(ma_don_vi=DROP, ten_don_vi=DROP))
    at(one(c, "F03"), "thong_tin", None, "ma_don_vi")


@pytest.mark.parametrize("code", [1, "1", " 01 "])
def test_f03_unit_code_written_as_number_or_without_leading_zero(read, code):
    c = read(valid_report().with_meta(ma_don_vi=code))
    accepted(c)
    assert c.submission.metadata.unit_code == "01"


# ---------------------------------------------------------------- F04


@pytest.mark.parametrize("year", ["2004", "2101", "2O24", "năm 2024", "20240", "0"])
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f04_invalid_year(read, year, fmt):
    report = valid_report().with_meta(nam=year)
    c = read(report, fmt)
    f = one(c, "F04")
    at(f, "thong_tin", report.meta_row("nam"), "gia_tri (B)", year)
    assert f.expected == "2005..2100"


def test_f04_year_out_of_range_through_the_gate(check):
    report = valid_report().with_meta(nam=2004)
    c = check(report)
    f = one(c, "F04")
    at(f, "thong_tin", 4, "gia_tri (B)")
    assert f.value in ("2004", "2004.0")  # see test_f04_numeric_year_value_is_shown_as_written
    assert c.status == "rejected"


def test_f04_numeric_year_value_is_shown_as_written(read):
    f = one(read(valid_report().with_meta(nam=2101)), "F04")
    assert f.value == "2101" and "'2101'" in f.message_en


def test_f04_blank_year(read):
    report = valid_report().with_meta(nam=None)
    f = one(read(report), "F04")
    at(f, "thong_tin", report.meta_row("nam"), "gia_tri (B)")


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f04_missing_year_field(read, fmt):
    c = read(valid_report().with_meta(nam=DROP), fmt)
    at(one(c, "F04"), "thong_tin", None, "nam")


@pytest.mark.parametrize("year", [2005, "2024"])
def test_f04_year_bounds_accepted(read, year):
    c = read(valid_report().with_meta(nam=year))
    assert "F04" not in rules(c) and c.status != "rejected", c.findings
    assert c.submission.metadata.year == int(year)


def test_f04_a_valid_year_whose_period_has_not_begun(read):
    """2100 is a year the form allows, but a 6T 2100 report arriving in 2024 is for a period not yet begun."""
    f = one(read(valid_report().with_meta(nam=2100)), "F04")
    at(f, "thong_tin", 4, "gia_tri (B)")
    assert f.value == "6T 2100" and "has not begun" in f.message_en and "chưa bắt đầu" in f.message_vi


@pytest.mark.parametrize("period", ["13T", "0T", "Q3", "12T", "6 thang 7", "quý 3", "H1"])
def test_f04_invalid_period(read, period):
    report = valid_report().with_meta(ky_bao_cao=period)
    c = read(report)
    f = one(c, "F04")
    at(f, "thong_tin", report.meta_row("ky_bao_cao"), "gia_tri (B)", period)


@pytest.mark.parametrize(
    "text, period",
    [("6T", "6T"), ("6t", "6T"), (" 6 T ", "6T"), ("6 tháng", "6T"), ("6 tháng đầu năm", "6T"), ("1T", "1T"),
     ("11T", "11T"), ("KH", "KH"), ("Kế hoạch", "KH"), ("CN", "CN"), ("Cả năm", "CN"), (6, "6T")],
)
def test_f04_valid_periods(read, text, period):
    c = read(valid_report().with_meta(ky_bao_cao=text))
    assert "F04" not in rules(c) and c.status != "rejected", c.findings
    assert c.submission.metadata.period == period


@pytest.mark.parametrize("value", ["", "31/02/2024", "5/7/24", "2024-07-05", "05/13/2024", "hôm nay", "00/07/2024"])
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f04_invalid_report_date(read, value, fmt):
    report = valid_report().with_meta(ngay_lap=value)
    c = read(report, fmt)
    f = one(c, "F04")
    at(f, "thong_tin", report.meta_row("ngay_lap"), "gia_tri (B)")
    assert f.expected == "dd/mm/yyyy"
    assert c.submission.metadata.report_date is None


def test_f04_missing_report_date(check):
    c = check(valid_report().with_meta(ngay_lap=DROP))
    f = one(c, "F04")
    at(f, "thong_tin", None, "ngay_lap")
    assert "missing" in f.message_en


@pytest.mark.parametrize("value", ["11/07/2024", date(2024, 7, 11), datetime(2024, 7, 11, 9, 30)])
def test_f04_report_date_after_arrival(read, value):
    report = valid_report().with_meta(ngay_lap=value)
    c = read(report)
    f = one(c, "F04")
    at(f, "thong_tin", report.meta_row("ngay_lap"), "gia_tri (B)", "11/07/2024")
    assert f.expected == "<= 10/07/2024"


@pytest.mark.parametrize(
    "value", ["05/07/2024", "5/7/2024", "05.07.2024", "05-07-2024", date(2024, 7, 5), datetime(2024, 7, 5, 16, 45)],
)
def test_f04_report_date_as_text_or_excel_date(read, value):
    c = read(valid_report().with_meta(ngay_lap=value))
    accepted(c)
    assert c.submission.metadata.report_date == date(2024, 7, 5)


def test_f04_report_date_on_the_arrival_day(check):
    c = check(valid_report().with_meta(ngay_lap="10/07/2024"))
    accepted(c)


def test_f04_arrival_date_argument_overrides_the_folder(read):
    c = read(valid_report().with_meta(ngay_lap="09/07/2024"), arrival_date=date(2024, 7, 8))
    assert c.arrival_date == date(2024, 7, 8)
    assert one(c, "F04").expected == "<= 08/07/2024"


# ---------------------------------------------------------------- F05: number text


@pytest.mark.parametrize("text", ["1.5", "12.34", "1.2345", "850.50", "abc", "1 200", "12,3,4"])
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f05_not_a_vietnamese_number(read, fmt, text):
    report = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", text)
    c = read(report, fmt)
    f = one(c, "F05")
    at(f, "kinh_phi", 2, "thuc_hien (E)", text)
    assert c.status == "rejected"


@pytest.mark.parametrize("value", [True, date(2024, 6, 30)])
def test_f05_boolean_or_date_in_a_numeric_cell(read, value):
    f = one(read(valid_report().with_cell("kinh_phi", "KCQG", "da_phan_bo", value)), "F05")
    assert (f.sheet, f.row, f.column) == ("kinh_phi", 2, "da_phan_bo (D)")


@pytest.mark.parametrize(
    "sheet, key, column",
    [("kinh_phi", "KCDP", "ke_hoach_dau_nam"), ("kinh_phi", "KCQG", "so_de_an"), ("ket_qua", "dao_tao_nghe", "ke_hoach"),
     ("de_an", "DA-04", "kinh_phi_duyet"), ("de_an", "DA-05", "so_co_so_thu_huong")],
)
def test_f05_number_format_in_every_numeric_column(check, sheet, key, column):
    report = valid_report().with_cell(sheet, key, column, "12.34")
    c = check(report, "zip")
    at(one(c, "F05"), sheet, report.row_of(sheet, key), report.label_of(sheet, column), "12.34")


@pytest.mark.parametrize(
    "text, value",
    [("48.331", Decimal(48331)), ("123,37", Decimal("123.37")), ("1.234.567,5", Decimal("1234567.5")),
     ("-", Decimal(0)), ("–", Decimal(0)), ("850,5", Decimal("850.5")), ("1200", Decimal(1200))],
)
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f05_vietnamese_number_text_is_parsed(read, fmt, text, value):
    c = read(valid_report().with_cell("kinh_phi", "KCDP", "da_phan_bo", text), fmt)
    assert "F05" not in rules(c), c.findings
    assert funding(c, "KCDP").allocated_mvnd == value


def test_f05_numbers_as_text_everywhere(check):
    """An .xlsx typed as text cells with Vietnamese number text reads as the numeric one."""
    c = check(valid_report().with_numbers_as_text())
    accepted(c)
    assert funding(c, "KCQG").executed_mvnd == Decimal("850.5")
    assert funding(c, "KCQG").plan_initial_mvnd == Decimal(1200)


def test_f05_dash_means_zero_and_blank_means_not_reported(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "da_phan_bo", "-").with_cell("kinh_phi", "KCDP", "so_de_an", None)
    c = check(report, "zip")
    accepted(c)
    assert funding(c, "KCDP").allocated_mvnd == Decimal(0)
    assert funding(c, "KCDP").project_count is None


def test_f05_a_source_row_left_empty_is_not_reported(check):
    report = valid_report().with_row("kinh_phi", {"nguon_kinh_phi": "KHAC"})
    c = check(report)
    accepted(c)
    assert [r.funding_source for r in c.submission.funding] == ["KCQG", "KCDP"]


# ---------------------------------------------------------------- F05: values (GX)


@pytest.mark.parametrize(
    "sheet, key, column, value",
    [
        ("kinh_phi", "KCQG", "ke_hoach_dau_nam", -1200),
        ("kinh_phi", "KCDP", "ke_hoach_dieu_chinh", -1),
        ("kinh_phi", "KCDP", "da_phan_bo", "-600"),
        ("kinh_phi", "KCDP", "thuc_hien", "-0,5"),
        ("kinh_phi", "KCQG", "so_de_an", -3),
        ("ket_qua", "dao_tao_nghe", "ke_hoach", -500),
        ("ket_qua", "tu_van_doanh_thu", "thuc_hien", "-80,25"),
        ("de_an", "DA-05", "kinh_phi_thuc_hien", -150),
        ("de_an", "DA-01", "so_co_so_thu_huong", -5),
    ],
)
def test_f05_negative_values(check, sheet, key, column, value):
    report = valid_report().with_cell(sheet, key, column, value)
    c = check(report, "zip")
    f = one(c, "F05")
    text = str(value).replace(",", ".")
    at(f, sheet, report.row_of(sheet, key), report.label_of(sheet, column), text)
    assert f.expected == ">= 0"


def test_f05_negative_project_approved_amount(check):
    """kinh_phi_duyet is also summed for W04: the negative is fatal whatever W04 says."""
    report = valid_report().with_cell("de_an", "DA-04", "kinh_phi_duyet", -500)
    c = check(report)
    at(one(c, "F05"), "de_an", 5, "kinh_phi_duyet (E)", "-500")


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f05_fractional_project_count(check, fmt):
    report = valid_report().with_cell("kinh_phi", "KCDP", "so_de_an", "2,5")
    c = check(report, fmt)
    f = one(c, "F05")
    at(f, "kinh_phi", 3, "so_de_an (F)", "2.5")
    assert "whole number" in f.message_en


@pytest.mark.parametrize(
    "sheet, key, column, value, shown",
    [
        ("ket_qua", "dao_tao_nghe", "thuc_hien", "320,5", "320.5"),
        ("ket_qua", "mo_hinh_trinh_dien", "ke_hoach", Decimal("4.25"), "4.25"),
        ("de_an", "DA-02", "so_co_so_thu_huong", "40,1", "40.1"),
    ],
)
def test_f05_fractional_counts(check, sheet, key, column, value, shown):
    report = valid_report().with_cell(sheet, key, column, value)
    c = check(report)
    f = one(c, "F05")
    at(f, sheet, report.row_of(sheet, key), report.label_of(sheet, column), shown)
    assert f.expected == "số nguyên / whole number"


def test_f05_money_indicator_may_be_fractional(check):
    """tu_van_doanh_thu is in million VND, not a count: 80,25 is fine (as in the valid report)."""
    c = check(valid_report().with_cell("ket_qua", "tu_van_doanh_thu", "ke_hoach", "150,125"))
    accepted(c)
    assert c.submission.outcomes[2].target_value == Decimal("150.125")


def test_f05_whole_counts_written_with_decimals(check):
    c = check(valid_report().with_cell("kinh_phi", "KCQG", "so_de_an", "3,0"), "zip")
    accepted(c)


# ---------------------------------------------------------------- F05: formulas


def test_f05_formula_without_cached_value(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "thuc_hien", Formula("B3*0.5"))
    c = check(report)
    f = one(c, "F05")
    at(f, "kinh_phi", 3, "thuc_hien (E)", "=…")
    assert "recalculate" in f.message_en


def test_f05_formula_without_cached_value_in_project_sheet(check):
    report = valid_report().with_cell("de_an", "DA-03", "kinh_phi_duyet", Formula("SUM(E2:E3)"))
    c = check(report)
    at(one(c, "F05"), "de_an", 4, "kinh_phi_duyet (E)", "=…")


def test_f05_formula_with_cached_value_is_read_by_it(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "thuc_hien", Formula("B3*0.5", cached=400))
    c = check(report)
    accepted(c)
    assert funding(c, "KCDP").executed_mvnd == Decimal(400)


def test_f05_formula_in_a_sheet_with_vietnamese_name(check):
    report = valid_report().with_vietnamese_labels().with_cell("kinh_phi", "KCQG", "da_phan_bo", Formula("B2-200"))
    c = check(report)
    at(one(c, "F05"), "Kinh phí", 2, "da_phan_bo (D)", "=…")


def test_f05_formula_without_cached_value_whatever_the_attribute_order(check, raw_dir, gate):
    import re

    from builders import read_part, rewrite_zip

    path = valid_report().with_cell("kinh_phi", "KCDP", "thuc_hien", Formula("B3*0.5")).write_xlsx(raw_dir / "order.xlsx")
    xml = read_part(path, "xl/workbook.xml")
    swapped = re.sub(rb'<sheet ([^>]*?)name="([^"]*)"([^>]*?)r:id="([^"]*)"', rb'<sheet r:id="\4" \1name="\2"\3', xml)
    assert swapped != xml
    rewrite_zip(path, replace={"xl/workbook.xml": swapped})
    [c] = check_files([path], gate=gate)
    at(one(c, "F05"), "kinh_phi", 3, "thuc_hien (E)", "=…")


# ---------------------------------------------------------------- F05: money units


@pytest.mark.parametrize(
    "label, per_million, unit",
    [("tỷ đồng", "0.001", "ty_dong"), ("Tỷ đồng", "0.001", "ty_dong"), ("đồng", 1_000_000, "dong"),
     ("VNĐ", 1_000_000, "dong"), ("nghìn đồng", 1000, "nghin_dong"), ("ngàn đồng", 1000, "nghin_dong"),
     ("triệu đồng", 1, "trieu_dong"), ("TRIỆU ĐỒNG", 1, "trieu_dong")],
)
@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_money_is_converted_to_million_vnd(read, label, per_million, unit, fmt):
    c = read(valid_report().in_money_unit(label, per_million), fmt)
    accepted(c)  # de_an totals still match the plan: no W04
    assert c.submission.metadata.money_unit == unit
    kcqg = funding(c, "KCQG")
    assert kcqg.plan_initial_mvnd == Decimal(1200) and kcqg.executed_mvnd == Decimal("850.5")
    assert kcqg.project_count == 3  # a count, not money
    assert c.submission.projects[1].executed_mvnd == Decimal("300.5")
    assert c.submission.outcomes[0].actual_value == Decimal(320)  # outcomes are not money


@pytest.mark.parametrize(
    "label, text, mvnd",
    [("tỷ đồng", "1,5", Decimal(1500)), ("đồng", "1.500.000", Decimal("1.5")), ("nghìn đồng", "1.200", Decimal("1.2")),
     ("triệu đồng", "1,5", Decimal("1.5"))],
)
def test_money_unit_examples(read, label, text, mvnd):
    report = valid_report().with_meta(don_vi_tien=label).without_sheet("de_an")
    c = read(report.with_cell("kinh_phi", "KCDP", "da_phan_bo", text), "zip")
    accepted(c)
    assert funding(c, "KCDP").allocated_mvnd == mvnd


def test_money_unit_default_is_million(read):
    c = read(valid_report().with_meta(don_vi_tien=DROP))
    accepted(c)
    assert c.submission.metadata.money_unit == "trieu_dong"


def test_f05_unknown_money_unit(check):
    report = valid_report().with_meta(don_vi_tien="USD")
    c = check(report)
    f = one(c, "F05")
    at(f, "thong_tin", report.meta_row("don_vi_tien"), "gia_tri (B)", "USD")


# ---------------------------------------------------------------- F06


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f06_unknown_funding_source(check, fmt):
    report = valid_report().with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", "KCTW").without_sheet("de_an")
    c = check(report, fmt)
    f = one(c, "F06")
    at(f, "kinh_phi", 3, "nguon_kinh_phi (A)", "KCTW")
    assert f.expected == "KCQG | KCDP | DOI_UNG | KHAC"


@pytest.mark.parametrize(
    "text, code",
    [("KCĐP", "KCDP"), ("kcdp", "KCDP"), ("Kinh phí khuyến công địa phương", "KCDP"), ("Đối ứng", "DOI_UNG"),
     ("DOI_UNG", "DOI_UNG"), ("Vốn đối ứng của cơ sở thụ hưởng", "DOI_UNG"), ("Khác", "KHAC"), ("Nguồn khác", "KHAC")],
)
def test_f06_funding_source_spellings(read, text, code):
    report = valid_report().with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", text)
    if code != "KCDP":  # projects of KCDP would now have no plan: move them to the renamed source
        report = report.with_cell("de_an", "DA-04", "nguon_kinh_phi", text).with_cell("de_an", "DA-05", "nguon_kinh_phi", text)
    c = read(report, "zip")
    accepted(c)
    assert [r.funding_source for r in c.submission.funding] == ["KCQG", code]
    assert code in set(load_reference().funding_sources.values())  # the value set of the F06 expectation


def test_f06_unknown_project_funding_source(check):
    """Alone in its file, so that no other source has a plan row (see the W04 crash below)."""
    report = valid_report().without_rows("de_an").with_row(
        "de_an", ["DA-01", "Máy sấy chè", "Ngân sách TW", "máy móc", 100, 0, "đang thực hiện", 1],
    )
    c = check(report)
    f = one(c, "F06")
    at(f, "de_an", 2, "nguon_kinh_phi (C)", "Ngân sách TW")


def test_f06_unknown_project_source_next_to_known_ones(check):
    report = valid_report().with_cell("de_an", "DA-03", "nguon_kinh_phi", "Ngân sách TW")
    c = check(report)
    at(one(c, "F06"), "de_an", 4, "nguon_kinh_phi (C)", "Ngân sách TW")


def test_f06_unknown_funding_source_with_its_projects(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", "KCTW")
    c = check(report)
    at(one(c, "F06"), "kinh_phi", 3, "nguon_kinh_phi (A)", "KCTW")


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f06_unknown_indicator_code(check, fmt):
    report = valid_report().with_cell("ket_qua", "mo_hinh_trinh_dien", "ma_chi_tieu", "so_hoi_thao")
    report = report.with_cell("ket_qua", "mo_hinh_trinh_dien", "chi_tieu", "Số hội thảo")
    c = check(report, fmt)
    at(one(c, "F06"), "ket_qua", 3, "ma_chi_tieu (A)", "so_hoi_thao")


def test_f06_funding_source_by_vietnamese_name_through_the_gate(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", "Kinh phí khuyến công địa phương")
    c = check(report)
    accepted(c)
    assert funding(c, "KCDP").row == 3


def test_f06_indicator_given_by_vietnamese_name(check):
    report = valid_report().without_column("ket_qua", "ma_chi_tieu")
    report = report.with_row("ket_qua", {"chi_tieu": "Hội chợ, triển lãm được tổ chức", "ke_hoach": 2, "thuc_hien": 1})
    c = check(report, "zip")
    accepted(c)
    assert [o.indicator_code for o in c.submission.outcomes][-1] == "hoi_cho"


def test_f06_unknown_code_falls_back_to_a_known_name(check):
    report = valid_report().with_cell("ket_qua", "mo_hinh_trinh_dien", "ma_chi_tieu", "MH-TD")
    c = check(report)
    accepted(c)
    assert c.submission.outcomes[1].indicator_code == "mo_hinh_trinh_dien"


def test_f06_unknown_indicator_name(check):
    report = valid_report().without_column("ket_qua", "ma_chi_tieu")
    report = report.with_cell("ket_qua", "mo_hinh_trinh_dien", "chi_tieu", "Số hội thảo được tổ chức")
    c = check(report)
    f = one(c, "F06")
    assert (f.sheet, f.row, f.value) == ("ket_qua", 3, "Số hội thảo được tổ chức")


def test_f06_unknown_indicator_name_points_at_the_name_column(check):
    report = valid_report().without_column("ket_qua", "ma_chi_tieu")
    report = report.with_cell("ket_qua", "mo_hinh_trinh_dien", "chi_tieu", "Số hội thảo được tổ chức")
    at(one(check(report), "F06"), "ket_qua", 3, "chi_tieu (A)")


# ---------------------------------------------------------------- F07


@pytest.mark.parametrize("spelling", ["KCQG", "Kinh phí khuyến công quốc gia", "kcqg"])
def test_f07_duplicate_funding_source(check, spelling):
    report = valid_report().with_row("kinh_phi", [spelling, 10, None, None, 5, None])
    c = check(report)
    f = one(c, "F07")
    at(f, "kinh_phi", 4, "nguon_kinh_phi (A)", "KCQG")  # the repeat, not the first row


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_f07_duplicate_indicator(check, fmt):
    report = valid_report().with_row("ket_qua", ["dao_tao_nghe", "Đào tạo nghề (bổ sung)", "người", 10, 5])
    c = check(report, fmt)
    at(one(c, "F07"), "ket_qua", 5, "ma_chi_tieu (A)", "dao_tao_nghe")


def test_f07_indicator_by_code_and_again_by_name(check):
    report = valid_report().with_row(
        "ket_qua", [None, "Mô hình trình diễn kỹ thuật", "mô hình", 1, 1], key="again",
    )
    at(one(check(report), "F07"), "ket_qua", 5, "ma_chi_tieu (A)", "mo_hinh_trinh_dien")


def test_f07_duplicate_project_code(check):
    report = valid_report().with_row("de_an", ["DA-02", "Đào tạo nghề (đợt 2)", "KCQG", "đào tạo", 0, 0, "đang thực hiện", 0])
    c = check(report)
    at(one(c, "F07"), "de_an", 7, "ma_de_an (A)", "DA-02")


def test_f07_three_repeats_are_each_reported(check):
    report = valid_report()
    for _ in range(2):
        report = report.with_row("de_an", ["DA-05", "Lặp", "KCDP", "x", 0, 0, "dừng", 0], key=None)
    c = check(report)
    found = [f for f in c.findings if f.rule == "F07"]
    assert [(f.row, f.value) for f in found] == [(7, "DA-05"), (8, "DA-05")]


def test_f07_distinct_codes_pass(check):
    report = valid_report().with_row("de_an", ["DA-06", "Tư vấn", "KCQG", "tư vấn", 0, 0, "dừng", 0])
    accepted(check(report))


# ---------------------------------------------------------------- W01


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_w01_executed_exceeds_adjusted_plan(check, fmt):
    report = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", 1400)
    c = check(report, fmt)
    assert rules(c) == ["W01"] and c.status == "accepted_with_warnings"
    f = one(c, "W01")
    at(f, "kinh_phi", 2, "thuc_hien (E)", "1400")
    assert "1300" in f.message_en and "1.300" in f.message_vi  # each message in its own number convention


def test_w01_adjusted_plan_replaces_the_initial_one(check):
    """1250 > initial 1200 but <= adjusted 1300: no warning."""
    accepted(check(valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", 1250)))


def test_w01_blank_adjusted_plan_compares_with_the_initial_plan(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "thuc_hien", "800,5")
    c = check(report, "zip")
    f = one(c, "W01")
    at(f, "kinh_phi", 3, "thuc_hien (E)", "800.5")
    assert "800" in f.message_en


def test_w01_executed_equal_to_plan_passes(check):
    accepted(check(valid_report().with_cell("kinh_phi", "KCDP", "thuc_hien", 800)))


def test_w01_without_any_plan_value_is_silent(check):
    report = valid_report().with_cell("kinh_phi", "KCDP", "ke_hoach_dau_nam", None).without_sheet("de_an")
    assert "W01" not in rules(check(report))


def test_w01_in_converted_money(check):
    """Compared in million VND: 1,4 tỷ executed > 1,3 tỷ adjusted."""
    report = valid_report().in_money_unit("tỷ đồng", "0.001").with_cell("kinh_phi", "KCQG", "thuc_hien", "1,4")
    c = check(report, "zip")
    at(one(c, "W01"), "kinh_phi", 2, "thuc_hien (E)", "1400")


# ---------------------------------------------------------------- W04


def test_w04_project_totals_off_by_more_than_one_percent(check):
    """KCQG projects 500 + 450 + 364 = 1314 vs adjusted plan 1300: 1.08 %."""
    report = valid_report().with_cell("de_an", "DA-03", "kinh_phi_duyet", 364)
    c = check(report)
    assert rules(c) == ["W04"] and c.status == "accepted_with_warnings"
    f = one(c, "W04")
    assert (f.sheet, f.row, f.value) == ("kinh_phi", 2, "1.0769")
    assert "KCQG" in f.message_en and "1314" in f.message_en and "1300" in f.message_en


def test_w04_exactly_one_percent_passes(check):
    """1313 vs 1300 is 1 %: within."""
    accepted(check(valid_report().with_cell("de_an", "DA-03", "kinh_phi_duyet", 363)))


def test_w04_blank_adjusted_plan_compares_with_the_initial_plan(check):
    """KCDP: 500 + 310 = 810 vs initial 800: 1.25 %."""
    report = valid_report().with_cell("de_an", "DA-05", "kinh_phi_duyet", 310)
    f = one(check(report, "zip"), "W04")
    assert (f.sheet, f.row, f.value) == ("kinh_phi", 3, "1.25")


def test_w04_below_the_plan(check):
    """KCQG: 500 + 450 + 300 = 1250 vs 1300: 3.85 % under."""
    f = one(check(valid_report().with_cell("de_an", "DA-03", "kinh_phi_duyet", 300)), "W04")
    assert (f.sheet, f.row, f.value) == ("kinh_phi", 2, "3.8462")


def test_w04_projects_of_a_source_without_plan(check):
    report = valid_report().with_row("de_an", ["DA-06", "Đối ứng", "DOI_UNG", "máy móc", 100, 0, "đang thực hiện", 1])
    f = one(check(report), "W04")
    assert f.sheet == "kinh_phi" and "DOI_UNG" in f.message_en


def test_w04_finding_names_a_column_of_its_sheet(check):
    report = valid_report().with_cell("de_an", "DA-03", "kinh_phi_duyet", 364)
    f = one(check(report), "W04")
    assert f.column in {f"{c} ({l})" for c, l in zip(report.sheet("kinh_phi").codes, "ABCDEF")}


# ---------------------------------------------------------------- W05


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_w05_name_does_not_match_code(check, fmt):
    report = valid_report().with_meta(ten_don_vi="Hải Phòng")
    c = check(report, fmt)
    assert rules(c) == ["W05"] and c.status == "accepted_with_warnings"
    f = one(c, "W05")
    at(f, "thong_tin", report.meta_row("ten_don_vi"), "gia_tri (B)", "Hải Phòng")
    assert f.row == 3 and f.expected == "Thành phố Hà Nội"
    assert c.submission.metadata.unit_id == "P63-01"  # the code wins


def test_w05_name_of_the_other_era(check):
    """Code 15 in 2024 is Yên Bái: calling it Lào Cai (its 2025 meaning) is a mismatch."""
    report = valid_report().with_meta(ma_don_vi="15", ten_don_vi="Tỉnh Lào Cai")
    f = one(check(report), "W05")
    assert f.expected == "Tỉnh Yên Bái" and f.value == "Tỉnh Lào Cai"


@pytest.mark.parametrize("name", ["Hà Nội", "HN", "TP. Hà Nội", "thanh pho ha noi", "TP HÀ NỘI"])
def test_w05_name_variants_match(read, name):
    accepted(read(valid_report().with_meta(ten_don_vi=name)))


# ---------------------------------------------------------------- headers


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_headers_as_vietnamese_labels(check, fmt):
    report = valid_report().with_vietnamese_labels()
    assert report.sheet("kinh_phi").header[1] == "Kế hoạch đầu năm"
    c = check(report, fmt)
    accepted(c)
    assert funding(c, "KCQG").executed_mvnd == Decimal("850.5")
    assert c.submission.metadata.unit_id == "P63-01"


def test_headers_in_upper_case(read):
    c = read(valid_report().with_vietnamese_labels().with_upper_case_headers())
    accepted(c)
    assert funding(c, "KCDP").plan_initial_mvnd == Decimal(800)


def test_findings_name_the_sheet_as_written(read):
    report = valid_report().with_vietnamese_labels().with_cell("kinh_phi", "KCQG", "thuc_hien", "1.5")
    at(one(read(report), "F05"), "Kinh phí", 2, "thuc_hien (E)", "1.5")


def test_headers_with_punctuation_and_extra_spaces(read):
    report = valid_report().with_headers(
        "kinh_phi", {"ke_hoach_dau_nam": "Kế hoạch  đầu năm (*)", "thuc_hien": " Thực hiện: ", "so_de_an": "Số đề án."},
    )
    accepted(read(report))


@pytest.mark.parametrize("fmt", ["xlsx", "zip"])
def test_column_order_is_free(read, fmt):
    order = ["thuc_hien", "so_de_an", "nguon_kinh_phi", "da_phan_bo", "ke_hoach_dieu_chinh", "ke_hoach_dau_nam"]
    report = valid_report().with_column_order("kinh_phi", order)
    c = read(report, fmt)
    accepted(c)
    kcqg = funding(c, "KCQG")
    assert (kcqg.executed_mvnd, kcqg.plan_initial_mvnd, kcqg.project_count) == (Decimal("850.5"), 1200, 3)
    # positions in findings follow the file's layout
    broken = report.with_cell("kinh_phi", "KCQG", "thuc_hien", "1.5")
    at(one(read(broken, fmt), "F05"), "kinh_phi", 2, "thuc_hien (A)", "1.5")


def test_unknown_extra_columns_are_ignored(check):
    report = (
        valid_report()
        .with_column("kinh_phi", "Ghi chú", ["chuyển nguồn sang 2025", "1.5 (xem phụ lục)"])
        .with_column("de_an", "Địa bàn", ["Xã Vạn Phúc"] * 5)
        .with_column("ket_qua", "Tỷ lệ (%)", ["64,0", "abc", "x"])
    )
    accepted(check(report, "zip"))


def test_header_below_title_rows(read):
    report = valid_report().with_title_rows("kinh_phi", "BÁO CÁO KINH PHÍ KHUYẾN CÔNG 6 THÁNG 2024", "Đơn vị: triệu đồng")
    c = read(report)
    accepted(c)
    assert funding(c, "KCQG").row == 4
    broken = report.with_cell("kinh_phi", "KCDP", "thuc_hien", "1.5")
    at(one(read(broken), "F05"), "kinh_phi", 5, "thuc_hien (E)", "1.5")


def test_metadata_fields_as_vietnamese_labels(read):
    report = valid_report().with_vietnamese_labels()
    assert report.sheet("thong_tin").rows[0][0] == "Mã đơn vị"
    broken = report.with_meta(ky_bao_cao="Q3")
    at(one(read(broken), "F04"), "Thông tin", 5, "gia_tri (B)", "Q3")


# ---------------------------------------------------------------- encodings and CSV dialect

PROJECT_NAME = "Hỗ trợ máy móc thiết bị chế biến nông sản"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "utf-16", "utf-16-be", "cp1258"])
@pytest.mark.parametrize("delimiter", [",", ";"])
def test_encodings_give_nfc_text(read, encoding, delimiter):
    report = valid_report().with_vietnamese_labels()
    c = read(report, "zip", encoding=encoding, delimiter=delimiter)
    accepted(c)
    project = c.submission.projects[0]
    assert project.project_name == PROJECT_NAME
    assert unicodedata.is_normalized("NFC", project.project_name)
    assert project.status == "đang thực hiện"
    assert c.submission.metadata.unit_name_in_file == "Thành phố Hà Nội"
    assert c.submission.metadata.preparer_name == "Nguyễn Thị Hồng"
    assert funding(c, "KCQG").executed_mvnd == Decimal("850.5")
    assert c.submission.outcomes[2].actual_value == Decimal("80.25")


def test_cp1258_bytes_really_carry_combining_tone_marks(raw_dir):
    import zipfile

    path = valid_report().write_zip(raw_dir / "w1258.zip", encoding="cp1258")
    with zipfile.ZipFile(path) as z:
        data = z.read("de_an.csv")
    assert b"\xde" in data and b"\xf2" in data  # combining tilde, combining dot below
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the cp1258 sample must not be valid UTF-8")


def test_nfd_utf8_text_is_composed(read):
    """macOS writes decomposed UTF-8: names, sources and labels are matched after NFC."""
    report = valid_report().with_vietnamese_labels()
    for sheet in report.sheets.values():
        sheet.header = [unicodedata.normalize("NFD", h) for h in sheet.header]
        sheet.rows = [[unicodedata.normalize("NFD", v) if isinstance(v, str) else v for v in r] for r in sheet.rows]
    report = report.with_cell("kinh_phi", "KCDP", "nguon_kinh_phi", unicodedata.normalize("NFD", "KCĐP"))
    c = read(report, "zip", encoding="utf-8")
    accepted(c)
    assert c.submission.projects[0].project_name == PROJECT_NAME


def test_semicolon_csv_with_decimal_commas_unquoted(check, raw_dir):
    report = valid_report()
    text = report.csv_text("kinh_phi", delimiter=";")
    assert "850,5" in text and '"850,5"' not in text
    c = check(report, "zip", delimiter=";")
    accepted(c)
    assert funding(c, "KCQG").executed_mvnd == Decimal("850.5")


def test_csv_entries_named_by_vietnamese_sheet_names(raw_dir, gate):
    """`Kinh phí.csv` is the sheet kinh_phi: entry names are normalised like sheet names."""
    import zipfile

    from builders import encode_text

    report = valid_report().with_vietnamese_labels()
    path = raw_dir / "vn.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for code, sheet in report.sheets.items():
            zf.writestr(f"{sheet.name}.csv", encode_text(report.csv_text(code), "utf-8-sig"))
    [c] = check_files([path], gate=gate)
    accepted(c)
    assert funding(c, "KCQG").sheet == "Kinh phí"
