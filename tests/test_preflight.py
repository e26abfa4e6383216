"""Pre-flight checks (khuyencong.ingest.preflight) and the reader's last-resort F01.

The scans run before calamine or the csv module see a byte; these tests drive them
directly on sheet XML and CSV text, then through `read_file` for the configuration
(environment variables) and the never-raise guarantee.
"""

from __future__ import annotations

import csv
import logging
import zipfile

import pytest
from builders import valid_report

from khuyencong.config import ReadLimits
from khuyencong.ingest import reader
from khuyencong.ingest.preflight import csv_rows, scan_workbook
from khuyencong.ingest.reader import read_file
from khuyencong.ingest.refused import Refused
from khuyencong.normalise import column_letter

LIMITS = ReadLimits(max_rows_per_sheet=100, max_columns_per_sheet=8, max_csv_field_chars=50)


def workbook(sheet_xml: bytes, name: bytes = b"kinh_phi") -> dict[str, bytes]:
    return {
        "xl/workbook.xml": b'<workbook xmlns:r="r"><sheets><sheet name="' + name + b'" sheetId="1" r:id="rId1"/>'
                           b"</sheets></workbook>",
        "xl/_rels/workbook.xml.rels": b'<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                                      b"</Relationships>",
        "xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + sheet_xml + b"</sheetData></worksheet>",
    }


def refusal(sheet_xml: bytes, limits: ReadLimits = LIMITS):
    with pytest.raises(Refused) as info:
        scan_workbook(workbook(sheet_xml), limits)
    return info.value.finding


@pytest.mark.parametrize(("xml", "row", "column", "value"), [
    (b'<row r="1"><c r="I1"><v>1</v></c></row>', 1, "I", "I1"),
    (b'<row r="2"><c r="A101"><v>1</v></c></row>', 101, "A", "A101"),
    (b'<c r="XFD1048576"><v>1</v></c>', 1048576, "XFD", "XFD1048576"),
    (b'<row r="101"/>', 101, None, "101"),
    (b'<row r="1"><c/><c/><c/><c/><c/><c/><c/><c/><c/></row>', 1, "I", "I1"),  # implicit positions count too
    (b'<row r="1"><c r="A0"/></row>', None, "A", "A0"),
    (b'<row r="1"><c r="AAAA1"/></row>', None, None, "AAAA1"),
])
def test_positions_beyond_the_caps_are_refused(xml, row, column, value):
    f = refusal(xml)
    assert f.rule == "F01" and f.sheet == "kinh_phi"
    assert (f.row, f.column, f.value) == (row, column, value)
    assert f.expected == "A1:H100" and "A1:H100" in f.message_en and "A1:H100" in f.message_vi


@pytest.mark.parametrize("part", [b'<dimension ref="A1:I3"/>', b'<mergeCells><mergeCell ref="B2:B101"/></mergeCells>'])
def test_ranges_beyond_the_caps_are_refused(part):
    sheets = workbook(b'<row r="1"><c r="A1"><v>1</v></c></row>')
    sheets["xl/worksheets/sheet1.xml"] = sheets["xl/worksheets/sheet1.xml"].replace(b"<sheetData>", part + b"<sheetData>")
    with pytest.raises(Refused) as info:
        scan_workbook(sheets, LIMITS)
    assert info.value.finding.sheet == "kinh_phi"


def test_the_corner_cell_is_allowed():
    assert scan_workbook(workbook(b'<row r="100"><c r="H100"><v>1</v></c></row>'), LIMITS) == {}
    assert column_letter(64) == "BL" and column_letter(16384) == "XFD"


def test_an_overlong_reference_is_shown_short_and_printable():
    f = refusal(b'<c r="A' + b"9" * 100_000 + b'\x01"/>')
    assert len(f.value) <= 41 and f.value.isprintable()


@pytest.mark.parametrize(("xml", "gaps"), [
    (b'<row r="2"><c r="E2"><f>SUM(B2:D2)</f><v></v></c></row>', {(2, 5)}),
    (b'<row r="2"><c r="E2"><f>SUM(B2:D2)</f><v/></c></row>', {(2, 5)}),
    (b'<row r="2"><c r="E2"><f>SUM(B2:D2)</f></c></row>', {(2, 5)}),
    (b'<row r="2"><c r="E2"><f t="shared" si="0"/></c></row>', {(2, 5)}),
    (b'<row r="2"><c s="1" t="n" r="E2"><f>1</f><v>12</v></c></row>', set()),
    (b'<row r="2"><c r=\'E2\'><f>1</f><v>0</v></c></row>', set()),
    (b'<x:row r="2"><x:c r="E2"><x:f>1</x:f></x:c></x:row>', {(2, 5)}),
    (b'<row r="3"><c><v>1</v></c><c><f>1</f></c></row>', {(3, 2)}),  # positions without r
    (b'<row r="2"><c r="B2"><v>1</v></c><c r="C2"/></row>', set()),
])
def test_formula_cells_without_cached_value(xml, gaps):
    assert scan_workbook(workbook(xml), LIMITS) == ({"kinh_phi": gaps} if gaps else {})


def test_the_formula_scan_is_linear_on_unclosed_cells():
    """One formula, then 200 000 `<c r="A1">` that never close: a lazy `(.*?)</c>` regex took minutes
    on a fraction of this; the scan answers with every cell as a formula-less open cell."""
    xml = b'<row r="1"><c r="A1"><f>1</f></c>' + b'<c r="A1">' * 200_000 + b"</row>"
    assert scan_workbook(workbook(xml), ReadLimits()) == {"kinh_phi": {(1, 1)}}


def test_the_tag_scan_is_linear_on_unterminated_tags():
    # 1 MB of tag name with no `>`, and 100 000 attributes with no `=`: no regex may backtrack over them
    xml = b"<" + b"a" * 1_000_000 + b'<row r="1"><c ' + b"x " * 100_000 + b'r="A1"><v>1</v></c></row>'
    assert scan_workbook(workbook(xml), LIMITS) == {}


def test_sheet_names_are_unescaped():
    gaps = scan_workbook(workbook(b'<c r="A1"><f>1</f></c>', name=b"Kinh ph&#237; &amp; KQ"), LIMITS)
    assert gaps == {"Kinh phí & KQ": {(1, 1)}}


# ---------------------------------------------------------------- CSV


def test_csv_field_at_the_cap_is_read_and_one_more_is_refused():
    assert csv_rows("a,b\n" + "x" * 50 + ",1\n", "kinh_phi.csv", "kinh_phi", LIMITS)[1][0] == "x" * 50
    with pytest.raises(Refused) as info:
        csv_rows("a,b\n1,2\n\"" + "x" * 51 + "\",1\n", "kinh_phi.csv", "kinh_phi", LIMITS)
    f = info.value.finding
    assert (f.rule, f.sheet, f.row, f.value) == ("F01", "kinh_phi", 3, "kinh_phi.csv")
    assert "50" in f.message_en and "line 3" in f.message_en


def test_csv_field_limit_is_restored():
    before = csv.field_size_limit()
    with pytest.raises(Refused):
        csv_rows("\"" + "x" * 100 + "\"\n", "a.csv", "a", LIMITS)
    csv_rows("a\n", "a.csv", "a", LIMITS)
    assert csv.field_size_limit() == before


def test_csv_row_wider_than_the_column_cap():
    with pytest.raises(Refused) as info:
        csv_rows("a,b\n" + ",".join("1" * 9) + "\n", "ket_qua.csv", "ket_qua", LIMITS)
    assert (info.value.finding.row, info.value.finding.sheet) == (2, "ket_qua")


# ---------------------------------------------------------------- configuration and the last resort


def test_caps_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KC_MAX_COLUMNS_PER_SHEET", "12")
    monkeypatch.setenv("KC_MAX_CSV_FIELD_CHARS", "345")
    limits = ReadLimits.from_env()
    assert (limits.max_columns_per_sheet, limits.max_csv_field_chars) == (12, 345)
    assert ReadLimits().max_columns_per_sheet == 64 and ReadLimits().max_csv_field_chars == 10_000


def test_column_cap_from_the_environment_reaches_the_reader(tmp_path, monkeypatch):
    from khuyencong import config

    path = valid_report().write_xlsx(tmp_path / "r.xlsx")  # de_an is 8 columns wide (H)
    assert not [f for f in read_file(path).findings if f.rule == "F01"]
    monkeypatch.setenv("KC_MAX_COLUMNS_PER_SHEET", "7")
    assert not [f for f in read_file(path).findings if f.rule == "F01"]  # below an entry point: never the env
    before = config.active()
    config.activate(config.Settings.from_env())  # what `kc` and each DAG task do
    try:
        check = read_file(path)
    finally:
        config.activate(before)
    [f] = check.findings
    assert (f.rule, f.sheet, f.column) == ("F01", "de_an", "H")


def test_any_exception_while_parsing_a_file_is_its_f01(tmp_path, monkeypatch, caplog):
    path = valid_report().write_zip(tmp_path / "r.zip")

    def broken(self):
        raise RuntimeError("boom\x1b[31m \u202e" + "x" * 5000)

    monkeypatch.setattr(reader._Parser, "parse", broken)
    with caplog.at_level(logging.ERROR, logger="khuyencong.ingest.reader"):
        check = read_file(path)
    [f] = check.findings
    assert check.status == "rejected" and check.submission is None and f.rule == "F01"
    assert f.message_en.startswith("The file could not be processed (read): RuntimeError: boom")
    assert f.message_en.isprintable() and f.message_vi.isprintable() and len(f.message_en) < 500
    assert "Traceback" not in f.message_en
    # the programming error stays visible to whoever runs the pipeline
    assert any(r.exc_info and "boom" in str(r.exc_info[1]) for r in caplog.records)


def test_a_workbook_that_calamine_cannot_read_names_the_sheet(tmp_path):
    path = valid_report().write_xlsx(tmp_path / "r.xlsx")
    with zipfile.ZipFile(path) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/worksheets/sheet2.xml"] = parts["xl/worksheets/sheet2.xml"].replace(b"</c>", b"</x>", 1)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    [f] = read_file(path).findings
    assert (f.rule, f.sheet) == ("F01", "kinh_phi")


@pytest.mark.parametrize("xml", [
    b'<row r="1"><c a="&gt;>" r="XFD1"><v>1</v></c></row>',  # `>` inside an attribute value
    b'<row r="1"><c a=\' r="A1"\' r="XFD1"><v>1</v></c></row>',  # a decoy r= inside another value
    b'<row r="1"><c r="A1" r="XFD1"><v>1</v></c></row>',  # repeated: calamine takes the last
    b'<row r="1"><c r = "XFD1"><v>1</v></c></row>',
    b'<row r="1"><c r="xfd1"><v>1</v></c></row>',  # calamine reads lower-case references
])
def test_references_calamine_would_read_cannot_hide_from_the_scan(xml):
    assert refusal(xml).value.upper() == "XFD1"


def test_cells_behind_a_less_than_sign_still_count():
    # quick-xml reads `<` inside attribute values: each `<c a="<"/>` is a cell at the next column
    f = refusal(b'<row r="1">' + b'<c a="<"/>' * 9 + b"</row>")
    assert (f.row, f.column) == (1, "I")


def test_a_row_given_as_a_cell_reference_is_refused_not_raised():
    assert refusal(b'<row r="A5"><c r="A5"/></row>').rule == "F01"


def test_more_cells_than_the_caps_allow_are_refused_before_the_walk():
    f = refusal(b'<c r="A1"/>' * (100 * 8 + 1))
    assert "801" in f.value
