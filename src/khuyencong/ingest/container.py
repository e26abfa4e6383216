"""Open a submission container safely: `.xlsx` workbook or `.zip` of CSVs (docs/submission-format.md#sending-a-file).

Everything a hostile file could use is capped or refused before any parser sees it
(rule F01): the file size, the number of archive entries, the real (not declared)
uncompressed size, nested archives, unsafe entry names, XML DTDs (entity
expansion), encrypted (OLE) workbooks, and the number of rows of a sheet.
Nothing is ever extracted to disk.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from khuyencong import config
from khuyencong.config import ReadLimits
from khuyencong.ingest.preflight import csv_rows, scan_workbook
from khuyencong.ingest.refused import Refused
from khuyencong.normalise import DecodeError, decode_text, normalise_header

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted xlsx and legacy .xls
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".gz", ".tar", ".tgz", ".bz2", ".xz", ".xlsx", ".xls")
XLSX_MAX_PARTS = 200  # a workbook is a zip of XML parts; Excel writes a dozen or two


@dataclass
class RawSheet:
    """One sheet as cells: rows[i][j] is Excel row i+1, column j+1 (CSV: line i+1)."""

    name: str  # as written in the file
    rows: list[list[object]]
    formula_without_value: set[tuple[int, int]] = field(default_factory=set)  # (row, col), 1-based


def _read_entries(data: bytes, limits: ReadLimits, max_entries: int) -> dict[str, bytes]:
    """Decompress every entry with real-size accounting (declared sizes can lie)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError,
            struct.error) as exc:  # NotImplementedError: a central directory asking for zip version 7.5
        raise Refused("Tệp nén bị hỏng, không mở được.", "The archive is corrupt and cannot be opened.", str(exc)) from exc
    if len(infos) > max_entries:
        raise Refused(
            f"Tệp nén có {len(infos)} thành phần, vượt giới hạn {max_entries}.",
            f"The archive has {len(infos)} entries, more than the limit of {max_entries}.",
            str(len(infos)),
        )
    if any(info.flag_bits & 0x1 for info in infos):
        raise Refused("Tệp được đặt mật khẩu (mã hóa).", "The file is password-protected (encrypted).")
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_uncompressed_bytes:
        raise _too_large(declared, limits)
    entries: dict[str, bytes] = {}
    total = 0
    for info in infos:
        if info.is_dir():
            continue
        chunks = []
        try:
            with archive.open(info) as stream:
                while chunk := stream.read(1 << 20):
                    total += len(chunk)
                    if total > limits.max_uncompressed_bytes:
                        raise _too_large(total, limits)
                    chunks.append(chunk)
        except Refused:
            raise
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError, RuntimeError, ValueError) as exc:
            raise Refused(
                f"Không giải nén được thành phần '{info.filename}' (tệp hỏng hoặc nén kiểu không hỗ trợ).",
                f"Entry '{info.filename}' cannot be decompressed (corrupt or unsupported compression).",
                info.filename,
            ) from exc
        entries[info.filename] = b"".join(chunks)
    return entries


def _too_large(size: int, limits: ReadLimits) -> Refused:
    mb = limits.max_uncompressed_bytes // (1024 * 1024)
    return Refused(
        f"Dữ liệu giải nén vượt quá {mb} MB (có thể là tệp 'bom nén').",
        f"Uncompressed content exceeds {mb} MB (possible zip bomb).",
        str(size),
    )


def _refuse_dtd(name: str, content: bytes) -> None:
    # Entity-expansion attacks need a DTD; no legitimate workbook part has one. A DTD sits in the
    # prolog; dropping NUL bytes also finds it in a UTF-16 encoded part.
    prolog = content[:65536].replace(b"\x00", b"")
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog or b"<!DOCTYPE" in content or b"<!ENTITY" in content:
        raise Refused(
            f"Tệp chứa khai báo XML không được phép (DTD/ENTITY) trong '{name}'.",
            f"The workbook contains a forbidden XML declaration (DTD/ENTITY) in '{name}'.",
            name,
        )


def open_container(path: Path, limits: ReadLimits | None = None) -> list[RawSheet]:
    limits = limits or config.active().limits
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".zip"):
        raise Refused(
            f"Định dạng tệp '{suffix or '(không có)'}' không được chấp nhận: chỉ nhận .xlsx hoặc .zip chứa các tệp CSV.",
            f"File type '{suffix or '(none)'}' is not accepted: send an .xlsx workbook or a .zip of CSV files.",
            path.name,
        )
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        mb = limits.max_file_bytes // (1024 * 1024)
        raise Refused(f"Tệp lớn hơn {mb} MB.", f"The file is larger than {mb} MB.", str(size))
    data = path.read_bytes()
    if data.startswith(OLE_MAGIC):
        raise Refused(
            "Tệp Excel được đặt mật khẩu hoặc là định dạng .xls cũ: hãy bỏ mật khẩu và lưu dưới dạng .xlsx.",
            "The workbook is password-protected or in the old .xls format: remove the password and save as .xlsx.",
        )
    if not data.startswith(ZIP_MAGICS):
        raise Refused(
            f"Nội dung tệp không phải {'bảng tính .xlsx' if suffix == '.xlsx' else 'tệp nén .zip'} hợp lệ.",
            f"The file content is not a valid {'.xlsx workbook' if suffix == '.xlsx' else '.zip archive'}.",
        )
    if suffix == ".xlsx":
        return _open_xlsx(data, limits)
    return _open_csv_zip(data, limits)


# ---------------------------------------------------------------- xlsx

def _open_xlsx(data: bytes, limits: ReadLimits) -> list[RawSheet]:
    import python_calamine

    entries = _read_entries(data, limits, XLSX_MAX_PARTS)
    if "xl/workbook.xml" not in entries:
        raise Refused("Tệp .xlsx không có bảng tính (thiếu xl/workbook.xml).", "The .xlsx file holds no workbook (xl/workbook.xml missing).")
    for name, content in entries.items():
        _check_entry_name(name)
        if name.endswith((".xml", ".rels")):
            _refuse_dtd(name, content)
        elif content.startswith(ZIP_MAGICS + (OLE_MAGIC,)) and not name.startswith("xl/embeddings/"):
            raise _nested(name)
    gaps = scan_workbook(entries, limits)  # before calamine sizes any grid from these references
    meta = None
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in workbook.sheets_metadata:
            if str(meta.typ) != str(python_calamine.SheetTypeEnum.WorkSheet):
                continue
            sheet = workbook.get_sheet_by_name(meta.name)
            height = sheet.total_height + 1 if sheet.end is not None else 0  # total_height is the last row's index
            if height > limits.max_rows_per_sheet:
                raise _too_many_rows(meta.name, height, limits)
            rows = sheet.to_python(skip_empty_area=False)
            sheets.append(RawSheet(meta.name, rows, gaps.get(meta.name, set())))
        return sheets
    except (Refused, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - calamine's own errors, and a Rust panic (a BaseException)
        sheet = None if meta is None else meta.name
        raise Refused(
            "Bảng tính bị hỏng, không đọc được" + (f" (sheet '{sheet}')." if sheet else "."),
            "The workbook is corrupt and cannot be read" + (f" (sheet '{sheet}')." if sheet else "."),
            type(exc).__name__, sheet=sheet,
        ) from exc


def _too_many_rows(sheet: str, rows: int, limits: ReadLimits) -> Refused:
    return Refused(
        f"Sheet '{sheet}' có {rows} dòng, vượt giới hạn {limits.max_rows_per_sheet} dòng của một báo cáo.",
        f"Sheet '{sheet}' has {rows} rows, more than the limit of {limits.max_rows_per_sheet} rows for one report.",
        str(rows),
    )


# ---------------------------------------------------------------- zip of CSVs


def _check_entry_name(name: str) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or ".." in p.parts or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
        raise Refused(
            f"Tệp nén chứa đường dẫn không an toàn: '{name}'.",
            f"The archive contains an unsafe entry path: '{name}'.",
            name,
        )


def _nested(name: str) -> Refused:
    return Refused(
        f"Tệp nén chứa tệp nén khác ('{name}'): hãy đặt các tệp CSV trực tiếp trong một tệp .zip.",
        f"The archive contains another archive ('{name}'): put the CSV files directly in one .zip.",
        name,
    )


def _open_csv_zip(data: bytes, limits: ReadLimits) -> list[RawSheet]:
    entries = _read_entries(data, limits, limits.max_entries)
    sheets = []
    for name, content in sorted(entries.items()):
        _check_entry_name(name)
        lower = name.lower()
        if lower.endswith(ARCHIVE_SUFFIXES) or content.startswith(ZIP_MAGICS + (OLE_MAGIC,)):
            raise _nested(name)
        path = PurePosixPath(name)
        if path.parts[0] == "__MACOSX" or path.name.startswith("."):
            continue  # metadata folders some archivers add
        if len(path.parts) != 1 or path.suffix.lower() != ".csv":
            continue  # only CSVs at the root are sheets; a missing sheet is reported as F02
        try:
            text, _encoding = decode_text(content)
        except DecodeError as exc:
            raise Refused(
                f"Tệp '{name}' không phải văn bản UTF-8, UTF-16 (có BOM) hoặc Windows-1258.",
                f"'{name}' is not text in UTF-8, UTF-16 with BOM or Windows-1258.",
                name, sheet=path.stem,
            ) from exc
        rows = csv_rows(text, name, path.stem, limits)
        if len(rows) > limits.max_rows_per_sheet:
            raise _too_many_rows(path.stem, len(rows), limits)
        sheets.append(RawSheet(path.stem, rows))
    if not sheets:
        raise Refused(
            "Tệp nén không chứa tệp CSV nào ở thư mục gốc.",
            "The archive contains no CSV file at its root.",
        )
    return sheets


def sheet_code(sheet: RawSheet) -> str:
    return normalise_header(sheet.name)
