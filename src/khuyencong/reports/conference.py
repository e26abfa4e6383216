"""The conference report: a static, bilingual (Vietnamese first) site over the published marts.

`write_conference_report(published_db, reports_dir)` reads the PUBLISHED DuckDB file
read-only and writes `reports/index.html` plus `reports/conference/*.html`:
one page per year × period (funding by region and source, outcomes by indicator),
the reporting completeness grid, the latest refused files (linked to their error
pages in `reports/submissions/`) and the series restated across the 2025 merger.

The pages work offline and print on A4: CSS is inline, charts are SVG drawn here,
there is no script, and a Content-Security-Policy forbids every network request.
They are rendered by `reports.pages`: no value from a submission becomes markup.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from khuyencong.findings import FATAL, REPORT_COLUMNS
from khuyencong.periods import period_months
from khuyencong.reference import seed_rows
from khuyencong.reports.pages import vn_number, vn_pct, write_page

SITE_DIR = "conference"
REGIONS = ("BAC", "MTTN", "NAM")
WHOLE_COUNTRY = "CA_NUOC"
SOURCES = ("KCQG", "KCDP", "TONG")
STATUSES = ("accepted", "accepted_with_warnings", "rejected", "missing")
REFUSED_SHOWN = 50
VIETNAM_TIME = timezone(timedelta(hours=7), "UTC+7")  # no daylight saving

# labels for the codes the marts add to the seeds' reference data
EXTRA_REGIONS = {WHOLE_COUNTRY: ("Cả nước", "Whole country")}
EXTRA_SOURCES = {"TONG": ("Tổng KCQG + KCĐP", "Total national + local")}


# ---------------------------------------------------------------- charts


@dataclass
class Chart:
    """A horizontal grouped bar chart, laid out here and drawn by the `bar_chart` template macro."""

    title: str
    series: list[tuple[str, str]]  # (css class, legend label)
    width: int = 720
    label_width: int = 215
    bar_height: int = 15
    groups: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)
    height: int = 0


def bar_chart(title: str, series: list[tuple[str, str]], groups: list[tuple[str, list]],
              formatter, floor: float = 0.0, tick_suffix: str = "") -> Chart:
    """`groups`: (label, one value per series). Bars start at 0; the axis reaches `floor` at least."""
    chart = Chart(title=title, series=series)
    values = [float(v) for _, vs in groups for v in vs if v is not None]
    top = _nice_ceiling(max([floor, *values]) or 1.0)
    plot = chart.width - chart.label_width - 70  # room for the value label after a bar
    y = 34
    for label, vs in groups:
        bars = []
        for (css, _), v in zip(series, vs, strict=True):
            w = 0.0 if v is None else max(float(v) / top * plot, 0.0)
            bars.append({"css": css, "y": y, "width": round(w, 1), "text": formatter(v),
                         "text_x": round(chart.label_width + w + 4, 1)})
            y += chart.bar_height + 2
        chart.groups.append({"label": label, "label_y": bars[0]["y"] + (y - bars[0]["y"]) / 2, "bars": bars})
        y += 12
    chart.height = y + 6
    chart.ticks = [{"x": round(chart.label_width + plot * i / 4, 1), "text": vn_number(top * i / 4) + tick_suffix}
                   for i in range(5)]
    return chart


def _nice_ceiling(value: float) -> float:
    """The axis end: four equal ticks of a round size (1, 1,5, 2, 2,5, 3, 4 or 5 times a power of ten)."""
    step = value / 4
    magnitude = 10 ** math.floor(math.log10(step))
    return 4 * next(m * magnitude for m in (1, 1.5, 2, 2.5, 3, 4, 5, 10) if m * magnitude >= step)


# ---------------------------------------------------------------- reading the marts


def _rows(con, sql: str, params: list | None = None) -> list[dict]:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _labels(seed: str, key: str, extra: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    labels = {r[key]: (r["name_vi"], r["name_en"]) for r in seed_rows(seed)}
    return {**labels, **extra}


def _period_key(year: int, period: str) -> tuple[int, int]:
    return year, period_months(period)


def period_label(period: str) -> tuple[str, str]:
    months = period_months(period)
    if months == 0:
        return "Kế hoạch năm", "Annual plan"
    if months == 12:
        return "Cả năm", "Full year"
    return f"{months} tháng năm", f"First {months} months"


def page_name(year: int, period: str) -> str:
    return f"{year}-{period}.html"


@dataclass
class Site:
    """Everything the pages show, read once from the published file."""

    periods: list[dict]
    funding: dict[tuple, dict]  # (year, period, region, source) -> region_funding row
    outcomes: dict[tuple, dict]  # (year, period, region, indicator) -> region_outcomes row
    indicators: list[dict]
    units: dict[str, dict]
    status: list[dict]
    restated_funding: list[dict]
    restated_outcomes: list[dict]
    regions: dict[str, tuple[str, str]]
    sources: dict[str, tuple[str, str]]
    data_as_of: date | None
    refused: list[dict] = field(default_factory=list)


def read_site(published_db: Path) -> Site:
    import duckdb

    con = duckdb.connect(str(published_db), read_only=True)
    try:
        funding = _rows(con, "SELECT * FROM marts.region_funding WHERE funding_source IN (?, ?, ?)", list(SOURCES))
        outcomes = _rows(con, "SELECT * FROM marts.region_outcomes")
        indicators = _rows(con, "SELECT * FROM marts.dim_indicator")
        units = {u["unit_id"]: u for u in _rows(con, "SELECT * FROM marts.dim_unit ORDER BY unit_id")}
        status = _rows(con, "SELECT * FROM marts.submission_status")
        restated_funding = _rows(
            con, "SELECT unit_id, year, period, funding_source, executed_mvnd FROM marts.funding_by_current_unit"
                 " WHERE funding_source IN (?, ?)", list(SOURCES[:2]))
        restated_outcomes = _rows(
            con, "SELECT unit_id, year, period, indicator_code, actual_value FROM marts.outcomes_by_current_unit")
        data_as_of = con.execute("SELECT max(latest_received_on) FROM marts.submission_status").fetchone()[0]
    finally:
        con.close()
    order = {code: i for i, code in enumerate(r["indicator_code"] for r in seed_rows("indicators.csv"))}
    indicators.sort(key=lambda r: (order.get(r["indicator_code"], len(order)), r["indicator_code"]))
    periods = sorted({(r["year"], r["period"]) for r in funding}, key=lambda p: _period_key(*p))
    return Site(
        periods=[{"year": y, "period": p, "label": period_label(p), "page": page_name(y, p)} for y, p in periods],
        funding={(r["year"], r["period"], r["region_code"], r["funding_source"]): r for r in funding},
        outcomes={(r["year"], r["period"], r["region_code"], r["indicator_code"]): r for r in outcomes},
        indicators=indicators,
        units=units,
        status=status,
        restated_funding=restated_funding,
        restated_outcomes=restated_outcomes,
        regions=_labels("regions.csv", "region_code", EXTRA_REGIONS),
        sources=_labels("funding_sources.csv", "funding_source", EXTRA_SOURCES),
        data_as_of=data_as_of,
    )


# ---------------------------------------------------------------- refused files, from the reports folder


def refused_files(reports_dir: Path, limit: int = REFUSED_SHOWN) -> list[dict]:
    """Refused files, latest arrival first, from the per-file error reports (a fatal finding = refused).

    The original file name comes from the run records when one lists the report, else the
    report's own (sanitised) name stands in.
    """
    folder = reports_dir / "submissions"
    names = _names_from_run_records(reports_dir / "runs")
    col = {c: i for i, c in enumerate(REPORT_COLUMNS)}
    found: list[dict] = []
    # report names start with the arrival date: newest first, and stop once `limit` are found
    # (names, not paths, are sorted: one report per file ever received)
    names_csv = sorted((n for n in os.listdir(folder) if n.endswith(".csv")), reverse=True) if folder.is_dir() else []
    for name in names_csv:
        if len(found) == limit:
            break
        report_csv = folder / name
        with report_csv.open(encoding="utf-8-sig", newline="") as f:
            findings = list(csv.reader(f))[1:]
        fatal = [r for r in findings if len(r) == len(REPORT_COLUMNS) and r[col["severity"]] == FATAL]
        if not fatal:
            continue
        page = report_csv.with_suffix(".html")
        stem = report_csv.stem
        found.append({
            "arrival": stem[:10],
            "name": names.get(page.name, stem[11:]),
            "errors": len(fatal),
            "rules": sorted({r[col["rule"]] for r in fatal}),
            "first_vi": fatal[0][col["message_vi"]],
            "first_en": fatal[0][col["message_en"]],
            "href": f"../submissions/{page.name}" if page.exists() else None,
        })
    return found


def _names_from_run_records(runs: Path) -> dict[str, str]:
    names: dict[str, str] = {}
    for record in sorted(runs.glob("*.json")):
        try:
            files = json.loads(record.read_text(encoding="utf-8")).get("check_and_load", {}).get("files", [])
        except (OSError, ValueError):
            continue
        for f in files:
            if f.get("report") and f.get("path"):
                names[Path(f["report"]).name] = f["path"]
    return names


# ---------------------------------------------------------------- page models


def _funding_table(site: Site, year: int, period: str) -> list[dict]:
    rows = []
    for region in (*REGIONS, WHOLE_COUNTRY):
        for source in SOURCES:
            r = site.funding.get((year, period, region, source))
            if r is not None:
                rows.append({**r, "region": site.regions[region], "source_label": site.sources[source],
                             "first": source == SOURCES[0], "total": source == "TONG",
                             "national": region == WHOLE_COUNTRY})
    return rows


def _funding_charts(site: Site, year: int, period: str) -> list[Chart]:
    def row(region, source):
        return site.funding.get((year, period, region, source)) or {}

    amounts = [("plan", "Kế hoạch điều chỉnh / Adjusted plan"), ("allocated", "Đã phân bổ / Allocated"),
               ("executed", "Thực hiện / Executed")]
    money = bar_chart(
        "Kinh phí KCQG + KCĐP theo khu vực (triệu đồng) / National + local funding by region (million VND)",
        amounts,
        [(site.regions[r][0], [row(r, "TONG").get(k) for k in ("plan_adjusted_mvnd", "allocated_mvnd", "executed_mvnd")])
         for r in REGIONS],
        vn_number,
    )
    charts = [money]
    if any(row(r, s).get("execution_rate_pct") is not None for r in REGIONS for s in SOURCES):
        charts.append(bar_chart(
            "Tỷ lệ thực hiện so với kế hoạch điều chỉnh / Execution rate against the adjusted plan",
            [("kcqg", site.sources["KCQG"][0]), ("kcdp", site.sources["KCDP"][0]), ("tong", "Tổng / Total")],
            [(site.regions[r][0], [row(r, s).get("execution_rate_pct") for s in SOURCES])
             for r in (*REGIONS, WHOLE_COUNTRY)],
            vn_pct, floor=100.0, tick_suffix="%",
        ))
    return charts


def _outcome_table(site: Site, year: int, period: str) -> list[dict]:
    table = []
    for ind in site.indicators:
        cells = [site.outcomes.get((year, period, r, ind["indicator_code"])) for r in (*REGIONS, WHOLE_COUNTRY)]
        if any(c and (c["actual_value"] is not None or c["target_value"] is not None) for c in cells):
            table.append({"indicator": ind, "cells": cells})
    return table


def _completeness(site: Site) -> list[dict]:
    """One grid per era: units (grouped by region) × the year-periods they were expected in."""
    grids = []
    for era in sorted({u["era"] for u in site.units.values()}, reverse=True):
        cells = {(s["unit_id"], s["year"], s["period"]): s for s in site.status
                 if site.units.get(s["unit_id"], {}).get("era") == era}
        columns = sorted({(y, p) for _, y, p in cells}, key=lambda c: _period_key(*c))
        if not columns:
            continue
        units = [u for u in site.units.values() if u["era"] == era]
        sections = []
        for region in REGIONS:
            members = sorted((u for u in units if u["region_code"] == region), key=lambda u: u["code"])
            if members:
                rows = [{"unit": u, "cells": [cells.get((u["unit_id"], y, p)) for y, p in columns]} for u in members]
                sections.append({"region": site.regions[region], "rows": rows, "totals": [
                    _reporting_rates([r["cells"][i] for r in rows if r["cells"][i]]) for i in range(len(columns))]})
        totals = [_reporting_rates([c for (_, cy, cp), c in cells.items() if (cy, cp) == (y, p)]) for y, p in columns]
        grids.append({"era": era, "columns": [{"year": y, "period": p, "label": period_label(p)} for y, p in columns],
                      "sections": sections, "totals": totals})
    return grids


def _reporting_rates(column: list[dict]) -> dict:
    """DHIS2's reporting rate and on-time rate: reports accepted (on time) / reports expected, in %."""
    reported = [c for c in column if c["status"] in STATUSES[:2]]
    return {
        "expected": len(column), "reported": len(reported),
        "rate": 100 * len(reported) / len(column) if column else None,
        "on_time": 100 * sum(bool(c["on_time"]) for c in reported) / len(column) if column else None,
    }


def _restated(site: Site) -> dict:
    current = sorted((u for u in site.units.values() if u["successor_unit_id"] is None and u["valid_to"] is None),
                     key=lambda u: (REGIONS.index(u["region_code"]) if u["region_code"] in REGIONS else 9, u["code"]))
    predecessors: dict[str, list[str]] = {}
    for u in site.units.values():
        if u["successor_unit_id"]:
            predecessors.setdefault(u["successor_unit_id"], []).append(u["name"])
    columns = sorted({(r["year"], r["period"]) for r in site.restated_funding if period_months(r["period"])},
                     key=lambda c: _period_key(*c))
    funding = {(r["unit_id"], r["year"], r["period"], r["funding_source"]): r["executed_mvnd"]
               for r in site.restated_funding}
    outcomes = {(r["unit_id"], r["year"], r["period"], r["indicator_code"]): r["actual_value"]
                for r in site.restated_outcomes}
    outcome_tables = []
    for ind in site.indicators:
        code = ind["indicator_code"]
        rows = [{"unit": u, "amounts": [outcomes.get((u["unit_id"], y, p, code)) for y, p in columns]} for u in current]
        if any(v is not None for r in rows for v in r["amounts"]):
            outcome_tables.append({"indicator": ind, "rows": rows})
    return {
        "columns": [{"year": y, "period": p, "label": period_label(p)} for y, p in columns],
        "funding": [{"source": s, "label": site.sources[s], "rows": [
            {"unit": u, "predecessors": predecessors.get(u["unit_id"], []),
             "amounts": [funding.get((u["unit_id"], y, p, s)) for y, p in columns]} for u in current]}
            for s in SOURCES[:2]],
        "outcomes": outcome_tables,
    }


def _headline(site: Site) -> dict | None:
    """The latest year-period the whole country reported, for the cover page."""
    for p in reversed(site.periods):
        row = site.funding.get((p["year"], p["period"], WHOLE_COUNTRY, "TONG"))
        if row and row["units_reported"]:
            return {"period": p, "row": row}
    return None


# ---------------------------------------------------------------- writing


def write_conference_report(published_db: Path, reports_dir: Path) -> Path:
    """Write `reports_dir/index.html` and `reports_dir/conference/`; returns the index path.

    The site is written to a fresh folder that then replaces the old one (pages of
    periods no longer published disappear), and the index by an atomic rename.
    """
    site = read_site(published_db)
    site.refused = refused_files(reports_dir)
    generated = datetime.now(UTC).astimezone(VIETNAM_TIME)
    common = {"site": site, "generated": generated, "regions": REGIONS, "whole_country": WHOLE_COUNTRY}
    grids = _completeness(site)

    token = uuid.uuid4().hex[:8]
    final = reports_dir / SITE_DIR
    tmp = reports_dir / f".{SITE_DIR}.{token}.tmp"
    tmp.mkdir(parents=True)
    try:
        for p in site.periods:
            y, period = p["year"], p["period"]
            write_page(tmp / p["page"], "period.html.j2", **common, root="../", pages="", period=p,
                       funding=_funding_table(site, y, period), charts=_funding_charts(site, y, period),
                       outcomes=_outcome_table(site, y, period))
        write_page(tmp / "completeness.html", "completeness.html.j2", **common, root="../", pages="",
                   grids=grids)
        write_page(tmp / "refused.html", "refused.html.j2", **common, root="../", pages="")
        write_page(tmp / "merger.html", "merger.html.j2", **common, root="../", pages="", restated=_restated(site))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = reports_dir / f".{SITE_DIR}.{token}.old"
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)

    index = reports_dir / "index.html"
    write_page(index.with_name(f".index.{token}.tmp"), "index.html.j2", **common, root="", pages=f"{SITE_DIR}/",
               headline=_headline(site), grids=grids)
    os.replace(index.with_name(f".index.{token}.tmp"), index)
    return index
