"""Read one submission file into a typed Submission, with the structural and text rules.

The reader owns F01 (container), F02 (sheets/columns), F03 (unit), F04 (year,
period, date), the number-format part of F05 and W05 (name vs code). Rules on
parsed values (F05 negative/fractional, F06, F07, W01, W04) are Great
Expectations expectations run by `khuyencong.gate` over the rows produced here.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from khuyencong.config import ReadLimits
from khuyencong.container import RawSheet, Refused, open_container, sheet_code
from khuyencong.findings import Finding, could_not_process, finding, verdict
from khuyencong.model import FundingRow, Metadata, OutcomeRow, ProjectRow, Submission
from khuyencong.normalise import NumberFormatError, normalise_header, parse_vn_number
from khuyencong.periods import era_for, normalise_period, period_months
from khuyencong.reference import Reference, load_reference

MONEY_UNITS = {  # normalised don_vi_tien -> (canonical, factor to million VND)
    "dong": ("dong", Decimal("0.000001")),
    "vnd": ("dong", Decimal("0.000001")),
    "nghin_dong": ("nghin_dong", Decimal("0.001")),
    "ngan_dong": ("nghin_dong", Decimal("0.001")),
    "trieu_dong": ("trieu_dong", Decimal(1)),
    "trieu": ("trieu_dong", Decimal(1)),
    "ty_dong": ("ty_dong", Decimal(1000)),
    "ty": ("ty_dong", Decimal(1000)),
}

REQUIRED_SHEETS = ("thong_tin", "kinh_phi", "ket_qua")
FUNDING_COLUMNS = ("nguon_kinh_phi", "ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an")
OUTCOME_COLUMNS = ("ma_chi_tieu", "chi_tieu", "don_vi_tinh", "ke_hoach", "thuc_hien")
PROJECT_COLUMNS = (
    "ma_de_an", "ten_de_an", "nguon_kinh_phi", "noi_dung", "kinh_phi_duyet",
    "kinh_phi_thuc_hien", "trang_thai", "so_co_so_thu_huong",
)
REQUIRED_COLUMNS = {
    "kinh_phi": (("nguon_kinh_phi",), ("ke_hoach_dau_nam",), ("thuc_hien",)),
    "ket_qua": (("ma_chi_tieu", "chi_tieu"), ("thuc_hien",)),
    "de_an": (("ma_de_an",), ("nguon_kinh_phi",), ("kinh_phi_duyet",)),
    "thong_tin": (("truong",), ("gia_tri",)),
}
HEADER_SEARCH_ROWS = 10  # a header may sit below a few title rows
_DATE_TEXT = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_EXCEL_EPOCH = date(1899, 12, 30)
log = logging.getLogger(__name__)
_SERIAL_2000, _SERIAL_2101 = 36526, 73051  # Excel date serials of 2000-01-01 and 2101-01-01: a bare 2024 is no date


@dataclass
class FileCheck:
    """The result of checking one file: a typed submission, findings, or both."""

    path: Path
    sha256: str
    arrival_date: date | None
    submission: Submission | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        return verdict(self.findings)

    @property
    def submission_id(self) -> str:
        return self.sha256[:16]


def arrival_date_from_path(path: Path) -> date | None:
    """`raw/2024-07-10/x.xlsx` arrived on 2024-07-10; None when the folder is not a date."""
    try:
        return date.fromisoformat(path.parent.name)
    except ValueError:
        return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_file(
    path: Path,
    *,
    arrival_date: date | None = None,
    limits: ReadLimits | None = None,
    reference: Reference | None = None,
    default_arrival_date: date | None = None,
) -> FileCheck:
    """Read and check one file with the reader's rules (no Great Expectations).

    The arrival date is `arrival_date`, else the `raw/<YYYY-MM-DD>/` folder, else `default_arrival_date`.
    """
    path = Path(path)
    arrival = arrival_date or arrival_date_from_path(path) or default_arrival_date
    sha = file_sha256(path)
    reference = reference or load_reference()  # outside the guard: a broken catalogue is no file's fault
    try:
        sheets = open_container(path, limits)
        parser = _Parser(sheets, arrival, reference)
        submission = parser.parse()
    except Refused as refused:
        return FileCheck(path, sha, arrival, None, [refused.finding])
    except Exception as exc:  # noqa: BLE001 - whatever this file's bytes provoke, it is this file's F01
        log.exception("reading %s failed; refused with F01", path.name)  # a bug stays visible in the logs
        return FileCheck(path, sha, arrival, None, [could_not_process("read", exc)])
    return FileCheck(path, sha, arrival, submission, parser.findings)


# ---------------------------------------------------------------- parsing


def _shown(value: object) -> str:
    """A cell as the sender typed it: Excel stores 2024 as 2024.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cell_decimal(value: int | float) -> Decimal:
    """A numeric cell as Excel shows it: 15 significant digits, so a cached 1300.3000000000002 is 1300.3
    (the float's tail is no data, and would otherwise count as decimal places)."""
    return Decimal(f"{value:.15g}") if isinstance(value, float) else Decimal(value)


def _is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _col_letter(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


class _Table:
    """A sheet's data rows addressed by normalised column code."""

    def __init__(self, sheet: RawSheet, header_row: int, columns: dict[str, int]):
        self.sheet = sheet
        self.header_row = header_row  # 1-based
        self.columns = columns  # code -> 0-based index

    def records(self):
        for offset, cells in enumerate(self.sheet.rows[self.header_row:], start=self.header_row + 1):
            if all(_is_blank(c) for c in cells):
                continue
            yield offset, cells

    def cell(self, cells: list[object], code: str) -> object:
        idx = self.columns.get(code)
        if idx is None or idx >= len(cells):
            return None
        return cells[idx]

    def column_label(self, code: str) -> str:
        idx = self.columns.get(code)
        return code if idx is None else f"{code} ({_col_letter(idx + 1)})"


class _Parser:
    def __init__(self, sheets: list[RawSheet], arrival: date | None, ref: Reference):
        self.sheets: dict[str, RawSheet] = {}
        for s in sheets:
            self.sheets.setdefault(sheet_code(s), s)
        self.arrival = arrival
        self.ref = ref
        self.findings: list[Finding] = []
        self.factor = Decimal(1)
        self.field_rows: dict[str, int] = {}
        self.info_table: _Table | None = None

    # -- helpers

    def add(self, rule: str, vi: str, en: str, **where) -> None:
        self.findings.append(finding(rule, vi, en, **where))

    def table(self, code: str, known: tuple[str, ...]) -> _Table | None:
        sheet = self.sheets.get(code)
        if sheet is None:
            return None
        required = REQUIRED_COLUMNS[code]
        best: tuple[int, dict[str, int]] | None = None
        for i, cells in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
            columns: dict[str, int] = {}
            for j, cell in enumerate(cells):
                key = normalise_header(cell)
                if key in known and key not in columns:
                    columns[key] = j
            if columns and (best is None or len(columns) > len(best[1])):
                best = (i + 1, columns)
                if all(any(c in columns for c in alt) for alt in required):
                    break
        header_row, columns = best if best else (1, {})
        missing = [alt for alt in required if not any(c in columns for c in alt)]
        for alt in missing:
            label = " hoặc ".join(alt)
            self.add(
                "F02",
                f"Sheet '{sheet.name}' thiếu cột bắt buộc '{label}' (dòng tiêu đề {header_row}).",
                f"Sheet '{sheet.name}' lacks the required column '{' or '.join(alt)}' (header row {header_row}).",
                sheet=sheet.name, row=header_row, column=alt[0], expected=" | ".join(alt),
            )
        return None if missing else _Table(sheet, header_row, columns)

    def number(self, table: _Table, row: int, cells: list[object], code: str, money: bool) -> Decimal | None:
        value = table.cell(cells, code)
        sheet = table.sheet
        col_idx = table.columns.get(code)
        where = dict(sheet=sheet.name, row=row, column=table.column_label(code))
        if col_idx is not None and (row, col_idx + 1) in sheet.formula_without_value:
            self.add(
                "F05",
                "Ô công thức chưa có giá trị tính sẵn: hãy mở tệp bằng Excel, tính lại và lưu.",
                "Formula cell without a cached value: open the file in Excel, recalculate and save.",
                value="=…", expected="a number", **where,
            )
            return None
        if _is_blank(value):
            return None
        if isinstance(value, bool) or isinstance(value, (date, datetime, timedelta)):
            parsed = None
        elif isinstance(value, (int, float)):
            parsed = _cell_decimal(value)
        else:
            try:
                parsed = parse_vn_number(str(value))
            except NumberFormatError:
                parsed = None
        if parsed is None or not parsed.is_finite():
            self.add(
                "F05",
                f"'{value}' không phải số hợp lệ: dấu chấm phân cách hàng nghìn (48.331), dấu phẩy thập phân (123,37).",
                f"'{value}' is not a valid number: use '.' for thousands (48.331) and ',' for decimals (123,37).",
                value=value, expected="số theo quy ước Việt Nam / a number, e.g. 48.331 or 123,37", **where,
            )
            return None
        return parsed * self.factor if money else parsed

    @staticmethod
    def text(table: _Table, cells: list[object], code: str) -> str | None:
        value = table.cell(cells, code)
        if _is_blank(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    # -- sheets

    def parse(self) -> Submission | None:
        missing = [s for s in REQUIRED_SHEETS if s not in self.sheets]
        for code in missing:
            self.add(
                "F02",
                f"Thiếu sheet bắt buộc '{code}'.",
                f"Required sheet '{code}' is missing.",
                sheet=code, expected=code,
            )
        meta = self.metadata() if "thong_tin" in self.sheets else None
        tables = {code: self.table(code, cols) for code, cols in (
            ("kinh_phi", FUNDING_COLUMNS), ("ket_qua", OUTCOME_COLUMNS), ("de_an", PROJECT_COLUMNS),
        )}
        if meta is None or any(f.rule in ("F01", "F02") for f in self.findings):
            return None
        letters = {
            t.sheet.name: {code: _col_letter(i + 1) for code, i in t.columns.items()}
            for t in (*tables.values(), self.info_table) if t is not None
        }
        return Submission(
            column_letters=letters,
            info_sheet=self.sheets["thong_tin"].name,
            field_rows=self.field_rows,
            metadata=meta,
            funding=self.funding(tables["kinh_phi"]),
            outcomes=self.outcomes(tables["ket_qua"]),
            projects=self.projects(tables["de_an"]) if tables["de_an"] else [],
        )

    def metadata(self) -> Metadata | None:
        table = self.info_table = self.table("thong_tin", ("truong", "gia_tri"))
        if table is None:
            return None
        fields: dict[str, tuple[int, object]] = {}
        for row, cells in table.records():
            key = normalise_header(table.cell(cells, "truong"))
            if key and key not in fields:
                fields[key] = (row, table.cell(cells, "gia_tri"))
                self.field_rows[key] = row
        sheet = table.sheet.name
        value_col = table.column_label("gia_tri")

        def where(key: str) -> dict:
            return dict(sheet=sheet, row=fields[key][0] if key in fields else None, column=value_col if key in fields else key)

        def get(key: str) -> object:
            return fields.get(key, (None, None))[1]

        money_unit = "trieu_dong"
        raw_unit = get("don_vi_tien")
        if not _is_blank(raw_unit):
            unit = MONEY_UNITS.get(normalise_header(raw_unit))
            if unit is None:
                self.add(
                    "F05",
                    f"Đơn vị tiền '{raw_unit}' không hợp lệ: dùng đồng, nghìn đồng, triệu đồng hoặc tỷ đồng.",
                    f"Money unit '{raw_unit}' is invalid: use đồng, nghìn đồng, triệu đồng or tỷ đồng.",
                    value=raw_unit, expected="đồng | nghìn đồng | triệu đồng | tỷ đồng", **where("don_vi_tien"),
                )
            else:
                money_unit, self.factor = unit

        year = self._year(get("nam"), where("nam"))
        period = self._period(get("ky_bao_cao"), where("ky_bao_cao"))
        report_date = self._report_date(get("ngay_lap"), where("ngay_lap"))
        unit_code = self._unit_code(get("ma_don_vi"))
        name = None if _is_blank(get("ten_don_vi")) else str(get("ten_don_vi")).strip()
        unit_id = self._unit(unit_code, name, year, period, where)

        def personal(key: str) -> str | None:
            v = get(key)
            return None if _is_blank(v) else str(v).strip()

        return Metadata(
            unit_id=unit_id,
            unit_code=unit_code,
            unit_name_in_file=name,
            year=year,
            period=period,
            period_months=period_months(period) if period else None,
            report_date=report_date,
            money_unit=money_unit,
            preparer_name=personal("nguoi_lap"),
            preparer_phone=personal("dien_thoai"),
            preparer_email=personal("email"),
        )

    def _year(self, value: object, where: dict) -> int | None:
        year = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
            year = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            year = int(value.strip())
        if year is None or not 2010 <= year <= 2100:
            self.add(
                "F04",
                f"Năm báo cáo '{_shown(value)}' không hợp lệ (phải từ 2010 đến 2100).",
                f"Report year '{_shown(value)}' is invalid (must be 2010 to 2100).",
                value=_shown(value) if value is not None else None, expected="2010..2100", **where,
            )
            return None
        return year

    def _period(self, value: object, where: dict) -> str | None:
        period = None
        if not _is_blank(value):
            text = str(int(value)) + "T" if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() else str(value)
            period = normalise_period(text)
            if period is None:  # Vietnamese words: "6 tháng", "Cả năm", "Kế hoạch"
                key = normalise_header(text)
                m = re.fullmatch(r"(\d{1,2})_?thang(?:_dau_nam)?", key)
                if m:
                    period = normalise_period(f"{m.group(1)}T")
                elif key in ("ca_nam", "nam"):
                    period = "CN"
                elif key in ("ke_hoach", "ke_hoach_dau_nam"):
                    period = "KH"
        if period is None:
            self.add(
                "F04",
                f"Kỳ báo cáo '{_shown(value)}' không hợp lệ: dùng KH, 1T..11T hoặc CN.",
                f"Report period '{_shown(value)}' is invalid: use KH, 1T..11T or CN.",
                value=_shown(value) if value is not None else None, expected="KH | 1T..11T | CN", **where,
            )
        return period

    def _report_date(self, value: object, where: dict) -> date | None:
        parsed: date | None = None
        if isinstance(value, datetime):
            parsed = value.date()
        elif isinstance(value, date):
            parsed = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _SERIAL_2000 <= value < _SERIAL_2101:
            parsed = _EXCEL_EPOCH + timedelta(days=int(value))
        elif isinstance(value, str):
            m = _DATE_TEXT.match(value.strip())
            if m:
                try:
                    parsed = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
                except ValueError:
                    parsed = None
        if parsed is None:
            self.add(
                "F04",
                "Ngày lập báo cáo thiếu hoặc không hợp lệ: ghi theo dạng dd/mm/yyyy." if _is_blank(value)
                else f"Ngày lập '{value}' không hợp lệ: ghi theo dạng dd/mm/yyyy.",
                "Report date (ngay_lap) is missing or invalid: write it as dd/mm/yyyy." if _is_blank(value)
                else f"Report date '{value}' is invalid: write it as dd/mm/yyyy.",
                value=value, expected="dd/mm/yyyy", **where,
            )
            return None
        if self.arrival is not None and parsed > self.arrival:
            self.add(
                "F04",
                f"Ngày lập {parsed:%d/%m/%Y} muộn hơn ngày nhận tệp {self.arrival:%d/%m/%Y}.",
                f"Report date {parsed:%d/%m/%Y} is later than the arrival date {self.arrival:%d/%m/%Y}.",
                value=f"{parsed:%d/%m/%Y}", expected=f"<= {self.arrival:%d/%m/%Y}", **where,
            )
        return parsed

    @staticmethod
    def _unit_code(value: object) -> str | None:
        if _is_blank(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text.zfill(2) if text.isdigit() and len(text) < 2 else text

    def _unit(self, code: str | None, name: str | None, year: int | None, period: str | None, where) -> str | None:
        era = era_for(year, period) if year and period else None
        era_text = "" if era is None else (
            " trong giai đoạn 63 tỉnh (đến 30/06/2025)" if era == 63 else " trong giai đoạn 34 tỉnh (từ 01/07/2025)"
        )
        era_en = "" if era is None else (
            " among the 63 provinces (until 2025-06-30)" if era == 63 else " among the 34 provinces (from 2025-07-01)"
        )
        if code is None and name is None:
            self.add(
                "F03",
                "Thiếu mã đơn vị (ma_don_vi) và tên đơn vị (ten_don_vi).",
                "Neither the unit code (ma_don_vi) nor the unit name (ten_don_vi) is given.",
                expected="ma_don_vi hoặc/or ten_don_vi", **where("ma_don_vi"),
            )
            return None
        if era is None:
            return None  # F04 already said why the era is unknown
        if code is not None:
            unit = self.ref.by_code.get((era, code))
            if unit is None:
                self.add(
                    "F03",
                    f"Mã đơn vị '{code}' không tồn tại{era_text}.",
                    f"Unit code '{code}' does not exist{era_en}.",
                    value=code, expected="mã tỉnh theo danh mục / a province code of the period's era", **where("ma_don_vi"),
                )
                return None
            if name is not None and unit not in self.ref.units_named(name, era):
                self.add(
                    "W05",
                    f"Tên đơn vị '{name}' không khớp với mã '{code}' ({unit.name}).",
                    f"Unit name '{name}' does not match code '{code}' ({unit.name}).",
                    value=name, expected=unit.name, **where("ten_don_vi"),
                )
            return unit.unit_id
        matches = self.ref.units_named(name, era)
        if len(matches) != 1:
            self.add(
                "F03",
                f"Không xác định được đơn vị '{name}'{era_text}: hãy ghi mã đơn vị (ma_don_vi).",
                f"Unit '{name}' cannot be identified{era_en}: give the unit code (ma_don_vi).",
                value=name, expected="tên tỉnh theo danh mục / a province name of the period's era", **where("ten_don_vi"),
            )
            return None
        return matches[0].unit_id

    def funding(self, table: _Table | None) -> list[FundingRow]:
        rows = []
        if table is None:
            return rows
        for row, cells in table.records():
            raw_source = self.text(table, cells, "nguon_kinh_phi")
            values = [self.number(table, row, cells, c, money=c != "so_de_an") for c in FUNDING_COLUMNS[1:]]
            if raw_source is None and all(v is None for v in values):
                continue
            if all(v is None for v in values) and not any(
                (row, table.columns[c] + 1) in table.sheet.formula_without_value for c in FUNDING_COLUMNS[1:] if c in table.columns
            ):
                continue  # a source row left empty: not reported
            source = self.ref.funding_source_code(raw_source) if raw_source else None
            rows.append(FundingRow(table.sheet.name, row, source or (raw_source or ""), *values))
        return rows

    def outcomes(self, table: _Table | None) -> list[OutcomeRow]:
        rows = []
        if table is None:
            return rows
        for row, cells in table.records():
            code_text = self.text(table, cells, "ma_chi_tieu")
            name_text = self.text(table, cells, "chi_tieu")
            target = self.number(table, row, cells, "ke_hoach", money=False)
            actual = self.number(table, row, cells, "thuc_hien", money=False)
            if target is None and actual is None:
                continue  # indicator listed but not reported
            code = (self.ref.indicator_code(code_text) if code_text else None) or (
                self.ref.indicator_code(name_text) if name_text else None
            )
            rows.append(OutcomeRow(
                table.sheet.name, row, code or (code_text or name_text or ""),
                self.text(table, cells, "don_vi_tinh"), target, actual,
            ))
        return rows

    def projects(self, table: _Table) -> list[ProjectRow]:
        rows = []
        for row, cells in table.records():
            raw_source = self.text(table, cells, "nguon_kinh_phi")
            source = self.ref.funding_source_code(raw_source) if raw_source else None
            rows.append(ProjectRow(
                table.sheet.name, row,
                self.text(table, cells, "ma_de_an") or "",
                self.text(table, cells, "ten_de_an"),
                source or (raw_source or ""),
                self.text(table, cells, "noi_dung"),
                self.number(table, row, cells, "kinh_phi_duyet", money=True),
                self.number(table, row, cells, "kinh_phi_thuc_hien", money=True),
                self.text(table, cells, "trang_thai"),
                self.number(table, row, cells, "so_co_so_thu_huong", money=False),
            ))
        return rows
