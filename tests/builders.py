"""Builders for KC-1 submission files (docs/submission-format.md), for the reader tests.

`valid_report()` is a complete, valid report of Hà Nội (01) for 2024 6T, money in
triệu đồng. Every `with_*`/`without_*` method returns a modified copy, so a test
breaks exactly one thing:

    report = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", "1.5")
    path = report.write_xlsx(folder / "bad.xlsx")
    report.row_of("kinh_phi", "KCQG"), report.letter_of("kinh_phi", "thuc_hien")  # 2, "E"

Rows are addressed by their key (the first column's original value: funding
source, indicator code, project code, or the metadata field code), columns by
their code, whatever label or order they are written with. `row_of` and
`letter_of` give the position a person sees in Excel (1-based rows; CSV: line).

Cell values: int / float / Decimal are numbers (xlsx numeric cells; CSV Vietnamese
number text), str is text, date / datetime an Excel date (CSV: dd/mm/yyyy), None
blank, `Formula("SUM(B2:B3)")` a formula without cached value (or with one:
`Formula("...", cached=12)`).
"""

from __future__ import annotations

import copy
import csv
import io
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from khuyencong_sample.writers import (  # noqa: F401 (cp1258_form: re-exported for the normalise tests)
    Formula,
    cp1258_form,
    encode_text,
    new_workbook,
    put_value,
    workbook_bytes,
    zip_of,
)

DROP = object()  # with_meta(field=DROP) removes the field's row


@dataclass
class Sheet:
    name: str  # as written in the file
    codes: list[str]  # column code per position (addressing)
    header: list[Any]  # labels written in the header row
    rows: list[list[Any]]  # data rows
    keys: list[str | None]  # per data row: its original key, for addressing
    titles: list[list[Any]] = field(default_factory=list)  # rows written above the header

    @property
    def header_row(self) -> int:
        return len(self.titles) + 1


META = [
    ("ma_don_vi", "01"),
    ("ten_don_vi", "Thành phố Hà Nội"),
    ("nam", 2024),
    ("ky_bao_cao", "6T"),
    ("ngay_lap", "05/07/2024"),
    ("don_vi_tien", "triệu đồng"),
    ("nguoi_lap", "Nguyễn Thị Hồng"),
    ("dien_thoai", "0243 826 1234"),
    ("email", "khuyencong@hanoi.gov.vn"),
]
FUNDING_CODES = ["nguon_kinh_phi", "ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an"]
FUNDING = [
    ["KCQG", 1200, 1300, 1000, Decimal("850.5"), 3],
    ["KCDP", 800, None, 600, 400, 2],
]
OUTCOME_CODES = ["ma_chi_tieu", "chi_tieu", "don_vi_tinh", "ke_hoach", "thuc_hien"]
OUTCOMES = [
    ["dao_tao_nghe", "Lao động được đào tạo nghề, truyền nghề, nâng cao tay nghề", "người", 500, 320],
    ["mo_hinh_trinh_dien", "Mô hình trình diễn kỹ thuật", "mô hình", 4, 2],
    ["tu_van_doanh_thu", "Doanh thu từ hoạt động tư vấn", "triệu đồng", Decimal("150.5"), Decimal("80.25")],
]
PROJECT_CODES = [
    "ma_de_an", "ten_de_an", "nguon_kinh_phi", "noi_dung", "kinh_phi_duyet",
    "kinh_phi_thuc_hien", "trang_thai", "so_co_so_thu_huong",
]
# approved per source equals the effective plan: KCQG 1300 (adjusted), KCDP 800 (initial)
PROJECTS = [
    ["DA-01", "Hỗ trợ máy móc thiết bị chế biến nông sản", "KCQG", "máy móc thiết bị", 500, 400, "đang thực hiện", 5],
    ["DA-02", "Đào tạo nghề mây tre đan xuất khẩu", "KCQG", "đào tạo", 450, Decimal("300.5"), "hoàn thành", 40],
    ["DA-03", "Trình diễn kỹ thuật dệt thổ cẩm", "KCQG", "trình diễn", 350, 150, "đang thực hiện", 3],
    ["DA-04", "Hội chợ hàng công nghiệp nông thôn tiêu biểu", "KCDP", "hội chợ", 500, 250, "đang thực hiện", 60],
    ["DA-05", "Xây dựng thương hiệu gốm Bát Tràng", "KCDP", "thương hiệu", 300, 150, "điều chỉnh", 12],
]

MONEY_COLUMNS = {
    "kinh_phi": ["ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien"],
    "de_an": ["kinh_phi_duyet", "kinh_phi_thuc_hien"],
}

VIETNAMESE_SHEET_NAMES = {"thong_tin": "Thông tin", "kinh_phi": "Kinh phí", "ket_qua": "Kết quả", "de_an": "Đề án"}
VIETNAMESE_LABELS = {
    "truong": "Trường", "gia_tri": "Giá trị",
    "nguon_kinh_phi": "Nguồn kinh phí", "ke_hoach_dau_nam": "Kế hoạch đầu năm",
    "ke_hoach_dieu_chinh": "Kế hoạch điều chỉnh", "da_phan_bo": "Đã phân bổ", "thuc_hien": "Thực hiện",
    "so_de_an": "Số đề án", "ma_chi_tieu": "Mã chỉ tiêu", "chi_tieu": "Chỉ tiêu", "don_vi_tinh": "Đơn vị tính",
    "ke_hoach": "Kế hoạch", "ma_de_an": "Mã đề án", "ten_de_an": "Tên đề án", "noi_dung": "Nội dung",
    "kinh_phi_duyet": "Kinh phí duyệt", "kinh_phi_thuc_hien": "Kinh phí thực hiện",
    "trang_thai": "Trạng thái", "so_co_so_thu_huong": "Số cơ sở thụ hưởng",
}
VIETNAMESE_FIELDS = {
    "ma_don_vi": "Mã đơn vị", "ten_don_vi": "Tên đơn vị", "nam": "Năm", "ky_bao_cao": "Kỳ báo cáo",
    "ngay_lap": "Ngày lập", "don_vi_tien": "Đơn vị tiền", "nguoi_lap": "Người lập",
    "dien_thoai": "Điện thoại", "email": "Email",
}


def _sheet(name: str, codes: list[str], rows: list[list[Any]]) -> Sheet:
    rows = copy.deepcopy(rows)
    return Sheet(name, list(codes), list(codes), rows, [r[0] for r in rows])


def col_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class Report:
    sheets: dict[str, Sheet]  # sheet code -> sheet, in file order

    # ------------------------------------------------------------ addressing

    def sheet(self, code: str) -> Sheet:
        return self.sheets[code]

    def _index(self, sheet: Sheet, key: str | int) -> int:
        if isinstance(key, int):
            return key
        return sheet.keys.index(key)

    def row_of(self, sheet: str, key: str | int) -> int:
        """Excel row (CSV line) of a data row: by key, or by 0-based data index."""
        s = self.sheets[sheet]
        return s.header_row + 1 + self._index(s, key)

    def letter_of(self, sheet: str, column: str) -> str:
        return col_letter(self.sheets[sheet].codes.index(column) + 1)

    def label_of(self, sheet: str, column: str) -> str:
        """The reader's column label in findings: `thuc_hien (E)`."""
        return f"{column} ({self.letter_of(sheet, column)})"

    def meta_row(self, field_code: str) -> int:
        return self.row_of("thong_tin", field_code)

    def name_of(self, sheet: str) -> str:
        return self.sheets[sheet].name

    # ------------------------------------------------------------ overrides

    def _copy(self) -> Report:
        return copy.deepcopy(self)

    def with_meta(self, **fields: Any) -> Report:
        """Replace metadata values (appending absent fields); `DROP` removes the field's row."""
        new = self._copy()
        s = new.sheets["thong_tin"]
        for key, value in fields.items():
            if key in s.keys:
                i = s.keys.index(key)
                if value is DROP:
                    del s.rows[i], s.keys[i]
                else:
                    s.rows[i][1] = value
            elif value is not DROP:
                s.rows.append([key, value])
                s.keys.append(key)
        return new

    def with_cell(self, sheet: str, key: str | int, column: str, value: Any) -> Report:
        new = self._copy()
        s = new.sheets[sheet]
        s.rows[new._index(s, key)][s.codes.index(column)] = value
        return new

    def with_row(self, sheet: str, values: dict[str, Any] | list[Any], key: str | None = None) -> Report:
        """Append a data row (dict by column code, or a list in the sheet's current column order)."""
        new = self._copy()
        s = new.sheets[sheet]
        row = [values.get(c) for c in s.codes] if isinstance(values, dict) else list(values)
        s.rows.append(row)
        s.keys.append(key if key is not None else row[0])
        return new

    def without_row(self, sheet: str, key: str | int) -> Report:
        new = self._copy()
        s = new.sheets[sheet]
        i = new._index(s, key)
        del s.rows[i], s.keys[i]
        return new

    def without_rows(self, sheet: str) -> Report:
        new = self._copy()
        new.sheets[sheet].rows.clear()
        new.sheets[sheet].keys.clear()
        return new

    def without_sheet(self, sheet: str) -> Report:
        new = self._copy()
        del new.sheets[sheet]
        return new

    def without_column(self, sheet: str, column: str) -> Report:
        new = self._copy()
        s = new.sheets[sheet]
        j = s.codes.index(column)
        for row in [s.header, s.codes, *s.rows]:
            del row[j]
        return new

    def with_column(self, sheet: str, label: str, values: Iterable[Any] = (), code: str | None = None) -> Report:
        """Append a column (e.g. an unknown one the reader must ignore)."""
        new = self._copy()
        s = new.sheets[sheet]
        s.codes.append(code or label)
        s.header.append(label)
        values = list(values)
        for i, row in enumerate(s.rows):
            row.append(values[i] if i < len(values) else None)
        return new

    def with_headers(self, sheet: str, labels: dict[str, Any]) -> Report:
        """Write other header labels for some columns (addressing keeps the codes)."""
        new = self._copy()
        s = new.sheets[sheet]
        for code, label in labels.items():
            s.header[s.codes.index(code)] = label
        return new

    def with_column_order(self, sheet: str, order: list[str]) -> Report:
        new = self._copy()
        s = new.sheets[sheet]
        perm = [s.codes.index(c) for c in order]
        s.codes = [s.codes[j] for j in perm]
        s.header = [s.header[j] for j in perm]
        s.rows = [[r[j] for j in perm] for r in s.rows]
        return new

    def with_sheet_name(self, sheet: str, name: str) -> Report:
        new = self._copy()
        new.sheets[sheet].name = name
        return new

    def with_title_rows(self, sheet: str, *titles: Any) -> Report:
        """Rows above the header (a printed title); shifts every row number."""
        new = self._copy()
        new.sheets[sheet].titles = [[t] for t in titles]
        return new

    def with_vietnamese_labels(self) -> Report:
        """Sheet names, headers and metadata field names as the template prints them."""
        new = self._copy()
        for code, s in new.sheets.items():
            s.name = VIETNAMESE_SHEET_NAMES.get(code, s.name)
            s.header = [VIETNAMESE_LABELS.get(c, h) for c, h in zip(s.codes, s.header)]
        meta = new.sheets["thong_tin"]
        for row, key in zip(meta.rows, meta.keys):
            row[0] = VIETNAMESE_FIELDS.get(key, row[0])
        return new

    def with_upper_case_headers(self) -> Report:
        new = self._copy()
        for s in new.sheets.values():
            s.header = [h.upper() if isinstance(h, str) else h for h in s.header]
        return new

    def with_numbers_as_text(self) -> Report:
        """Every number of every data sheet as Vietnamese number text (`1.200`, `850,5`)."""
        new = self._copy()
        for code, s in new.sheets.items():
            if code != "thong_tin":  # metadata (year, unit code) keeps its own typing
                s.rows = [[vn_number(v) if _is_number(v) else v for v in row] for row in s.rows]
        return new

    def in_money_unit(self, label: str, per_million: int | str | Decimal) -> Report:
        """Declare `don_vi_tien` = label and rewrite every amount in it (`per_million` units = 1 triệu đồng):
        the parsed values, in million VND, stay those of the original report."""
        new = self.with_meta(don_vi_tien=label)
        factor = Decimal(str(per_million))
        for sheet, columns in MONEY_COLUMNS.items():
            s = new.sheets.get(sheet)
            for code in columns if s else ():
                if code in s.codes:
                    j = s.codes.index(code)
                    for row in s.rows:
                        if _is_number(row[j]):
                            row[j] = Decimal(str(row[j])) * factor
        return new

    # ------------------------------------------------------------ writers

    def write_xlsx(self, path: Path) -> Path:
        """Through the one sample writer, cell by cell: `str` stays text, `Formula` is a live formula."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        wb = new_workbook()
        cached: dict[int, dict[str, Any]] = {}  # sheet position -> cell ref -> cached value
        for pos, s in enumerate(self.sheets.values()):
            ws = wb.create_sheet(s.name)
            for r, row in enumerate(self._all_rows(s), start=1):
                for c, value in enumerate(row, start=1):
                    if isinstance(value, Formula) and value.cached is not None:
                        cached.setdefault(pos, {})[f"{col_letter(c)}{r}"] = value.cached
                    put_value(ws.cell(row=r, column=c), value)
        path.write_bytes(workbook_bytes(wb))
        if cached:
            _patch_cached_values(path, cached)
        return path

    def csv_text(self, sheet: str, delimiter: str = ",") -> str:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        for row in self._all_rows(self.sheets[sheet]):
            # metadata values (year, unit code) are written as typed, not as grouped numbers
            writer.writerow([str(v) if sheet == "thong_tin" and isinstance(v, int) else _csv_value(v) for v in row])
        return out.getvalue()

    def write_zip(
        self,
        path: Path,
        encoding: str = "utf-8-sig",
        delimiter: str = ",",
        extra_entries: dict[str, bytes] | None = None,
    ) -> Path:
        """A .zip of `<sheet>.csv`, text in `encoding` (see `encode_text`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = [(f"{code}.csv", encode_text(self.csv_text(code, delimiter), encoding)) for code in self.sheets]
        path.write_bytes(zip_of(entries + list((extra_entries or {}).items())))
        return path

    def write(self, path: Path, **zip_options: Any) -> Path:
        """By suffix: .zip of CSVs, else an .xlsx workbook (whatever the file is named)."""
        return self.write_zip(path, **zip_options) if Path(path).suffix.lower() == ".zip" else self.write_xlsx(path)

    @staticmethod
    def _all_rows(s: Sheet) -> list[list[Any]]:
        return [*s.titles, s.header, *s.rows]


def valid_report() -> Report:
    sheets = {
        "thong_tin": _sheet("thong_tin", ["truong", "gia_tri"], [list(kv) for kv in META]),
        "kinh_phi": _sheet("kinh_phi", FUNDING_CODES, FUNDING),
        "ket_qua": _sheet("ket_qua", OUTCOME_CODES, OUTCOMES),
        "de_an": _sheet("de_an", PROJECT_CODES, PROJECTS),
    }
    return Report(sheets)


# ---------------------------------------------------------------- values and text


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def vn_number(value: float | Decimal) -> str:
    """Vietnamese number text, written independently of the code under test: 1234567.5 -> `1.234.567,5`."""
    d = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    sign = "-" if d < 0 else ""
    integer, _, fraction = f"{abs(d):f}".partition(".")
    grouped = f"{int(integer):,}".replace(",", ".")
    fraction = fraction.rstrip("0")
    return sign + grouped + (f",{fraction}" if fraction else "")


def _csv_value(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, Formula):
        return "" if v.cached is None else _csv_value(v.cached)
    if _is_number(v):
        return vn_number(v)
    if isinstance(v, (date, datetime)):
        return f"{v:%d/%m/%Y}"
    return str(v)


# ---------------------------------------------------------------- zip surgery


def rewrite_zip(path: Path, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
                drop: Iterable[str] = ()) -> Path:
    """Rewrite a zip (or xlsx) in place with some parts replaced, added or dropped."""
    path = Path(path)
    replace, add, drop = replace or {}, add or {}, set(drop)
    with zipfile.ZipFile(path) as zin:
        parts = [(i.filename, zin.read(i)) for i in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name, data in parts:
            if name not in drop:
                zout.writestr(name, replace.get(name, data))
        for name, data in add.items():
            zout.writestr(name, data)
    return path


def read_part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as z:
        return z.read(name)


def _patch_cached_values(path: Path, cached: dict[int, dict[str, Any]]) -> None:
    replace = {}
    for pos, cells in cached.items():
        part = f"xl/worksheets/sheet{pos + 1}.xml"
        xml = read_part(path, part)
        for ref, value in cells.items():
            pattern = re.compile(rb'(<c r="' + ref.encode() + rb'"[^>]*>\s*<f>[^<]*</f>)\s*<v\s*/>')
            cached_xml = f"<v>{value}</v>".encode()
            xml, n = pattern.subn(lambda m, v=cached_xml: m.group(1) + v, xml)
            assert n == 1, f"formula cell {ref} not found in {part}"
        replace[part] = xml
    rewrite_zip(path, replace=replace)
