"""History-aware warnings: W02 (cumulative figure fell), W03 (plan ±50% on last year), W06 (late).

A file is compared with the other accepted reports that arrived on or before its
arrival day, whether they were loaded in an earlier run or come in this run's
batch. That makes the warnings the same for an incremental run and for a rebuild
from raw/ (as long as a day's folder is complete when the nightly run reads it),
and independent of how provinces name their files. The comparison frames are
validated by the suites `luy_ke`, `ke_hoach_nam` and `nop_dung_han`, in the run's
one Great Expectations context.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from khuyencong.model import FileCheck, display_path
from khuyencong.periods import deadline, era_for
from khuyencong.reference import seed_rows
from khuyencong.rules.fast_gate import runner_for
from khuyencong.rules.table import Table
from khuyencong.warehouse.lock import connect_writer

HISTORY_SUITES = ("nop_dung_han", "luy_ke", "ke_hoach_nam")
MEASURE_LABELS = {  # measure -> (Vietnamese, English) for the messages
    "da_phan_bo": ("kinh phí đã phân bổ", "allocated amount"),
    "thuc_hien": ("kết quả thực hiện", "executed amount"),
}


@dataclass
class Report:
    """One accepted version, with the figures the history rules compare."""

    unit_id: str
    year: int
    period: str
    months: int
    report_date: date
    arrival: date
    path: str
    funding: dict[str, dict[str, Decimal | None]] = field(default_factory=dict)  # source -> measure -> value
    outcomes: dict[str, Decimal | None] = field(default_factory=dict)  # indicator -> actual

    @property
    def version(self) -> tuple:  # docs/submission-format.md#resubmissions: ngay_lap, then arrival folder, then file name
        return (self.report_date, self.arrival, Path(self.path).name)


def _predecessors() -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for r in seed_rows("unit_succession_2025.csv"):
        out[r["to_unit_id"]].append(r["from_unit_id"])
    return dict(out)


def _report_of(check: FileCheck, rel_path: str) -> Report | None:
    sub = check.submission
    if sub is None or check.status == "rejected":
        return None
    m = sub.metadata
    if not (m.unit_id and m.year and m.period and m.report_date):
        return None
    return Report(
        m.unit_id, m.year, m.period, m.period_months, m.report_date, check.arrival_date or date.max, rel_path,
        funding={r.funding_source: {"ke_hoach_dau_nam": r.plan_initial_mvnd, "da_phan_bo": r.allocated_mvnd,
                                    "thuc_hien": r.executed_mvnd} for r in sub.funding},
        outcomes={r.indicator_code: r.actual_value for r in sub.outcomes},
    )


class HistoryRules:
    def __init__(self, reports: list[Report], raw_dir: Path | None = None):
        self.raw_dir = raw_dir
        self.by_unit_year: dict[tuple[str, int], list[Report]] = defaultdict(list)
        for r in reports:
            self.by_unit_year[(r.unit_id, r.year)].append(r)
        self.predecessors = _predecessors()
        self.last_results: dict = {}  # suite name -> GX result of the last check (for Data Docs)
        self._connection = None  # () -> (connection, close after use): where earlier reports are read from
        self._loaded: set[tuple[str, int]] = set()

    @classmethod
    def empty(cls) -> HistoryRules:
        return cls([])

    @classmethod
    def from_connection(cls, con, raw_dir: Path | None = None) -> HistoryRules:
        """History read from the build database on demand: only the units and years the checked files need,
        so a night's cost follows its new files, not the length of the history."""
        rules = cls([], raw_dir)
        rules._connection = lambda: (con, False)
        return rules

    @classmethod
    def from_database(cls, db: Path) -> HistoryRules:
        if not db.exists():
            raise FileNotFoundError(f"no build database at {db}: run `kc run` first or check --warehouse")
        rules = cls([])
        rules._connection = lambda: (connect_writer(db, read_only=True), True)
        return rules

    def _needed(self, checks: list[FileCheck]) -> set[tuple[str, int]]:
        """(unit, year) pairs whose reports the rules compare with: the year itself and the year before, for the
        unit and, for a province formed in the 2025 merger, its predecessors."""
        keys: set[tuple[str, int]] = set()
        for check in checks:
            m = check.submission.metadata if check.submission is not None else None
            if m is None or not (m.unit_id and m.year):
                continue
            for unit in (m.unit_id, *self.predecessors.get(m.unit_id, [])):
                keys.update({(unit, m.year), (unit, m.year - 1)})
        return keys - self._loaded

    def _load(self, keys: set[tuple[str, int]]) -> None:
        if not keys or self._connection is None:
            return
        con, close = self._connection()
        try:
            units, years = sorted({u for u, _ in keys}), sorted({y for _, y in keys})
            subs = con.execute(
                "SELECT submission_id, unit_id, year, period, period_months, report_date, arrival_date, path"
                " FROM raw.submissions WHERE status <> 'rejected' AND unit_id IN (SELECT unnest(?::VARCHAR[]))"
                " AND year IN (SELECT unnest(?::INTEGER[]))", [units, years],
            ).fetchall()
            reports = {s[0]: Report(s[1], s[2], s[3], s[4], s[5], s[6], s[7]) for s in subs
                       if (s[1], s[2]) in keys}
            ids = list(reports)
            for sid, source, plan, allocated, executed in con.execute(
                "SELECT submission_id, funding_source, plan_initial_mvnd, allocated_mvnd, executed_mvnd"
                " FROM raw.funding_rows WHERE submission_id IN (SELECT unnest(?::VARCHAR[]))", [ids],
            ).fetchall():
                reports[sid].funding[source] = {"ke_hoach_dau_nam": plan, "da_phan_bo": allocated,
                                                "thuc_hien": executed}
            for sid, indicator, actual in con.execute(
                "SELECT submission_id, indicator_code, actual_value FROM raw.outcome_rows"
                " WHERE submission_id IN (SELECT unnest(?::VARCHAR[]))", [ids],
            ).fetchall():
                reports[sid].outcomes[indicator] = actual
        finally:
            if close:
                con.close()
        for r in reports.values():
            self.by_unit_year[(r.unit_id, r.year)].append(r)
        self._loaded |= keys

    # -- lookups

    def _rel(self, check: FileCheck) -> str:
        """The path as `raw.submissions.path` stores it (the same text for a file of this batch and of the database)."""
        return display_path(check.path, self.raw_dir) if self.raw_dir is not None else display_path(check.path.name)

    def _latest(self, unit: str, year: int, current: Report) -> dict[str, Report]:
        """Latest accepted version per period of one unit and year, among the other reports arrived by then."""
        latest: dict[str, Report] = {}
        for r in self.by_unit_year.get((unit, year), []):
            if r is current or r.arrival > current.arrival:
                continue
            if r.period not in latest or r.version > latest[r.period].version:
                latest[r.period] = r
        return latest

    def _figures(self, unit: str, year: int, current: Report, era_of_period) -> dict[str, tuple[int, list[Report]]]:
        """period -> (months, reports to sum): the unit's own, or its predecessors' for earlier-era periods."""
        out: dict[str, tuple[int, list[Report]]] = {}
        for period, r in self._latest(unit, year, current).items():
            out[period] = (r.months, [r])
        if unit.startswith("P34-"):
            for pred in self.predecessors.get(unit, []):
                for period, r in self._latest(pred, year, current).items():
                    if era_of_period(period) == 63 and (period not in out or out[period][1][0].unit_id != unit):
                        months, reports = out.get(period, (r.months, []))
                        out[period] = (months, reports + [r])
        return out

    # -- frames

    def frames(self, checks: list[FileCheck]) -> dict[str, Table]:
        self._load(self._needed(checks))
        batch = [(i, c, _report_of(c, self._rel(c))) for i, c in enumerate(checks)]
        for _, _, r in batch:  # earlier files of this batch are history for later ones
            if r is not None:
                self.by_unit_year[(r.unit_id, r.year)].append(r)
        deadlines, cumulative, plan_change = [], [], []
        for key, check, report in batch:
            sub = check.submission
            if sub is None:
                continue
            m = sub.metadata
            if m.year and m.period and check.arrival_date:
                deadlines.append({"file_key": key, "sheet": sub.info_sheet, "source_row": sub.field_rows.get("ky_bao_cao"),
                                  "arrival_date": _midnight(check.arrival_date),
                                  "deadline": _midnight(deadline(m.year, m.period))})
            if report is None:
                continue
            earlier = self._figures(report.unit_id, report.year, report, lambda p: era_for(report.year, p))
            earlier = {p: v for p, v in earlier.items() if v[0] < report.months}
            rows_by_source = {r.funding_source: r for r in sub.funding}
            for source, measures in report.funding.items():
                for measure in ("da_phan_bo", "thuc_hien"):
                    best = _max_earlier(earlier, lambda r: (r.funding.get(source) or {}).get(measure))
                    if best and measures.get(measure) is not None:
                        row = rows_by_source[source]
                        cumulative.append({"file_key": key, "sheet": row.sheet, "source_row": row.row,
                                           "measure": measure, "measure_vi": MEASURE_LABELS[measure][0],
                                           "measure_en": MEASURE_LABELS[measure][1],
                                           "item": source, "current_value": float(measures[measure]),
                                           "earlier_value": float(best[1]), "earlier_period": best[0]})
            rows_by_indicator = {r.indicator_code: r for r in sub.outcomes}
            for indicator, actual in report.outcomes.items():
                best = _max_earlier(earlier, lambda r: r.outcomes.get(indicator))
                if best and actual is not None:
                    row = rows_by_indicator[indicator]
                    cumulative.append({"file_key": key, "sheet": row.sheet, "source_row": row.row,
                                       "measure": "thuc_hien", "measure_vi": "kết quả thực hiện",
                                       "measure_en": "achieved value", "item": indicator, "current_value": float(actual),
                                       "earlier_value": float(best[1]), "earlier_period": best[0]})
            if report.period == "KH":
                last = self._last_year_plan(report)
                if last:
                    period, plans = last
                    for source, measures in report.funding.items():
                        current, previous = measures.get("ke_hoach_dau_nam"), plans.get(source)
                        if current is None or not previous:
                            continue
                        row = rows_by_source[source]
                        plan_change.append({
                            "file_key": key, "sheet": row.sheet, "source_row": row.row, "funding_source": source,
                            "plan_initial_mvnd": float(current), "last_year_plan_mvnd": float(previous),
                            "last_year_period": period,
                            "plan_change_pct": round(float((current / previous - 1) * 100), 2),
                        })
        return {
            "deadlines": Table(deadlines, columns=["file_key", "sheet", "source_row", "arrival_date", "deadline"]),
            "cumulative": Table(cumulative, columns=[
                "file_key", "sheet", "source_row", "measure", "measure_vi", "measure_en", "item", "current_value",
                "earlier_value", "earlier_period"]),
            "plan_change": Table(plan_change, columns=[
                "file_key", "sheet", "source_row", "funding_source", "plan_initial_mvnd", "last_year_plan_mvnd",
                "last_year_period", "plan_change_pct"]),
        }

    def _last_year_plan(self, report: Report) -> tuple[str, dict[str, Decimal]] | None:
        """Last year's plan per source from that year's latest accepted period (CN if present)."""
        year = report.year - 1
        figures = self._figures(report.unit_id, year, report, lambda p: era_for(year, p))
        if not figures:
            return None
        period = max(figures, key=lambda p: figures[p][0])
        plans: dict[str, Decimal] = defaultdict(Decimal)
        for r in figures[period][1]:
            for source, measures in r.funding.items():
                if measures.get("ke_hoach_dau_nam") is not None:
                    plans[source] += measures["ke_hoach_dau_nam"]
        return period, dict(plans)

    def check(self, checks: list[FileCheck], context=None) -> None:
        runner = runner_for(context, HISTORY_SUITES, "kc_history")
        runner.check_files(self.frames(checks), checks)
        self.last_results = runner.last_results


def _midnight(day: date) -> datetime:
    """Dates as datetimes, so GX's frame gets a datetime column (as pandas Timestamps did)."""
    return datetime.combine(day, time())


def _max_earlier(earlier: dict[str, tuple[int, list[Report]]], value_of) -> tuple[str, Decimal] | None:
    best = None
    for period, (_, reports) in earlier.items():
        values = [value_of(r) for r in reports]
        values = [v for v in values if v is not None]
        if values:
            total = sum(values, Decimal(0))
            if best is None or total > best[1]:
                best = (period, total)
    return best
