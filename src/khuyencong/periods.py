"""Reporting periods: `KH` (start-of-year plan), `<n>T` (first n months, 1..11), `CN` (full year)."""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from khuyencong import config

MERGER_DATE = date(2025, 7, 1)  # the 34 provinces exist from this day
FIRST_YEAR, LAST_YEAR = 2005, 2100  # report years accepted: the programme's reports start in 2005
_PERIOD = re.compile(r"^(?:KH|CN|([1-9]|1[01])T)$")


def normalise_period(text: str) -> str | None:
    """`6t`, ` 6 T `, `cn` -> canonical code; None when not a valid period."""
    code = re.sub(r"\s+", "", str(text)).upper()
    return code if _PERIOD.match(code) else None


def period_months(period: str) -> int:
    if period == "KH":
        return 0
    if period == "CN":
        return 12
    return int(period[:-1])


def period_end(year: int, period: str) -> date:
    """Last day the period covers; `KH` counts as 1 January of its year."""
    months = period_months(period)
    if months == 0:
        return date(year, 1, 1)
    return date(year, months, calendar.monthrange(year, months)[1])


def period_start(year: int, period: str) -> date:
    """First day a period covers: every period (plan, n months, full year) starts on 1 January."""
    return date(year, 1, 1)


def era_for(year: int, period: str) -> int:
    """63 for periods ending on or before 2025-06-30, 34 after (the 2025 merger)."""
    return 34 if period_end(year, period) >= MERGER_DATE else 63


@lru_cache(maxsize=4)
def _deadline_rules(path: Path) -> dict[str, tuple[int, int, int]]:
    with path.open(encoding="utf-8") as f:
        return {
            r["period"]: (int(r["deadline_month"]), int(r["deadline_day"]), int(r["deadline_year_offset"]))
            for r in csv.DictReader(f)
        }


def deadline(year: int, period: str, rules_file: Path | None = None) -> date:
    """Deadline from the `reporting_deadlines` seed (operators edit the seed to change them)."""
    month, day, offset = _deadline_rules(rules_file or config.seeds_dir() / "reporting_deadlines.csv")[period]
    return date(year + offset, month, day)
