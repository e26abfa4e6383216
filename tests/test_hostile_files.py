"""Hostile files: each is refused with F01 by `read_file`, quickly, without crashing or exhausting memory.

docs/submission-format.md#rules, F01: wrong container, corrupt, encrypted, too large,
undecodable text. `khuyencong.ingest.container` caps or refuses everything before a parser
sees it; these tests build the attacks byte by byte.
"""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from builders import encode_text, read_part, rewrite_zip, valid_report

from khuyencong.config import ReadLimits
from khuyencong.ingest.reader import read_file

pytestmark = pytest.mark.xdist_group("hostile_files")  # module fixtures: built once, on one worker

MB = 1024 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SMALL = ReadLimits(max_file_bytes=MB, max_uncompressed_bytes=2 * MB, max_entries=20, max_rows_per_sheet=1000)


def refused(path: Path, limits: ReadLimits | None = None, seconds: float = 5.0):
    """read_file must answer with exactly one F01 finding and no submission, within `seconds`."""
    start = time.monotonic()
    check = read_file(path, limits=limits)
    elapsed = time.monotonic() - start
    assert elapsed < seconds, f"{path.name}: {elapsed:.1f} s"
    assert check.submission is None
    assert [f.rule for f in check.findings] == ["F01"], check.findings
    assert check.status == "rejected"
    f = check.findings[0]
    assert f.severity == "fatal" and f.message_vi and f.message_en
    return f


def zeros_bomb(path: Path, entry: str, size: int = 200 * MB, others: dict[str, bytes] | None = None) -> Path:
    """`size` zeros deflated into one entry (~1000:1), streamed so the test never holds them."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in (others or {}).items():
            zf.writestr(name, data)
        with zf.open(entry, "w", force_zip64=size > 2**31 - 2) as f:
            chunk = b"\0" * MB
            for _ in range(size // MB):
                f.write(chunk)
    return path


def patch_headers(path: Path, *, flag_bits: int = 0, uncompressed_size: int | None = None) -> Path:
    """Set bits in the general-purpose flag of every entry, or lie about its uncompressed size
    (local file headers and central directory alike)."""
    data = bytearray(path.read_bytes())
    for sig, flag_at, usize_at in ((b"PK\x03\x04", 6, 22), (b"PK\x01\x02", 8, 24)):
        pos = data.find(sig)
        while pos >= 0:
            if flag_bits:
                (flags,) = struct.unpack_from("<H", data, pos + flag_at)
                struct.pack_into("<H", data, pos + flag_at, flags | flag_bits)
            if uncompressed_size is not None:
                struct.pack_into("<I", data, pos + usize_at, uncompressed_size)
            pos = data.find(sig, pos + 4)
    path.write_bytes(bytes(data))
    return path


def xlsx_parts(tmp_path: Path) -> dict[str, bytes]:
    """The parts of a valid workbook, to rebuild hostile variants from."""
    path = valid_report().write_xlsx(tmp_path / "base.xlsx")
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """The 200 MB zip bombs are built once (~1 s)."""
    folder = tmp_path_factory.mktemp("bombs")
    zip_bomb = zeros_bomb(folder / "bomb.zip", "kinh_phi.csv")
    parts = xlsx_parts(folder)
    sheet = "xl/worksheets/sheet2.xml"
    xlsx_bomb = zeros_bomb(folder / "bomb.xlsx", sheet, others={k: v for k, v in parts.items() if k != sheet})
    return {"zip": zip_bomb, "xlsx": xlsx_bomb}


def test_valid_files_are_not_refused(tmp_path):
    """The baseline every hostile variant departs from."""
    for name in ("ok.xlsx", "ok.zip"):
        check = read_file(valid_report().write(tmp_path / name))
        assert check.findings == [] and check.submission is not None


# ---------------------------------------------------------------- bombs


@pytest.mark.parametrize("kind", ["zip", "xlsx"])
def test_zip_bomb_refused_with_default_limits_in_bounded_memory(bombs, kind):
    path = bombs[kind]
    assert path.stat().st_size < 2 * MB  # 200 MB of zeros, compressed
    tracemalloc.start()
    try:
        f = refused(path, limits=ReadLimits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * MB, f"peak {peak / MB:.0f} MB"
    assert "50 MB" in f.message_en and "zip bomb" in f.message_en


@pytest.mark.parametrize("kind", ["zip", "xlsx"])
def test_zip_bomb_lying_about_its_size_is_refused_in_bounded_memory(bombs, tmp_path, kind):
    """Declared sizes say 1 000 bytes: the real size is never trusted nor materialised."""
    path = tmp_path / f"liar.{kind}"
    path.write_bytes(bombs[kind].read_bytes())
    patch_headers(path, uncompressed_size=1000)
    tracemalloc.start()
    try:
        refused(path, limits=ReadLimits())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100 * MB, f"peak {peak / MB:.0f} MB"


def test_small_bomb_refused_under_small_caps(tmp_path):
    path = zeros_bomb(tmp_path / "b.zip", "kinh_phi.csv", size=8 * MB)
    f = refused(path, limits=SMALL)
    assert "2 MB" in f.message_en


def test_bomb_spread_over_many_entries_counts_the_total(tmp_path):
    """Each entry is under the cap, their sum is not."""
    path = tmp_path / "spread.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(5):
            zf.writestr(f"part{i}.csv", b"0" * MB)
    f = refused(path, limits=SMALL)
    assert "zip bomb" in f.message_en


def test_file_larger_than_the_cap(tmp_path):
    path = valid_report().write_xlsx(tmp_path / "big.xlsx")
    f = refused(path, limits=ReadLimits(max_file_bytes=1000))
    assert "larger than" in f.message_en
    assert f.value == str(path.stat().st_size)


# ---------------------------------------------------------------- archive structure


def test_too_many_entries(tmp_path):
    path = valid_report().write_zip(tmp_path / "many.zip", extra_entries={f"phu_luc_{i}.csv": b"a,b\n" for i in range(17)})
    with zipfile.ZipFile(path) as z:
        assert len(z.infolist()) == 21
    f = refused(path, limits=ReadLimits())
    assert f.value == "21" and "20" in f.message_en


def test_twenty_entries_are_allowed(tmp_path):
    path = valid_report().write_zip(tmp_path / "twenty.zip", extra_entries={f"phu_luc_{i}.txt": b"x" for i in range(16)})
    check = read_file(path, limits=ReadLimits())
    assert check.findings == []


@pytest.mark.parametrize("cut", [0.5, 0.9])
@pytest.mark.parametrize("suffix", [".zip", ".xlsx"])
def test_truncated_archive(tmp_path, suffix, cut):
    data = valid_report().write(tmp_path / f"whole{suffix}").read_bytes()
    path = tmp_path / f"truncated{suffix}"
    path.write_bytes(data[: int(len(data) * cut)])
    refused(path)


def test_corrupt_compressed_data(tmp_path):
    """Central directory intact, deflate stream damaged: CRC/zlib error, not a crash."""
    path = valid_report().write_zip(tmp_path / "flipped.zip")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("kinh_phi.csv")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 5, start + min(info.compress_size, 60)):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    f = refused(path)
    assert f.value == "kinh_phi.csv"


def _break_deflate_stream(path: Path, entry: str) -> Path:
    """Make the first deflate block header of `entry` invalid (BTYPE = 11, reserved)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(entry)
    assert info.compress_type == zipfile.ZIP_DEFLATED
    (name_len, extra_len) = struct.unpack_from("<HH", data, info.header_offset + 26)
    data[info.header_offset + 30 + name_len + extra_len] = 0xFF
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("suffix, entry", [(".zip", "kinh_phi.csv"), (".xlsx", "xl/worksheets/sheet2.xml")])
def test_invalid_deflate_stream_is_refused_not_raised(tmp_path, suffix, entry):
    path = _break_deflate_stream(valid_report().write(tmp_path / f"badflate{suffix}"), entry)
    f = refused(path)
    assert f.value == entry


def test_zip_with_no_csv(tmp_path):
    path = tmp_path / "nocsv.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "xin chào")
        zf.writestr("data/kinh_phi.csv", "nguon_kinh_phi,thuc_hien\n")  # not at the root
    f = refused(path)
    assert "no CSV" in f.message_en


def test_empty_zip_archive(tmp_path):
    path = tmp_path / "empty_archive.zip"
    with zipfile.ZipFile(path, "w"):
        pass
    refused(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".zip"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    refused(path)


@pytest.mark.parametrize("suffix", [".xlsx", ".zip"])
def test_binary_junk(tmp_path, suffix):
    path = tmp_path / f"junk{suffix}"
    path.write_bytes(os.urandom(64 * 1024))
    f = refused(path)
    assert "not a valid" in f.message_en


def test_junk_after_a_zip_signature(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"PK\x03\x04" + os.urandom(4096))
    refused(path)


def test_zip_named_xlsx_without_a_workbook(tmp_path):
    path = valid_report().write_zip(tmp_path / "csvs.zip")
    renamed = tmp_path / "csvs.xlsx"
    renamed.write_bytes(path.read_bytes())
    f = refused(renamed)
    assert "workbook.xml" in f.message_en


# ---------------------------------------------------------------- encryption


def test_encrypted_workbook_ole_container(tmp_path):
    """Excel saves a password-protected .xlsx as an OLE compound file."""
    path = tmp_path / "mat_khau.xlsx"
    path.write_bytes(OLE_MAGIC + os.urandom(8192))
    f = refused(path)
    assert "password" in f.message_en


def test_legacy_xls_content_named_zip(tmp_path):
    path = tmp_path / "old.zip"
    path.write_bytes(OLE_MAGIC + b"\0" * 4096)
    refused(path)


@pytest.mark.parametrize("suffix", [".zip", ".xlsx"])
def test_entry_with_the_encryption_flag(tmp_path, suffix):
    path = patch_headers(valid_report().write(tmp_path / f"encrypted{suffix}"), flag_bits=0x1)
    f = refused(path)
    assert "encrypted" in f.message_en


# ---------------------------------------------------------------- nesting and paths


def test_nested_zip(tmp_path):
    inner = valid_report().write_zip(tmp_path / "inner.zip").read_bytes()
    path = valid_report().write_zip(tmp_path / "outer.zip", extra_entries={"inner.zip": inner})
    f = refused(path)
    assert f.value == "inner.zip" and "another archive" in f.message_en


def test_nested_archive_disguised_as_csv(tmp_path):
    inner = valid_report().write_zip(tmp_path / "inner.zip").read_bytes()
    path = valid_report().without_sheet("de_an").write_zip(tmp_path / "outer.zip", extra_entries={"de_an.csv": inner})
    f = refused(path)
    assert f.value == "de_an.csv"


def test_workbook_inside_a_zip(tmp_path):
    book = valid_report().write_xlsx(tmp_path / "book.xlsx").read_bytes()
    path = tmp_path / "only_book.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("Bao cao 6T 2024.xlsx", book)
    refused(path)


def test_zip_hidden_in_a_workbook_part(tmp_path):
    inner = valid_report().write_zip(tmp_path / "inner.zip").read_bytes()
    path = rewrite_zip(valid_report().write_xlsx(tmp_path / "w.xlsx"), add={"xl/media/image1.png": inner})
    f = refused(path)
    assert f.value == "xl/media/image1.png"


def test_embedded_object_in_a_workbook_is_allowed(tmp_path):
    """Embedded OLE objects live in xl/embeddings/: legitimate, not a nested archive."""
    path = rewrite_zip(
        valid_report().write_xlsx(tmp_path / "w.xlsx"),
        add={"xl/embeddings/oleObject1.bin": OLE_MAGIC + b"\0" * 512},
    )
    assert read_file(path).findings == []


@pytest.mark.parametrize("name", ["../kinh_phi.csv", "/etc/passwd", "..\\x.csv", "a/../../x.csv", "C:/x.csv", "C:\\x.csv"])
def test_path_traversal_entry_names(tmp_path, name):
    path = valid_report().write_zip(tmp_path / "traversal.zip", extra_entries={name: b"a,b\n"})
    f = refused(path)
    assert f.value == name and "unsafe" in f.message_en


def test_path_traversal_in_a_workbook(tmp_path):
    path = rewrite_zip(valid_report().write_xlsx(tmp_path / "w.xlsx"), add={"../../evil.xml": b"<x/>"})
    f = refused(path)
    assert f.value == "../../evil.xml"


def test_macos_metadata_folder_is_ignored(tmp_path):
    path = valid_report().write_zip(
        tmp_path / "mac.zip", extra_entries={"__MACOSX/._kinh_phi.csv": b"\0\x05\x16\x07", ".DS_Store": b"\0\0\0\1Bud1"},
    )
    assert read_file(path).findings == []


# ---------------------------------------------------------------- XML attacks

BILLION_LAUGHS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + ']><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
    "<si><t>&lol9;</t></si></sst>"
)


def test_billion_laughs_in_shared_strings(tmp_path):
    path = rewrite_zip(valid_report().write_xlsx(tmp_path / "lol.xlsx"), add={"xl/sharedStrings.xml": BILLION_LAUGHS.encode()})
    tracemalloc.start()
    try:
        f = refused(path, seconds=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * MB
    assert f.value == "xl/sharedStrings.xml" and "DTD" in f.message_en


def test_entity_expansion_in_a_sheet(tmp_path):
    path = valid_report().write_xlsx(tmp_path / "ent.xlsx")
    part = "xl/worksheets/sheet2.xml"
    xml = read_part(path, part).decode()
    dtd = '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    xml = xml.replace("<worksheet", dtd + "<worksheet", 1).replace(">KCQG<", ">&b;<", 1)
    rewrite_zip(path, replace={part: xml.encode()})
    f = refused(path)
    assert f.value == part


def test_external_entity_in_a_sheet(tmp_path):
    path = valid_report().write_xlsx(tmp_path / "xxe.xlsx")
    part = "xl/worksheets/sheet1.xml"
    xml = read_part(path, part).decode()
    xml = xml.replace("<worksheet", '<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]><worksheet', 1)
    rewrite_zip(path, replace={part: xml.encode()})
    refused(path)


def test_dtd_in_a_utf16_encoded_part_is_refused_with_f01(tmp_path):
    path = valid_report().write_xlsx(tmp_path / "u16.xlsx")
    part = "xl/worksheets/sheet2.xml"
    xml = read_part(path, part).decode()
    xml = xml.replace("<worksheet", '<!DOCTYPE w [<!ENTITY a "KCQG">]><worksheet', 1).replace(">KCQG<", ">&a;<", 1)
    if xml.startswith("<?xml"):
        xml = xml[xml.index("?>") + 2:]
    rewrite_zip(path, replace={part: ('<?xml version="1.0" encoding="UTF-16"?>' + xml).encode("utf-16")})
    check = read_file(path)
    assert check.status == "rejected"  # holds today: never accepted
    refused(path)


def test_too_many_workbook_parts(tmp_path):
    path = rewrite_zip(
        valid_report().write_xlsx(tmp_path / "parts.xlsx"), add={f"customXml/item{i}.xml": b"<a/>" for i in range(200)},
    )
    refused(path)


# ---------------------------------------------------------------- rows


def _sheet_xml(rows: int) -> bytes:
    head = (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>nguon_kinh_phi</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>ke_hoach_dau_nam</t></is></c>'
        '<c r="C1" t="inlineStr"><is><t>thuc_hien</t></is></c></row>'
    )
    body = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>KCQG</t></is></c><c r="B{r}"><v>1</v></c><c r="C{r}"><v>1</v></c></row>'
        for r in range(2, rows + 1)
    )
    return (head + body + "</sheetData></worksheet>").encode()


def test_hundred_thousand_row_sheet_xlsx(tmp_path):
    path = rewrite_zip(valid_report().write_xlsx(tmp_path / "rows.xlsx"), replace={"xl/worksheets/sheet2.xml": _sheet_xml(100_000)})
    f = refused(path, limits=ReadLimits())
    assert "kinh_phi" in f.message_en and "limit of 10000 rows" in f.message_en
    assert "kinh_phi" in f.message_vi and "10000" in f.message_vi


def test_hundred_thousand_row_sheet_csv(tmp_path):
    lines = "nguon_kinh_phi,ke_hoach_dau_nam,thuc_hien\r\n" + "KCQG,1,1\r\n" * 99_999
    path = valid_report().without_sheet("kinh_phi").write_zip(
        tmp_path / "rows.zip", extra_entries={"kinh_phi.csv": lines.encode()},
    )
    f = refused(path, limits=ReadLimits())
    assert f.message_en == "Sheet 'kinh_phi' has 100000 rows, more than the limit of 10000 rows for one report."
    assert f.value == "100000"


@pytest.mark.parametrize("rows", [11, 100_000])
def test_xlsx_row_limit_is_exact(tmp_path, rows):
    limits = ReadLimits(max_rows_per_sheet=10) if rows == 11 else ReadLimits()
    path = rewrite_zip(valid_report().write_xlsx(tmp_path / "rows.xlsx"), replace={"xl/worksheets/sheet2.xml": _sheet_xml(rows)})
    f = refused(path, limits=limits)
    assert f.value == str(rows)


def test_csv_row_limit_is_exact(tmp_path):
    """The same boundary for CSV: limit rows pass, limit + 1 are refused."""
    report = valid_report().without_sheet("de_an")
    table = report.csv_text("thong_tin")
    assert table.count("\r\n") == 10  # header + 9 fields
    assert read_file(report.write_zip(tmp_path / "ten.zip"), limits=ReadLimits(max_rows_per_sheet=10)).findings == []
    eleven = report.with_meta(ghi_chu="x").write_zip(tmp_path / "eleven.zip")
    f = refused(eleven, limits=ReadLimits(max_rows_per_sheet=10))
    assert f.value == "11"


# ---------------------------------------------------------------- text


def test_csv_in_utf32(tmp_path):
    report = valid_report()
    path = tmp_path / "u32.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for code in report.sheets:
            zf.writestr(f"{code}.csv", encode_text(report.csv_text(code), "utf-32"))
    f = refused(path)
    assert f.value == "de_an.csv"  # the first entry read, in name order
    assert "UTF-8" in f.message_en


def test_csv_of_binary_bytes(tmp_path):
    junk = bytes(range(256)) * 64
    path = valid_report().without_sheet("kinh_phi").write_zip(tmp_path / "bin.zip", extra_entries={"kinh_phi.csv": junk})
    f = refused(path)
    assert f.value == "kinh_phi.csv"


def test_utf16_without_bom_is_not_text(tmp_path):
    report = valid_report()
    data = report.csv_text("kinh_phi").encode("utf-16-le")
    path = report.without_sheet("kinh_phi").write_zip(tmp_path / "nobom.zip", extra_entries={"kinh_phi.csv": data})
    refused(path)


# ---------------------------------------------------------------- wrong container


@pytest.mark.parametrize("name", ["bao_cao.xls", "bao_cao.ods", "bao_cao.pdf", "kinh_phi.csv", "bao_cao", "bao_cao.xlsm"])
def test_wrong_extension(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(valid_report().write_xlsx(tmp_path / "real.xlsx").read_bytes())
    f = refused(path)
    assert f.value == name


def test_never_raises_on_any_prefix_of_a_valid_file(tmp_path):
    """Every truncation of a valid workbook and archive: a finding, never an exception."""
    for suffix in (".xlsx", ".zip"):
        data = valid_report().write(tmp_path / f"whole{suffix}").read_bytes()
        for i, cut in enumerate(range(0, len(data), max(1, len(data) // 40))):
            path = tmp_path / f"cut{i}{suffix}"
            path.write_bytes(data[:cut])
            check = read_file(path)
            assert check.status == "rejected"
            assert [f.rule for f in check.findings] == ["F01"]


def test_random_byte_flips_never_crash(tmp_path):
    import random

    rng = random.Random(1258)
    base = valid_report().write_xlsx(tmp_path / "base.xlsx").read_bytes()
    for i in range(30):
        data = bytearray(base)
        for _ in range(8):
            data[rng.randrange(len(data))] = rng.randrange(256)
        path = tmp_path / f"flip{i}.xlsx"
        path.write_bytes(bytes(data))
        check = read_file(path)  # must not raise
        assert check.status in ("rejected", "accepted", "accepted_with_warnings")
