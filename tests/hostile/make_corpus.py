"""Build the hostile corpus of tests/hostile/: small files (< 64 KB) that each attack the reader once.

    uv run --frozen python tests/hostile/make_corpus.py

Every file starts from the valid report of tests/builders.py and breaks one thing; the
output is deterministic (fixed zip timestamps), so re-running it changes nothing that
is committed. `expected.csv` is written too: the rule each file must be rejected with
and, where the attack has a place, the sheet, row and column the finding must name.
"""

from __future__ import annotations

import csv
import sys
import tempfile
import zipfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/builders.py

from builders import Formula, valid_report  # noqa: E402

MAX_FILE_BYTES = 64 * 1024
FIXED_TIME = (2024, 7, 10, 0, 0, 0)
FUNDING_PART = "xl/worksheets/sheet2.xml"  # the kinh_phi sheet of valid_report()
CORE_XML = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
    b' xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>hostile corpus</dc:creator></cp:coreProperties>'
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + b']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&lol9;</t></si></sst>'
)


def write_zip(path: Path, parts: list[tuple[str, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in parts:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return path


def xlsx_parts(report) -> list[tuple[str, bytes]]:
    """The parts of `report` as an .xlsx, with the timestamped core properties made constant."""
    tmp = Path(tempfile.mkdtemp()) / "report.xlsx"
    try:
        report.write_xlsx(tmp)
        with zipfile.ZipFile(tmp) as z:
            parts = [(i.filename, z.read(i)) for i in z.infolist()]
    finally:
        tmp.unlink(missing_ok=True)
        tmp.parent.rmdir()
    return [(n, CORE_XML if n == "docProps/core.xml" else d) for n, d in parts]


def xlsx(report=None, patch: Callable[[bytes], bytes] | None = None, part: str = FUNDING_PART,
         add: list[tuple[str, bytes]] = ()) -> Callable[[Path], Path]:
    """A workbook of `report`, with `patch` applied to one part's XML."""
    def build(path: Path) -> Path:
        parts = [(n, patch(d) if patch and n == part else d) for n, d in xlsx_parts(report or valid_report())]
        return write_zip(path, parts + list(add))
    return build


def csv_zip(report=None, replace: dict[str, bytes] | None = None,
            add: list[tuple[str, bytes]] = ()) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        report_ = report or valid_report()
        parts = [(f"{code}.csv", (replace or {}).get(code, report_.csv_text(code).encode("utf-8-sig")))
                 for code in report_.sheets]
        return write_zip(path, parts + list(add))
    return build


def raw_bytes(data: bytes) -> Callable[[Path], Path]:
    def build(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return build


def unsupported_zip_version(path: Path) -> Path:
    """A valid zip whose central directory says it needs zip version 7.5 to extract."""
    csv_zip()(path)
    data = bytearray(path.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 6:at + 8] = (75).to_bytes(2, "little")
    path.write_bytes(bytes(data))
    return path


def before_sheet_data_end(xml: bytes) -> Callable[[bytes], bytes]:
    return lambda d: d.replace(b"</sheetData>", xml + b"</sheetData>")


def valid_xlsx_bytes() -> bytes:
    tmp = Path(tempfile.mkdtemp()) / "valid.xlsx"
    try:
        return xlsx()(tmp).read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
        tmp.parent.rmdir()


def funding_csv_with(cell_text: str) -> bytes:
    """kinh_phi.csv whose KCQG thuc_hien is `cell_text` (row 2, column E)."""
    return valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", cell_text).csv_text("kinh_phi").encode("utf-8-sig")


def quadratic_formula_sheet(xml: bytes) -> bytes:
    # One formula, then tens of thousands of cells that never close: a lazy `<c ...>(.*?)</c>` regex
    # rescans the rest of the part from each of them.
    return xml.replace(b"</sheetData>", b'<row r="4"><c r="A4"><f>1+1</f></c>' + b'<c r="A1">' * 60_000
                       + b"</row></sheetData>")


# name -> (builder, rule, sheet, row, column); row/column empty where the attack has no place
CORPUS: dict[str, tuple[Callable[[Path], Path], str, str, str, str]] = {
    # cell references beyond what a report can hold: refused before calamine sizes its grid
    "cell_xfd1048576.xlsx": (xlsx(patch=before_sheet_data_end(
        b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>')), "F01", "kinh_phi", "1048576", ""),
    "cell_huge_row.xlsx": (xlsx(patch=before_sheet_data_end(
        b'<row r="900000"><c r="A900000" t="n"><v>1</v></c></row>')), "F01", "kinh_phi", "900000", ""),
    "cell_wide_under_row_cap.xlsx": (xlsx(patch=before_sheet_data_end(
        b'<row r="9000"><c r="XFD9000" t="n"><v>1</v></c></row>')), "F01", "kinh_phi", "9000", "XFD"),
    "row_attribute_huge.xlsx": (xlsx(patch=before_sheet_data_end(b'<row r="5000000"></row>')),
                                "F01", "kinh_phi", "5000000", ""),
    "dimension_huge.xlsx": (xlsx(patch=lambda d: d.replace(b'<dimension ref="A1:F3" />',
                                                           b'<dimension ref="A1:XFD1048576" />')),
                            "F01", "kinh_phi", "1048576", "XFD"),
    "merge_cell_huge.xlsx": (xlsx(patch=lambda d: d.replace(
        b"</sheetData>", b'</sheetData><mergeCells count="1"><mergeCell ref="A1:XFD1048576"/></mergeCells>')),
        "F01", "kinh_phi", "1048576", "XFD"),
    "cell_ref_invalid.xlsx": (xlsx(patch=before_sheet_data_end(
        b'<row r="4"><c r="A99999999999999999999" t="n"><v>1</v></c></row>')), "F01", "kinh_phi", "", ""),
    "quadratic_formula_scan.xlsx": (xlsx(patch=quadratic_formula_sheet), "F01", "kinh_phi", "", ""),
    # containers
    "zip_bomb.zip": (csv_zip(add=[("padding.csv", b"\0" * (51 * 1024 * 1024))]), "F01", "", "", ""),
    "too_many_entries.zip": (csv_zip(add=[(f"extra_{i:02}.csv", b"a,b\n") for i in range(20)]), "F01", "", "", ""),
    "zip_version_unsupported.zip": (unsupported_zip_version, "F01", "", "", ""),
    "nested.zip": (csv_zip(add=[("inner.zip", valid_xlsx_bytes())]), "F01", "", "", ""),
    "billion_laughs.xlsx": (xlsx(add=[("xl/sharedStrings.xml", BILLION_LAUGHS)]), "F01", "", "", ""),
    "encrypted_ole.xlsx": (raw_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088)), "F01", "", "", ""),
    "truncated.xlsx": (raw_bytes(valid_xlsx_bytes()[:3000]), "F01", "", "", ""),
    "not_a_zip.xlsx": (raw_bytes(b"Bao cao khuyen cong 6 thang 2024\r\n1;2;3\r\n"), "F01", "", "", ""),
    "empty.xlsx": (raw_bytes(b""), "F01", "", "", ""),
    "empty.zip": (raw_bytes(b""), "F01", "", "", ""),
    # CSV text
    "csv_long_field.zip": (csv_zip(replace={"kinh_phi": funding_csv_with("9" * 140_000)}),
                           "F01", "kinh_phi", "2", ""),
    "csv_too_many_columns.zip": (csv_zip(replace={"ket_qua": ("a," * 500 + "a\r\n").encode()}),
                                 "F01", "ket_qua", "1", ""),
    "csv_not_utf8_garbage.zip": (csv_zip(replace={"kinh_phi": bytes(range(256)) * 8}), "F01", "kinh_phi", "", ""),
    # a cell with no row element around it: only its own reference says where it is
    "cell_xfd_without_row.xlsx": (xlsx(patch=before_sheet_data_end(b'<c r="XFD3" t="n"><v>1</v></c>')),
                                  "F01", "kinh_phi", "3", "XFD"),
    # values that parse but do not fit the warehouse columns
    "money_1e14.xlsx": (xlsx(valid_report().with_cell("kinh_phi", "KCQG", "ke_hoach_dau_nam", 10**14)),
                        "F05", "kinh_phi", "2", "ke_hoach_dau_nam (B)"),
    "money_1e14.zip": (csv_zip(replace={"kinh_phi": valid_report().with_cell(
        "kinh_phi", "KCQG", "ke_hoach_dau_nam", "100.000.000.000.000").csv_text("kinh_phi").encode()}),
        "F05", "kinh_phi", "2", "ke_hoach_dau_nam (B)"),
    "money_in_dong_1e20.zip": (csv_zip(valid_report().in_money_unit("đồng", 10**6).with_cell(
        "de_an", 0, "kinh_phi_duyet", Decimal(10**20))), "F05", "de_an", "2", "kinh_phi_duyet (E)"),
    "money_seven_decimals.zip": (csv_zip(replace={"kinh_phi": funding_csv_with("850,1234567")}),
                                 "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "count_3e9.xlsx": (xlsx(valid_report().with_cell("kinh_phi", "KCQG", "so_de_an", 3_000_000_000)),
                       "F05", "kinh_phi", "2", "so_de_an (F)"),
    "beneficiaries_3e9.zip": (csv_zip(valid_report().with_cell("de_an", 0, "so_co_so_thu_huong", 3_000_000_000)),
                              "F05", "de_an", "2", "so_co_so_thu_huong (H)"),
    "number_1e20_cell.xlsx": (xlsx(valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", 1e20)),
                              "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "number_1e300_cell.xlsx": (xlsx(patch=lambda d: d.replace(b"<v>850.5</v>", b"<v>1E+300</v>")),
                               "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "number_inf_cell.xlsx": (xlsx(patch=lambda d: d.replace(b"<v>850.5</v>", b"<v>inf</v>")),
                             "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "number_nan_cell.xlsx": (xlsx(patch=lambda d: d.replace(b"<v>850.5</v>", b"<v>NaN</v>")),
                             "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "nan_text.zip": (csv_zip(replace={"kinh_phi": funding_csv_with("NaN")}), "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "inf_text.zip": (csv_zip(replace={"kinh_phi": funding_csv_with("inf")}), "F05", "kinh_phi", "2", "thuc_hien (E)"),
    "formula_without_cached_value.xlsx": (xlsx(valid_report().with_cell(
        "kinh_phi", "KCQG", "thuc_hien", Formula("SUM(B2:B3)"))), "F05", "kinh_phi", "2", "thuc_hien (E)"),
}


def main(out: Path = HERE) -> None:
    for old in [*out.glob("*.xlsx"), *out.glob("*.zip")]:
        old.unlink()
    with (out / "expected.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "rule", "sheet", "row", "column"])
        for name, (build, rule, sheet, row, column) in CORPUS.items():
            path = build(out / name)
            size = path.stat().st_size
            assert size < MAX_FILE_BYTES, f"{name}: {size} bytes"
            writer.writerow([name, rule, sheet, row, column])
    print(f"{len(CORPUS)} files in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
