"""The deterministic sample landing zone (khuyencong_sample) and its reusable writers."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from collections import Counter, defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from khuyencong.periods import deadline
from khuyencong_sample.conference import BAC_2017_9T, MTTN_2017_KH, REGION_2016, split
from khuyencong_sample.figures import NATIONAL_KCQG_ALLOCATED_2024_6T, NATIONAL_KCQG_PLAN_2024
from khuyencong_sample.generate import (
    DUPLICATE_SAMPLE_FILES,
    INVALID_SAMPLE_FILES,
    SUPERSEDED_SAMPLE_FILES,
    WARNING_SAMPLE_FILES,
    build_sample,
    write_sample,
)
from khuyencong_sample.writers import (
    Report,
    Style,
    format_vn_number,
    write_xlsx_report,
    write_zip_report,
)

pytestmark = pytest.mark.xdist_group("sample")  # module fixtures: built once, on one worker

# ------------------------------------------------------------ a minimal independent reader


def _norm(text: object) -> str:
    t = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", t).strip("_")


def _num(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    s = str(value).strip()
    if s == "-":
        return Decimal(0)
    assert re.fullmatch(r"\d{1,3}(\.\d{3})*(,\d+)?|\d+(,\d+)?", s), s
    return Decimal(s.replace(".", "").replace(",", "."))


_FACTOR = {"dong": Decimal("0.000001"), "nghin_dong": Decimal("0.001"), "trieu_dong": Decimal(1), "ty_dong": Decimal(1000)}


def _sheets(path: Path) -> dict[str, list[list[object]]]:
    if path.suffix == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        out = {_norm(ws.title): [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
        wb.close()
        return out
    out = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            raw = zf.read(name)
            text = raw[3:].decode("utf-8") if raw.startswith(b"\xef\xbb\xbf") else raw.decode("cp1258")
            rows = list(csv.reader(io.StringIO(unicodedata.normalize("NFC", text), newline="")))
            out[_norm(name[:-4])] = rows
    return out


def _funding(path: Path) -> tuple[dict[str, str], dict[str, dict[str, Decimal | None]]]:
    """(metadata, source -> column -> million VND) of one sample file."""
    sheets = _sheets(path)
    meta = {_norm(k): v for k, v, *_ in sheets["thong_tin"][1:]}
    factor = _FACTOR[_norm(meta.get("don_vi_tien") or "triệu đồng")]
    header = [_norm(h) for h in sheets["kinh_phi"][0]]
    rows = {}
    for cells in sheets["kinh_phi"][1:]:
        rec = dict(zip(header, cells))
        source = _norm(rec["nguon_kinh_phi"]).upper()
        rows[source] = {k: (None if (v := _num(rec.get(k))) is None else v * factor)
                        for k in ("ke_hoach_dau_nam", "da_phan_bo", "thuc_hien")}
    return meta, rows


# ------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def plan():
    return build_sample()


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample_a")
    write_sample(out)
    return out


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _mains(plan):
    return [f for f in plan if f.role == "main"]


# ------------------------------------------------------------ tests


def test_two_writes_are_byte_identical(sample_dir, tmp_path):
    written = write_sample(tmp_path / "b")
    assert written == sorted(written)
    first, second = _digests(sample_dir), _digests(tmp_path / "b")
    assert first == second
    assert len(first) == len(written) > 470


def test_landing_zone_layout(sample_dir, plan):
    files = _digests(sample_dir)
    assert set(files) == {f.relpath for f in plan}
    for rel in files:
        folder, name = rel.split("/")
        date.fromisoformat(folder)
        assert not re.search(r'[<>:"\\|?*\x00-\x1f]', name), name
    # the duplicate is byte-identical, the others are all distinct
    for dup, orig in DUPLICATE_SAMPLE_FILES.items():
        assert files[dup] == files[orig]
    assert len(set(files.values())) == len(files) - len(DUPLICATE_SAMPLE_FILES)


UNITS_SEED = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "units.csv"


def _day_reported_on(year: int, period: str) -> date:
    """The day a report describes, written out here rather than taken from periods.py: KH 1 January, nT the
    last day of month n, CN 31 December."""
    if period == "KH":
        return date(year, 1, 1)
    month = 12 if period == "CN" else int(period.removesuffix("T"))
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def test_each_report_comes_from_a_unit_that_existed_on_the_day_it_describes(plan):
    """Checked against the seeds' era dates (units -> eras), not against the era function that chose the units."""
    with (UNITS_SEED.parent / "eras.csv").open(encoding="utf-8") as f:
        eras = {r["era"]: (date.fromisoformat(r["valid_from"]),
                           date.fromisoformat(r["valid_to"]) if r["valid_to"] else date.max)
                for r in csv.DictReader(f)}
    with UNITS_SEED.open(encoding="utf-8") as f:
        validity = {r["unit_id"]: eras[r["era"]] for r in csv.DictReader(f)}
    assert _day_reported_on(2025, "6T") == date(2025, 6, 30) and _day_reported_on(2024, "CN") == date(2024, 12, 31)
    for f in _mains(plan):
        valid_from, valid_to = validity[f.figures.unit.unit_id]
        assert valid_from <= _day_reported_on(f.figures.year, f.figures.period) <= valid_to, f.relpath
    # the merger in the sample: 6T 2025 is the last period of the 63 provinces, 9T 2025 the first of the 34
    prefixes = defaultdict(set)
    for f in _mains(plan):
        prefixes[(f.figures.year, f.figures.period)].add(f.figures.unit.unit_id[:4])
    assert prefixes[(2025, "6T")] == {"P63-"} and prefixes[(2025, "9T")] == {"P34-"}


def test_expected_reports_per_year_and_period(plan):
    units = defaultdict(set)
    for f in _mains(plan):
        units[(f.figures.year, f.figures.period)].add(f.figures.unit.unit_id)
    expected = {(2016, "CN"): 63, (2017, "KH"): 63, (2017, "9T"): 63,
                (2023, "CN"): 63, (2024, "KH"): 63, (2024, "6T"): 63, (2024, "9T"): 63, (2024, "CN"): 63,
                (2025, "KH"): 63, (2025, "6T"): 63, (2025, "9T"): 34}
    assert {k: len(v) for k, v in units.items()} == expected
    assert len(_mains(plan)) == sum(expected.values())  # one main version per report


def test_2024_kcqg_calibration_in_the_model(plan):
    def total(period: str, attr: str) -> Decimal:
        return sum((getattr(f.figures.funding_by_source()["KCQG"], attr) for f in _mains(plan)
                    if (f.figures.year, f.figures.period) == (2024, period)), Decimal(0))

    assert total("KH", "plan") == NATIONAL_KCQG_PLAN_2024 == Decimal(130_000)
    assert total("6T", "allocated") == NATIONAL_KCQG_ALLOCATED_2024_6T == Decimal(44_980)
    assert round(total("6T", "allocated") / total("KH", "plan") * 100, 1) == Decimal("34.6")
    assert total("6T", "plan") == NATIONAL_KCQG_PLAN_2024


def test_2024_kcqg_calibration_in_the_files(sample_dir, plan):
    plan_total, alloc_total = Decimal(0), Decimal(0)
    units = set()
    for f in _mains(plan):
        if f.figures.year != 2024 or f.figures.period not in ("KH", "6T"):
            continue
        meta, funding = _funding(sample_dir / f.relpath)
        assert str(meta["nam"]) == "2024"
        kcqg = funding["KCQG"]
        if f.figures.period == "KH":
            plan_total += kcqg["ke_hoach_dau_nam"]
            units.add(f.figures.unit.unit_id)
        else:
            alloc_total += kcqg["da_phan_bo"]
        assert kcqg["ke_hoach_dau_nam"] == f.figures.funding_by_source()["KCQG"].plan
    assert len(units) == 63
    assert plan_total == Decimal(130_000)
    assert alloc_total == Decimal(44_980)


def test_conference_years_add_up_to_the_published_figures(plan):
    """2016 CN and 2017 KH / 9T of the 63 provinces sum, per region, to conference.py's figures."""
    funding: Counter = Counter()
    outcomes: Counter = Counter()
    for f in _mains(plan):
        fig = f.figures
        for s in fig.funding:
            effective = s.plan if s.plan_adjusted is None else s.plan_adjusted  # as fct_funding reads it
            for column, value in (("plan_initial_mvnd", s.plan), ("plan_adjusted_mvnd", effective),
                                  ("executed_mvnd", s.executed)):
                funding[(fig.unit.region, fig.year, fig.period, s.source, column)] += value or 0
        for o in fig.outcomes:
            outcomes[(fig.unit.region, fig.year, fig.period, o.code)] += o.actual or 0
    for region, sources in REGION_2016.items():
        for source, columns in sources.items():
            for column, total in columns.items():
                assert funding[(region, 2016, "CN", source, column)] == Decimal(total), (region, source, column)
    for source, total in MTTN_2017_KH.items():
        assert funding[("MTTN", 2017, "KH", source, "plan_initial_mvnd")] == Decimal(total)
        assert funding[("MTTN", 2017, "9T", source, "plan_initial_mvnd")] == Decimal(total)
    for code, total in BAC_2017_9T.items():
        assert outcomes[("BAC", 2017, "9T", code)] == int(total), code


def test_split_adds_up_and_follows_the_weights():
    assert split("25", [3, 1, 1, 0.5], Decimal(1)) == [Decimal(14), Decimal(5), Decimal(4), Decimal(2)]
    parts = split("123370", 28)
    assert sum(parts) == Decimal(123370) and len(set(parts)) > 1 and min(parts) > 0


def test_one_file_content_matches_its_figures(sample_dir, plan):
    zips = [f for f in _mains(plan) if f.rendering.container == "zip" and f.rendering.money_unit == "tỷ đồng"]
    xlsx = [f for f in _mains(plan) if f.rendering.container == "xlsx" and f.rendering.style.numbers_as_text
            and f.figures.period == "CN"]
    for f in (zips[0], xlsx[0]):
        meta, funding = _funding(sample_dir / f.relpath)
        assert str(meta["ky_bao_cao"]) == f.figures.period
        for fig in f.figures.funding:
            got = funding[_norm(fig.source).upper()]
            assert got["ke_hoach_dau_nam"] == fig.plan
            assert got["thuc_hien"] == fig.executed


def test_invalid_and_warning_files_cover_every_rule(sample_dir, plan):
    assert set(INVALID_SAMPLE_FILES.values()) == {f"F0{i}" for i in range(1, 8)}
    assert {"W01", "W04", "W05", "W06"} <= set(WARNING_SAMPLE_FILES.values())
    files = set(_digests(sample_dir))
    assert set(INVALID_SAMPLE_FILES) <= files and set(WARNING_SAMPLE_FILES) <= files
    roles = {f.relpath: f for f in plan}
    for rel, rule in INVALID_SAMPLE_FILES.items():
        assert roles[rel].role == "invalid" and roles[rel].rule == rule
    for rel, rule in WARNING_SAMPLE_FILES.items():
        assert roles[rel].role == "main" and roles[rel].rule == rule
    for old, new in SUPERSEDED_SAMPLE_FILES.items():
        assert roles[old].role == "superseded" and roles[new].role == "main"
        assert roles[old].figures.report_date < roles[new].figures.report_date and old < new


def test_late_files_and_report_dates(plan):
    late = {rel for rel, rule in WARNING_SAMPLE_FILES.items() if rule == "W06"}
    for f in plan:
        if f.figures is None or f.role == "invalid":
            continue
        due = deadline(f.figures.year, f.figures.period)
        assert (f.arrival > due) == (f.relpath in late), f.relpath
        assert f.figures.report_date <= f.arrival, f.relpath


def test_figures_are_consistent_except_where_meant(plan):
    w01 = {r for r, w in WARNING_SAMPLE_FILES.items() if w == "W01"}
    w04 = {r for r, w in WARNING_SAMPLE_FILES.items() if w == "W04"}
    latest = {}
    for f in plan:
        if f.role not in ("main", "superseded"):
            continue
        fig = f.figures
        over = False
        for src in fig.funding:
            effective = src.plan_adjusted if src.plan_adjusted is not None else src.plan
            over |= src.executed is not None and src.executed > effective
            if src.allocated is not None and f.relpath not in w01:
                assert src.executed <= src.allocated <= effective
        assert over == (f.relpath in w01), f.relpath
        if fig.projects:
            approved = Counter()
            for p in fig.projects:
                approved[p.source] += p.approved
            off = any(abs(approved[s.source] - s.plan) > s.plan / 100 for s in fig.funding)
            assert off == (f.relpath in w04), f.relpath
            assert len(fig.projects) <= 6
            codes = [p.code for p in fig.projects]
            assert len(codes) == len(set(codes))
        if f.role == "main":
            latest[(fig.unit.unit_id, fig.year, fig.period)] = fig
    # cumulative figures grow within a year
    for (uid, year, period), fig in latest.items():
        nxt = {"6T": "9T", "9T": "CN"}.get(period)
        if nxt and (uid, year, nxt) in latest:
            later = latest[(uid, year, nxt)]
            for a, b in zip(fig.funding, later.funding):
                assert a.source == b.source and b.executed >= a.executed
                assert a.allocated is None or b.allocated >= a.allocated
            for a, b in zip(fig.outcomes, later.outcomes):
                assert b.actual >= a.actual
        if (uid, year - 1, "CN") in latest and period in ("KH", "CN"):
            prev = latest[(uid, year - 1, "CN")].funding_by_source()
            for s in fig.funding:
                assert abs(s.plan / prev[s.source].plan - 1) <= Decimal("0.5")
        assert fig.funding_by_source()["KCDP"].plan >= fig.funding_by_source()["KCQG"].plan * Decimal("0.9")


def test_formats_are_mixed(sample_dir, plan):
    mains = _mains(plan)
    r = [f.rendering for f in mains]
    assert Counter(x.container for x in r).keys() == {"xlsx", "zip"}
    assert {x.encoding for x in r if x.container == "zip"} == {"utf-8-sig", "cp1258"}
    assert set(Counter(x.money_unit for x in r)) == {"đồng", "nghìn đồng", "triệu đồng", "tỷ đồng"}
    assert {"both", "code", "name"} <= {x.identify for x in r}
    assert any(x.style.numbers_as_text for x in r) and any(x.style.date_as_text for x in r)
    assert {x.style.labels for x in r} == {True, False}
    # a Windows-1258 file stores tone marks as combining characters
    f = next(f for f in mains if f.rendering.container == "zip" and f.rendering.encoding == "cp1258")
    with zipfile.ZipFile(sample_dir / f.relpath) as zf:
        names = zf.namelist()
        assert {"thong_tin.csv", "kinh_phi.csv", "ket_qua.csv"} <= set(names)
        assert all(i.date_time == (2020, 1, 1, 0, 0, 0) for i in zf.infolist())
        text = zf.read("ket_qua.csv").decode("cp1258")
    assert not text.startswith("\ufeff") and not unicodedata.is_normalized("NFC", text)
    assert "người" in unicodedata.normalize("NFC", text)


def test_writers_build_tailored_and_broken_files(tmp_path):
    report = Report(
        metadata=[("ma_don_vi", "01"), ("nam", 2024), ("ky_bao_cao", "6T"), ("ngay_lap", date(2024, 7, 10))],
        kinh_phi=[{"nguon_kinh_phi": "KCQG", "ke_hoach_dau_nam": Decimal("1234567.5"), "KE HOACH KHAC": "x",
                   "thuc_hien": "1.5"}],
        ket_qua=None,
        columns={"kinh_phi": ["thuc_hien", "nguon_kinh_phi", "ke_hoach_dau_nam", "KE HOACH KHAC"]},
        sheet_names={"kinh_phi": "Kinh phí"},
        extra_sheets={"ghi_chu": [["a", "b"], [1, "x"]]},
    )
    write_xlsx_report(tmp_path / "a.xlsx", report, Style(numbers_as_text=True))
    wb = openpyxl.load_workbook(tmp_path / "a.xlsx")
    assert wb.sheetnames == ["thong_tin", "Kinh phí", "ghi_chu"]
    assert [c.value for c in wb["Kinh phí"][1]] == ["Thực hiện", "Nguồn kinh phí", "Kế hoạch đầu năm", "KE HOACH KHAC"]
    assert [c.value for c in wb["Kinh phí"][2]] == ["1.5", "KCQG", "1.234.567,5", "x"]
    assert wb["thong_tin"]["B2"].value == "01" and wb["thong_tin"]["B5"].is_date

    write_zip_report(tmp_path / "a.zip", report, encoding="cp1258", style=Style(labels=False, quote_all=True))
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert zf.namelist() == ["thong_tin.csv", "Kinh phí.csv", "ghi_chu.csv"]
        rows = list(csv.reader(io.StringIO(zf.read("Kinh phí.csv").decode("cp1258"))))
        meta = list(csv.reader(io.StringIO(zf.read("thong_tin.csv").decode("cp1258"))))
    assert rows == [["thuc_hien", "nguon_kinh_phi", "ke_hoach_dau_nam", "KE HOACH KHAC"],
                    ["1.5", "KCQG", "1.234.567,5", "x"]]
    assert meta[1:] == [["ma_don_vi", "01"], ["nam", "2024"], ["ky_bao_cao", "6T"], ["ngay_lap", "10/07/2024"]]
    # writing the same report twice gives the same bytes
    write_xlsx_report(tmp_path / "b.xlsx", report, Style(numbers_as_text=True))
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()


@pytest.mark.parametrize(("value", "text"), [
    (48331, "48.331"), (Decimal("123.37"), "123,37"), (Decimal("1234567.5"), "1.234.567,5"),
    (0, "0"), (Decimal("0.001"), "0,001"), (2.15, "2,15"), (-120, "-120"),
])
def test_format_vn_number(value, text):
    assert format_vn_number(value) == text
    assert format_vn_number(0, dash_for_zero=True) == "-"


def test_reader_accepts_the_valid_files_with_the_intended_figures(sample_dir, plan):
    """Integration with the project's reader: reader-level rules fire exactly where meant."""
    reader = pytest.importorskip("khuyencong.ingest.reader")
    reader_rules = {"F01", "F02", "F03", "F04", "W05"}
    for f in plan:
        check = reader.read_file(sample_dir / f.relpath)
        rules = {x.rule for x in check.findings}
        meant = INVALID_SAMPLE_FILES.get(f.relpath) or WARNING_SAMPLE_FILES.get(f.relpath)
        assert rules <= {meant}, (f.relpath, check.findings[:2])
        if meant in reader_rules:
            assert rules == {meant}, f.relpath
        if f.role == "invalid":
            continue
        sub = check.submission
        assert sub.metadata.unit_id == f.figures.unit.unit_id
        assert (sub.metadata.year, sub.metadata.period, sub.metadata.report_date) == (
            f.figures.year, f.figures.period, f.figures.report_date)
        got = {r.funding_source: (r.plan_initial_mvnd, r.plan_adjusted_mvnd, r.allocated_mvnd, r.executed_mvnd)
               for r in sub.funding}
        assert got == {s.source: (s.plan, s.plan_adjusted, s.allocated, s.executed) for s in f.figures.funding}
        assert {o.indicator_code: o.actual_value for o in sub.outcomes} == {
            o.code: None if o.actual is None else Decimal(o.actual) for o in f.figures.outcomes}
