"""Reference data for the reader, read from the dbt seeds (one copy, owned by the project)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from khuyencong import config
from khuyencong.normalise import normalise_header

_NAME_PREFIXES = ("tinh_", "thanh_pho_", "tp_")


def seed_rows(name: str, seeds: Path | None = None) -> list[dict[str, str]]:
    """Rows of a dbt seed CSV (the project's one copy of the reference data)."""
    with ((seeds or config.seeds_dir()) / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def name_key(name: str) -> str:
    """Unit name as matched: normalised, with the `Tỉnh`/`Thành phố`/`TP.` prefix removed."""
    key = normalise_header(name)
    for prefix in _NAME_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


@dataclass(frozen=True)
class Unit:
    unit_id: str
    era: int
    code: str
    name: str
    region_code: str


@dataclass(frozen=True)
class Reference:
    units: dict[str, Unit]  # unit_id -> unit
    by_code: dict[tuple[int, str], Unit]  # (era, code) -> unit
    by_name: dict[str, frozenset[str]]  # name key -> unit ids (both eras)
    funding_sources: dict[str, str]  # normalised spelling -> code
    indicators: dict[str, str]  # normalised code or Vietnamese name -> code
    count_indicators: frozenset[str]  # indicators counted in whole units (F05 fractional)

    def units_named(self, name: str, era: int) -> list[Unit]:
        ids = self.by_name.get(name_key(name), frozenset())
        return sorted((self.units[i] for i in ids if self.units[i].era == era), key=lambda u: u.unit_id)

    def funding_source_code(self, text: str) -> str | None:
        return self.funding_sources.get(normalise_header(text))

    def indicator_code(self, text: str) -> str | None:
        return self.indicators.get(normalise_header(text))


@lru_cache(maxsize=4)
def load_reference(seeds: Path | None = None) -> Reference:
    seeds = seeds or config.seeds_dir()
    units = {
        r["unit_id"]: Unit(r["unit_id"], int(r["era"]), r["code"], r["name"], r["region_code"])
        for r in seed_rows("units.csv", seeds)
    }
    by_name: dict[str, set[str]] = {}
    for u in units.values():
        by_name.setdefault(name_key(u.name), set()).add(u.unit_id)
    for r in seed_rows("unit_aliases.csv", seeds):
        by_name.setdefault(name_key(r["alias"]), set()).add(r["unit_id"])

    funding: dict[str, str] = {}
    for r in seed_rows("funding_sources.csv", seeds):
        code = r["funding_source"]
        for spelling in (code, r["name_vi"], r["name_en"]):
            funding[normalise_header(spelling)] = code
    # the spellings the spec names: KCĐP, Đối ứng, Khác
    funding.update({"kcdp": "KCDP", "doi_ung": "DOI_UNG", "khac": "KHAC", "kcqg": "KCQG"})

    indicators: dict[str, str] = {}
    counts = set()
    for r in seed_rows("indicators.csv", seeds):
        code = r["indicator_code"]
        indicators[normalise_header(code)] = code
        indicators.setdefault(normalise_header(r["name_vi"]), code)
        if r["unit_en"] != "million VND":
            counts.add(code)

    return Reference(
        units=units,
        by_code={(u.era, u.code): u for u in units.values()},
        by_name={k: frozenset(v) for k, v in by_name.items()},
        funding_sources=funding,
        indicators=indicators,
        count_indicators=frozenset(counts),
    )


@dataclass(frozen=True)
class Era:
    """An administrative era (seed `eras`): the provinces that existed from `valid_from` to `valid_to`."""

    era: int
    valid_from: date
    valid_to: date | None  # None: the current era
    label_vi: str
    label_en: str


@dataclass(frozen=True)
class Calendar:
    """The period calendar (seed `periods`) and the era boundaries (seed `eras`), the one copy of both."""

    period_months: dict[str, int]  # period code -> months covered, in the seed's order
    eras: tuple[Era, ...]  # oldest first

    def era_on(self, day: date) -> Era:
        """The first era not yet ended on `day`: the oldest era also covers the years before it began."""
        return next(e for e in self.eras if e.valid_to is None or day <= e.valid_to)


@lru_cache(maxsize=4)
def load_calendar(seeds: Path | None = None) -> Calendar:
    seeds = seeds or config.seeds_dir()
    eras = sorted(
        (Era(int(r["era"]), date.fromisoformat(r["valid_from"]),
             date.fromisoformat(r["valid_to"]) if r["valid_to"] else None, r["label_vi"], r["label_en"])
         for r in seed_rows("eras.csv", seeds)),
        key=lambda e: e.valid_from,
    )
    if not eras or eras[-1].valid_to is not None:
        raise ValueError(f"{seeds / 'eras.csv'}: the newest era must have no valid_to")
    return Calendar(
        period_months={r["period"]: int(r["months"]) for r in seed_rows("periods.csv", seeds)},
        eras=tuple(eras),
    )
