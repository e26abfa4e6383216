"""Reference data for the reader, read from the dbt seeds (one copy, owned by the project)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
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
