"""The figures quoted at the regional conferences, which the sample's 2016 and 2017 reports add up to.

- 2016 executed in the 28 northern provinces: 123,37 tỷ đồng, 97,02% of plan;
  KCQG 56,3 tỷ (99,98%), 55,37% of the national KCQG total;
- total 2017 plan of the 15 Central–Highlands provinces: 48.331 triệu đồng, +20,85% on 2016;
  KCQG 23.600, KCĐP 24.731 (+14,31%);
- first 9 months of 2017 in the North: 3.275 workers trained, 25 demonstration models,
  750 establishments supported with machinery, 151 fair participations.

The one copy of these figures: the sample (`add_conference_years`: the 63 provinces' 2016 `CN`,
2017 `KH` and 2017 `9T` reports) and the hand-made dbt fixture (tests/test_dbt_conference_figures.py)
both split them over the provinces with `split`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from khuyencong_sample.figures import _MILLI, _ONE, _Generator, _q

# 2016 CN, million VND. BAC: executed 123 370 of adjusted plan 127 165 (KCQG 56 300 of 56 311).
# National KCQG executed 101 680 (BAC 55,37%): MTTN 20 000 + NAM 25 380.
# MTTN 2016 plan_initial 39 993 = KCQG 18 358 + KCDP 21 635; 2017 KH 48 331 = 23 600 + 24 731.
# (KCDP 2016 must be 21 635: 24 731 / 21 636 is +14,30%, 24 731 / 21 635 is +14,31%.)
REGION_2016 = {
    "BAC": {
        "KCQG": {"plan_initial_mvnd": "55000", "plan_adjusted_mvnd": "56311", "executed_mvnd": "56300"},
        "KCDP": {"plan_initial_mvnd": "70000", "plan_adjusted_mvnd": "70854", "executed_mvnd": "67070"},
    },
    "MTTN": {
        "KCQG": {"plan_initial_mvnd": "18358", "plan_adjusted_mvnd": "20500", "executed_mvnd": "20000"},
        "KCDP": {"plan_initial_mvnd": "21635", "plan_adjusted_mvnd": "21635", "executed_mvnd": "20001"},
    },
    "NAM": {
        "KCQG": {"plan_initial_mvnd": "25000", "plan_adjusted_mvnd": "26000", "executed_mvnd": "25380"},
        "KCDP": {"plan_initial_mvnd": "30000", "plan_adjusted_mvnd": "30000", "executed_mvnd": "28000"},
    },
}
MTTN_2017_KH = {"KCQG": "23600", "KCDP": "24731"}
BAC_2017_9T = {"dao_tao_nghe": "3275", "mo_hinh_trinh_dien": "25", "ho_tro_may_moc": "750", "luot_tham_gia_hoi_cho": "151"}

CONFERENCE_YEARS = (2016, 2017)
CONFERENCE_PERIODS = ((2016, "CN"), (2017, "KH"), (2017, "9T"))  # the reports the sample holds for those years


def split(total: str | Decimal, weights: int | Sequence[float | Decimal], step: Decimal = _MILLI) -> list[Decimal]:
    """`total` split in proportion to `weights` (a count n: n uneven parts), in multiples of `step`, adding up exactly.

    Largest remainder: every part is its share rounded down, and the steps left over go to the largest
    remainders, so no part is ever negative or off by more than one step.
    """
    if isinstance(weights, int):
        weights = [10 + (i * 7) % 5 for i in range(weights)]
    total = Decimal(total)
    w = [Decimal(repr(x)) if isinstance(x, float) else Decimal(x) for x in weights]
    exact = [total * x / sum(w) for x in w]
    parts = [e.quantize(step, rounding=ROUND_DOWN) for e in exact]
    left = int((total - sum(parts)) / step)
    for i in sorted(range(len(w)), key=lambda i: (parts[i] - exact[i], i))[:left]:
        parts[i] += step
    assert sum(parts) == total
    return parts


def add_conference_years(g: _Generator) -> None:
    """The 63 provinces' 2016 and 2017 figures, adding up to the conference figures; drawn from `g.rng`.

    Provinces keep their relative size (`_Profile.weight`); KCĐP stays close to each one's KCQG, and a
    2017 plan within a few per cent of the region's growth, so no plan moves by more than 50 % (no W03).
    2016: KCQG and KCĐP plan, adjusted plan (only the provinces whose plan moved) and executed amounts
    are the conference's; other sources and the outcomes are drawn as for any year.
    """
    rng = g.rng
    by_region = {r: [u.unit_id for u in g.u63 if u.region == r] for r in REGION_2016}
    for region, ids in by_region.items():
        size = {i: g.profiles[i].weight * rng.uniform(0.9, 1.1) for i in ids}
        local = {i: size[i] * rng.uniform(0.96, 1.04) for i in ids}
        columns = {}
        for source, weights in (("KCQG", size), ("KCDP", local)):
            totals = {c: Decimal(v) for c, v in REGION_2016[region][source].items()}
            plan = dict(zip(ids, split(totals["plan_initial_mvnd"], [weights[i] for i in ids], _ONE), strict=True))
            moved_plan = dict.fromkeys(ids)  # None: the plan did not move (fct_funding reads the initial plan)
            if totals["plan_adjusted_mvnd"] != totals["plan_initial_mvnd"]:  # about half the provinces moved
                moved = sorted(rng.sample(ids, len(ids) // 2))
                extra = split(totals["plan_adjusted_mvnd"] - totals["plan_initial_mvnd"], [plan[i] for i in moved], _ONE)
                moved_plan.update({i: plan[i] + x for i, x in zip(moved, extra, strict=True)})
            effective = {i: moved_plan[i] or plan[i] for i in ids}
            # execution rates around the region's, never above the plan: e_i / a_i <= R / (1 - s) < 1
            rate = totals["executed_mvnd"] / totals["plan_adjusted_mvnd"]
            s = float(1 - rate) / 2
            executed = split(totals["executed_mvnd"], [float(effective[i]) * rng.uniform(1 - s, 1) for i in ids])
            columns[source] = {i: (plan[i], moved_plan[i], effective[i], e) for i, e in zip(ids, executed, strict=True)}
        for uid in ids:
            p = g.profiles[uid]
            kcqg, kcdp = columns["KCQG"][uid], columns["KCDP"][uid]
            plans = {"KCQG": kcqg[0], "KCDP": kcdp[0]}
            if p.doi_ung:
                plans["DOI_UNG"] = _q(float(kcqg[0]) * rng.uniform(0.3, 0.45))
            if p.khac:
                plans["KHAC"] = _q(rng.uniform(80, 110) * p.scale * 0.75)
            adjusted = {src: c[1] for src, c in (("KCQG", kcqg), ("KCDP", kcdp)) if c[1] is not None}
            uy = g.unit_year(uid, 2016, plans, ["CN"], adjusted)
            for source, (_, _, effective, executed) in (("KCQG", kcqg), ("KCDP", kcdp)):
                assert executed <= effective, (uid, source)
                allocated = executed + ((effective - executed) * Decimal(repr(rng.uniform(0.3, 1)))).quantize(
                    _MILLI, rounding=ROUND_DOWN)
                uy.cum["CN"][source] = (allocated, executed)

    for region, ids in by_region.items():
        growth = {i: rng.uniform(0.95, 1.05) for i in ids}
        plans = {i: {} for i in ids}
        for source in ("KCQG", "KCDP"):
            last = {i: g.years[(i, 2016)].plan[source] for i in ids}
            if region == "MTTN":
                parts = split(MTTN_2017_KH[source], [float(last[i]) * growth[i] * rng.uniform(0.99, 1.01) for i in ids],
                              _ONE)
            else:  # no published figure: each province's own growth
                parts = [_q(float(last[i]) * growth[i] * rng.uniform(1.05, 1.07)) for i in ids]
            for i, v in zip(ids, parts, strict=True):
                plans[i][source] = v
        for uid in ids:
            for source in ("DOI_UNG", "KHAC"):
                if source in g.years[(uid, 2016)].plan:
                    plans[uid][source] = _q(float(g.years[(uid, 2016)].plan[source]) * rng.uniform(0.95, 1.1))
            g.unit_year(uid, 2017, plans[uid], ["9T"])

    # the North's outcomes in the first 9 months of 2017, spread as drawn; targets scaled alike
    bac = by_region["BAC"]
    for code, total in BAC_2017_9T.items():
        having = [i for i in bac if code in g.years[(i, 2017)].targets]
        assert having, code
        drawn = [g.years[(i, 2017)].actual["9T"][code] for i in having]
        factor = int(total) / sum(drawn)
        for uid, actual in zip(having, split(total, drawn, _ONE), strict=True):
            uy = g.years[(uid, 2017)]
            uy.actual["9T"][code] = int(actual)
            uy.targets[code] = max(1, round(uy.targets[code] * factor))
