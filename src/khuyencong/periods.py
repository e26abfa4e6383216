"""Reporting periods (`KH` start-of-year plan, `<n>T` first n months, `CN` full year) and their era.

The period codes, the months each covers and the era boundaries are data: the dbt seeds
`periods` and `eras`, which dbt and the mart gate read too (`reference.load_calendar`).
"""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from khuyencong import config
from khuyencong.reference import Calendar, Era, load_calendar

FIRST_YEAR, LAST_YEAR = 2005, 2100  # report years accepted: the programme's reports start in 2005


def period_calendar(seeds: Path | None = None) -> Calendar:
    # resolved here, not cached as None: a test or an operator may point KC_DBT_PROJECT_DIR at another project
    return load_calendar(seeds or config.seeds_dir())


def normalise_period(text: str, seeds: Path | None = None) -> str | None:
    """`6t`, ` 6 T `, `cn` -> canonical code; None when not a period of the `periods` seed."""
    code = re.sub(r"\s+", "", str(text)).upper()
    return code if code in period_calendar(seeds).period_months else None


def period_months(period: str, seeds: Path | None = None) -> int:
    return period_calendar(seeds).period_months[period]


def period_end(year: int, period: str, seeds: Path | None = None) -> date:
    """Last day the period covers: the end of its last month; `KH` (0 months) counts as 1 January."""
    months = period_months(period, seeds)
    if months == 0:
        return date(year, 1, 1)
    return date(year, months, calendar.monthrange(year, months)[1])


def period_start(year: int, period: str) -> date:
    """First day a period covers: every period (plan, n months, full year) starts on 1 January."""
    return date(year, 1, 1)


def era_of(year: int, period: str, seeds: Path | None = None) -> Era:
    """The era whose provinces report the period: the first era not yet ended on the period's last day."""
    return period_calendar(seeds).era_on(period_end(year, period, seeds))


def era_for(year: int, period: str, seeds: Path | None = None) -> int:
    """63 or 34: which provinces (and unit codes) the period's reports use."""
    return era_of(year, period, seeds).era


def era_span(era: Era, lang: str, seeds: Path | None = None) -> str:
    """`63 tỉnh (đến 30/06/2025)` / `34 provinces (from 2025-07-01)`: label and dates from the `eras` seed.

    The oldest era also covers the years before it began, so only its end is named.
    """
    vi = lang == "vi"
    label, fmt = (era.label_vi, "%d/%m/%Y") if vi else (era.label_en, "%Y-%m-%d")
    since, until = (f"{'từ' if vi else 'from'} {era.valid_from:{fmt}}",
                    f"{'đến' if vi else 'until'} {era.valid_to:{fmt}}" if era.valid_to else "")
    if era.valid_to is None:
        return f"{label} ({since})"
    if era == period_calendar(seeds).eras[0]:
        return f"{label} ({until})"
    return f"{label} ({since} {until})"


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
