"""Safe output: what a hostile submission (its cells, its file name) can make the product write.

Unit tests of `khuyencong.reports.safe` (with Hypothesis properties), then one landing zone
with a hostile .xlsx and a hostile zipped-CSV file taken through the real checker, the
Great Expectations gate and its Data Docs, the per-file reports, the run summary, the
pipeline's log and `kc validate`: no CSV cell starts a formula, no HTML page carries
markup from the submission, no control character reaches a terminal or `latest_run.md`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from builders import valid_report
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from khuyencong import cli
from khuyencong.config import Settings
from khuyencong.reports.safe import (
    FORMULA_TRIGGERS,
    PLAIN_NUMBER,
    SafeCsvWriter,
    csv_cell,
    docs_value,
    html_href,
    html_text,
    json_text,
    markdown_code,
    markdown_code_block,
    plain_text,
)
from khuyencong.reports.submission_reports import write_run_summary
from khuyencong.rules import checking
from khuyencong.run import pipeline

pytestmark = pytest.mark.xdist_group("safe_output")  # module fixtures: built once, on one worker

# What must never reach a terminal, a log or Markdown (a newline only where it is structural).
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
TEXT = st.text(alphabet=st.characters(codec="utf-8"))  # every code point, controls and bidi included


def starts_a_formula(cell: str) -> bool:
    return not PLAIN_NUMBER.fullmatch(cell) and (cell[:1] in FORMULA_TRIGGERS or cell.lstrip()[:1] in FORMULA_TRIGGERS)


# ---------------------------------------------------------------- terminal, logs


def test_plain_text_removes_escape_sequences_controls_and_bidi():
    assert plain_text("a\x1b[31mred\x1b[0m") == "a\ufffdred\ufffd"  # the whole sequence, not just ESC
    assert plain_text("\x1b]0;title\x07x") == "\ufffdx"  # OSC: set the window title
    assert plain_text("\x9b2Jx") == "\ufffdx"  # 8-bit CSI
    assert plain_text("a\u202egpj.xlsx") == "a\ufffdgpj.xlsx"  # right-to-left override
    assert plain_text("a\u2066b\u2069c\x85d\x7fe\x00f") == "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"
    assert plain_text("a\tb") == "a b"
    assert plain_text("line 1\r\nline 2\rline 3\n") == "line 1\ufffd\ufffdline 2\ufffdline 3\ufffd"
    assert plain_text("line 1\r\nline 2\rline 3\n", keep_newlines=True) == "line 1\nline 2\nline 3\n"
    assert plain_text("Thành phố Hà Nội — 48.331 | `x` *y*") == "Thành phố Hà Nội — 48.331 | `x` *y*"
    assert plain_text(None) == "" and plain_text(Path("raw/a.xlsx")) == "raw/a.xlsx"


@given(TEXT)
def test_plain_text_never_contains_a_control_character(text):
    assert not CONTROL.search(plain_text(text))
    assert not CONTROL.search(plain_text(text, keep_newlines=True))
    assert "\n" not in plain_text(text)


@given(st.recursive(st.none() | st.integers() | TEXT, lambda inner: st.lists(inner) | st.dictionaries(TEXT, inner)))
def test_json_text_is_the_same_data_without_control_characters(value):
    for indent in (None, 2):
        text = json_text(value, indent=indent)
        assert json.loads(text) == value
        assert not CONTROL.search(text.replace("\n", ""))


# ---------------------------------------------------------------- CSV


@pytest.mark.parametrize("hostile", [
    '=HYPERLINK("http://e.vn","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3",
    "\t=1+2", "\r=1+2", "  =1+2", "\n=1+2", "\uff1d1+2", "-", "-1-2", "--5", "-12,5",
])
def test_csv_cell_neutralises_formula_triggers(hostile):
    assert csv_cell(hostile) == "'" + plain_text(hostile, keep_newlines=True)


@pytest.mark.parametrize("number", ["-12.5", "42", "-0", "1e5", "-1.5E-3", ".5", -12.5, 3, Decimal("-1.25"), 0.0])
def test_csv_cell_keeps_plain_numbers(number):
    assert csv_cell(number) == number


def test_csv_cell_keeps_text_and_empties():
    assert csv_cell("Nguồn kinh phí 'X' không có trong danh mục") == "Nguồn kinh phí 'X' không có trong danh mục"
    assert csv_cell(None) == "" and csv_cell("") == ""
    assert csv_cell(True) == "True"  # a bool is not a number here
    assert csv_cell("a\x1b[31mb") == "a\ufffdb"


@given(st.one_of(TEXT, st.integers(), st.floats(allow_nan=False), st.decimals(allow_nan=False, allow_infinity=False)))
def test_csv_cell_never_starts_a_formula(value):
    cell = csv_cell(value)
    if isinstance(cell, str):
        assert not starts_a_formula(cell), cell
        assert not CONTROL.search(cell.replace("\n", ""))
    else:  # a number passes as it is
        assert cell == value and not isinstance(value, str)


def test_safe_csv_writer_quotes_every_field_and_keeps_separators_inside():
    out = io.StringIO()
    SafeCsvWriter(out).writerow(['a",=1+2;x', -12.5, None, "=cmd|x"])
    assert out.getvalue() == '"a"",=1+2;x","-12.5","","\'=cmd|x"\r\n'
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ['a",=1+2;x', "-12.5", "", "'=cmd|x"]


# ---------------------------------------------------------------- Markdown

ALLOWED_MARKDOWN_TAGS = {"h1", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "pre"}


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    """Every element, attribute and text run of an HTML page, as the browser's parser sees them."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[str] = []
        self.text: list[str] = []
        self.cells: list[list[str]] = []  # per <tr>: its cells' text
        self._in: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))
        if tag not in VOID:
            self._in.append(tag)
        if tag == "tr" or (tag in ("td", "th") and not self.cells):
            self.cells.append([])
        if tag in ("td", "th"):
            self.cells[-1].append("")

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag):
        if tag in self._in:
            del self._in[len(self._in) - 1 - self._in[::-1].index(tag):]

    def handle_data(self, data):
        self.text.append(data)
        if "script" in self._in:
            self.scripts.append(data)
        if self.cells and self.cells[-1] and any(t in ("td", "th") for t in self._in):
            self.cells[-1][-1] += data


def render_markdown(text: str) -> Page:
    return Page(MarkdownIt("gfm-like").enable("linkify").render(text))


def test_markdown_code_cannot_break_a_table_or_inject():
    names = ["a|b", "x` | `y", "*bold* _it_ [link](javascript:alert(1)) <script>alert(1)</script>",
             "http://e.vn www.e.vn a@e.vn", "``", "\\|", "a\nb\x1b[31m|"]
    table = "| file | n |\n|---|---|\n" + "".join(f"| {markdown_code(n)} | 1 |\n" for n in names)
    page = render_markdown(table)
    assert {tag for tag, _ in page.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
    assert [len(row) for row in page.cells] == [2] * (len(names) + 1)
    assert [row[0] for row in page.cells[1:4]] == [plain_text(n) for n in names[:3]]


@given(TEXT)
def test_markdown_code_is_one_cell_of_literal_text(name):
    page = render_markdown(f"| file | n |\n|---|---|\n| {markdown_code(name)} | 1 |\n")
    assert {tag for tag, _ in page.tags} <= {"table", "thead", "tbody", "tr", "th", "td", "code"}
    assert [len(row) for row in page.cells] == [2, 2]
    shown = page.cells[1][0]
    # a backslash before `|` may be doubled to keep the pipe escaped; nothing else changes
    assert shown.replace("\\", "") == plain_text(name).replace("\\", "") or not plain_text(name).strip()


def test_markdown_code_block_cannot_be_closed_from_inside():
    message = "dbt failed\n```\n# not a heading\n<img src=x onerror=alert(1)>\n````\n\x1b[31mred"
    page = render_markdown("before\n\n" + markdown_code_block(message) + "\n\nafter\n")
    assert [tag for tag, _ in page.tags] == ["p", "pre", "code", "p"]
    assert "".join(page.text).count("onerror") == 1 and "\x1b" not in "".join(page.text)


# ---------------------------------------------------------------- HTML


def test_html_text_escapes_markup_and_quotes():
    assert html_text("\"><img src=x onerror=alert(1)>") == "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
    assert html_text("it's <b>") == "it&#x27;s &lt;b&gt;"
    assert html_text("a\u202eb\nc") == "a\ufffdb\nc" and html_text(None) == ""


@pytest.mark.parametrize("target", [
    "javascript:alert(1)", "//evil.example/x", "/etc/passwd", "\" onmouseover=\"alert(1)", "data:text/html,<b>",
    "2024-07-10_Ha Noi_1a2b.html", "\\\\host\\share",
])
def test_html_href_is_a_relative_path_in_one_attribute(target):
    page = Page(f'<a href="{html_href(target)}">x</a>')
    [(tag, attrs)] = page.tags
    assert tag == "a" and [name for name, _ in attrs] == ["href"]
    parts = urlsplit(attrs[0][1])
    assert parts.scheme == "" and parts.netloc == "" and not parts.path.startswith("/")


def test_docs_value_escapes_every_string_in_a_result():
    result = {"partial_unexpected_list": ["<b>x</b>", 3], "unexpected_index_list": [{"funding_source": "<i>", "source_row": 2}],
              "partial_unexpected_counts": [{"value": "\"'", "count": 1}], "observed_value": None}
    assert docs_value(result) == {
        "partial_unexpected_list": ["&lt;b&gt;x&lt;/b&gt;", 3], "unexpected_index_list": [{"funding_source": "&lt;i&gt;", "source_row": 2}],
        "partial_unexpected_counts": [{"value": "&quot;&#x27;", "count": 1}], "observed_value": None}


# ---------------------------------------------------------------- end to end: a hostile landing zone

XSS = "\"><img src=x onerror=alert('kc-xss')>"
FORMULAS = {  # where in the file -> the hostile cell
    ("kinh_phi", "KCDP", "thuc_hien"): "+cmd|' /C calc'!A0",
    ("ket_qua", "dao_tao_nghe", "thuc_hien"): "@SUM(1+1)*cmd|' /C calc'!A0",
    ("ket_qua", "mo_hinh_trinh_dien", "thuc_hien"): "-2+3+cmd|' /C calc'!A0",
}
HYPERLINK = '=HYPERLINK("http://e.vn/kc-pwn","x")'  # only in the CSV: openpyxl writes "=..." as a formula
UNIT_NAME = "\x9b31m<b>kc-bold</b>\u202e|`*_[x](http://e.vn)"  # xlsx cells cannot hold C0 controls; C1 and bidi pass
# A file name may hold anything but "/" and NUL: newline, ANSI, OSC, Markdown, HTML, a bidi override.
NAME = ("HaNoi\n\x1b[2J\x1b]0;kc-title\x07|`*_[a](javascript:alert(3))<script>alert('kc-xss')"
        "<img src=x onerror=alert('kc-xss')>\u202egpj")


def hostile_report():
    report = valid_report().with_cell("kinh_phi", "KCQG", "nguon_kinh_phi", XSS).with_meta(ten_don_vi=UNIT_NAME)
    for (sheet, key, column), value in FORMULAS.items():
        report = report.with_cell(sheet, key, column, value)
    return report


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    raw, warehouse = root / "raw", root / "warehouse"
    folder = raw / "2024-07-10"
    xlsx = hostile_report().write_xlsx(folder / f"{NAME}.xlsx")
    zipped = hostile_report().with_cell("kinh_phi", "KCDP", "thuc_hien", HYPERLINK).write_zip(
        folder / f"\t=cmd|' \x1b[31m{NAME}.zip")
    settings = Settings.from_env(raw, warehouse)
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    pipeline.log.addHandler(handler)
    old_level = pipeline.log.level
    pipeline.log.setLevel(logging.INFO)
    try:
        stages = {"check_and_load": pipeline.check_and_load(settings)}
    finally:
        pipeline.log.removeHandler(handler)
        pipeline.log.setLevel(old_level)
    pipeline.summarise(settings, stages)
    return {"raw": raw, "reports": warehouse / "reports", "files": [xlsx, zipped], "stages": stages,
            "log": [r.getMessage() for r in records]}


def test_hostile_files_are_checked_and_reported(hostile_run):
    loaded = hostile_run["stages"]["check_and_load"]
    assert loaded["rejected"] == 2 and len(loaded["files"]) == 2
    assert all({"F05", "F06", "W05"} <= set(f["rules"]) for f in loaded["files"])
    assert len(list((hostile_run["reports"] / "submissions").glob("*.csv"))) == 2


def test_no_report_csv_cell_starts_a_formula(hostile_run):
    cells = []
    for path in (hostile_run["reports"]).rglob("*.csv"):
        with path.open(encoding="utf-8-sig", newline="") as f:
            cells += [cell for row in csv.reader(f) for cell in row]
    assert [c for c in cells if starts_a_formula(c)] == []
    assert [c for c in cells if CONTROL.search(c.replace("\n", ""))] == []
    # the hostile values are there, as text
    for value in [*FORMULAS.values(), HYPERLINK]:
        assert "'" + value in cells
    assert XSS in cells  # no trigger: as it was


def test_no_html_page_carries_markup_from_the_submission(hostile_run):
    pages = sorted(hostile_run["reports"].rglob("*.html"))
    docs = [p for p in pages if "data_docs" in p.parts]
    assert len(pages) - len(docs) == 2 and docs
    for path in pages:
        text = path.read_text(encoding="utf-8")
        page = Page(text)
        assert not [t for t, attrs in page.tags if t in ("img", "b", "i") and any(n == "onerror" for n, _ in attrs)], path
        assert not [(t, attrs) for t, attrs in page.tags for _, v in attrs if v and ("kc-xss" in v or "alert(" in v)], path
        assert not [s for s in page.scripts if "kc-xss" in s or "alert(" in s], path
        for live in ("<img src=x onerror", "<script>alert(", "<b>kc-bold"):
            assert live not in text, (path, live)
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", text), path
    # the values are shown as text: in our report, and in GX's page of the funding suite
    for ours in (p for p in pages if p not in docs):
        text = ours.read_text(encoding="utf-8")
        shown = "".join(Page(text).text)
        assert XSS in shown and plain_text(UNIT_NAME) in shown
        assert f"<td>{html_text(FORMULAS['ket_qua', 'dao_tao_nghe', 'thuc_hien'])}</td>" in text  # no CSV quote here
    funding = [p for p in docs if "kinh_phi" in p.parts]
    assert funding and any(XSS in "".join(Page(p.read_text(encoding="utf-8")).text) for p in funding)


def test_latest_run_md_is_inert(hostile_run):
    text = (hostile_run["reports"] / "latest_run.md").read_text(encoding="utf-8")
    assert not CONTROL.search(text)
    page = render_markdown(text)
    assert {tag for tag, _ in page.tags} <= ALLOWED_MARKDOWN_TAGS
    rows = page.cells
    assert [len(r) for r in rows] == [6, 6, 6]
    shown = {r[0] for r in rows[1:]}
    assert shown == {plain_text(p.relative_to(hostile_run["raw"])) for p in hostile_run["files"]}


def test_run_summary_quotes_a_blocked_message_inertly(tmp_path):
    settings = Settings.from_env(tmp_path / "raw", tmp_path / "wh")
    message = "Mart gate failed\n```\n<img src=x onerror=alert(1)> | *x* \x1b[31mred\n"
    path = write_run_summary(settings, {"blocked": {"message": message}})
    text = path.read_text(encoding="utf-8")
    assert not CONTROL.search(text)
    page = render_markdown(text)
    assert {tag for tag, _ in page.tags} <= ALLOWED_MARKDOWN_TAGS
    assert [tag for tag, _ in page.tags if tag in ("pre", "table")] == ["pre", "table"]  # the table survives
    assert plain_text(message, keep_newlines=True) + "\n" in "".join(page.text)


def test_pipeline_log_lines_are_plain(hostile_run):
    lines = [m for m in hostile_run["log"] if "rejected" in m]
    assert len(lines) == 2 and not [m for m in lines if CONTROL.search(m)]


def test_kc_validate_prints_no_control_character(hostile_run, gate, monkeypatch, capsys):
    real = checking.check_files
    monkeypatch.setattr(checking, "check_files", lambda paths, **kw: real(paths, **{**kw, "gate": gate}))
    code = cli.main(["validate", *map(str, hostile_run["files"])])
    out = capsys.readouterr().out
    assert code == 1
    assert not CONTROL.search(out.replace("\n", ""))
    assert out.count("REJECTED") == 2 and plain_text(hostile_run["files"][0]) in out
    assert plain_text(UNIT_NAME) in out and "+cmd|' /C calc'!A0" in out

    code = cli.main(["validate", "--json", *map(str, hostile_run["files"])])
    out = capsys.readouterr().out
    assert code == 1 and not CONTROL.search(out.replace("\n", ""))
    report = json.loads(out)  # the machine output keeps the exact values, as escapes
    assert {f["file"] for f in report["files"]} == set(map(str, hostile_run["files"]))
    assert UNIT_NAME in {f["value"] for f in report["findings"]}

    code = cli.main(["validate", str(hostile_run["files"][0]) + "\x1b[31m-missing"])
    assert code == 2 and "\x1b" not in capsys.readouterr().err
