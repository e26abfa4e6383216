"""The blank KC-1 workbook (khuyencong.ingest.template)."""

from __future__ import annotations

import csv
import re
import unicodedata
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from khuyencong import config
from khuyencong.ingest.template import write_template

SPEC_COLUMNS = {
    "thong_tin": ["truong", "gia_tri"],
    "kinh_phi": ["nguon_kinh_phi", "ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an"],
    "ket_qua": ["ma_chi_tieu", "chi_tieu", "don_vi_tinh", "ke_hoach", "thuc_hien"],
    "de_an": ["ma_de_an", "ten_de_an", "nguon_kinh_phi", "noi_dung", "kinh_phi_duyet", "kinh_phi_thuc_hien",
              "trang_thai", "so_co_so_thu_huong"],
}
FIELDS = ["ma_don_vi", "ten_don_vi", "nam", "ky_bao_cao", "ngay_lap", "don_vi_tien", "nguoi_lap", "dien_thoai", "email"]


def normalise(text: object) -> str:
    """docs/submission-format.md#sheets-and-columns, written out independently of the reader."""
    t = unicodedata.normalize("NFD", unicodedata.normalize("NFC", str(text))).replace("đ", "d").replace("Đ", "D")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


@pytest.fixture(scope="module")
def template_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("tpl") / "KC-1.xlsx"
    write_template(path)
    return path


@pytest.fixture(scope="module")
def wb(template_path):
    return openpyxl.load_workbook(template_path)


def _indicators():
    with (config.seeds_dir() / "indicators.csv").open(encoding="utf-8", newline="") as f:
        return [(r["indicator_code"], r["name_vi"], r["unit_vi"]) for r in csv.DictReader(f)]


def test_sheets(wb):
    assert set(wb.sheetnames) == {"huong_dan", "thong_tin", "kinh_phi", "ket_qua", "de_an", "danh_muc"}
    assert wb["danh_muc"].sheet_state == "hidden"
    assert all(wb[s].sheet_state == "visible" for s in ("huong_dan", *SPEC_COLUMNS))
    text = " ".join(str(c.value) for c in wb["huong_dan"]["A"] if c.value)
    assert "HƯỚNG DẪN" in text and "ENGLISH" in text


def test_headers_normalise_to_spec_codes(wb):
    for sheet, codes in SPEC_COLUMNS.items():
        labels = [c.value for c in wb[sheet][1]]
        assert [normalise(v) for v in labels] == codes, sheet
        if sheet != "thong_tin":
            assert all(label != code for label, code in zip(labels, codes) if "_" in code)  # Vietnamese labels
    assert [c.value for c in wb["kinh_phi"][1]] == [
        "Nguồn kinh phí", "Kế hoạch đầu năm", "Kế hoạch điều chỉnh", "Đã phân bổ", "Thực hiện", "Số đề án"]


def test_prefilled_rows(wb):
    info = wb["thong_tin"]
    assert [info.cell(row=r, column=1).value for r in range(2, 2 + len(FIELDS))] == FIELDS
    values = {info.cell(row=r, column=1).value: info.cell(row=r, column=2).value for r in range(2, 2 + len(FIELDS))}
    assert values.pop("don_vi_tien") == "triệu đồng"
    assert all(v is None for v in values.values())
    assert info["A2"].comment is not None

    kp = wb["kinh_phi"]
    assert [kp.cell(row=r, column=1).value for r in range(2, 6)] == ["KCQG", "KCĐP", "Đối ứng", "Khác"]
    assert all(kp.cell(row=r, column=c).value is None for r in range(2, 6) for c in range(2, 7))
    assert kp["B2"].number_format == "#,##0.###"

    kq = wb["ket_qua"]
    rows = [tuple(c.value for c in row) for row in kq.iter_rows(min_row=2)]
    assert [r[:3] for r in rows] == _indicators()
    assert all(r[3] is None and r[4] is None for r in rows)
    assert kq["E2"].number_format == "#,##0.###"
    assert wb["de_an"].max_row == 1


def test_data_validations(wb):
    def lists(sheet):
        return {str(dv.sqref): dv.formula1 for dv in wb[sheet].data_validations.dataValidation if dv.type == "list"}

    lists_dm = wb["danh_muc"]
    col = {lists_dm.cell(row=1, column=c).value: c for c in range(1, lists_dm.max_column + 1)}

    def values(name):
        c = col[name]
        return [lists_dm.cell(row=r, column=c).value for r in range(2, lists_dm.max_row + 1)
                if lists_dm.cell(row=r, column=c).value is not None]

    assert values("nguon_kinh_phi") == ["KCQG", "KCĐP", "Đối ứng", "Khác"]
    assert values("ky_bao_cao") == ["KH", *[f"{n}T" for n in range(1, 12)], "CN"]
    assert values("don_vi_tien") == ["đồng", "nghìn đồng", "triệu đồng", "tỷ đồng"]
    assert values("trang_thai") == ["đang thực hiện", "hoàn thành", "điều chỉnh", "dừng"]
    assert values("ma_chi_tieu") == [code for code, _, _ in _indicators()]

    assert lists("kinh_phi") == {"A2:A50": "danh_muc!$A$2:$A$5"}
    assert lists("ket_qua") == {"A2:A200": f"danh_muc!$B$2:$B${len(_indicators()) + 1}"}
    assert lists("thong_tin") == {"B5": "danh_muc!$C$2:$C$14", "B7": "danh_muc!$D$2:$D$5"}
    assert lists("de_an") == {"C2:C500": "danh_muc!$A$2:$A$5", "G2:G500": "danh_muc!$E$2:$E$5"}
    numeric = [dv for dv in wb["kinh_phi"].data_validations.dataValidation if dv.type in ("decimal", "whole")]
    assert numeric and all(dv.formula1 == "0" for dv in numeric)


def test_deterministic(template_path, tmp_path):
    write_template(tmp_path / "again.xlsx")
    assert (tmp_path / "again.xlsx").read_bytes() == template_path.read_bytes()


def test_filled_template_is_accepted_by_the_reader(template_path, tmp_path):
    """A province fills in some numbers and leaves other rows empty: the file loads."""
    reader = pytest.importorskip("khuyencong.ingest.reader")
    wb = openpyxl.load_workbook(template_path)
    info = wb["thong_tin"]
    for r in range(2, 11):
        value = {"ma_don_vi": "40", "ten_don_vi": "Tỉnh Nghệ An", "nam": 2024, "ky_bao_cao": "6T",
                 "ngay_lap": date(2024, 7, 8), "nguoi_lap": "Trần Văn Nam"}.get(info.cell(row=r, column=1).value)
        if value is not None:
            info.cell(row=r, column=2, value=value)
    kp = wb["kinh_phi"]
    kp["B2"], kp["D2"], kp["E2"] = 2100, 700, 512.5  # KCQG
    kp["B3"], kp["E3"] = 3000, "1.234,5"  # KCĐP, text number
    kq = wb["ket_qua"]
    kq["D2"], kq["E2"] = 300, 140  # dao_tao_nghe; the other indicators stay empty
    path = tmp_path / "Bao cao 6T 2024 - Nghe An.xlsx"
    wb.save(path)
    check = reader.read_file(path, arrival_date=date(2024, 7, 10))
    assert [f for f in check.findings if f.severity == "fatal"] == []
    sub = check.submission
    assert sub.metadata.unit_id == "P63-40" and sub.metadata.money_unit == "trieu_dong"
    funding = {r.funding_source: r for r in sub.funding}
    assert set(funding) == {"KCQG", "KCDP"}  # empty Đối ứng / Khác rows are "not reported"
    assert funding["KCQG"].executed_mvnd == Decimal("512.5")
    assert funding["KCDP"].executed_mvnd == Decimal("1234.5")
    assert [(o.indicator_code, o.actual_value) for o in sub.outcomes] == [("dao_tao_nghe", Decimal(140))]


def test_kc_template_filled_in_validates_clean(tmp_path):
    """Round trip through the command line: `kc template`, fill it in, `kc validate` finds nothing."""
    import json
    import subprocess
    import sys

    blank = tmp_path / "KC-1.xlsx"
    subprocess.run([sys.executable, "-m", "khuyencong.cli", "template", str(blank)], check=True, capture_output=True)
    wb = openpyxl.load_workbook(blank)
    info = wb["thong_tin"]
    for r in range(2, info.max_row + 1):
        value = {"ma_don_vi": "40", "ten_don_vi": "Tỉnh Nghệ An", "nam": 2024, "ky_bao_cao": "6T",
                 "ngay_lap": date(2024, 7, 8)}.get(info.cell(row=r, column=1).value)
        if value is not None:
            info.cell(row=r, column=2, value=value)
    kp = wb["kinh_phi"]
    kp["B2"], kp["D2"], kp["E2"], kp["F2"] = 2100, 700, 512.5, 3  # KCQG
    kp["B3"], kp["E3"], kp["F3"] = 3000, "1.234,5", 4  # KCĐP, a text number
    kq = wb["ket_qua"]
    kq["D2"], kq["E2"] = 300, 140
    filled = tmp_path / "Bao cao 6T 2024 - Nghe An.xlsx"
    wb.save(filled)
    proc = subprocess.run(
        [sys.executable, "-m", "khuyencong.cli", "validate", "--json", "--arrival-date", "2024-07-10", str(filled)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout
    assert json.loads(proc.stdout)["findings"] == []
