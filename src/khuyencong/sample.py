"""Deterministic sample landing zone, and reusable writers for submission files.

`write_sample(out_dir, *, seed=SEED) -> list[Path]` writes
`out_dir/<arrival YYYY-MM-DD>/<file name>`: every province's reports for
2023 `CN`; 2024 `KH`, `6T`, `9T`, `CN`; 2025 `KH`, `6T` (63 provinces) and
2025 `9T` (34 provinces), plus resubmissions, one byte-identical duplicate,
deliberately invalid files (`INVALID_SAMPLE_FILES`, path -> fatal rule) and
files that load with a warning (`WARNING_SAMPLE_FILES`, path -> warning rule).
Paths in these dicts are relative to `out_dir`, with `/` separators.
The same seed gives the same bytes, whatever the date, locale or platform.

2024 is calibrated to the published figures: the KCQG start-of-year plan of the
63 provinces sums to exactly 130.000 triệu đồng, and the KCQG amount allocated by
30/6/2024 (6T reports) to exactly 44.980 triệu đồng (34,6%).

Writers (public, for tests that need tailored files)
----------------------------------------------------
`write_xlsx_report(path, report, style=Style()) -> None`
`write_zip_report(path, report, encoding="utf-8-sig", style=Style()) -> None`
    `encoding`: "utf-8-sig" (BOM), "utf-8", "utf-16" (BOM) or "cp1258"
    (Windows-1258, Vietnamese tone marks written as combining characters).

`Report` holds what goes into the file, already in the file's money unit:

    Report(
        metadata=[("ma_don_vi", "01"), ("nam", 2024), ("ky_bao_cao", "6T"),
                  ("ngay_lap", date(2024, 7, 10)), ("don_vi_tien", "triệu đồng")],
        kinh_phi=[{"nguon_kinh_phi": "KCQG", "ke_hoach_dau_nam": 1500, "thuc_hien": "1.234,5"}],
        ket_qua=[{"ma_chi_tieu": "dao_tao_nghe", "ke_hoach": 300, "thuc_hien": 120}],
        de_an=None,                      # None: no such sheet / CSV
    )

- `metadata`: (field, value) rows of `thong_tin`, any values (str, int, float,
  Decimal, date, datetime, None); `None` instead of the list drops the sheet.
- `kinh_phi`, `ket_qua`, `de_an`: rows as dicts keyed by column code (or any
  custom column name, written verbatim); `None` drops the sheet.
- `columns`: optional explicit column list per sheet code (order, subset, or
  extra names); default: the known columns present in the rows, spec order.
- `sheet_names`: optional sheet title / CSV base name per sheet code.
- `extra_sheets`: more sheets written verbatim, name -> rows (first row = header).

Cell values: `str` is written as text verbatim (so `"1.5"` stays the text
`1.5`); numbers (int, float, Decimal) follow the `Style`: numeric xlsx cells,
or Vietnamese number text (`1.234.567,5`) when `numbers_as_text` and always in
CSV; `date`s are date cells in xlsx (text `dd/mm/yyyy` with `date_as_text`, and
always in CSV). Headers are Vietnamese labels (`Kế hoạch đầu năm`) with
`Style(labels=True)`, codes (`ke_hoach_dau_nam`) otherwise.

`xlsx_bytes(report, style)` and `zip_bytes(report, encoding, style)` return the
bytes instead of writing them. `SUPERSEDED_SAMPLE_FILES` (first version ->
corrected resubmission) and `DUPLICATE_SAMPLE_FILES` (byte-identical copy ->
original) describe the other extra files.

`build_sample(seed)` returns the plan (`SampleFile`s with the semantic figures in
million VND) that `write_sample` writes, for tests that check totals.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

from khuyencong import normalise
from khuyencong.ingest.template import (
    DATE_FORMAT,
    FUNDING_COLUMNS,
    LABELS,
    NUMBER_FORMAT,
    SHEET_COLUMNS,
    SHEET_LABELS,
    deterministic_zip,
    load_indicators,
    save_workbook_deterministic,
)
from khuyencong.periods import deadline, era_for, period_end
from khuyencong.reference import seed_rows

SEED = 20240630
Cell = str | int | float | Decimal | date | datetime | None

# ============================================================ file content model


@dataclass
class Report:
    """The content of one submission file, in the file's own money unit (see module docstring)."""

    metadata: list[tuple[str, Cell]] | None = field(default_factory=list)
    kinh_phi: list[dict[str, Cell]] | None = field(default_factory=list)
    ket_qua: list[dict[str, Cell]] | None = field(default_factory=list)
    de_an: list[dict[str, Cell]] | None = None
    columns: dict[str, list[str]] = field(default_factory=dict)
    sheet_names: dict[str, str] = field(default_factory=dict)
    extra_sheets: dict[str, list[list[Cell]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Style:
    """How a Report is rendered."""

    labels: bool = True  # Vietnamese header labels (False: column codes)
    numbers_as_text: bool = False  # xlsx: numbers as Vietnamese text; CSV numbers are always text
    dash_for_zero: bool = False  # 0 written as "-"
    date_as_text: bool = False  # xlsx: dates as "dd/mm/yyyy" text
    sheet_labels: bool = False  # xlsx: sheet titles "Kinh phí" instead of "kinh_phi"
    shuffle_columns: int | None = None  # seed for a deterministic column order per sheet
    quote_all: bool = False  # CSV: quote every field
    timestamp: datetime = datetime(2020, 1, 1)  # xlsx document created/modified


MONEY_COLUMNS = {"ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "kinh_phi_duyet", "kinh_phi_thuc_hien"}
COUNT_COLUMNS = {"so_de_an", "so_co_so_thu_huong", "ke_hoach"}
_DATA_SHEETS = ("kinh_phi", "ket_qua", "de_an")


def format_vn_number(value: float | Decimal, dash_for_zero: bool = False) -> str:
    """Vietnamese number text (`1.234.567,5`); `-` for zero when asked, as some provinces write it."""
    d = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if d == 0 and dash_for_zero:
        return "-"
    return normalise.format_vn_number(d)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _plain_number(value: float | Decimal) -> float:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _columns(report: Report, code: str, rows: list[dict[str, Cell]], style: Style) -> list[str]:
    if code in report.columns:
        cols = list(report.columns[code])
    else:
        present: list[str] = []
        for row in rows:
            for key in row:
                if key not in present:
                    present.append(key)
        known = [c for c in SHEET_COLUMNS.get(code, ()) if c in present]
        cols = known + [c for c in present if c not in known]
    if style.shuffle_columns is not None:
        random.Random(f"{style.shuffle_columns}:{code}").shuffle(cols)
    return cols


def _tables(report: Report, style: Style) -> list[tuple[str, str, list[str], list[list[Cell]]]]:
    """(sheet code, written name, header cells, rows) for every sheet of the report."""
    out = []
    if report.metadata is not None:
        header = [LABELS["truong"], LABELS["gia_tri"]] if style.labels else ["truong", "gia_tri"]
        out.append(("thong_tin", report.sheet_names.get("thong_tin", "thong_tin"), header,
                    [[k, v] for k, v in report.metadata]))
    for code in _DATA_SHEETS:
        rows = getattr(report, code)
        if rows is None:
            continue
        cols = _columns(report, code, rows, style)
        header = [LABELS.get(c, c) if style.labels else c for c in cols]
        out.append((code, report.sheet_names.get(code, code), header, [[r.get(c) for c in cols] for r in rows]))
    for name, rows in report.extra_sheets.items():
        out.append(("", name, list(rows[0]) if rows else [], [list(r) for r in rows[1:]]))
    return out


def write_xlsx_report(path: Path, report: Report, style: Style = Style()) -> None:
    """Write `report` as an .xlsx workbook at `path` (deterministic bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(xlsx_bytes(report, style))


def xlsx_bytes(report: Report, style: Style = Style()) -> bytes:
    """The bytes of `report` as an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "Sở Công Thương"
    wb.properties.lastModifiedBy = "Trung tâm Khuyến công"
    bold = Font(bold=True)
    for code, name, header, rows in _tables(report, style):
        if style.sheet_labels and code in SHEET_LABELS and code not in report.sheet_names:
            name = SHEET_LABELS[code]
        ws = wb.create_sheet(name)
        if code == "thong_tin" and header == ["truong", "gia_tri"]:
            header = [LABELS["truong"], LABELS["gia_tri"]]  # the xlsx header row is always labelled
        for c, text in enumerate(header, start=1):
            ws.cell(row=1, column=c, value=text).font = bold
            ws.column_dimensions[ws.cell(row=1, column=c).column_letter].width = 16 if c > 1 else 20
        for r, cells in enumerate(rows, start=2):
            for c, value in enumerate(cells, start=1):
                col_code = _code_of(header[c - 1]) if c - 1 < len(header) else ""
                cell = ws.cell(row=r, column=c)
                if value is None:
                    continue
                if isinstance(value, (date, datetime)):
                    if style.date_as_text:
                        cell.value = value.strftime("%d/%m/%Y")
                    else:
                        cell.value = value
                        cell.number_format = DATE_FORMAT
                elif _is_number(value):
                    if code == "thong_tin":
                        cell.value = _plain_number(value)
                    elif style.numbers_as_text or (style.dash_for_zero and value == 0):
                        cell.value = format_vn_number(value, style.dash_for_zero)
                    else:
                        cell.value = _plain_number(value)
                        if col_code in MONEY_COLUMNS or col_code in COUNT_COLUMNS:
                            cell.number_format = NUMBER_FORMAT
                else:
                    cell.value = str(value)
                    cell.data_type = "s"  # never a formula, even when it starts with "="
        ws.freeze_panes = "A2"
    if not wb.worksheets:
        wb.create_sheet("Sheet1")
    return save_workbook_deterministic(wb, None, style.timestamp)


def _code_of(label: str) -> str:
    for code, text in LABELS.items():
        if text == label or code == label:
            return code
    return str(label)


_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")


def cp1258_form(text: str) -> str:
    """Vietnamese text as Windows-1258 stores it: base letters precomposed, tone marks combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tones = [c for c in decomposed if c in _TONE_MARKS]
        if not tones:
            out.append(ch)
            continue
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONE_MARKS))
        out.append(base + "".join(tones))
    return "".join(out)


def _csv_text(value: Cell, style: Style, plain_numbers: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.strftime("%d/%m/%Y")
    if _is_number(value):
        if plain_numbers:
            return str(_plain_number(value))
        return format_vn_number(value, style.dash_for_zero)
    return str(value)


def encode_text(text: str, encoding: str) -> bytes:
    if encoding.lower().replace("-", "") in ("cp1258", "windows1258"):
        return cp1258_form(text).encode("cp1258")
    return text.encode(encoding)


def write_zip_report(path: Path, report: Report, encoding: str = "utf-8-sig", style: Style = Style()) -> None:
    """Write `report` as a .zip of `<sheet>.csv` files at `path` (deterministic bytes)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(zip_bytes(report, encoding, style))


def zip_bytes(report: Report, encoding: str = "utf-8-sig", style: Style = Style()) -> bytes:
    """The bytes of `report` as a .zip of `<sheet>.csv` files."""
    entries = []
    for code, name, header, rows in _tables(report, style):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_ALL if style.quote_all else csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for cells in rows:
            writer.writerow([_csv_text(v, style, plain_numbers=code == "thong_tin") for v in cells])
        entries.append((f"{name}.csv", encode_text(buf.getvalue(), encoding)))
    return deterministic_zip(entries)


# ============================================================ semantic model (million VND)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    era: int
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class FundingFigures:
    source: str  # KCQG, KCDP, DOI_UNG, KHAC
    plan: Decimal
    plan_adjusted: Decimal | None
    allocated: Decimal | None
    executed: Decimal | None
    projects: int | None


@dataclass(frozen=True)
class OutcomeFigures:
    code: str
    name: str
    unit: str
    target: int
    actual: int | None


@dataclass(frozen=True)
class ProjectFigures:
    code: str
    name: str
    source: str
    activity: str
    approved: Decimal
    executed: Decimal | None
    status: str
    beneficiaries: int


@dataclass(frozen=True)
class ReportFigures:
    """One report as intended, money in million VND."""

    unit: Unit
    year: int
    period: str
    report_date: date
    funding: tuple[FundingFigures, ...]
    outcomes: tuple[OutcomeFigures, ...]
    projects: tuple[ProjectFigures, ...] | None  # None: no de_an sheet

    def funding_by_source(self) -> dict[str, FundingFigures]:
        return {f.source: f for f in self.funding}


@dataclass(frozen=True)
class Rendering:
    """How the figures are put into a file."""

    container: str = "xlsx"  # xlsx | zip
    encoding: str = "utf-8-sig"  # zip only
    style: Style = Style()
    money_unit: str = "triệu đồng"
    write_money_unit: bool = True
    identify: str = "both"  # both | code | name | name_blank_code
    name_text: str | None = None  # the ten_don_vi written (default: the unit's name)
    source_labels: bool = True  # KCĐP / Đối ứng / Khác instead of KCDP / DOI_UNG / KHAC
    indicator_names_only: bool = False  # ket_qua without ma_chi_tieu
    template_rows: bool = False  # filled-in template: every source and indicator listed, unreported ones empty
    preparer: tuple[str, str, str] = ("", "", "")


@dataclass
class SampleFile:
    relpath: str  # "<YYYY-MM-DD>/<file name>"
    role: str  # main | superseded | duplicate | invalid
    rule: str | None  # fatal or warning rule the file is meant to trigger
    figures: ReportFigures | None
    rendering: Rendering | None
    data: bytes | None = None  # filled by write_sample / render
    mutate: str | None = None  # name of the deliberate defect
    note: str = ""

    @property
    def arrival(self) -> date:
        return date.fromisoformat(self.relpath.split("/", 1)[0])


_MONEY_DIVISORS = {"đồng": Decimal("0.000001"), "nghìn đồng": Decimal("0.001"), "triệu đồng": Decimal(1), "tỷ đồng": Decimal(1000)}
_SOURCE_LABELS = {"KCQG": "KCQG", "KCDP": "KCĐP", "DOI_UNG": "Đối ứng", "KHAC": "Khác"}


def to_report(fig: ReportFigures, r: Rendering) -> Report:
    """The file content of `fig` rendered with `r` (money converted to `r.money_unit`)."""
    div = _MONEY_DIVISORS[r.money_unit]

    def money(v: Decimal | None) -> Decimal | None:
        return None if v is None else (v / div).normalize() if v else Decimal(0)

    name = r.name_text or fig.unit.name
    meta: list[tuple[str, Cell]] = []
    if r.identify in ("both", "code"):
        meta.append(("ma_don_vi", fig.unit.code))
    elif r.identify == "name_blank_code":
        meta.append(("ma_don_vi", None))
    if r.identify in ("both", "name", "name_blank_code"):
        meta.append(("ten_don_vi", name))
    meta += [("nam", fig.year), ("ky_bao_cao", fig.period),
             ("ngay_lap", fig.report_date if r.container == "xlsx" else fig.report_date.strftime("%d/%m/%Y"))]
    if r.write_money_unit:
        meta.append(("don_vi_tien", r.money_unit))
    person, phone, email = r.preparer
    meta += [("nguoi_lap", person), ("dien_thoai", phone), ("email", email)]

    def src(code: str) -> str:
        return _SOURCE_LABELS[code] if r.source_labels else code

    funding: list[dict[str, Cell]] = [{
        "nguon_kinh_phi": src(f.source),
        "ke_hoach_dau_nam": money(f.plan),
        "ke_hoach_dieu_chinh": money(f.plan_adjusted),
        "da_phan_bo": money(f.allocated),
        "thuc_hien": money(f.executed),
        "so_de_an": f.projects,
    } for f in fig.funding]
    if r.template_rows:  # the template's other source rows, left empty
        have = {f.source for f in fig.funding}
        funding += [dict.fromkeys(FUNDING_COLUMNS) | {"nguon_kinh_phi": src(s)} for s in _SOURCE_LABELS if s not in have]
    by_code = {o.code: (o.name, o.unit, o.target, o.actual) for o in fig.outcomes}
    if r.template_rows:  # every catalogue indicator, unreported ones empty
        listed = [(code, by_code.get(code, (name, unit, None, None))) for code, name, unit in load_indicators()]
    else:
        listed = list(by_code.items())
    outcomes = []
    for code, (name, unit, target, actual) in listed:
        row: dict[str, Cell] = {} if r.indicator_names_only else {"ma_chi_tieu": code}
        row.update({"chi_tieu": name, "don_vi_tinh": unit, "ke_hoach": target, "thuc_hien": actual})
        outcomes.append(row)
    projects = None if fig.projects is None else [{
        "ma_de_an": p.code, "ten_de_an": p.name, "nguon_kinh_phi": src(p.source), "noi_dung": p.activity,
        "kinh_phi_duyet": money(p.approved), "kinh_phi_thuc_hien": money(p.executed),
        "trang_thai": p.status, "so_co_so_thu_huong": p.beneficiaries,
    } for p in fig.projects]
    return Report(metadata=meta, kinh_phi=funding, ket_qua=outcomes, de_an=projects)


FUNDING_ORDER = FUNDING_COLUMNS


def render(sf: SampleFile) -> bytes:
    """The bytes of one sample file."""
    if sf.data is not None:
        return sf.data
    assert sf.figures is not None and sf.rendering is not None
    report = to_report(sf.figures, sf.rendering)
    if sf.mutate:
        _MUTATIONS[sf.mutate](report, sf)
    r = sf.rendering
    if r.container == "xlsx":
        return xlsx_bytes(report, r.style)
    return zip_bytes(report, r.encoding, r.style)


# ------------------------------------------------------------ deliberate defects


def _row_of(rows: list[dict[str, Cell]], key: str, value: str) -> dict[str, Cell]:
    for row in rows:
        if row.get(key) in (value, _SOURCE_LABELS.get(value)):
            return row
    raise KeyError(value)


def _m_missing_kinh_phi(report: Report, sf: SampleFile) -> None:
    report.kinh_phi = None


def _m_missing_thuc_hien(report: Report, sf: SampleFile) -> None:
    report.columns["kinh_phi"] = [c for c in FUNDING_ORDER if c != "thuc_hien"]


def _m_unknown_code(report: Report, sf: SampleFile) -> None:
    report.metadata = [("ma_don_vi", "99") if k == "ma_don_vi" else (k, v) for k, v in report.metadata if k != "ten_don_vi"]


def _m_period_13t(report: Report, sf: SampleFile) -> None:
    report.metadata = [(k, "13T" if k == "ky_bao_cao" else v) for k, v in report.metadata]


def _m_date_after_arrival(report: Report, sf: SampleFile) -> None:
    late = sf.arrival + timedelta(days=7)
    report.metadata = [(k, late if k == "ngay_lap" else v) for k, v in report.metadata]


def _m_english_decimal(report: Report, sf: SampleFile) -> None:
    row = _row_of(report.kinh_phi, "nguon_kinh_phi", "KCDP")
    row["thuc_hien"] = f"{Decimal(str(row['thuc_hien'])).quantize(Decimal('0.1'))}"  # "1234.5": `.` as decimal mark


def _m_negative(report: Report, sf: SampleFile) -> None:
    _row_of(report.kinh_phi, "nguon_kinh_phi", "KCDP")["thuc_hien"] = -120


def _m_unknown_source(report: Report, sf: SampleFile) -> None:
    report.kinh_phi.append({"nguon_kinh_phi": "KCTW", "ke_hoach_dau_nam": 200, "da_phan_bo": 100, "thuc_hien": 80})


def _m_unknown_indicator(report: Report, sf: SampleFile) -> None:
    report.ket_qua.append({"ma_chi_tieu": "xuat_khau", "chi_tieu": "Kim ngạch xuất khẩu sản phẩm CNNT",
                           "don_vi_tinh": "triệu USD", "ke_hoach": 12, "thuc_hien": 9})


def _m_duplicate_kcqg(report: Report, sf: SampleFile) -> None:
    row = dict(_row_of(report.kinh_phi, "nguon_kinh_phi", "KCQG"))
    report.kinh_phi.insert(1, row)


_MUTATIONS = {
    "missing_kinh_phi": _m_missing_kinh_phi,
    "missing_thuc_hien": _m_missing_thuc_hien,
    "unknown_code": _m_unknown_code,
    "period_13t": _m_period_13t,
    "date_after_arrival": _m_date_after_arrival,
    "english_decimal": _m_english_decimal,
    "negative": _m_negative,
    "unknown_source": _m_unknown_source,
    "unknown_indicator": _m_unknown_indicator,
    "duplicate_kcqg": _m_duplicate_kcqg,
}

# ============================================================ the special files (fixed paths)

# (path, rule, mutation or raw kind, unit_id, year, period, container)
_INVALID_SPECS: tuple[tuple[str, str, str, str | None, int, str, str], ...] = (
    ("2024-07-08/Bao cao 6T 2024 - Ha Giang.xls", "F01", "raw_xls", None, 2024, "6T", "bytes"),
    ("2024-10-09/BC_khuyen_cong_9T2024_Soc_Trang.zip", "F01", "raw_truncated_zip", "P63-94", 2024, "9T", "zip"),
    ("2024-03-20/Bao cao KH 2024 - Lai Chau.xlsx", "F02", "missing_kinh_phi", "P63-12", 2024, "KH", "xlsx"),
    ("2025-07-09/BC_KC_6T2025_Ben_Tre.zip", "F02", "missing_thuc_hien", "P63-83", 2025, "6T", "zip"),
    ("2024-10-11/Bao cao 9T 2024 - Hoa Binh.xlsx", "F03", "unknown_code", "P63-17", 2024, "9T", "xlsx"),
    ("2025-10-10/Bao cao 9T 2025 - Ha Giang.xlsx", "F03", "era63_unit_in_era34", "P63-02", 2025, "9T", "xlsx"),
    ("2024-07-05/Bao cao 6T 2024 - Thai Binh.xlsx", "F04", "period_13t", "P63-34", 2024, "6T", "xlsx"),
    ("2025-03-18/Bao cao KH 2025 - Quang Tri.xlsx", "F04", "date_after_arrival", "P63-45", 2025, "KH", "xlsx"),
    ("2024-01-22/BC_khuyen_cong_CN2023_Kon_Tum.zip", "F05", "english_decimal", "P63-62", 2023, "CN", "zip"),
    ("2024-10-08/Bao cao 9T 2024 - Binh Phuoc.xlsx", "F05", "negative", "P63-70", 2024, "9T", "xlsx"),
    ("2024-07-11/Bao cao 6T 2024 - Hau Giang.xlsx", "F06", "unknown_source", "P63-93", 2024, "6T", "xlsx"),
    ("2025-01-20/BC_KC_CN2024_Tra_Vinh.zip", "F06", "unknown_indicator", "P63-84", 2024, "CN", "zip"),
    ("2025-07-10/Bao cao 6T 2025 - Gia Lai.xlsx", "F07", "duplicate_kcqg", "P63-64", 2025, "6T", "xlsx"),
)
INVALID_SAMPLE_FILES: dict[str, str] = {path: rule for path, rule, *_ in _INVALID_SPECS}

# main versions that load with a warning: path -> (rule, unit_id, year, period, container)
_WARNING_SPECS: dict[str, tuple[str, str, int, str, str]] = {
    "2024-01-26/Bao cao CN 2023 - Lang Son.xlsx": ("W01", "P63-20", 2023, "CN", "xlsx"),
    "2024-10-10/Bao cao 9T 2024 - Quang Nam.xlsx": ("W04", "P63-49", 2024, "9T", "xlsx"),
    "2024-07-10/Bao cao 6T 2024 - Bac Kan.xlsx": ("W05", "P63-06", 2024, "6T", "xlsx"),
    "2024-02-06/BC_khuyen_cong_CN2023_Ca_Mau.zip": ("W06", "P63-96", 2023, "CN", "zip"),
    "2024-07-22/Bao cao 6T 2024 - Dien Bien.xlsx": ("W06", "P63-11", 2024, "6T", "xlsx"),
    "2025-04-08/Bao cao KH 2025 - Soc Trang.xlsx": ("W06", "P63-94", 2025, "KH", "xlsx"),
    "2025-10-20/Bao cao 9T 2025 - Lam Dong.xlsx": ("W06", "P34-68", 2025, "9T", "xlsx"),
}
WARNING_SAMPLE_FILES: dict[str, str] = {path: spec[0] for path, spec in _WARNING_SPECS.items()}

# resubmissions: (unit_id, year, period) -> (first version, corrected version); both valid
_RESUBMISSIONS: dict[tuple[str, int, str], tuple[str, str]] = {
    ("P63-01", 2024, "6T"): ("2024-07-05/Bao cao KC 6 thang 2024 - Ha Noi.xlsx",
                             "2024-07-12/Bao cao KC 6 thang 2024 - Ha Noi (dieu chinh).xlsx"),
    ("P63-40", 2024, "CN"): ("2025-01-15/BC_khuyen_cong_CN2024_Nghe_An.zip",
                             "2025-01-24/BC_khuyen_cong_CN2024_Nghe_An_bo_sung.zip"),
    ("P63-92", 2024, "9T"): ("2024-10-07/Bao cao 9T 2024 - Can Tho.xlsx",
                             "2024-10-11/Bao cao 9T 2024 - Can Tho (lan 2).xlsx"),
    ("P63-48", 2025, "6T"): ("2025-07-04/Báo cáo khuyến công 6 tháng 2025 - Đà Nẵng.xlsx",
                             "2025-07-09/Báo cáo khuyến công 6 tháng 2025 - Đà Nẵng (sửa).xlsx"),
    ("P34-79", 2025, "9T"): ("2025-10-06/KC_2025_9T_TP_HCM.zip", "2025-10-13/KC_2025_9T_TP_HCM_v2.zip"),
    ("P63-38", 2023, "CN"): ("2024-01-12/Bao cao CN 2023 - Thanh Hoa.xlsx",
                             "2024-01-19/Bao cao CN 2023 - Thanh Hoa (ban chinh thuc).xlsx"),
}
SUPERSEDED_SAMPLE_FILES: dict[str, str] = {old: new for old, new in _RESUBMISSIONS.values()}

# units identified by name only, with the spellings provinces use (aliases in unit_aliases.csv)
_NAME_ONLY: dict[tuple[str, int, str], str] = {
    ("P63-40", 2024, "CN"): "Tỉnh Nghệ An",
    ("P34-79", 2025, "9T"): "TP HCM",
    ("P63-79", 2024, "KH"): "TP HCM",
    ("P63-46", 2024, "6T"): "Thừa Thiên - Huế",
    ("P34-46", 2025, "9T"): "TP. Huế",
}

# byte-identical copy sent again: duplicate path -> original path
_DUPLICATE_OF = ("P63-22", 2024, "9T")
DUPLICATE_SAMPLE_FILES: dict[str, str] = {
    "2024-10-14/Bao cao 9T 2024 - Quang Ninh.xlsx": "2024-10-09/Bao cao 9T 2024 - Quang Ninh.xlsx",
}

# ============================================================ the generator

PERIODS_BY_YEAR: dict[int, tuple[str, ...]] = {2023: ("CN",), 2024: ("KH", "6T", "9T", "CN"), 2025: ("KH", "6T", "9T")}
NATIONAL_KCQG_PLAN_2024 = Decimal(130_000)
NATIONAL_KCQG_ALLOCATED_2024_6T = Decimal(44_980)
_REGION_WEIGHT = {"BAC": 1.3, "MTTN": 1.0, "NAM": 0.8}
_ONE = Decimal(1)
_MILLI = Decimal("0.001")
_INDICATOR_BASE = {  # typical annual target of a mid-sized province
    "dao_tao_nghe": 320, "dao_tao_quan_ly": 110, "mo_hinh_trinh_dien": 3, "ho_tro_may_moc": 32, "hoi_cho": 2,
    "luot_tham_gia_hoi_cho": 70, "thuong_hieu": 8, "thanh_lap_doanh_nghiep": 4, "tu_van_du_an": 6,
    "tu_van_doanh_thu": 650, "san_pham_tieu_bieu": 15, "san_xuat_sach_hon": 5, "cum_cong_nghiep": 2,
}
_ACTIVITIES = (
    ("đào tạo", "Đào tạo nghề {p} cho lao động nông thôn"),
    ("trình diễn", "Xây dựng mô hình trình diễn kỹ thuật sản xuất {p}"),
    ("máy móc thiết bị", "Hỗ trợ ứng dụng máy móc thiết bị tiên tiến trong chế biến {p}"),
    ("hội chợ", "Tổ chức hội chợ, triển lãm hàng CNNT tiêu biểu ({p})"),
    ("thương hiệu", "Hỗ trợ xây dựng, đăng ký thương hiệu sản phẩm {p}"),
    ("tư vấn", "Tư vấn phát triển cơ sở sản xuất {p}"),
)
_PRODUCTS = ("chè", "gạo", "cà phê", "hạt điều", "mây tre đan", "gốm", "đồ gỗ", "thủy sản", "nước mắm", "miến dong",
             "rượu", "dệt thổ cẩm", "muối", "bánh tráng", "gạch không nung", "cơ khí nhỏ", "thạch cao", "dược liệu")
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Thanh", "Quang")
_GIVEN = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phương",
          "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Yến")
_PERIOD_WORDS = {"KH": ("ke hoach", "kế hoạch"), "6T": ("6 thang", "6 tháng"), "9T": ("9 thang", "9 tháng"),
                 "CN": ("ca nam", "cả năm")}


def _q(value: float | Decimal, step: Decimal = _ONE) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(step, rounding=ROUND_HALF_UP)


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if not unicodedata.combining(c))


def _short_name(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


@dataclass
class _Profile:
    unit: Unit
    weight: float
    kcdp_ratio: float
    doi_ung: bool
    khac: bool
    indicators: tuple[str, ...]
    scale: float


@dataclass
class _UnitYear:
    plan: dict[str, Decimal]
    adjusted: dict[str, Decimal]  # from 9T on
    has_projects: bool
    project_counts: dict[str, int | None]
    cum: dict[str, dict[str, tuple[Decimal | None, Decimal]]]  # period -> source -> (allocated, executed)
    targets: dict[str, int]
    actual: dict[str, dict[str, int]]  # period -> indicator -> actual
    projects: list[tuple[str, str, str, str, Decimal, int]]  # code, name, source, activity, approved, beneficiaries


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        units = [Unit(r["unit_id"], int(r["era"]), r["code"], r["name"], r["region_code"]) for r in seed_rows("units.csv")]
        self.units = {u.unit_id: u for u in units}
        self.u63 = [u for u in units if u.era == 63]
        self.u34 = [u for u in units if u.era == 34]
        self.successors: dict[str, list[str]] = {}
        for r in seed_rows("unit_succession_2025.csv"):
            self.successors.setdefault(r["to_unit_id"], []).append(r["from_unit_id"])
        aliases: dict[str, set[str]] = {}
        for r in seed_rows("unit_aliases.csv"):
            aliases.setdefault(r["alias"], set()).add(r["unit_id"])
        self.aliases: dict[str, list[str]] = {}
        for alias, ids in sorted(aliases.items()):
            for era in (63, 34):
                in_era = [i for i in ids if self.units[i].era == era]
                if len(in_era) == 1:
                    self.aliases.setdefault(in_era[0], []).append(alias)
        self.indicators = {code: (name, unit) for code, name, unit in load_indicators()}
        self.profiles: dict[str, _Profile] = {}
        self.years: dict[tuple[str, int], _UnitYear] = {}

    # ---------------------------------------------------------------- figures

    def build_profiles(self) -> None:
        rng = self.rng
        codes = list(self.indicators)
        for u in self.u63:
            k = rng.randint(5, 10)
            chosen = {"dao_tao_nghe"} | set(rng.sample(codes[1:], k - 1))
            weight = _REGION_WEIGHT[u.region] * rng.uniform(0.6, 1.5)
            self.profiles[u.unit_id] = _Profile(
                unit=u, weight=weight, kcdp_ratio=rng.uniform(1.0, 2.0), doi_ung=rng.random() < 0.45,
                khac=rng.random() < 0.2, indicators=tuple(c for c in codes if c in chosen), scale=weight / 1.05,
            )

    def build_plans(self) -> None:
        rng = self.rng
        ids = [u.unit_id for u in self.u63]
        total_w = sum(self.profiles[i].weight for i in ids)
        kcqg24 = {i: _q(float(NATIONAL_KCQG_PLAN_2024) * self.profiles[i].weight / total_w / 10) * 10 for i in ids}
        largest = max(ids, key=lambda i: (kcqg24[i], i))
        kcqg24[largest] += NATIONAL_KCQG_PLAN_2024 - sum(kcqg24.values())
        for uid in ids:
            p = self.profiles[uid]
            kcqg = {2024: kcqg24[uid], 2023: _q(float(kcqg24[uid]) / rng.uniform(0.9, 1.15) / 10) * 10,
                    2025: _q(float(kcqg24[uid]) * rng.uniform(0.92, 1.12) / 10) * 10}
            for year in (2023, 2024, 2025):
                plan = {"KCQG": kcqg[year], "KCDP": _q(float(kcqg[year]) * p.kcdp_ratio * rng.uniform(0.94, 1.06))}
                if p.doi_ung:
                    plan["DOI_UNG"] = _q(float(kcqg[year]) * rng.uniform(0.35, 0.5) * (1 + (year - 2023) * 0.05))
                if p.khac:
                    plan["KHAC"] = _q(rng.uniform(80, 110) * p.scale * (1 + (year - 2023) * 0.04))
                adjusted = {}
                if rng.random() < 0.22:
                    adjusted["KCDP"] = _q(float(plan["KCDP"]) * rng.uniform(1.03, 1.15))
                has_projects = not adjusted and rng.random() < 0.65
                if (uid, year) == ("P63-49", 2024):  # the W04 file needs projects
                    adjusted, has_projects = {}, True
                targets = {c: max(1, round(_INDICATOR_BASE[c] * p.scale * rng.uniform(0.85, 1.2))) for c in p.indicators}
                uy = _UnitYear(plan, adjusted, has_projects, {}, {}, targets, {}, [])
                if has_projects:
                    self._projects(uid, year, uy)
                else:
                    uy.project_counts = {s: (rng.randint(1, 4) if s in ("KCQG", "KCDP") else None) for s in plan}
                self.years[(uid, year)] = uy

    def _projects(self, uid: str, year: int, uy: _UnitYear) -> None:
        rng = self.rng
        counts = {"KCQG": rng.randint(1, 2), "KCDP": rng.randint(1, 2), "DOI_UNG": 1, "KHAC": 1}
        sources = [s for s in ("KCQG", "KCDP", "DOI_UNG", "KHAC") if s in uy.plan]
        while sum(counts[s] for s in sources) > 6:
            counts["KCQG" if counts["KCQG"] > 1 else "KCDP"] -= 1
        n = 0
        for s in sources:
            k = counts[s]
            shares = [rng.uniform(0.6, 1.4) for _ in range(k)]
            amounts = [_q(float(uy.plan[s]) * sh / sum(shares)) for sh in shares[:-1]]
            amounts.append(uy.plan[s] - sum(amounts))
            for amount in amounts:
                n += 1
                activity, pattern = rng.choice(_ACTIVITIES)
                name = pattern.format(p=rng.choice(_PRODUCTS))
                beneficiaries = rng.randint(1, 3) if activity != "đào tạo" else rng.randint(20, 60)
                uy.projects.append((f"KC{year}-{uid[-2:]}-{n:02d}", name, s, activity, amount, beneficiaries))
            uy.project_counts[s] = k

    def build_cumulative(self) -> None:
        rng = self.rng
        ids = [u.unit_id for u in self.u63]
        # the calibrated 2024 6T KCQG allocation
        ratios = {i: rng.uniform(0.2, 0.5) for i in ids}
        raw = {i: float(self.years[(i, 2024)].plan["KCQG"]) * ratios[i] for i in ids}
        scale = float(NATIONAL_KCQG_ALLOCATED_2024_6T) / sum(raw.values())
        alloc6 = {i: _q(raw[i] * scale) for i in ids}
        largest = max(ids, key=lambda i: (alloc6[i], i))
        alloc6[largest] += NATIONAL_KCQG_ALLOCATED_2024_6T - sum(alloc6.values())
        for uid in ids:
            for year in (2023, 2024, 2025):
                uy = self.years[(uid, year)]
                periods = [p for p in ("6T", "9T", "CN") if year != 2023 or p == "CN"]
                if year == 2025:
                    periods = ["6T", "9T"]
                for s, plan in uy.plan.items():
                    prev_a, prev_e = Decimal(0), Decimal(0)
                    for p in periods:
                        eff = uy.adjusted.get(s, plan) if p != "6T" else plan
                        lo, hi = {"6T": (0.3, 0.6), "9T": (0.6, 0.85), "CN": (0.93, 1.0)}[p]
                        elo, ehi = {"6T": (0.35, 0.8), "9T": (0.6, 0.92), "CN": (0.95, 1.0)}[p]
                        step = _ONE if s == "KCQG" else _MILLI
                        a = min(eff, max(prev_a, _q(float(eff) * rng.uniform(lo, hi), step)))
                        if s == "KCQG" and year == 2024 and p == "6T":
                            a = alloc6[uid]
                            assert a <= plan
                        e = min(a, max(prev_e, _q(float(a) * rng.uniform(elo, ehi), _MILLI)))
                        uy.cum.setdefault(p, {})[s] = (a if s in ("KCQG", "KCDP") else None, e)
                        prev_a, prev_e = a, e
                prev = {c: 0 for c in uy.targets}
                for p in periods:
                    lo, hi = {"6T": (0.25, 0.55), "9T": (0.6, 0.85), "CN": (0.92, 1.12)}[p]
                    cur = {c: max(prev[c], round(t * rng.uniform(lo, hi))) for c, t in uy.targets.items()}
                    uy.actual[p] = cur
                    prev = cur
        # W01: Lạng Sơn 2023 executed more local funds than planned
        uy = self.years[("P63-20", 2023)]
        eff = uy.adjusted.get("KCDP", uy.plan["KCDP"])
        uy.cum["CN"]["KCDP"] = (eff, _q(float(eff) * 1.04, _MILLI))

    def figures(self, uid: str, year: int, period: str, report_date: date) -> ReportFigures:
        unit = self.units[uid]
        if unit.era == 34:
            return self._merged(unit, year, period, report_date)
        uy = self.years[(uid, year)]
        funding, projects = [], None
        for s, plan in uy.plan.items():
            if period == "KH":
                funding.append(FundingFigures(s, plan, None, None, None, uy.project_counts.get(s)))
            else:
                a, e = uy.cum[period][s]
                adj = uy.adjusted.get(s) if period != "6T" else None
                funding.append(FundingFigures(s, plan, adj, a, e, uy.project_counts.get(s)))
        outcomes = tuple(
            OutcomeFigures(c, *self.indicators[c], t, None if period == "KH" else uy.actual[period][c])
            for c, t in uy.targets.items()
        )
        if uy.has_projects:
            projects = []
            by_source: dict[str, list] = {}
            for pr in uy.projects:
                by_source.setdefault(pr[2], []).append(pr)
            for s, prs in by_source.items():
                executed = None if period == "KH" else uy.cum[period][s][1]
                done = Decimal(0)
                for i, (code, name, src, activity, approved, ben) in enumerate(prs):
                    if executed is None:
                        ex = None
                    elif i == len(prs) - 1:
                        ex = executed - done
                    else:
                        ex = (executed * approved / uy.plan[s]).quantize(_MILLI, rounding=ROUND_DOWN)
                        done += ex
                    status = "hoàn thành" if period == "CN" else "đang thực hiện"
                    projects.append(ProjectFigures(code, name, src, activity, approved, ex, status, ben))
            projects = tuple(sorted(projects, key=lambda p: p.code))
        return ReportFigures(unit, year, period, report_date, tuple(funding), outcomes, projects)

    def _merged(self, unit: Unit, year: int, period: str, report_date: date) -> ReportFigures:
        parts = [self.figures(pid, year, period, report_date) for pid in sorted(self.successors[unit.unit_id])]
        funding = []
        for s in ("KCQG", "KCDP", "DOI_UNG", "KHAC"):
            rows = [f for fig in parts for f in fig.funding if f.source == s]
            if not rows:
                continue

            def total(attr: str, rows: list[FundingFigures] = rows) -> Decimal | None:
                values = [getattr(f, attr) for f in rows]
                return None if all(v is None for v in values) else sum((v for v in values if v is not None), Decimal(0))

            adjusted = None
            if any(f.plan_adjusted is not None for f in rows):
                adjusted = sum((f.plan_adjusted if f.plan_adjusted is not None else f.plan for f in rows), Decimal(0))
            counts = [f.projects for f in rows if f.projects is not None]
            funding.append(FundingFigures(s, total("plan"), adjusted, total("allocated"), total("executed"),
                                          sum(counts) if counts else None))
        outcomes = []
        for code in self.indicators:
            rows = [o for fig in parts for o in fig.outcomes if o.code == code]
            if rows:
                actual = None if period == "KH" else sum(o.actual for o in rows)
                outcomes.append(OutcomeFigures(code, rows[0].name, rows[0].unit, sum(o.target for o in rows), actual))
        projects = None  # the merged province lists its predecessors' projects when they fit one report
        if all(fig.projects is not None for fig in parts) and sum(len(fig.projects) for fig in parts) <= 6:
            projects = tuple(p for fig in parts for p in fig.projects)
        return ReportFigures(unit, year, period, report_date, tuple(funding), tuple(outcomes), projects)

    # ---------------------------------------------------------------- files

    def rendering(self, unit: Unit, name_only_ok: bool = True, container: str | None = None) -> Rendering:
        rng = self.rng
        x = rng.random()
        if container is None:
            container = "xlsx" if x < 0.8 else "zip"
        xlsx = container == "xlsx"
        money_unit = rng.choices(["triệu đồng", "tỷ đồng", "đồng", "nghìn đồng"], [75, 10, 8, 7])[0]
        y = rng.random()
        identify = "both" if y < 0.62 else "code" if y < 0.9 or not name_only_ok else "name"
        name_text = None
        if identify != "code" and rng.random() < 0.5 and self.aliases.get(unit.unit_id):
            name_text = rng.choice(self.aliases[unit.unit_id])
        if identify == "name" and rng.random() < 0.4:
            identify = "name_blank_code"
        style = Style(
            labels=rng.random() < (0.8 if xlsx else 0.5),
            numbers_as_text=xlsx and rng.random() < 0.15,
            dash_for_zero=rng.random() < 0.5,
            date_as_text=xlsx and rng.random() < 0.3,
            sheet_labels=xlsx and rng.random() < 0.12,
            shuffle_columns=rng.randrange(1000) if rng.random() < 0.2 else None,
            quote_all=not xlsx and rng.random() < 0.3,
        )
        person = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
        phone = f"09{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
        email = f"ttkc.{_ascii(_short_name(unit.name)).lower().replace(' ', '').replace('-', '')}@example.gov.vn"
        return Rendering(
            container=container,
            encoding="utf-8-sig" if rng.random() < 0.55 else "cp1258",
            style=style,
            money_unit=money_unit,
            write_money_unit=money_unit != "triệu đồng" or rng.random() < 0.8,
            identify=identify,
            name_text=name_text,
            source_labels=rng.random() < 0.7,
            indicator_names_only=rng.random() < 0.08,
            template_rows=xlsx and rng.random() < 0.15,
            preparer=(person, phone, email),
        )

    def file_name(self, unit: Unit, year: int, period: str, container: str) -> str:
        rng = self.rng
        short = _short_name(unit.name)
        plain = _ascii(short)
        words, words_vi = _PERIOD_WORDS[period]
        if container == "zip":
            return rng.choice((
                f"BC_khuyen_cong_{period}{year}_{plain.replace(' ', '_').replace('-', '')}.zip",
                f"KC_{year}_{period}_{plain.replace(' ', '_').replace('-', '')}.zip",
                f"{unit.code}_{plain.replace(' ', '').replace('-', '')}_KC1_{year}_{period}.zip",
            )).replace("__", "_")
        return rng.choice((
            f"Bao cao KC {words} {year} - {plain}.xlsx",
            f"Bao cao {period} {year} - {plain}.xlsx",
            f"Báo cáo khuyến công {words_vi} {year} - {short}.xlsx",
            f"BC khuyen cong {period} {year} {plain}.xlsx",
            f"{unit.code}_{plain.replace(' ', '_')}_KC1_{period}_{year}.xlsx",
        ))

    def arrival(self, year: int, period: str) -> date:
        due = deadline(year, period)
        return due - timedelta(days=self.rng.randint(0, {"KH": 24, "CN": 18}.get(period, 11)))

    def report_date(self, year: int, period: str, arrival: date) -> date:
        earliest = period_end(year, period) + timedelta(days=1 if period != "KH" else 20)
        span = max(0, min(6, (arrival - earliest).days))
        return arrival - timedelta(days=self.rng.randint(0, span))


def _stamp(d: date) -> datetime:
    return datetime.combine(d, time(9, 30))


def _with_timestamp(r: Rendering, d: date) -> Rendering:
    return replace(r, style=replace(r.style, timestamp=_stamp(d)))


def _draft(fig: ReportFigures, report_date: date, floor: ReportFigures | None) -> ReportFigures:
    """An earlier, incomplete version of `fig`: some local spending and one outcome not yet counted.

    Never below `floor` (the previous period's figures), so the draft raises no W02.
    """
    prev_exec = {f.source: f.executed for f in floor.funding} if floor else {}
    prev_actual = {o.code: o.actual for o in floor.outcomes} if floor else {}
    funding = []
    for f in fig.funding:
        if f.source == "KCDP" and f.executed:
            executed = max((f.executed * Decimal("0.97")).quantize(_MILLI), prev_exec.get("KCDP") or Decimal(0))
            funding.append(replace(f, executed=executed))
        else:
            funding.append(f)
    first = fig.outcomes[0].code
    outcomes = tuple(
        replace(o, actual=max(int(o.actual * 0.97), prev_actual.get(o.code) or 0)) if o.actual and o.code == first else o
        for o in fig.outcomes
    )
    return replace(fig, report_date=report_date, funding=tuple(funding), outcomes=outcomes)


def build_sample(seed: int = SEED) -> list[SampleFile]:
    """The sample plan: every file `write_sample` writes, with its intended figures."""
    g = _Generator(seed)
    g.build_profiles()
    g.build_plans()
    g.build_cumulative()

    invalid_related = {(uid, y, p): date.fromisoformat(path[:10]) for path, _, _, uid, y, p, _ in _INVALID_SPECS if uid}
    warning_by_key = {(uid, y, p): (path, rule, cont) for path, (rule, uid, y, p, cont) in _WARNING_SPECS.items()}
    dup_path, dup_orig = next(iter(DUPLICATE_SAMPLE_FILES.items()))

    files: list[SampleFile] = []
    for year, periods in PERIODS_BY_YEAR.items():
        for period in periods:
            units = g.u34 if era_for(year, period) == 34 else g.u63
            for unit in units:
                key = (unit.unit_id, year, period)
                container = None
                if key in warning_by_key:
                    path, rule, container = warning_by_key[key]
                elif key in _RESUBMISSIONS:
                    path, rule = _RESUBMISSIONS[key][1], None
                    container = "zip" if path.endswith(".zip") else "xlsx"
                elif key == _DUPLICATE_OF:
                    path, rule, container = dup_orig, None, "xlsx"
                else:
                    rule = None
                    path = None
                rendering = g.rendering(unit, container=container)
                if path is None:
                    arrival = g.arrival(year, period)
                    if key in invalid_related:  # the corrected file comes after the refused attempt
                        arrival = invalid_related[key] + timedelta(days=3)
                    path = f"{arrival.isoformat()}/{g.file_name(unit, year, period, rendering.container)}"
                arrival = date.fromisoformat(path[:10])
                if rule == "W06":
                    report_date = arrival - timedelta(days=2)
                else:
                    report_date = g.report_date(year, period, arrival)
                fig = g.figures(unit.unit_id, year, period, report_date)
                if key in _NAME_ONLY:
                    rendering = replace(rendering, identify="name", name_text=_NAME_ONLY[key])
                if rule == "W05":
                    rendering = replace(rendering, identify="both", name_text="Tỉnh Bắc Giang")
                if rule == "W04":
                    rendering = replace(rendering, identify="both")
                rendering = _with_timestamp(rendering, report_date)
                sf = SampleFile(path, "main", rule, fig, rendering)
                if rule == "W04":
                    sf.figures = _w04(fig)
                files.append(sf)
                if key in _RESUBMISSIONS:
                    old_path = _RESUBMISSIONS[key][0]
                    old_arrival = date.fromisoformat(old_path[:10])
                    old_date = g.report_date(year, period, old_arrival)
                    old_date = min(old_date, report_date - timedelta(days=1))
                    old = replace(rendering, style=replace(rendering.style, timestamp=_stamp(old_date)))
                    prior = {"CN": "9T", "9T": "6T"}.get(period)
                    floor = g.figures(unit.unit_id, year, prior, report_date) if prior and year != 2023 else None
                    files.append(SampleFile(old_path, "superseded", None, _draft(fig, old_date, floor), old,
                                            note=f"superseded by {path}"))
                if key == _DUPLICATE_OF:
                    files.append(SampleFile(dup_path, "duplicate", None, fig, rendering, note=f"copy of {path}"))

    # deliberately invalid extra files
    for path, rule, kind, uid, year, period, cont in _INVALID_SPECS:
        arrival = date.fromisoformat(path[:10])
        if kind == "raw_xls":
            junk = random.Random(f"{seed}:{path}").randbytes(3000)
            files.append(SampleFile(path, "invalid", rule, None, None,
                                    data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + junk,
                                    note="legacy .xls (BIFF) workbook"))
            continue
        if uid is None:
            continue
        unit = g.units[uid]
        report_date = arrival - timedelta(days=1)
        fig = g.figures(uid, year, period, report_date)
        rendering = _with_timestamp(g.rendering(unit, name_only_ok=False, container=cont), report_date)
        rendering = replace(rendering, identify="both" if kind != "unknown_code" else "code", name_text=None)
        if kind == "era63_unit_in_era34":
            # Hà Giang's 9T figures, sent under its old code after the merger
            files.append(SampleFile(path, "invalid", rule, fig, rendering, note="code 02 does not exist after 2025-07-01"))
        elif kind == "raw_truncated_zip":
            sf = SampleFile(path, "invalid", rule, fig, replace(rendering, container="zip"))
            full = render(sf)
            sf.data = full[: len(full) // 2]
            sf.note = "truncated zip"
            files.append(sf)
        else:
            files.append(SampleFile(path, "invalid", rule, fig, rendering, mutate=kind))

    seen: set[str] = set()
    for sf in files:
        assert sf.relpath not in seen, sf.relpath
        seen.add(sf.relpath)
    files.sort(key=lambda f: f.relpath)
    return files


def _w04(fig: ReportFigures) -> ReportFigures:
    """Projects approved for KCĐP exceed the KCĐP plan by 6%: the W04 sample."""
    assert fig.projects
    plan = fig.funding_by_source()["KCDP"].plan
    projects = list(fig.projects)
    for i, p in enumerate(projects):
        if p.source == "KCDP":
            projects[i] = replace(p, approved=p.approved + (plan * Decimal("0.06")).quantize(_ONE))
            break
    return replace(fig, projects=tuple(projects))


def write_sample(out_dir: Path, *, seed: int = SEED) -> list[Path]:
    """Write the sample landing zone under `out_dir`; returns the written paths, sorted."""
    out_dir = Path(out_dir)
    written = []
    by_path: dict[str, bytes] = {}
    for sf in build_sample(seed):
        if sf.role == "duplicate":
            data = by_path[DUPLICATE_SAMPLE_FILES[sf.relpath]]
        else:
            data = render(sf)
        by_path[sf.relpath] = data
        target = out_dir / sf.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return sorted(written)
