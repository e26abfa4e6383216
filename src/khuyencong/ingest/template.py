"""The blank KC-1 workbook that provinces fill in (docs/submission-format.md#sheets-and-columns), and shared labels.

`write_template(out_path)` writes an .xlsx with the sheets

- `huong_dan`  instructions (Vietnamese, with a short English summary)
- `thong_tin`  report metadata: column A the field code, column B the value
- `kinh_phi`   funding, prefilled with the four funding sources, amounts empty
- `ket_qua`    outcomes, prefilled with one row per catalogue indicator, values empty
- `de_an`      projects, header only
- `danh_muc`   (hidden) the code lists behind the drop-down validations

Header labels are Vietnamese; their normalised forms are the spec's column codes.
Row 1 is the header row of every data sheet. The output is byte-for-byte
deterministic (fixed document dates, fixed zip entry timestamps).

Also home of helpers shared with `khuyencong_sample`: the column labels and
`save_workbook_deterministic`.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

from khuyencong.periods import FIRST_YEAR, LAST_YEAR, period_calendar
from khuyencong.reference import seed_rows

# code -> Vietnamese label printed in header rows (normalise(label) == code)
LABELS: dict[str, str] = {
    "truong": "Trường",
    "gia_tri": "Giá trị",
    "nguon_kinh_phi": "Nguồn kinh phí",
    "ke_hoach_dau_nam": "Kế hoạch đầu năm",
    "ke_hoach_dieu_chinh": "Kế hoạch điều chỉnh",
    "da_phan_bo": "Đã phân bổ",
    "thuc_hien": "Thực hiện",
    "so_de_an": "Số đề án",
    "ma_chi_tieu": "Mã chỉ tiêu",
    "chi_tieu": "Chỉ tiêu",
    "don_vi_tinh": "Đơn vị tính",
    "ke_hoach": "Kế hoạch",
    "ma_de_an": "Mã đề án",
    "ten_de_an": "Tên đề án",
    "noi_dung": "Nội dung",
    "kinh_phi_duyet": "Kinh phí duyệt",
    "kinh_phi_thuc_hien": "Kinh phí thực hiện",
    "trang_thai": "Trạng thái",
    "so_co_so_thu_huong": "Số cơ sở thụ hưởng",
}
SHEET_LABELS: dict[str, str] = {
    "thong_tin": "Thông tin",
    "kinh_phi": "Kinh phí",
    "ket_qua": "Kết quả",
    "de_an": "Đề án",
}
FUNDING_COLUMNS = ("nguon_kinh_phi", "ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an")
OUTCOME_COLUMNS = ("ma_chi_tieu", "chi_tieu", "don_vi_tinh", "ke_hoach", "thuc_hien")
PROJECT_COLUMNS = (
    "ma_de_an", "ten_de_an", "nguon_kinh_phi", "noi_dung",
    "kinh_phi_duyet", "kinh_phi_thuc_hien", "trang_thai", "so_co_so_thu_huong",
)
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {
    "thong_tin": ("truong", "gia_tri"),
    "kinh_phi": FUNDING_COLUMNS,
    "ket_qua": OUTCOME_COLUMNS,
    "de_an": PROJECT_COLUMNS,
}
METADATA_FIELDS: tuple[tuple[str, str], ...] = (
    ("ma_don_vi", "Mã đơn vị (mã tỉnh 2 chữ số, ví dụ 01 = Hà Nội)"),
    ("ten_don_vi", "Tên đơn vị (tỉnh, thành phố)"),
    ("nam", "Năm báo cáo"),
    ("ky_bao_cao", "Kỳ báo cáo: KH (kế hoạch đầu năm), 1T..11T (n tháng đầu năm), CN (cả năm)"),
    ("ngay_lap", "Ngày lập báo cáo (dd/mm/yyyy)"),
    ("don_vi_tien", "Đơn vị tiền: đồng, nghìn đồng, triệu đồng (mặc định), tỷ đồng"),
    ("nguoi_lap", "Người lập báo cáo"),
    ("dien_thoai", "Điện thoại người lập"),
    ("email", "Email người lập"),
)
FUNDING_SOURCE_LABELS: tuple[str, ...] = ("KCQG", "KCĐP", "Đối ứng", "Khác")
MONEY_UNIT_LABELS: tuple[str, ...] = ("đồng", "nghìn đồng", "triệu đồng", "tỷ đồng")
STATUS_LABELS: tuple[str, ...] = ("đang thực hiện", "hoàn thành", "điều chỉnh", "dừng")
PERIOD_CODES: tuple[str, ...] = ("KH", *(f"{n}T" for n in range(1, 12)), "CN")
DEFAULT_MONEY_UNIT = "triệu đồng"
NUMBER_FORMAT = "#,##0.###"
DATE_FORMAT = "dd/mm/yyyy"

FIXED_ZIP_DATE_TIME = (2020, 1, 1, 0, 0, 0)
TEMPLATE_TIMESTAMP = datetime(2024, 1, 1, 8, 0, 0)
_MODIFIED = re.compile(rb"<dcterms:modified([^>]*)>[^<]*</dcterms:modified>")
_CREATED = re.compile(rb"<dcterms:created([^>]*)>[^<]*</dcterms:created>")


def load_indicators(seeds: Path | None = None) -> list[tuple[str, str, str]]:
    """(code, Vietnamese name, Vietnamese unit) from the `indicators` seed, in catalogue order."""
    return [(r["indicator_code"], r["name_vi"], r["unit_vi"]) for r in seed_rows("indicators.csv", seeds)]


# ------------------------------------------------------------ deterministic zip


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3
    info.external_attr = 0o644 << 16
    return info


def deterministic_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip of `entries` (in the given order) with fixed timestamps, attributes and compression."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            zf.writestr(_zip_info(name), data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)
    return buf.getvalue()


def save_workbook_deterministic(wb, path: Path | None, when: datetime = TEMPLATE_TIMESTAMP) -> bytes:
    """Save an openpyxl workbook so the same content always gives the same bytes.

    openpyxl stamps `modified` with the current time at save; it is rewritten
    to `when`, and the package is re-zipped with fixed entry timestamps in
    openpyxl's (stable) entry order. Returns the bytes; writes them when `path` is given.
    """
    wb.properties.created = when
    wb.properties.modified = when
    buf = io.BytesIO()
    wb.save(buf)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    entries = []
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            if name == "docProps/core.xml":
                data = _MODIFIED.sub(lambda m: b"<dcterms:modified" + m.group(1) + b">" + stamp + b"</dcterms:modified>", data)
                data = _CREATED.sub(lambda m: b"<dcterms:created" + m.group(1) + b">" + stamp + b"</dcterms:created>", data)
            entries.append((name, data))
    out = deterministic_zip(entries)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(out)
    return out


# ------------------------------------------------------------ the template

_INSTRUCTIONS_VI = (
    "HƯỚNG DẪN LẬP BÁO CÁO KHUYẾN CÔNG (MẪU KC-1)",
    "",
    "1. Mỗi tệp là báo cáo của một đơn vị (tỉnh, thành phố) cho một năm và một kỳ báo cáo.",
    "   Gửi tệp .xlsx này (giữ nguyên tên các sheet), hoặc một tệp .zip gồm các tệp CSV thong_tin.csv, kinh_phi.csv, ket_qua.csv, de_an.csv.",
    "2. Sheet thong_tin: ghi giá trị vào cột B. Bắt buộc: mã đơn vị (hoặc tên đơn vị), năm, kỳ báo cáo, ngày lập.",
    "   Kỳ báo cáo: KH = kế hoạch đầu năm; 6T, 9T = 6, 9 tháng đầu năm (1T..11T); CN = cả năm.",
    "   Mã đơn vị theo giai đoạn của kỳ báo cáo: {eras}.",
    "   Ngày lập ghi dạng dd/mm/yyyy. Đơn vị tiền mặc định là triệu đồng; áp dụng cho mọi số tiền trong tệp.",
    "3. Sheet kinh_phi: mỗi nguồn kinh phí một dòng (KCQG, KCĐP, Đối ứng, Khác).",
    "   Số đã phân bổ và thực hiện là số lũy kế từ 01/01. Kế hoạch điều chỉnh để trống nếu không điều chỉnh.",
    "4. Sheet ket_qua: mỗi chỉ tiêu một dòng, đã ghi sẵn mã và tên; chỉ điền kế hoạch năm và số thực hiện lũy kế.",
    "   Chỉ tiêu 'Doanh thu từ hoạt động tư vấn' ghi theo triệu đồng (không đổi theo đơn vị tiền của tệp).",
    "5. Sheet de_an: mỗi đề án một dòng; mã đề án không trùng trong năm; nguồn kinh phí như sheet kinh_phi.",
    "   Tổng kinh phí duyệt của các đề án theo từng nguồn cần khớp kế hoạch của nguồn đó (chênh lệch không quá 1%).",
    "6. Cách ghi số: ô để trống là chưa báo cáo; dấu '-' là số 0. Nếu nhập số dạng chữ: dấu chấm phân cách hàng nghìn,",
    "   dấu phẩy phân cách thập phân (48.331 là 48331; 123,37). Không ghi số âm; số đề án, số cơ sở là số nguyên.",
    "7. Không đổi tên sheet, không xóa dòng tiêu đề (dòng 1). Có thể thêm dòng; các dòng để trống được bỏ qua.",
    "8. Hạn gửi: KH trước 31/3; 6T trước 15/7; 9T trước 15/10; CN trước 31/01 năm sau.",
    "   Tệp gửi lại (cùng đơn vị, năm, kỳ) với ngày lập muộn hơn sẽ thay thế tệp trước.",
)
_INSTRUCTIONS_EN = (
    "",
    "ENGLISH SUMMARY",
    "One file = one report of one province for one year and period (KH plan, 1T..11T first n months, CN full year).",
    "Fill column B of thong_tin (unit code or name, year, period, report date dd/mm/yyyy, money unit: default million VND).",
    "kinh_phi: one row per funding source; allocated and executed are cumulative from 1 January; blank adjusted plan = unchanged.",
    "ket_qua: indicators are prefilled; enter the annual target and the cumulative achievement. de_an: one row per project.",
    "Blank = not reported, '-' = zero; numbers typed as text use '.' for thousands and ',' for decimals. No negative numbers.",
    "Keep the sheet names and the header row (row 1). Deadlines: KH 31 Mar, 6T 15 Jul, 9T 15 Oct, CN 31 Jan next year.",
)


def _eras_text() -> str:
    """`đến 30/06/2025 là 63 tỉnh, từ 01/07/2025 là 34 tỉnh`, from the `eras` seed."""
    eras = period_calendar().eras
    parts = []
    for era in eras:
        since, until = f"từ {era.valid_from:%d/%m/%Y}", f"đến {era.valid_to:%d/%m/%Y}" if era.valid_to else ""
        span = until if era == eras[0] else f"{since} {until}".strip()
        parts.append(f"{span} là {era.label_vi}")
    return ", ".join(parts)


def write_template(out_path: Path) -> None:
    """Write the blank KC-1 workbook to `out_path` (deterministic bytes)."""
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    indicators = load_indicators()
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")

    wb = Workbook()
    wb.properties.creator = "Cục Công Thương địa phương - Bộ Công Thương"
    wb.properties.lastModifiedBy = "khuyencong"
    wb.properties.title = "Mẫu báo cáo khuyến công KC-1"

    def header(ws, codes: tuple[str, ...], widths: tuple[int, ...]) -> None:
        for i, (code, width) in enumerate(zip(codes, widths), start=1):
            cell = ws.cell(row=1, column=i, value=LABELS[code])
            cell.font = header_font
            cell.fill = header_fill
            cell.alignment = wrap
            ws.column_dimensions[cell.column_letter].width = width
        ws.freeze_panes = "A2"

    def list_validation(ws, formula: str, ref: str, prompt: str) -> None:
        dv = DataValidation(type="list", formula1=formula, allow_blank=True)
        dv.error = "Giá trị không có trong danh mục / value not in the list"
        dv.errorTitle = "Danh mục"
        dv.prompt = prompt
        dv.showErrorMessage = True
        dv.showInputMessage = True
        ws.add_data_validation(dv)
        dv.add(ref)

    def amount_validation(ws, ref: str, whole: bool = False) -> None:
        dv = DataValidation(type="whole" if whole else "decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        dv.error = "Nhập số không âm / enter a non-negative number" + (" (số nguyên / whole number)" if whole else "")
        dv.errorTitle = "Số liệu"
        dv.showErrorMessage = True
        ws.add_data_validation(dv)
        dv.add(ref)

    # huong_dan (first, so it is what a province sees on opening)
    ws = wb.active
    ws.title = "huong_dan"
    ws.column_dimensions["A"].width = 140
    eras = _eras_text()
    for i, line in enumerate(_INSTRUCTIONS_VI + _INSTRUCTIONS_EN, start=1):
        cell = ws.cell(row=i, column=1, value=line.replace("{eras}", eras))
        if i == 1 or line == "ENGLISH SUMMARY":
            cell.font = Font(bold=True, size=12)

    # thong_tin
    ws = wb.create_sheet("thong_tin")
    header(ws, ("truong", "gia_tri"), (16, 40))
    for r, (code, label) in enumerate(METADATA_FIELDS, start=2):
        cell = ws.cell(row=r, column=1, value=code)
        cell.comment = Comment(label, "KC-1", width=260, height=60)
        value = ws.cell(row=r, column=2, value=DEFAULT_MONEY_UNIT if code == "don_vi_tien" else None)
        if code in ("ma_don_vi", "dien_thoai"):
            value.number_format = "@"  # keep the leading zero of `01`
        elif code == "ngay_lap":
            value.number_format = DATE_FORMAT
    rows = {code: r for r, (code, _) in enumerate(METADATA_FIELDS, start=2)}
    list_validation(ws, "danh_muc!$C$2:$C$14", f"B{rows['ky_bao_cao']}", "KH, 1T..11T, CN")
    list_validation(ws, "danh_muc!$D$2:$D$5", f"B{rows['don_vi_tien']}", "đồng, nghìn đồng, triệu đồng, tỷ đồng")
    year = DataValidation(type="whole", operator="between", formula1=str(FIRST_YEAR), formula2=str(LAST_YEAR),
                          allow_blank=True)
    year.error = f"Năm từ {FIRST_YEAR} đến {LAST_YEAR} / year {FIRST_YEAR}..{LAST_YEAR}"
    year.showErrorMessage = True
    ws.add_data_validation(year)
    year.add(f"B{rows['nam']}")

    # kinh_phi
    ws = wb.create_sheet("kinh_phi")
    header(ws, FUNDING_COLUMNS, (18, 18, 18, 16, 16, 10))
    for r, source in enumerate(FUNDING_SOURCE_LABELS, start=2):
        ws.cell(row=r, column=1, value=source)
        for c in range(2, 7):
            ws.cell(row=r, column=c).number_format = NUMBER_FORMAT
    for letter in "BCDEF":
        ws.column_dimensions[letter].number_format = NUMBER_FORMAT
    list_validation(ws, "danh_muc!$A$2:$A$5", "A2:A50", "KCQG, KCĐP, Đối ứng, Khác")
    amount_validation(ws, "B2:E50")
    amount_validation(ws, "F2:F50", whole=True)

    # ket_qua
    ws = wb.create_sheet("ket_qua")
    header(ws, OUTCOME_COLUMNS, (24, 70, 14, 14, 14))
    for r, (code, name, unit) in enumerate(indicators, start=2):
        ws.cell(row=r, column=1, value=code)
        ws.cell(row=r, column=2, value=name)
        ws.cell(row=r, column=3, value=unit)
        for c in (4, 5):
            ws.cell(row=r, column=c).number_format = NUMBER_FORMAT
    for letter in "DE":
        ws.column_dimensions[letter].number_format = NUMBER_FORMAT
    list_validation(ws, f"danh_muc!$B$2:$B${len(indicators) + 1}", "A2:A200", "mã chỉ tiêu / indicator code")
    amount_validation(ws, "D2:E200")

    # de_an
    ws = wb.create_sheet("de_an")
    header(ws, PROJECT_COLUMNS, (16, 50, 14, 22, 16, 16, 16, 12))
    for letter in "EFH":
        ws.column_dimensions[letter].number_format = NUMBER_FORMAT
    list_validation(ws, "danh_muc!$A$2:$A$5", "C2:C500", "KCQG, KCĐP, Đối ứng, Khác")
    list_validation(ws, "danh_muc!$E$2:$E$5", "G2:G500", "đang thực hiện, hoàn thành, điều chỉnh, dừng")
    amount_validation(ws, "E2:F500")
    amount_validation(ws, "H2:H500", whole=True)

    # danh_muc (hidden code lists)
    ws = wb.create_sheet("danh_muc")
    lists = (
        ("nguon_kinh_phi", FUNDING_SOURCE_LABELS),
        ("ma_chi_tieu", tuple(code for code, _, _ in indicators)),
        ("ky_bao_cao", PERIOD_CODES),
        ("don_vi_tien", MONEY_UNIT_LABELS),
        ("trang_thai", STATUS_LABELS),
        ("chi_tieu", tuple(name for _, name, _ in indicators)),
        ("don_vi_tinh", tuple(unit for _, _, unit in indicators)),
    )
    for c, (name, values) in enumerate(lists, start=1):
        ws.cell(row=1, column=c, value=name).font = header_font
        for r, value in enumerate(values, start=2):
            ws.cell(row=r, column=c, value=value)
    ws.sheet_state = "hidden"

    wb.active = 1  # open on thong_tin
    save_workbook_deterministic(wb, Path(out_path), TEMPLATE_TIMESTAMP)
