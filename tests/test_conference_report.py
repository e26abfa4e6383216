"""The conference report site: the published figures, rendered the Vietnamese way, safely, offline.

The marts are the conference-figures fixture (test_dbt_conference_figures, built once a
session); `pipeline.publish` publishes them and writes the site. Page checks parse the
HTML; the browser checks load every page in a real headless Chromium whose only proxy
is a dead port, over the DevTools protocol.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from headless_chromium import Browser, chromium_executable

from khuyencong.config import Settings
from khuyencong.findings import finding
from khuyencong.model import FileCheck
from khuyencong.reports.conference import refused_files, write_conference_report
from khuyencong.reports.pages import vn_growth, vn_number, vn_pct
from khuyencong.reports.submission_reports import write_file_reports
from khuyencong.run.pipeline import publish

pytestmark = pytest.mark.xdist_group("conference_build_db")  # one dbt build, shared with test_dbt_conference_figures

HOSTILE = '"><img src=x onerror=alert(1)>'
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "conference"


# ---------------------------------------------------------------- HTML reading


class Page(HTMLParser):
    """Tags, attributes, text and table rows (cell texts) of one page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class") or f"table{len(self.tables)}", [])
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def funding_row(self, region_vi: str, source: str) -> list[str]:
        """The cells of a source's row under a region's header row in the funding table."""
        region = None
        for row in self.tables["funding"]:
            if len(row) == 1:
                region = row[0]
            elif region and region.startswith(region_vi) and row[0] == source:
                return row
        raise AssertionError(f"no {source} row for {region_vi}")


def read(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- the published site


def _refused_and_accepted_reports(settings: Settings) -> None:
    """Per-file reports as check_and_load writes them: one refused file (hostile name), one with a warning."""
    folder = settings.raw_dir / "2017-02-03"
    refused = FileCheck(folder / f"Bao cao {HOSTILE}.xlsx", "ab" * 32, date(2017, 2, 3), None, [
        finding("F05", f"Giá trị {HOSTILE} không hợp lệ", f"Value {HOSTILE} is invalid",
                sheet="kinh_phi", row=3, column="thuc_hien", value=HOSTILE),
    ])
    warned = FileCheck(folder / "Bao cao CN 2016 - Ha Noi.xlsx", "cd" * 32, date(2017, 2, 3), None, [
        finding("W06", "Nộp muộn", "Late", sheet="thong_tin"),
    ])
    reports = settings.reports_dir / "submissions"
    records = []
    con = duckdb.connect(str(settings.build_db))
    try:  # recorded as check_and_load records them: publish keeps the reports of recorded files only
        for check in (refused, warned):
            con.execute("INSERT INTO raw.submissions (submission_id, sha256, path, file_name, file_size, arrival_date,"
                        " status, error_count, warning_count, funding_row_count, outcome_row_count,"
                        " project_row_count, loaded_at) VALUES (?, ?, ?, ?, 0, ?, ?, 1, 0, 0, 0, 0, now())",
                        [check.submission_id, check.sha256, str(check.path.relative_to(settings.raw_dir)),
                         check.path.name, check.arrival_date, check.status])
    finally:
        con.close()
    for check in (refused, warned):
        report = write_file_reports(check, reports, settings.raw_dir)
        records.append({"path": str(check.path.relative_to(settings.raw_dir)), "status": check.status,
                        "report": str(report.relative_to(settings.warehouse_dir))})
    runs = settings.reports_dir / "runs"
    runs.mkdir(parents=True)
    (runs / "20170203T000000000000Z.json").write_text(json.dumps({"check_and_load": {"files": records}}),
                                                      encoding="utf-8")


@pytest.fixture(scope="module")
def published(conference_build_db, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("conference_site")
    settings = Settings.from_env(root / "raw", root / "warehouse", environ={})
    settings.raw_dir.mkdir()
    settings.warehouse_dir.mkdir()
    shutil.copy(conference_build_db, settings.build_db)
    _refused_and_accepted_reports(settings)
    result = publish(settings)
    return {"settings": settings, "result": result, "index": Path(result["report"])}


@pytest.fixture(scope="module")
def site(published) -> Path:
    return published["settings"].reports_dir / "conference"


def test_publish_writes_the_site_and_returns_its_index(published, site):
    index = published["index"]
    assert index == published["settings"].reports_dir / "index.html"
    assert index.is_file()
    pages = {p.name for p in site.glob("*.html")}
    assert {"2016-CN.html", "2017-KH.html", "2017-9T.html", "2024-6T.html"} <= pages
    assert {"completeness.html", "refused.html", "merger.html"} <= pages
    links = {a["href"] for tag, a in read(index).tags if tag == "a"}
    assert {f"conference/{p}" for p in pages} <= links  # the entry page leads to every page


def test_north_2016_execution_as_quoted_at_the_conference(site):
    page = read(site / "2016-CN.html")
    # source, reported, initial plan, adjusted plan, allocated, executed, exec. rate, alloc. rate, growth, share
    tong = page.funding_row("Khu vực phía Bắc", "TONG")
    assert tong[1] == "28/28"
    assert tong[3] == "127.165"
    assert tong[5] == "123.370"
    assert tong[6] == "97,02%"
    kcqg = page.funding_row("Khu vực phía Bắc", "KCQG")
    assert (kcqg[5], kcqg[6], kcqg[9]) == ("56.300", "99,98%", "55,37%")
    national = page.funding_row("Cả nước", "KCQG")
    assert (national[1], national[5], national[9]) == ("63/63", "101.680", "100,00%")


def test_central_highlands_2017_plan_growth(site):
    page = read(site / "2017-KH.html")
    tong = page.funding_row("Khu vực miền Trung - Tây Nguyên", "TONG")
    assert (tong[2], tong[8]) == ("48.331", "+20,85%")
    kcdp = page.funding_row("Khu vực miền Trung - Tây Nguyên", "KCDP")
    assert (kcdp[2], kcdp[8]) == ("24.731", "+14,31%")
    kcqg = page.funding_row("Khu vực miền Trung - Tây Nguyên", "KCQG")
    assert (kcqg[2], kcqg[8]) == ("23.600", "+28,55%")


def test_north_2017_nine_month_outcomes_by_indicator(site, conference_build_db):
    con = duckdb.connect(str(conference_build_db), read_only=True)
    try:
        names = dict(con.execute("SELECT indicator_code, name_vi FROM marts.dim_indicator").fetchall())
    finally:
        con.close()
    rows = read(site / "2017-9T.html").tables["outcomes"]
    header, body = rows[0], rows[1:]
    north = next(i for i, h in enumerate(header) if h.startswith("Khu vực phía Bắc"))
    by_name = {r[0]: r for r in body}
    expected = {"dao_tao_nghe": "3.275", "mo_hinh_trinh_dien": "25", "ho_tro_may_moc": "750",
                "luot_tham_gia_hoi_cho": "151"}
    for code, actual in expected.items():
        row = next(r for name, r in by_name.items() if name.startswith(names[code]))
        assert row[north].split()[0] == actual, code  # then `KH <target>`
        assert row[-1] == "50,00%"


def test_national_allocation_mid_2024(site):
    kcqg = read(site / "2024-6T.html").funding_row("Cả nước", "KCQG")
    assert kcqg[7] == "34,60%"


def test_completeness_grid_matches_submission_status(published, site):
    con = duckdb.connect(str(published["settings"].published_db), read_only=True)
    try:
        counts = dict(con.execute("SELECT status, count(*) FROM marts.submission_status GROUP BY status").fetchall())
    finally:
        con.close()
    assert counts["missing"] == 48 + 35  # 2017 KH: only the 15 MTTN provinces; 2017 9T: only the 28 BAC ones
    cells: dict[str, int] = {}
    for tag, attrs in read(site / "completeness.html").tags:
        classes = (attrs.get("class") or "").split()
        if tag == "td" and "cell" in classes:
            status = next((c[2:] for c in classes if c.startswith("s-")), None)
            if status:
                cells[status] = cells.get(status, 0) + 1
    assert cells == counts


def test_refused_files_link_to_their_error_pages(site):
    page = read(site / "refused.html")
    [_, *rows] = page.tables["refused"]
    assert len(rows) == 1  # the accepted file with a warning is not listed
    links = [a["href"] for tag, a in page.tags if tag == "a" and a["href"].startswith("../submissions/")]
    assert len(links) == 1
    assert (site / links[0]).resolve().is_file()
    assert rows[0][0] == "2017-02-03"
    assert rows[0][1] == f"2017-02-03/Bao cao {HOSTILE}.xlsx"  # the file's real name, as text
    assert rows[0][3] == "F05"


def test_refused_files_are_the_latest_first_and_bounded(tmp_path):
    raw = tmp_path / "raw"
    for day in (5, 20, 12, 1):
        arrived = date(2024, 7, day)
        check = FileCheck(raw / arrived.isoformat() / f"Bao cao {day}.xlsx", f"{day:02d}" * 32, arrived, None,
                          [finding("F02", "Thiếu sheet", "Missing sheet", sheet="kinh_phi")])
        write_file_reports(check, tmp_path / "reports" / "submissions", raw)
    refused = refused_files(tmp_path / "reports", limit=3)
    assert [r["arrival"] for r in refused] == ["2024-07-20", "2024-07-12", "2024-07-05"]
    assert all(r["rules"] == ["F02"] and r["href"].startswith("../submissions/") for r in refused)


def test_the_data_as_of_line_is_the_latest_report_received(published):
    con = duckdb.connect(str(published["settings"].published_db), read_only=True)
    try:
        latest = con.execute("SELECT max(latest_received_on) FROM marts.submission_status").fetchone()[0]
    finally:
        con.close()
    text = " ".join(" ".join(read(published["index"]).text).split())
    assert f"Số liệu tính đến / Data as of: {latest:%d/%m/%Y}" in text


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("123370.000000"), "123.370"), (Decimal("1234567.5"), "1.234.568"), (0, "0"),
    (Decimal("-0.4"), "0"), (None, "–"),
])
def test_money_in_the_vietnamese_convention(value, text):
    assert vn_number(value) == text


def test_rates_and_growth_keep_two_decimals():
    assert vn_pct(97.02) == "97,02%"
    assert vn_pct(93.5) == "93,50%"
    assert vn_growth(20.85) == "+20,85%"
    assert vn_growth(-3.1) == "-3,10%"
    assert vn_growth(0.0) == "0,00%"
    assert vn_pct(None) == "–"


# ---------------------------------------------------------------- safe to open


@pytest.fixture(scope="module")
def hostile_site(published, tmp_path_factory) -> Path:
    """The same site over a published file whose names carry markup (names come from seeds an operator edits)."""
    root = tmp_path_factory.mktemp("hostile_site")
    db = root / "khuyencong.duckdb"
    shutil.copy(published["settings"].published_db, db)
    con = duckdb.connect(str(db))
    try:
        con.execute("UPDATE marts.dim_unit SET name = ? WHERE unit_id IN ('P63-01', 'P34-01')", [HOSTILE])
        con.execute("UPDATE marts.dim_indicator SET name_vi = ? WHERE indicator_code = 'dao_tao_nghe'", [HOSTILE])
    finally:
        con.close()
    shutil.copytree(published["settings"].reports_dir / "submissions", root / "reports" / "submissions")
    shutil.copytree(published["settings"].reports_dir / "runs", root / "reports" / "runs")
    return write_conference_report(db, root / "reports")


def test_control_characters_never_reach_a_page(published, tmp_path):
    raw, reports = tmp_path / "raw", tmp_path / "reports"
    name = "Bao cao\x1b[2J\u202egpj.exe\x07.xlsx"
    check = FileCheck(raw / "2024-07-10" / name, "ef" * 32, date(2024, 7, 10), None,
                      [finding("F02", "Thiếu\x00 sheet\r", "Missing\x9b sheet", sheet="kinh_phi")])
    report = write_file_reports(check, reports / "submissions", raw)
    (reports / "runs").mkdir()
    (reports / "runs" / "1.json").write_text(json.dumps({"check_and_load": {"files": [
        {"path": f"2024-07-10/{name}", "report": f"reports/submissions/{report.name}"}]}}), encoding="utf-8")
    index = write_conference_report(published["settings"].published_db, reports)
    assert "gpj.exe" in (index.parent / "conference" / "refused.html").read_text(encoding="utf-8")
    for path in _pages(index):
        page = path.read_text(encoding="utf-8")
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", page), path.name


def _pages(index: Path) -> list[Path]:
    return [index, *sorted((index.parent / "conference").glob("*.html"))]


def test_values_from_data_render_as_text(hostile_site):
    shown_in = []
    for path in _pages(hostile_site):
        page = read(path)
        assert not [t for t, _ in page.tags if t in ("img", "script", "iframe", "object", "embed")], path.name
        assert not [a for _, attrs in page.tags for a in attrs if a.startswith("on")], path.name
        if HOSTILE in "".join(page.text):
            shown_in.append(path.name)
    # the unit name (grid, merger), the indicator name (period pages), the refused file's name and message
    assert {"completeness.html", "merger.html", "refused.html", "2017-9T.html"} <= set(shown_in)


def test_pages_reference_nothing_outside_the_folder(published):
    for path in _pages(published["index"]):
        page = read(path)
        for tag, attrs in page.tags:
            for name in ("src", "href", "action", "srcset", "poster", "data"):
                value = attrs.get(name)
                if value is not None:
                    assert "//" not in value and ":" not in value, f"{path.name}: <{tag} {name}={value!r}>"
        csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in csp[0], path.name


# ---------------------------------------------------------------- in a real browser


def _pdf_page_sizes(pdf: bytes) -> set[tuple[int, int]]:
    boxes = re.findall(rb"/MediaBox ?\[0 0 ([0-9.]+) ([0-9.]+)\]", pdf)
    return {(round(float(w)), round(float(h))) for w, h in boxes}


@pytest.fixture(scope="module")
def browser():
    if chromium_executable() is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    with Browser() as b:
        yield b


def test_the_browser_check_sees_requests_and_console_errors(browser, tmp_path):
    """The assertions below are real: a page that fetches from the network and logs an error is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><p>x</p><img src="http://example.invalid/x.png">'
                   '<script>console.error("boom")</script>', encoding="utf-8")
    load = browser.load(bad.as_uri())
    assert load.network_requests == ["http://example.invalid/x.png"]
    assert any("boom" in e for e in load.errors)
    assert any("ERR_PROXY_CONNECTION_FAILED" in e for e in load.errors)


def test_every_page_renders_offline_without_errors(browser, published):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in _pages(published["index"]):
        load = browser.load(path.as_uri())
        assert load.errors == [], path.name
        assert load.network_requests == [], path.name
        assert load.requests == [path.as_uri()], path.name  # the page itself, nothing else
        assert _pdf_page_sizes(load.pdf) == {(595, 842)}, path.name  # printed on A4 portrait
        (ARTIFACTS / f"{path.stem}.png").write_bytes(load.screenshot)
        (ARTIFACTS / f"{path.stem}.pdf").write_bytes(load.pdf)
        if path.name == "2016-CN.html":
            assert "123.370" in load.text and "97,02%" in load.text
            assert "<svg" in load.dom
    print(f"screenshots and A4 prints: {ARTIFACTS}")


def test_hostile_names_stay_text_in_the_browser(browser, hostile_site):
    for path in _pages(hostile_site):
        load = browser.load(path.as_uri())
        assert load.errors == [], path.name
        assert "<img" not in load.dom, path.name  # an element would serialise as <img; text as &lt;img
    load = browser.load((hostile_site.parent / "conference" / "completeness.html").as_uri())
    assert HOSTILE in load.text
