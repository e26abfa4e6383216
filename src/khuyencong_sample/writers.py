"""The one writer of KC-1 submission files (.xlsx workbooks, .zip of CSVs), for the sample and the tests.

`write_xlsx_report(path, report, style=Style()) -> None`
`write_zip_report(path, report, encoding="utf-8-sig", style=Style()) -> None`
    `encoding`: "utf-8-sig" (BOM), "utf-8", "utf-16" (BOM), "utf-16-be" (BOM) or
    "cp1258" (Windows-1258, Vietnamese tone marks written as combining characters).

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
`1.5`, and `"=SUM(A1)"` is never a formula); `Formula` is a live formula (tests
of hostile files); numbers (int, float, Decimal) follow the `Style`: numeric xlsx
cells, or Vietnamese number text (`1.234.567,5`) when `numbers_as_text` and
always in CSV; `date`s are date cells in xlsx (text `dd/mm/yyyy` with
`date_as_text`, and always in CSV). Headers are Vietnamese labels
(`Kế hoạch đầu năm`) with `Style(labels=True)`, codes (`ke_hoach_dau_nam`) otherwise.

`xlsx_bytes(report, style)` and `zip_bytes(report, encoding, style)` return the
bytes instead of writing them. The cell-level pieces (`new_workbook`,
`put_value`, `workbook_bytes`, `encode_text`, `zip_of`) are what
`tests/builders.py` writes its cell-by-cell reports with.
"""

from __future__ import annotations

import codecs
import csv
import io
import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from khuyencong import normalise
from khuyencong.ingest.template import (
    DATE_FORMAT,
    LABELS,
    NUMBER_FORMAT,
    SHEET_COLUMNS,
    SHEET_LABELS,
    deterministic_zip,
    save_workbook_deterministic,
)

Cell = str | int | float | Decimal | date | datetime | None


@dataclass(frozen=True)
class Formula:
    """A live formula cell (xlsx only): `expr` without the leading '='; `cached` the value a spreadsheet saved."""

    expr: str
    cached: Any = None  # None: no cached value, as openpyxl writes it


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
    from openpyxl.styles import Font

    wb = new_workbook()
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
                if isinstance(value, (date, datetime)) and style.date_as_text:
                    value = value.strftime("%d/%m/%Y")
                elif _is_number(value) and code != "thong_tin" and (
                        style.numbers_as_text or (style.dash_for_zero and value == 0)):
                    value = format_vn_number(value, style.dash_for_zero)
                put_value(cell, value)
                if _is_number(value) and code != "thong_tin" and (col_code in MONEY_COLUMNS or col_code in COUNT_COLUMNS):
                    cell.number_format = NUMBER_FORMAT
        ws.freeze_panes = "A2"
    return workbook_bytes(wb, style.timestamp)


def new_workbook():
    """An empty openpyxl workbook with the document properties a provincial office leaves."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = "Sở Công Thương"
    wb.properties.lastModifiedBy = "Trung tâm Khuyến công"
    return wb


def put_value(cell, value: Cell | Formula) -> None:
    """Write one typed value: text stays text (never a formula), numbers and dates are typed cells."""
    if value is None:
        return
    if isinstance(value, Formula):
        cell.value = "=" + value.expr
    elif isinstance(value, (date, datetime)):
        cell.value = value
        cell.number_format = DATE_FORMAT
    elif _is_number(value):
        cell.value = _plain_number(value)
    else:
        cell.value = str(value)
        cell.data_type = "s"  # never a formula, even when it starts with "="


def workbook_bytes(wb, timestamp: datetime = Style.timestamp) -> bytes:
    """The deterministic bytes of a workbook (a `Sheet1` when it has none)."""
    if not wb.worksheets:
        wb.create_sheet("Sheet1")
    return save_workbook_deterministic(wb, None, timestamp)


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
    """`utf-8`, `utf-8-sig` (BOM), `utf-16` (BOM), `utf-16-be` (with BOM), `cp1258` (tone marks
    combining), or any other Python codec (e.g. `utf-32`, which the reader refuses)."""
    if encoding.lower().replace("-", "") in ("cp1258", "windows1258"):
        return cp1258_form(text).encode("cp1258")
    if encoding.lower() == "utf-16-be":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
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
    return zip_of(entries)


def zip_of(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of `(name, bytes)` entries in order, with fixed timestamps (the same content, the same bytes)."""
    return deterministic_zip(entries)

