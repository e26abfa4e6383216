"""The table parser: find a sheet's header row and required columns (F02), address cells by column code.

Also the helpers the metadata and row parsers share: the finding log they append to and
what counts as a blank cell.
"""

from __future__ import annotations

from khuyencong.findings import Finding, finding
from khuyencong.ingest.container import RawSheet
from khuyencong.normalise import column_letter, normalise_header

REQUIRED_SHEETS = ("thong_tin", "kinh_phi", "ket_qua")
INFO_COLUMNS = ("truong", "gia_tri")
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


class FindingLog:
    """The findings of one file, in the order the parsers raise them."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, rule: str, vi: str, en: str, **where) -> None:
        self.findings.append(finding(rule, vi, en, **where))

    def has(self, *rules: str) -> bool:
        return any(f.rule in rules for f in self.findings)


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Table:
    """A sheet's data rows addressed by normalised column code."""

    def __init__(self, sheet: RawSheet, header_row: int, columns: dict[str, int]):
        self.sheet = sheet
        self.header_row = header_row  # 1-based
        self.columns = columns  # code -> 0-based index

    def records(self):
        for offset, cells in enumerate(self.sheet.rows[self.header_row:], start=self.header_row + 1):
            if all(is_blank(c) for c in cells):
                continue
            yield offset, cells

    def cell(self, cells: list[object], code: str) -> object:
        idx = self.columns.get(code)
        if idx is None or idx >= len(cells):
            return None
        return cells[idx]

    def column_label(self, code: str) -> str:
        idx = self.columns.get(code)
        return code if idx is None else f"{code} ({column_letter(idx + 1)})"

    def column_letters(self) -> dict[str, str]:
        return {code: column_letter(i + 1) for code, i in self.columns.items()}


def find_table(sheet: RawSheet | None, code: str, known: tuple[str, ...], log: FindingLog) -> Table | None:
    """The header row with the most known columns among the first rows; F02 for each required column missing."""
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
        log.add(
            "F02",
            f"Sheet '{sheet.name}' thiếu cột bắt buộc '{label}' (dòng tiêu đề {header_row}).",
            f"Sheet '{sheet.name}' lacks the required column '{' or '.join(alt)}' (header row {header_row}).",
            sheet=sheet.name, row=header_row, column=alt[0], expected=" | ".join(alt),
        )
    return None if missing else Table(sheet, header_row, columns)
