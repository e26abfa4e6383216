"""The sample landing zone: which files, where, and with which defects; `write_sample(out, scale=1)`.

`write_sample(out_dir, *, seed=SEED, scale=1) -> list[Path]` writes
`out_dir/<arrival YYYY-MM-DD>/<file name>`. At scale 1 (the committed sample
under raw/): every province's reports for 2016 `CN`, 2017 `KH` and `9T` (the
conference years, conference.py); 2023 `CN`; 2024 `KH`, `6T`, `9T`,
`CN`; 2025 `KH`, `6T` (63 provinces) and 2025 `9T` (34 provinces), plus
resubmissions, one byte-identical duplicate, deliberately invalid files
(`INVALID_SAMPLE_FILES`, path -> fatal rule) and files that load with a warning
(`WARNING_SAMPLE_FILES`, path -> warning rule). Paths in these dicts are
relative to `out_dir`, with `/` separators. The same seed gives the same
bytes, whatever the date, locale or platform. `SUPERSEDED_SAMPLE_FILES` (first
version -> corrected resubmission) and `DUPLICATE_SAMPLE_FILES` (byte-identical
copy -> original) describe the other extra files.

Scale N > 1 adds earlier programme years and then more versions per report
(docs/sample-and-scale.md); `build_sample(seed, scale)` returns the plan
(`SampleFile`s with their intended figures and verdicts) and `manifest(plan)`
the counts a run over it must find.
"""

from __future__ import annotations

import copy
import hashlib
import random
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from khuyencong.periods import FIRST_YEAR, deadline, era_for, period_end
from khuyencong_sample.conference import CONFERENCE_PERIODS, CONFERENCE_YEARS, add_conference_years
from khuyencong_sample.corruptors import MUTATIONS, RULE_OF_DEFECT, _w04
from khuyencong_sample.figures import (
    _MILLI,
    PERIODS_BY_YEAR,
    ReportFigures,
    SampleFile,
    _Generator,
    _stamp,
    _with_timestamp,
    to_report,
)
from khuyencong_sample.writers import xlsx_bytes, zip_bytes

SEED = 20240630

def render(sf: SampleFile) -> bytes:
    """The bytes of one sample file."""
    if sf.data is not None:
        return sf.data
    assert sf.figures is not None and sf.rendering is not None
    report = to_report(sf.figures, sf.rendering)
    if sf.mutate:
        MUTATIONS[sf.mutate](report, sf)
    r = sf.rendering
    if r.container == "xlsx":
        return xlsx_bytes(report, r.style)
    return zip_bytes(report, r.encoding, r.style)


# ------------------------------------------------------------ deliberate defects


# ============================================================ the special files (fixed paths)

# (path, rule, mutation or raw kind, unit_id, year, period, container)
_INVALID_SPECS: tuple[tuple[str, str, str, str | None, int, str, str], ...] = (
    ("2024-07-08/Bao cao 6T 2024 - Ha Giang.xls", "F01", "raw_xls", None, 2024, "6T", "bytes"),
    ("2024-10-09/BC_khuyen_cong_9T2024_Soc_Trang.zip", "F01", "raw_truncated_zip", "P63-94", 2024, "9T", "zip"),
    ("2024-03-20/Bao cao KH 2024 - Lai Chau.xlsx", "F02", "missing_kinh_phi", "P63-12", 2024, "KH", "xlsx"),
    ("2025-07-09/BC_KC_6T2025_Ben_Tre.zip", "F02", "missing_thuc_hien", "P63-83", 2025, "6T", "zip"),
    ("2024-10-11/Bao cao 9T 2024 - Hoa Binh.xlsx", "F03", "unknown_code", "P63-17", 2024, "9T", "xlsx"),
    ("2025-10-10/Bao cao 9T 2025 - Ha Giang.xlsx", "F03", "era63_unit_in_era34", "P63-02", 2025, "9T", "xlsx"),
    ("2024-07-05/Bao cao 6T 2024 - Thai Binh.xlsx", "F04", "period_13t", "P63-34", 2024, "6T", "xlsx"),
    ("2025-03-18/Bao cao KH 2025 - Quang Tri.xlsx", "F04", "date_after_arrival", "P63-45", 2025, "KH", "xlsx"),
    ("2024-01-22/BC_khuyen_cong_CN2023_Kon_Tum.zip", "F05", "english_decimal", "P63-62", 2023, "CN", "zip"),
    ("2024-10-08/Bao cao 9T 2024 - Binh Phuoc.xlsx", "F05", "negative", "P63-70", 2024, "9T", "xlsx"),
    ("2024-07-11/Bao cao 6T 2024 - Hau Giang.xlsx", "F06", "unknown_source", "P63-93", 2024, "6T", "xlsx"),
    ("2025-01-20/BC_KC_CN2024_Tra_Vinh.zip", "F06", "unknown_indicator", "P63-84", 2024, "CN", "zip"),
    ("2025-07-10/Bao cao 6T 2025 - Gia Lai.xlsx", "F07", "duplicate_kcqg", "P63-64", 2025, "6T", "xlsx"),
)
INVALID_SAMPLE_FILES: dict[str, str] = {path: rule for path, rule, *_ in _INVALID_SPECS}

# main versions that load with a warning: path -> (rule, unit_id, year, period, container)
_WARNING_SPECS: dict[str, tuple[str, str, int, str, str]] = {
    "2024-01-26/Bao cao CN 2023 - Lang Son.xlsx": ("W01", "P63-20", 2023, "CN", "xlsx"),
    "2024-10-10/Bao cao 9T 2024 - Quang Nam.xlsx": ("W04", "P63-49", 2024, "9T", "xlsx"),
    "2024-07-10/Bao cao 6T 2024 - Bac Kan.xlsx": ("W05", "P63-06", 2024, "6T", "xlsx"),
    "2024-02-06/BC_khuyen_cong_CN2023_Ca_Mau.zip": ("W06", "P63-96", 2023, "CN", "zip"),
    "2024-07-22/Bao cao 6T 2024 - Dien Bien.xlsx": ("W06", "P63-11", 2024, "6T", "xlsx"),
    "2025-04-08/Bao cao KH 2025 - Soc Trang.xlsx": ("W06", "P63-94", 2025, "KH", "xlsx"),
    "2025-10-20/Bao cao 9T 2025 - Lam Dong.xlsx": ("W06", "P34-68", 2025, "9T", "xlsx"),
}
WARNING_SAMPLE_FILES: dict[str, str] = {path: spec[0] for path, spec in _WARNING_SPECS.items()}

# resubmissions: (unit_id, year, period) -> (first version, corrected version); both valid
_RESUBMISSIONS: dict[tuple[str, int, str], tuple[str, str]] = {
    ("P63-01", 2024, "6T"): ("2024-07-05/Bao cao KC 6 thang 2024 - Ha Noi.xlsx",
                             "2024-07-12/Bao cao KC 6 thang 2024 - Ha Noi (dieu chinh).xlsx"),
    ("P63-40", 2024, "CN"): ("2025-01-15/BC_khuyen_cong_CN2024_Nghe_An.zip",
                             "2025-01-24/BC_khuyen_cong_CN2024_Nghe_An_bo_sung.zip"),
    ("P63-92", 2024, "9T"): ("2024-10-07/Bao cao 9T 2024 - Can Tho.xlsx",
                             "2024-10-11/Bao cao 9T 2024 - Can Tho (lan 2).xlsx"),
    ("P63-48", 2025, "6T"): ("2025-07-04/Báo cáo khuyến công 6 tháng 2025 - Đà Nẵng.xlsx",
                             "2025-07-09/Báo cáo khuyến công 6 tháng 2025 - Đà Nẵng (sửa).xlsx"),
    ("P34-79", 2025, "9T"): ("2025-10-06/KC_2025_9T_TP_HCM.zip", "2025-10-13/KC_2025_9T_TP_HCM_v2.zip"),
    ("P63-38", 2023, "CN"): ("2024-01-12/Bao cao CN 2023 - Thanh Hoa.xlsx",
                             "2024-01-19/Bao cao CN 2023 - Thanh Hoa (ban chinh thuc).xlsx"),
}
SUPERSEDED_SAMPLE_FILES: dict[str, str] = {old: new for old, new in _RESUBMISSIONS.values()}

# units identified by name only, with the spellings provinces use (aliases in unit_aliases.csv)
_NAME_ONLY: dict[tuple[str, int, str], str] = {
    ("P63-40", 2024, "CN"): "Tỉnh Nghệ An",
    ("P34-79", 2025, "9T"): "TP HCM",
    ("P63-79", 2024, "KH"): "TP HCM",
    ("P63-46", 2024, "6T"): "Thừa Thiên - Huế",
    ("P34-46", 2025, "9T"): "TP. Huế",
}

# byte-identical copy sent again: duplicate path -> original path
_DUPLICATE_OF = ("P63-22", 2024, "9T")
DUPLICATE_SAMPLE_FILES: dict[str, str] = {
    "2024-10-14/Bao cao 9T 2024 - Quang Ninh.xlsx": "2024-10-09/Bao cao 9T 2024 - Quang Ninh.xlsx",
}

def _draft(fig: ReportFigures, report_date: date, floor: ReportFigures | None) -> ReportFigures:
    """An earlier, incomplete version of `fig`: some local spending and one outcome not yet counted.

    Never below `floor` (the previous period's figures), so the draft raises no W02.
    """
    prev_exec = {f.source: f.executed for f in floor.funding} if floor else {}
    prev_actual = {o.code: o.actual for o in floor.outcomes} if floor else {}
    funding = []
    for f in fig.funding:
        if f.source == "KCDP" and f.executed:
            executed = max((f.executed * Decimal("0.97")).quantize(_MILLI), prev_exec.get("KCDP") or Decimal(0))
            funding.append(replace(f, executed=executed))
        else:
            funding.append(f)
    first = fig.outcomes[0].code
    outcomes = tuple(
        replace(o, actual=max(int(o.actual * 0.97), prev_actual.get(o.code) or 0)) if o.actual and o.code == first else o
        for o in fig.outcomes
    )
    return replace(fig, report_date=report_date, funding=tuple(funding), outcomes=outcomes)


def build_sample(seed: int = SEED, scale: int = 1) -> list[SampleFile]:
    """The sample plan: every file `write_sample` writes, with its intended figures, sorted by path."""
    if scale < 1:
        raise ValueError(f"scale must be at least 1, not {scale}")
    g = _Generator(seed)
    g.build_profiles()
    g.build_plans()
    g.build_cumulative()
    files = _base_files(g, seed) + _conference_files(_with_stream(g, f"{seed}:conference"))
    if scale > 1:
        files += _scaled_files(g, seed, scale, len(files))
    seen: set[str] = set()
    for sf in files:
        assert sf.relpath not in seen, sf.relpath
        seen.add(sf.relpath)
    files.sort(key=lambda f: f.relpath)
    return files


def _base_files(g: _Generator, seed: int) -> list[SampleFile]:
    """The committed sample's 2023 CN to 2025 9T, with the hand-placed special files."""
    invalid_related = {(uid, y, p): date.fromisoformat(path[:10]) for path, _, _, uid, y, p, _ in _INVALID_SPECS if uid}
    warning_by_key = {(uid, y, p): (path, rule, cont) for path, (rule, uid, y, p, cont) in _WARNING_SPECS.items()}
    dup_path, dup_orig = next(iter(DUPLICATE_SAMPLE_FILES.items()))

    files: list[SampleFile] = []
    for year, periods in PERIODS_BY_YEAR.items():
        for period in periods:
            units = g.u34 if era_for(year, period) == 34 else g.u63
            for unit in units:
                key = (unit.unit_id, year, period)
                container = None
                if key in warning_by_key:
                    path, rule, container = warning_by_key[key]
                elif key in _RESUBMISSIONS:
                    path, rule = _RESUBMISSIONS[key][1], None
                    container = "zip" if path.endswith(".zip") else "xlsx"
                elif key == _DUPLICATE_OF:
                    path, rule, container = dup_orig, None, "xlsx"
                else:
                    rule = None
                    path = None
                rendering = g.rendering(unit, container=container)
                if path is None:
                    arrival = g.arrival(year, period)
                    if key in invalid_related:  # the corrected file comes after the refused attempt
                        arrival = invalid_related[key] + timedelta(days=3)
                    path = f"{arrival.isoformat()}/{g.file_name(unit, year, period, rendering.container)}"
                arrival = date.fromisoformat(path[:10])
                if rule == "W06":
                    report_date = arrival - timedelta(days=2)
                else:
                    report_date = g.report_date(year, period, arrival)
                fig = g.figures(unit.unit_id, year, period, report_date)
                if key in _NAME_ONLY:
                    rendering = replace(rendering, identify="name", name_text=_NAME_ONLY[key])
                if rule == "W05":
                    rendering = replace(rendering, identify="both", name_text="Tỉnh Bắc Giang")
                if rule == "W04":
                    rendering = replace(rendering, identify="both")
                rendering = _with_timestamp(rendering, report_date)
                sf = SampleFile(path, "main", rule, fig, rendering)
                if rule == "W04":
                    sf.figures = _w04(fig)
                files.append(sf)
                if key in _RESUBMISSIONS:
                    old_path = _RESUBMISSIONS[key][0]
                    old_arrival = date.fromisoformat(old_path[:10])
                    old_date = g.report_date(year, period, old_arrival)
                    old_date = min(old_date, report_date - timedelta(days=1))
                    old = replace(rendering, style=replace(rendering.style, timestamp=_stamp(old_date)))
                    prior = {"CN": "9T", "9T": "6T"}.get(period)
                    floor = g.figures(unit.unit_id, year, prior, report_date) if prior and year != 2023 else None
                    files.append(SampleFile(old_path, "superseded", None, _draft(fig, old_date, floor), old,
                                            note=f"superseded by {path}"))
                if key == _DUPLICATE_OF:
                    files.append(SampleFile(dup_path, "duplicate", None, fig, rendering, note=f"copy of {path}",
                                            original=path))

    for path, rule, kind, uid, year, period, cont in _INVALID_SPECS:
        files.append(_invalid_file(g, seed, path, rule, kind, uid, year, period, cont))
    return files


def _invalid_file(g: _Generator, seed: int, path: str, rule: str, kind: str, uid: str | None,
                  year: int, period: str, container: str) -> SampleFile:
    """One deliberately refused file: broken bytes, or a report of `uid` with the defect `kind`."""
    arrival = date.fromisoformat(path[:10])
    if kind == "raw_xls":
        junk = random.Random(f"{seed}:{path}").randbytes(3000)
        return SampleFile(path, "invalid", rule, None, None,
                          data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + junk,
                          note="legacy .xls (BIFF) workbook")
    unit = g.units[uid]
    report_date = arrival - timedelta(days=1)
    fig = g.figures(uid, year, period, report_date)
    rendering = _with_timestamp(g.rendering(unit, name_only_ok=False, container=container), report_date)
    rendering = replace(rendering, identify="both" if kind != "unknown_code" else "code", name_text=None)
    if kind == "era63_unit_in_era34":
        # Hà Giang's 9T figures, sent under its old code after the merger
        return SampleFile(path, "invalid", rule, fig, rendering, note="code 02 does not exist after 2025-07-01")
    if kind == "raw_truncated_zip":
        sf = SampleFile(path, "invalid", rule, fig, replace(rendering, container="zip"))
        full = render(sf)
        sf.data = full[: len(full) // 2]
        sf.note = "truncated zip"
        return sf
    return SampleFile(path, "invalid", rule, fig, rendering, mutate=kind)


def _conference_files(gc: _Generator) -> list[SampleFile]:
    """The 63 provinces' 2016 CN, 2017 KH and 2017 9T reports (conference.py), on time, from their own stream."""
    add_conference_years(gc)
    files = []
    for year, period in CONFERENCE_PERIODS:
        for unit in gc.u63:
            rendering = gc.rendering(unit)
            arrival = gc.arrival(year, period)
            report_date = gc.report_date(year, period, arrival)
            path = f"{arrival.isoformat()}/{gc.file_name(unit, year, period, rendering.container)}"
            files.append(SampleFile(path, "main", None, gc.figures(unit.unit_id, year, period, report_date),
                                    _with_timestamp(rendering, report_date)))
    return files


# ============================================================ scale N > 1 (docs/sample-and-scale.md)

EARLIEST_YEAR = FIRST_YEAR  # the first report year the reader accepts (periods.FIRST_YEAR, 2005)
_FIRST_BASE_YEAR = min(PERIODS_BY_YEAR)
# the years scale N adds, newest first: between the conference years and the committed sample, then before them
EXTRA_YEARS = tuple(y for y in range(_FIRST_BASE_YEAR - 1, EARLIEST_YEAR - 1, -1) if y not in CONFERENCE_YEARS)
_BRIDGE_YEARS = tuple(y for y in EXTRA_YEARS if y > max(CONFERENCE_YEARS))
_EXTRA_PERIODS = ("KH", "6T", "9T", "CN")
# the defects of the extra years, taken in turn (7 a year, as the committed 2023-2025 reports refuse 13 of 495 files)
_EXTRA_DEFECTS = ("raw_xls", "missing_kinh_phi", "unknown_code", "period_13t", "english_decimal", "unknown_source",
                  "duplicate_kcqg", "raw_truncated_zip", "missing_thuc_hien", "date_after_arrival", "negative",
                  "unknown_indicator")
_DEFECTS_PER_YEAR = 7
_WARNINGS_PER_YEAR = ("W01", "W04", "W05", "W06", "W06")
_RESUBMISSIONS_PER_YEAR = 3
_CONTAINER_OF_DEFECT = {"raw_xls": "bytes", "raw_truncated_zip": "zip", "english_decimal": "zip",
                        "missing_thuc_hien": "zip"}
FILES_PER_EXTRA_YEAR = len(_EXTRA_PERIODS) * 63 + _DEFECTS_PER_YEAR + _RESUBMISSIONS_PER_YEAR + 1  # + a duplicate


def extra_years(scale: int, base_count: int) -> list[int]:
    """The programme years added to the committed sample's: enough for `scale` x its files, back to 2005 (`EXTRA_YEARS`)."""
    wanted = (scale - 1) * base_count // FILES_PER_EXTRA_YEAR  # the rest: more versions per report
    return list(EXTRA_YEARS[:wanted])


def _scaled_files(g: _Generator, seed: int, scale: int, base_count: int) -> list[SampleFile]:
    """Earlier programme years (each with the sample's mix), then more versions of their reports."""
    years = extra_years(scale, base_count)
    if set(years) & set(_BRIDGE_YEARS):  # oldest first, from the conference's 2017 to the committed 2023
        for year in sorted(_BRIDGE_YEARS):
            _with_stream(g, f"{seed}:figures:{year}").add_year(year, toward=_FIRST_BASE_YEAR)
    for year in years:  # before the conference years, newest first: each year's plans derive from the following year's
        if year not in _BRIDGE_YEARS:
            _with_stream(g, f"{seed}:figures:{year}").add_year(year)
    files: list[SampleFile] = []
    plain: list[tuple[SampleFile, int]] = []  # main files that may get more versions, and the versions they have
    for year in years:
        year_files, year_plain = _year_files(_with_stream(g, f"{seed}:files:{year}"), seed, year)
        files += year_files
        plain += year_plain
    missing = scale * base_count - base_count - len(files) - sum(n for _, n in plain)
    extra = max(0, missing)
    first = 0  # number of the first version of the next report, counted over all extra versions
    for i, (main, n) in enumerate(plain):  # spread the missing files evenly over the plain reports
        n += (i + 1) * extra // len(plain) - i * extra // len(plain)
        if n:
            gy = _with_stream(g, f"{seed}:versions:{main.relpath}")
            files += _earlier_versions(gy, seed, main, n, first)
            first += n
    return files


def _with_stream(g: _Generator, name: str) -> _Generator:
    """`g` drawing from its own random stream: the committed sample's draws stay untouched."""
    other = copy.copy(g)
    other.rng = random.Random(name)
    return other


def _year_files(gy: _Generator, seed: int, year: int) -> tuple[list[SampleFile], list[tuple[SampleFile, int]]]:
    """One extra programme year: 4 reports x 63 provinces, 7 refused, 5 warned, 3 resubmitted, 1 duplicate."""
    rng = gy.rng
    index = EXTRA_YEARS.index(year)
    defects = [_EXTRA_DEFECTS[(index * _DEFECTS_PER_YEAR + i) % len(_EXTRA_DEFECTS)] for i in range(_DEFECTS_PER_YEAR)]
    with_projects = sorted(u.unit_id for u in gy.u63 if gy.years[(u.unit_id, year)].has_projects)
    w04_unit = rng.choice(with_projects)
    others = rng.sample([u.unit_id for u in gy.u63 if u.unit_id != w04_unit],
                        _DEFECTS_PER_YEAR + len(_WARNINGS_PER_YEAR) - 1 + _RESUBMISSIONS_PER_YEAR + 1)
    defect_keys = {}
    for kind, uid in zip(defects, others):
        periods = _EXTRA_PERIODS[1:] if kind == "english_decimal" else _EXTRA_PERIODS  # KH has no executed amount
        defect_keys[(uid, rng.choice(periods))] = kind
    rest = others[_DEFECTS_PER_YEAR:]
    warnings = {(w04_unit, "9T"): "W04"}
    for rule, uid in zip(_WARNINGS_PER_YEAR[:1] + _WARNINGS_PER_YEAR[2:], rest):
        warnings[(uid, "CN" if rule == "W01" else rng.choice(_EXTRA_PERIODS))] = rule
    rest = rest[len(_WARNINGS_PER_YEAR) - 1:]
    resubmitted = {(uid, rng.choice(_EXTRA_PERIODS)) for uid in rest[:_RESUBMISSIONS_PER_YEAR]}
    duplicated = (rest[_RESUBMISSIONS_PER_YEAR], rng.choice(_EXTRA_PERIODS))
    for (uid, _), rule in warnings.items():
        if rule == "W01":
            gy.exceed_local_plan(uid, year)

    files: list[SampleFile] = []
    invalid_arrival: dict[tuple[str, str], date] = {}
    for (uid, period), kind in sorted(defect_keys.items()):
        container = _CONTAINER_OF_DEFECT.get(kind, "xlsx")
        arrival = deadline(year, period) - timedelta(days=rng.randint(5, 12))
        invalid_arrival[(uid, period)] = arrival
        name = gy.file_name(gy.units[uid], year, period, "zip" if container == "zip" else "xlsx")
        if kind == "raw_xls":
            name = name.rsplit(".", 1)[0] + ".xls"
        files.append(_invalid_file(gy, seed, f"{arrival.isoformat()}/{name}", RULE_OF_DEFECT[kind], kind, uid,
                                   year, period, container))

    plain: list[tuple[SampleFile, int]] = []
    for period in _EXTRA_PERIODS:
        for unit in gy.u63:
            key = (unit.unit_id, period)
            rule = warnings.get(key)
            rendering = gy.rendering(unit)
            if rule == "W06":
                arrival = deadline(year, period) + timedelta(days=rng.randint(3, 20))
            elif key in invalid_arrival:  # the corrected file comes after the refused attempt
                arrival = invalid_arrival[key] + timedelta(days=3)
            else:
                arrival = gy.arrival(year, period)
            path = f"{arrival.isoformat()}/{gy.file_name(unit, year, period, rendering.container)}"
            report_date = arrival - timedelta(days=2) if rule == "W06" else gy.report_date(year, period, arrival)
            fig = gy.figures(unit.unit_id, year, period, report_date)
            if rule in ("W04", "W05"):
                rendering = replace(rendering, identify="both", name_text=None)
            if rule == "W05":  # the name of the next province in the list, under this one's code
                other = gy.u63[(gy.u63.index(unit) + 1) % len(gy.u63)]
                rendering = replace(rendering, name_text=other.name)
            sf = SampleFile(path, "main", rule, _w04(fig) if rule == "W04" else fig,
                            _with_timestamp(rendering, report_date))
            files.append(sf)
            if rule is None and key not in invalid_arrival:
                plain.append((sf, 1 if key in resubmitted else 0))
            if key == duplicated:
                copy_path = f"{(arrival + timedelta(days=rng.randint(2, 5))).isoformat()}/{path.split('/', 1)[1]}"
                files.append(SampleFile(copy_path, "duplicate", None, sf.figures, sf.rendering,
                                        note=f"copy of {path}", original=path))
    return files, plain


# among the extra versions, in turn: a refused attempt, a late one, a byte-identical re-send
# (the committed 2023-2025 proportions: 13 refused, 7 warned, 1 duplicate in 495 files)
_REFUSED_EVERY, _LATE_EVERY, _RESENT_EVERY = 38, 70, 500


def _earlier_versions(gy: _Generator, seed: int, main: SampleFile, count: int, first: int) -> list[SampleFile]:
    """`count` earlier, superseded versions of `main`, each sent by the office before the final one.

    Every version sorts before the final one (SUBMISSION_SPEC section 4: report date,
    then arrival, then file name: " (ban N)" sorts before the final name's "."), and
    none is below the previous period's figures (no W02). Version number `first + i`
    decides, in turn, whether it is a refused attempt, a late draft (W06) or re-sent twice.
    """
    fig, final = main.figures, main.rendering
    year, period, uid = fig.year, fig.period, fig.unit.unit_id
    earliest = period_end(year, period) + timedelta(days=1 if period != "KH" else 20)
    prior = {"CN": "9T", "9T": "6T"}.get(period)
    floor = gy.figures(uid, year, prior, fig.report_date) if prior else None
    stem, ext = main.relpath.split("/", 1)[1].rsplit(".", 1)
    rng = gy.rng
    out = []
    for i in range(1, count + 1):
        number = first + i - 1
        arrival = main.arrival - timedelta(days=rng.randint(0, max(0, (main.arrival - earliest).days)))
        name = f"{stem} (ban {i}).{ext}"
        if number % _REFUSED_EVERY == _REFUSED_EVERY // 2:
            kind = _EXTRA_DEFECTS[number // _REFUSED_EVERY % len(_EXTRA_DEFECTS)]
            if kind == "english_decimal" and period == "KH":  # KH has no executed amount to mistype
                kind = "negative"
            container = _CONTAINER_OF_DEFECT.get(kind, final.container)
            if kind == "raw_xls":
                name = f"{stem} (ban {i}).xls"
            elif container != final.container:
                name = f"{stem} (ban {i}).{container}"
            out.append(_invalid_file(gy, seed, f"{arrival.isoformat()}/{name}", RULE_OF_DEFECT[kind], kind, uid,
                                     year, period, container))
            continue
        report_date = min(fig.report_date, max(earliest, arrival - timedelta(days=rng.randint(0, 3))))
        rule = None
        if number % _LATE_EVERY == _LATE_EVERY // 2 and fig.report_date > earliest:
            # written before the final version but sent after the deadline: late, and still superseded
            rule = "W06"
            report_date = min(report_date, fig.report_date - timedelta(days=1))
            arrival = deadline(year, period) + timedelta(days=rng.randint(3, 20))
        rendering = _with_timestamp(gy.rendering(fig.unit, container=final.container), report_date)
        draft = SampleFile(f"{arrival.isoformat()}/{name}", "superseded", rule, _draft(fig, report_date, floor),
                           rendering, note=f"superseded by {main.relpath}")
        out.append(draft)
        if number % _RESENT_EVERY == _RESENT_EVERY // 2:
            again = f"{(arrival + timedelta(days=rng.randint(1, 3))).isoformat()}/{name}"
            out.append(SampleFile(again, "duplicate", None, draft.figures, rendering, note=f"copy of {draft.relpath}",
                                  original=draft.relpath))
    return out


# ============================================================ expected counts


def manifest(plan: list[SampleFile]) -> dict:
    """What a run over the plan must find: files, verdicts, duplicates, rows per raw table, rules."""
    loaded = [sf for sf in plan if sf.role in ("main", "superseded")]
    rules: dict[str, int] = {}
    for sf in plan:
        if sf.rule:
            rules[sf.rule] = rules.get(sf.rule, 0) + 1
    warned = sum(1 for sf in loaded if sf.rule)
    return {
        "files": len(plan),
        "new_files": len(plan) - sum(sf.role == "duplicate" for sf in plan),
        "accepted": len(loaded) - warned,
        "accepted_with_warnings": warned,
        "rejected": sum(sf.role == "invalid" for sf in plan),
        "duplicates": sum(sf.role == "duplicate" for sf in plan),
        "superseded": sum(sf.role == "superseded" for sf in plan),
        "rows": {
            "funding_rows": sum(len(sf.figures.funding) for sf in loaded),
            "outcome_rows": sum(len(sf.figures.outcomes) for sf in loaded),
            "project_rows": sum(len(sf.figures.projects or ()) for sf in loaded),
        },
        "rules": dict(sorted(rules.items())),
        "years": sorted({sf.figures.year for sf in plan if sf.figures}),
    }


def write_sample(out_dir: Path, *, seed: int = SEED, scale: int = 1) -> list[Path]:
    """Write the sample landing zone under `out_dir`; returns the written paths, sorted."""
    return write_plan(out_dir, build_sample(seed, scale))


def write_plan(out_dir: Path, plan: list[SampleFile]) -> list[Path]:
    """Write the files of a plan (from `build_sample`) under `out_dir`; returns the written paths, sorted."""
    out_dir = Path(out_dir)
    written = []
    by_path: dict[str, bytes] = {}
    digests: set[bytes] = set()
    for sf in plan:
        data = by_path[sf.original] if sf.role == "duplicate" else render(sf)
        if sf.role != "duplicate":  # only the intended duplicates may share bytes (the counts depend on it)
            digest = hashlib.sha256(data).digest()
            assert digest not in digests, f"{sf.relpath} repeats another file's bytes"
            digests.add(digest)
        by_path[sf.relpath] = data
        target = out_dir / sf.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        written.append(target)
    return sorted(written)
