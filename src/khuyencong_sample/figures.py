"""What the sample says, in million VND: units, plans, cumulative figures, projects, names and renderings.

`_Generator` draws every province's figures from one seeded random stream (the
order of draws is part of the sample's bytes: change it and the committed
sample changes). 2024 is calibrated to the published figures: the KCQG
start-of-year plan of the 63 provinces sums to exactly 130.000 triệu đồng, and
the KCQG amount allocated by 30/6/2024 (6T reports) to exactly 44.980 triệu đồng.
`to_report` turns one report's figures into file content (`writers.Report`).
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from khuyencong.ingest.template import FUNDING_COLUMNS, load_indicators
from khuyencong.periods import deadline, period_end
from khuyencong.reference import seed_rows
from khuyencong_sample.writers import Cell, Report, Style

# ============================================================ semantic model (million VND)


@dataclass(frozen=True)
class Unit:
    unit_id: str
    era: int
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class FundingFigures:
    source: str  # KCQG, KCDP, DOI_UNG, KHAC
    plan: Decimal
    plan_adjusted: Decimal | None
    allocated: Decimal | None
    executed: Decimal | None
    projects: int | None


@dataclass(frozen=True)
class OutcomeFigures:
    code: str
    name: str
    unit: str
    target: int
    actual: int | None


@dataclass(frozen=True)
class ProjectFigures:
    code: str
    name: str
    source: str
    activity: str
    approved: Decimal
    executed: Decimal | None
    status: str
    beneficiaries: int


@dataclass(frozen=True)
class ReportFigures:
    """One report as intended, money in million VND."""

    unit: Unit
    year: int
    period: str
    report_date: date
    funding: tuple[FundingFigures, ...]
    outcomes: tuple[OutcomeFigures, ...]
    projects: tuple[ProjectFigures, ...] | None  # None: no de_an sheet

    def funding_by_source(self) -> dict[str, FundingFigures]:
        return {f.source: f for f in self.funding}


@dataclass(frozen=True)
class Rendering:
    """How the figures are put into a file."""

    container: str = "xlsx"  # xlsx | zip
    encoding: str = "utf-8-sig"  # zip only
    style: Style = Style()
    money_unit: str = "triệu đồng"
    write_money_unit: bool = True
    identify: str = "both"  # both | code | name | name_blank_code
    name_text: str | None = None  # the ten_don_vi written (default: the unit's name)
    source_labels: bool = True  # KCĐP / Đối ứng / Khác instead of KCDP / DOI_UNG / KHAC
    indicator_names_only: bool = False  # ket_qua without ma_chi_tieu
    template_rows: bool = False  # filled-in template: every source and indicator listed, unreported ones empty
    preparer: tuple[str, str, str] = ("", "", "")


@dataclass
class SampleFile:
    relpath: str  # "<YYYY-MM-DD>/<file name>"
    role: str  # main | superseded | duplicate | invalid
    rule: str | None  # fatal or warning rule the file is meant to trigger
    figures: ReportFigures | None
    rendering: Rendering | None
    data: bytes | None = None  # filled by write_sample / render
    mutate: str | None = None  # name of the deliberate defect
    note: str = ""
    original: str | None = None  # duplicate: the relpath of the file it copies byte for byte

    @property
    def arrival(self) -> date:
        return date.fromisoformat(self.relpath.split("/", 1)[0])


_MONEY_DIVISORS = {"đồng": Decimal("0.000001"), "nghìn đồng": Decimal("0.001"), "triệu đồng": Decimal(1), "tỷ đồng": Decimal(1000)}
_SOURCE_LABELS = {"KCQG": "KCQG", "KCDP": "KCĐP", "DOI_UNG": "Đối ứng", "KHAC": "Khác"}


def to_report(fig: ReportFigures, r: Rendering) -> Report:
    """The file content of `fig` rendered with `r` (money converted to `r.money_unit`)."""
    div = _MONEY_DIVISORS[r.money_unit]

    def money(v: Decimal | None) -> Decimal | None:
        return None if v is None else (v / div).normalize() if v else Decimal(0)

    name = r.name_text or fig.unit.name
    meta: list[tuple[str, Cell]] = []
    if r.identify in ("both", "code"):
        meta.append(("ma_don_vi", fig.unit.code))
    elif r.identify == "name_blank_code":
        meta.append(("ma_don_vi", None))
    if r.identify in ("both", "name", "name_blank_code"):
        meta.append(("ten_don_vi", name))
    meta += [("nam", fig.year), ("ky_bao_cao", fig.period),
             ("ngay_lap", fig.report_date if r.container == "xlsx" else fig.report_date.strftime("%d/%m/%Y"))]
    if r.write_money_unit:
        meta.append(("don_vi_tien", r.money_unit))
    person, phone, email = r.preparer
    meta += [("nguoi_lap", person), ("dien_thoai", phone), ("email", email)]

    def src(code: str) -> str:
        return _SOURCE_LABELS[code] if r.source_labels else code

    funding: list[dict[str, Cell]] = [{
        "nguon_kinh_phi": src(f.source),
        "ke_hoach_dau_nam": money(f.plan),
        "ke_hoach_dieu_chinh": money(f.plan_adjusted),
        "da_phan_bo": money(f.allocated),
        "thuc_hien": money(f.executed),
        "so_de_an": f.projects,
    } for f in fig.funding]
    if r.template_rows:  # the template's other source rows, left empty
        have = {f.source for f in fig.funding}
        funding += [dict.fromkeys(FUNDING_COLUMNS) | {"nguon_kinh_phi": src(s)} for s in _SOURCE_LABELS if s not in have]
    by_code = {o.code: (o.name, o.unit, o.target, o.actual) for o in fig.outcomes}
    if r.template_rows:  # every catalogue indicator, unreported ones empty
        listed = [(code, by_code.get(code, (name, unit, None, None))) for code, name, unit in load_indicators()]
    else:
        listed = list(by_code.items())
    outcomes = []
    for code, (name, unit, target, actual) in listed:
        row: dict[str, Cell] = {} if r.indicator_names_only else {"ma_chi_tieu": code}
        row.update({"chi_tieu": name, "don_vi_tinh": unit, "ke_hoach": target, "thuc_hien": actual})
        outcomes.append(row)
    projects = None if fig.projects is None else [{
        "ma_de_an": p.code, "ten_de_an": p.name, "nguon_kinh_phi": src(p.source), "noi_dung": p.activity,
        "kinh_phi_duyet": money(p.approved), "kinh_phi_thuc_hien": money(p.executed),
        "trang_thai": p.status, "so_co_so_thu_huong": p.beneficiaries,
    } for p in fig.projects]
    return Report(metadata=meta, kinh_phi=funding, ket_qua=outcomes, de_an=projects)



PERIODS_BY_YEAR: dict[int, tuple[str, ...]] = {2023: ("CN",), 2024: ("KH", "6T", "9T", "CN"), 2025: ("KH", "6T", "9T")}
NATIONAL_KCQG_PLAN_2024 = Decimal(130_000)
NATIONAL_KCQG_ALLOCATED_2024_6T = Decimal(44_980)
_REGION_WEIGHT = {"BAC": 1.3, "MTTN": 1.0, "NAM": 0.8}
_ONE = Decimal(1)
_MILLI = Decimal("0.001")
_INDICATOR_BASE = {  # typical annual target of a mid-sized province
    "dao_tao_nghe": 320, "dao_tao_quan_ly": 110, "mo_hinh_trinh_dien": 3, "ho_tro_may_moc": 32, "hoi_cho": 2,
    "luot_tham_gia_hoi_cho": 70, "thuong_hieu": 8, "thanh_lap_doanh_nghiep": 4, "tu_van_du_an": 6,
    "tu_van_doanh_thu": 650, "san_pham_tieu_bieu": 15, "san_xuat_sach_hon": 5, "cum_cong_nghiep": 2,
}
_ACTIVITIES = (
    ("đào tạo", "Đào tạo nghề {p} cho lao động nông thôn"),
    ("trình diễn", "Xây dựng mô hình trình diễn kỹ thuật sản xuất {p}"),
    ("máy móc thiết bị", "Hỗ trợ ứng dụng máy móc thiết bị tiên tiến trong chế biến {p}"),
    ("hội chợ", "Tổ chức hội chợ, triển lãm hàng CNNT tiêu biểu ({p})"),
    ("thương hiệu", "Hỗ trợ xây dựng, đăng ký thương hiệu sản phẩm {p}"),
    ("tư vấn", "Tư vấn phát triển cơ sở sản xuất {p}"),
)
_PRODUCTS = ("chè", "gạo", "cà phê", "hạt điều", "mây tre đan", "gốm", "đồ gỗ", "thủy sản", "nước mắm", "miến dong",
             "rượu", "dệt thổ cẩm", "muối", "bánh tráng", "gạch không nung", "cơ khí nhỏ", "thạch cao", "dược liệu")
_FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Thu", "Hữu", "Ngọc", "Thanh", "Quang")
_GIVEN = ("An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phương",
          "Quân", "Sơn", "Thảo", "Trang", "Tuấn", "Yến")
_PERIOD_WORDS = {"KH": ("ke hoach", "kế hoạch"), "6T": ("6 thang", "6 tháng"), "9T": ("9 thang", "9 tháng"),
                 "CN": ("ca nam", "cả năm")}


def _q(value: float | Decimal, step: Decimal = _ONE) -> Decimal:
    return Decimal(repr(value) if isinstance(value, float) else value).quantize(step, rounding=ROUND_HALF_UP)


def _ascii(text: str) -> str:
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in text if not unicodedata.combining(c))


def _short_name(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


@dataclass
class _Profile:
    unit: Unit
    weight: float
    kcdp_ratio: float
    doi_ung: bool
    khac: bool
    indicators: tuple[str, ...]
    scale: float


@dataclass
class _UnitYear:
    plan: dict[str, Decimal]
    adjusted: dict[str, Decimal]  # from 9T on
    has_projects: bool
    project_counts: dict[str, int | None]
    cum: dict[str, dict[str, tuple[Decimal | None, Decimal]]]  # period -> source -> (allocated, executed)
    targets: dict[str, int]
    actual: dict[str, dict[str, int]]  # period -> indicator -> actual
    projects: list[tuple[str, str, str, str, Decimal, int]]  # code, name, source, activity, approved, beneficiaries


class _Generator:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        units = [Unit(r["unit_id"], int(r["era"]), r["code"], r["name"], r["region_code"]) for r in seed_rows("units.csv")]
        self.units = {u.unit_id: u for u in units}
        self.u63 = [u for u in units if u.era == 63]
        self.u34 = [u for u in units if u.era == 34]
        self.successors: dict[str, list[str]] = {}
        for r in seed_rows("unit_succession_2025.csv"):
            self.successors.setdefault(r["to_unit_id"], []).append(r["from_unit_id"])
        aliases: dict[str, set[str]] = {}
        for r in seed_rows("unit_aliases.csv"):
            aliases.setdefault(r["alias"], set()).add(r["unit_id"])
        self.aliases: dict[str, list[str]] = {}
        for alias, ids in sorted(aliases.items()):
            for era in (63, 34):
                in_era = [i for i in ids if self.units[i].era == era]
                if len(in_era) == 1:
                    self.aliases.setdefault(in_era[0], []).append(alias)
        self.indicators = {code: (name, unit) for code, name, unit in load_indicators()}
        self.profiles: dict[str, _Profile] = {}
        self.years: dict[tuple[str, int], _UnitYear] = {}

    # ---------------------------------------------------------------- figures

    def build_profiles(self) -> None:
        rng = self.rng
        codes = list(self.indicators)
        for u in self.u63:
            k = rng.randint(5, 10)
            chosen = {"dao_tao_nghe"} | set(rng.sample(codes[1:], k - 1))
            weight = _REGION_WEIGHT[u.region] * rng.uniform(0.6, 1.5)
            self.profiles[u.unit_id] = _Profile(
                unit=u, weight=weight, kcdp_ratio=rng.uniform(1.0, 2.0), doi_ung=rng.random() < 0.45,
                khac=rng.random() < 0.2, indicators=tuple(c for c in codes if c in chosen), scale=weight / 1.05,
            )

    def build_plans(self) -> None:
        rng = self.rng
        ids = [u.unit_id for u in self.u63]
        total_w = sum(self.profiles[i].weight for i in ids)
        kcqg24 = {i: _q(float(NATIONAL_KCQG_PLAN_2024) * self.profiles[i].weight / total_w / 10) * 10 for i in ids}
        largest = max(ids, key=lambda i: (kcqg24[i], i))
        kcqg24[largest] += NATIONAL_KCQG_PLAN_2024 - sum(kcqg24.values())
        for uid in ids:
            p = self.profiles[uid]
            kcqg = {2024: kcqg24[uid], 2023: _q(float(kcqg24[uid]) / rng.uniform(0.9, 1.15) / 10) * 10,
                    2025: _q(float(kcqg24[uid]) * rng.uniform(0.92, 1.12) / 10) * 10}
            for year in (2023, 2024, 2025):
                plan = {"KCQG": kcqg[year], "KCDP": _q(float(kcqg[year]) * p.kcdp_ratio * rng.uniform(0.94, 1.06))}
                if p.doi_ung:
                    plan["DOI_UNG"] = _q(float(kcqg[year]) * rng.uniform(0.35, 0.5) * (1 + (year - 2023) * 0.05))
                if p.khac:
                    plan["KHAC"] = _q(rng.uniform(80, 110) * p.scale * (1 + (year - 2023) * 0.04))
                adjusted = {}
                if rng.random() < 0.22:
                    adjusted["KCDP"] = _q(float(plan["KCDP"]) * rng.uniform(1.03, 1.15))
                has_projects = not adjusted and rng.random() < 0.65
                if (uid, year) == ("P63-49", 2024):  # the W04 file needs projects
                    adjusted, has_projects = {}, True
                targets = {c: max(1, round(_INDICATOR_BASE[c] * p.scale * rng.uniform(0.85, 1.2))) for c in p.indicators}
                uy = _UnitYear(plan, adjusted, has_projects, {}, {}, targets, {}, [])
                if has_projects:
                    self._projects(uid, year, uy)
                else:
                    uy.project_counts = {s: (rng.randint(1, 4) if s in ("KCQG", "KCDP") else None) for s in plan}
                self.years[(uid, year)] = uy

    def _projects(self, uid: str, year: int, uy: _UnitYear) -> None:
        rng = self.rng
        counts = {"KCQG": rng.randint(1, 2), "KCDP": rng.randint(1, 2), "DOI_UNG": 1, "KHAC": 1}
        sources = [s for s in ("KCQG", "KCDP", "DOI_UNG", "KHAC") if s in uy.plan]
        while sum(counts[s] for s in sources) > 6:
            counts["KCQG" if counts["KCQG"] > 1 else "KCDP"] -= 1
        n = 0
        for s in sources:
            k = counts[s]
            shares = [rng.uniform(0.6, 1.4) for _ in range(k)]
            amounts = [_q(float(uy.plan[s]) * sh / sum(shares)) for sh in shares[:-1]]
            amounts.append(uy.plan[s] - sum(amounts))
            for amount in amounts:
                n += 1
                activity, pattern = rng.choice(_ACTIVITIES)
                name = pattern.format(p=rng.choice(_PRODUCTS))
                beneficiaries = rng.randint(1, 3) if activity != "đào tạo" else rng.randint(20, 60)
                uy.projects.append((f"KC{year}-{uid[-2:]}-{n:02d}", name, s, activity, amount, beneficiaries))
            uy.project_counts[s] = k

    def build_cumulative(self) -> None:
        rng = self.rng
        ids = [u.unit_id for u in self.u63]
        # the calibrated 2024 6T KCQG allocation
        ratios = {i: rng.uniform(0.2, 0.5) for i in ids}
        raw = {i: float(self.years[(i, 2024)].plan["KCQG"]) * ratios[i] for i in ids}
        scale = float(NATIONAL_KCQG_ALLOCATED_2024_6T) / sum(raw.values())
        alloc6 = {i: _q(raw[i] * scale) for i in ids}
        largest = max(ids, key=lambda i: (alloc6[i], i))
        alloc6[largest] += NATIONAL_KCQG_ALLOCATED_2024_6T - sum(alloc6.values())
        for uid in ids:
            for year in (2023, 2024, 2025):
                periods = [p for p in ("6T", "9T", "CN") if year != 2023 or p == "CN"]
                if year == 2025:
                    periods = ["6T", "9T"]
                self._cumulate(uid, year, periods, alloc6[uid] if year == 2024 else None)
        self.exceed_local_plan("P63-20", 2023)  # W01: Lạng Sơn 2023 executed more local funds than planned

    def _cumulate(self, uid: str, year: int, periods: list[str], kcqg_allocated_6t: Decimal | None) -> None:
        """Cumulative allocated/executed amounts and outcomes per period, never falling from one period to the next."""
        rng = self.rng
        uy = self.years[(uid, year)]
        for s, plan in uy.plan.items():
            prev_a, prev_e = Decimal(0), Decimal(0)
            for p in periods:
                eff = uy.adjusted.get(s, plan) if p != "6T" else plan
                lo, hi = {"6T": (0.3, 0.6), "9T": (0.6, 0.85), "CN": (0.93, 1.0)}[p]
                elo, ehi = {"6T": (0.35, 0.8), "9T": (0.6, 0.92), "CN": (0.95, 1.0)}[p]
                step = _ONE if s == "KCQG" else _MILLI
                a = min(eff, max(prev_a, _q(float(eff) * rng.uniform(lo, hi), step)))
                if s == "KCQG" and p == "6T" and kcqg_allocated_6t is not None:
                    a = kcqg_allocated_6t
                    assert a <= plan
                e = min(a, max(prev_e, _q(float(a) * rng.uniform(elo, ehi), _MILLI)))
                uy.cum.setdefault(p, {})[s] = (a if s in ("KCQG", "KCDP") else None, e)
                prev_a, prev_e = a, e
        prev = {c: 0 for c in uy.targets}
        for p in periods:
            lo, hi = {"6T": (0.25, 0.55), "9T": (0.6, 0.85), "CN": (0.92, 1.12)}[p]
            cur = {c: max(prev[c], round(t * rng.uniform(lo, hi))) for c, t in uy.targets.items()}
            uy.actual[p] = cur
            prev = cur

    def add_year(self, year: int, toward: int | None = None) -> None:
        """Figures of an extra programme year for the 63 provinces, drawn from `self.rng`.

        Without `toward`, each plan is within -12%..+10% of the following year's, so no
        start-of-year plan moves by more than 50% (no W03) and the series stay plausible.
        With `toward` (a later year already drawn), the plan moves from the previous year's
        a 1/k share of the way to that year's (k years left) within ±5%: the years between
        the conference years and the committed sample join both without a jump.
        """
        rng = self.rng
        for u in self.u63:
            uid = u.unit_id
            if toward is None:
                following = self.years[(uid, year + 1)].plan
                plan = {s: _q(float(v) * rng.uniform(0.88, 1.1) / (10 if s == "KCQG" else 1)) * (10 if s == "KCQG" else 1)
                        for s, v in following.items()}
            else:
                previous, goal, k = self.years[(uid, year - 1)].plan, self.years[(uid, toward)].plan, toward - year + 1
                plan = {s: _q(float(v) * (float(goal.get(s, v)) / float(v)) ** (1 / k) * rng.uniform(0.95, 1.05))
                        for s, v in previous.items()}
            self.unit_year(uid, year, plan, ["6T", "9T", "CN"])

    def unit_year(self, uid: str, year: int, plan: dict[str, Decimal], periods: list[str],
                  adjusted: dict[str, Decimal] | None = None) -> _UnitYear:
        """One province's year around its `plan`: adjusted plan (drawn when not given), projects, targets, and the
        cumulative figures of `periods`."""
        rng, p = self.rng, self.profiles[uid]
        if adjusted is None:
            adjusted = {}
            if rng.random() < 0.22:
                adjusted["KCDP"] = _q(float(plan["KCDP"]) * rng.uniform(1.03, 1.15))
        has_projects = not adjusted and rng.random() < 0.65
        targets = {c: max(1, round(_INDICATOR_BASE[c] * p.scale * rng.uniform(0.85, 1.2))) for c in p.indicators}
        uy = _UnitYear(plan, adjusted, has_projects, {}, {}, targets, {}, [])
        if has_projects:
            self._projects(uid, year, uy)
        else:
            uy.project_counts = {s: (rng.randint(1, 4) if s in ("KCQG", "KCDP") else None) for s in plan}
        self.years[(uid, year)] = uy
        self._cumulate(uid, year, periods, None)
        return uy

    def exceed_local_plan(self, uid: str, year: int) -> None:
        """W01: the unit's full-year local (KCĐP) spending is 4% over its effective plan."""
        uy = self.years[(uid, year)]
        eff = uy.adjusted.get("KCDP", uy.plan["KCDP"])
        uy.cum["CN"]["KCDP"] = (eff, _q(float(eff) * 1.04, _MILLI))

    def figures(self, uid: str, year: int, period: str, report_date: date) -> ReportFigures:
        unit = self.units[uid]
        if unit.era == 34:
            return self._merged(unit, year, period, report_date)
        uy = self.years[(uid, year)]
        funding, projects = [], None
        for s, plan in uy.plan.items():
            if period == "KH":
                funding.append(FundingFigures(s, plan, None, None, None, uy.project_counts.get(s)))
            else:
                a, e = uy.cum[period][s]
                adj = uy.adjusted.get(s) if period != "6T" else None
                funding.append(FundingFigures(s, plan, adj, a, e, uy.project_counts.get(s)))
        outcomes = tuple(
            OutcomeFigures(c, *self.indicators[c], t, None if period == "KH" else uy.actual[period][c])
            for c, t in uy.targets.items()
        )
        if uy.has_projects:
            projects = []
            by_source: dict[str, list] = {}
            for pr in uy.projects:
                by_source.setdefault(pr[2], []).append(pr)
            for s, prs in by_source.items():
                executed = None if period == "KH" else uy.cum[period][s][1]
                done = Decimal(0)
                for i, (code, name, src, activity, approved, ben) in enumerate(prs):
                    if executed is None:
                        ex = None
                    elif i == len(prs) - 1:
                        ex = executed - done
                    else:
                        ex = (executed * approved / uy.plan[s]).quantize(_MILLI, rounding=ROUND_DOWN)
                        done += ex
                    status = "hoàn thành" if period == "CN" else "đang thực hiện"
                    projects.append(ProjectFigures(code, name, src, activity, approved, ex, status, ben))
            projects = tuple(sorted(projects, key=lambda p: p.code))
        return ReportFigures(unit, year, period, report_date, tuple(funding), outcomes, projects)

    def _merged(self, unit: Unit, year: int, period: str, report_date: date) -> ReportFigures:
        parts = [self.figures(pid, year, period, report_date) for pid in sorted(self.successors[unit.unit_id])]
        funding = []
        for s in ("KCQG", "KCDP", "DOI_UNG", "KHAC"):
            rows = [f for fig in parts for f in fig.funding if f.source == s]
            if not rows:
                continue

            def total(attr: str, rows: list[FundingFigures] = rows) -> Decimal | None:
                values = [getattr(f, attr) for f in rows]
                return None if all(v is None for v in values) else sum((v for v in values if v is not None), Decimal(0))

            adjusted = None
            if any(f.plan_adjusted is not None for f in rows):
                adjusted = sum((f.plan_adjusted if f.plan_adjusted is not None else f.plan for f in rows), Decimal(0))
            counts = [f.projects for f in rows if f.projects is not None]
            funding.append(FundingFigures(s, total("plan"), adjusted, total("allocated"), total("executed"),
                                          sum(counts) if counts else None))
        outcomes = []
        for code in self.indicators:
            rows = [o for fig in parts for o in fig.outcomes if o.code == code]
            if rows:
                actual = None if period == "KH" else sum(o.actual for o in rows)
                outcomes.append(OutcomeFigures(code, rows[0].name, rows[0].unit, sum(o.target for o in rows), actual))
        projects = None  # the merged province lists its predecessors' projects when they fit one report
        if all(fig.projects is not None for fig in parts) and sum(len(fig.projects) for fig in parts) <= 6:
            projects = tuple(p for fig in parts for p in fig.projects)
        return ReportFigures(unit, year, period, report_date, tuple(funding), tuple(outcomes), projects)

    # ---------------------------------------------------------------- files

    def rendering(self, unit: Unit, name_only_ok: bool = True, container: str | None = None) -> Rendering:
        rng = self.rng
        x = rng.random()
        if container is None:
            container = "xlsx" if x < 0.8 else "zip"
        xlsx = container == "xlsx"
        money_unit = rng.choices(["triệu đồng", "tỷ đồng", "đồng", "nghìn đồng"], [75, 10, 8, 7])[0]
        y = rng.random()
        identify = "both" if y < 0.62 else "code" if y < 0.9 or not name_only_ok else "name"
        name_text = None
        if identify != "code" and rng.random() < 0.5 and self.aliases.get(unit.unit_id):
            name_text = rng.choice(self.aliases[unit.unit_id])
        if identify == "name" and rng.random() < 0.4:
            identify = "name_blank_code"
        style = Style(
            labels=rng.random() < (0.8 if xlsx else 0.5),
            numbers_as_text=xlsx and rng.random() < 0.15,
            dash_for_zero=rng.random() < 0.5,
            date_as_text=xlsx and rng.random() < 0.3,
            sheet_labels=xlsx and rng.random() < 0.12,
            shuffle_columns=rng.randrange(1000) if rng.random() < 0.2 else None,
            quote_all=not xlsx and rng.random() < 0.3,
        )
        person = f"{rng.choice(_FAMILY)} {rng.choice(_MIDDLE)} {rng.choice(_GIVEN)}"
        phone = f"09{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}"
        email = f"ttkc.{_ascii(_short_name(unit.name)).lower().replace(' ', '').replace('-', '')}@example.gov.vn"
        return Rendering(
            container=container,
            encoding="utf-8-sig" if rng.random() < 0.55 else "cp1258",
            style=style,
            money_unit=money_unit,
            write_money_unit=money_unit != "triệu đồng" or rng.random() < 0.8,
            identify=identify,
            name_text=name_text,
            source_labels=rng.random() < 0.7,
            indicator_names_only=rng.random() < 0.08,
            template_rows=xlsx and rng.random() < 0.15,
            preparer=(person, phone, email),
        )

    def file_name(self, unit: Unit, year: int, period: str, container: str) -> str:
        rng = self.rng
        short = _short_name(unit.name)
        plain = _ascii(short)
        words, words_vi = _PERIOD_WORDS[period]
        if container == "zip":
            return rng.choice((
                f"BC_khuyen_cong_{period}{year}_{plain.replace(' ', '_').replace('-', '')}.zip",
                f"KC_{year}_{period}_{plain.replace(' ', '_').replace('-', '')}.zip",
                f"{unit.code}_{plain.replace(' ', '').replace('-', '')}_KC1_{year}_{period}.zip",
            )).replace("__", "_")
        return rng.choice((
            f"Bao cao KC {words} {year} - {plain}.xlsx",
            f"Bao cao {period} {year} - {plain}.xlsx",
            f"Báo cáo khuyến công {words_vi} {year} - {short}.xlsx",
            f"BC khuyen cong {period} {year} {plain}.xlsx",
            f"{unit.code}_{plain.replace(' ', '_')}_KC1_{period}_{year}.xlsx",
        ))

    def arrival(self, year: int, period: str) -> date:
        due = deadline(year, period)
        return due - timedelta(days=self.rng.randint(0, {"KH": 24, "CN": 18}.get(period, 11)))

    def report_date(self, year: int, period: str, arrival: date) -> date:
        earliest = period_end(year, period) + timedelta(days=1 if period != "KH" else 20)
        span = max(0, min(6, (arrival - earliest).days))
        return arrival - timedelta(days=self.rng.randint(0, span))


def _stamp(d: date) -> datetime:
    return datetime.combine(d, time(9, 30))


def _with_timestamp(r: Rendering, d: date) -> Rendering:
    return replace(r, style=replace(r.style, timestamp=_stamp(d)))


