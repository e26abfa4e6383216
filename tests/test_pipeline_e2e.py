"""End to end through the real nightly DAG: `kc run` (Airflow `dag.test()`) in a subprocess.

One small landing zone is built once per module (tests/builders.py) and taken through:

  run 1   8 accepted files (Hà Nội, Thừa Thiên Huế, TP Hồ Chí Minh; 2024 KH / 6T / CN) -> published
  run 2   a new arrival folder: a resubmission (later ngay_lap, other figure), a byte-identical copy
          under another name, a file refused with F05 (negative amount)
  run 3   nothing new: nothing rebuilt, the published file untouched
then, in parallel, on copies of the warehouse after run 3:
  rebuild   `kc run --rebuild` -> marts equal, table for table, to the incremental result
  rejected  only refused files arrive -> no mart value changes
  dbt-fail  a new valid file and a failing dbt test (KC_DBT_PROJECT_DIR -> a copy of the project with one
            more singular test): `kc run` exits 1, the published file stays byte-identical, the
            on_failure_callback posts to a local webhook
and, in this process, the mart gate, which owns what the dbt tests do not (one owner per check):
`pipeline.gate_marts` on a build database missing a unit in submission_status (coverage), a broken
reconciliation caught by its owner, the dbt singular test, and not by the gate, and the stages
(in this process) with `khuyencong.rules.mart_gate.mart_frames` patched to put a percentage out
of its bounds.

`raw/` is hashed before and after every run: the pipeline never writes it.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import duckdb
import pytest
from builders import valid_report
from kc_runs import RUN_TIMEOUT, Run, kc_env, kc_run, kc_run_cmd, sha, tree

from khuyencong import config
from khuyencong.config import Settings
from khuyencong.reports.safe import markdown_code
from khuyencong.warehouse.publication import PUBLICATION_TABLE

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("pipeline_e2e")]

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("KCQG", "KCDP")
FUNDING_FIELDS = ("ke_hoach_dau_nam", "ke_hoach_dieu_chinh", "da_phan_bo", "thuc_hien", "so_de_an")
UNIT_NAMES = {
    "01": "Thành phố Hà Nội", "31": "Thành phố Hải Phòng", "46": "Tỉnh Thừa Thiên Huế",
    "48": "Thành phố Đà Nẵng", "79": "Thành phố Hồ Chí Minh",
}
OUTCOME_ACTUALS = {  # builder's indicators: dao_tao_nghe, mo_hinh_trinh_dien, tu_van_doanh_thu
    "kh": (None, None, None),
    "6t": (320, 2, Decimal("80.25")),
    "cn": (500, 4, Decimal("150.5")),
}


# ---------------------------------------------------------------- the landing zone


@dataclass(frozen=True)
class Spec:
    """One submission file: what it says, where it lands."""

    code: str
    year: int
    period: str
    ngay_lap: str  # dd/mm/yyyy
    arrival: str  # raw/<arrival>/
    name: str
    kcqg: tuple  # (ke_hoach_dau_nam, ke_hoach_dieu_chinh, da_phan_bo, thuc_hien, so_de_an)
    kcdp: tuple | None
    outcomes: str = "6t"
    projects: bool = False  # keep the builder's de_an sheet (consistent with its default funding only)

    @property
    def unit_id(self) -> str:
        return f"P63-{self.code}"

    @property
    def path(self) -> str:
        return f"{self.arrival}/{self.name}"

    @property
    def version(self) -> tuple:
        d, m, y = self.ngay_lap.split("/")
        return (date(int(y), int(m), int(d)), self.arrival, self.name)

    def report(self):
        r = valid_report()
        if not self.projects:
            r = r.without_sheet("de_an")
        r = r.with_meta(ma_don_vi=self.code, ten_don_vi=UNIT_NAMES[self.code], nam=self.year,
                        ky_bao_cao=self.period, ngay_lap=self.ngay_lap)
        for field, value in zip(FUNDING_FIELDS, self.kcqg):
            r = r.with_cell("kinh_phi", "KCQG", field, value)
        if self.kcdp is None:
            r = r.without_row("kinh_phi", "KCDP")
        else:
            for field, value in zip(FUNDING_FIELDS, self.kcdp):
                r = r.with_cell("kinh_phi", "KCDP", field, value)
        for indicator, actual in zip(("dao_tao_nghe", "mo_hinh_trinh_dien", "tu_van_doanh_thu"),
                                     OUTCOME_ACTUALS[self.outcomes]):
            r = r.with_cell("ket_qua", indicator, "thuc_hien", actual)
        return r

    def write(self, raw: Path) -> Path:
        return self.report().write_xlsx(raw / self.arrival / self.name)


RUN1 = [
    Spec("01", 2024, "KH", "20/03/2024", "2024-03-25", "HaNoi_KH_2024.xlsx",
         (1200, None, None, None, 3), (800, None, None, None, 2), outcomes="kh"),
    Spec("46", 2024, "KH", "21/03/2024", "2024-03-25", "Hue_KH_2024.xlsx",
         (900, None, None, None, 2), (600, None, None, None, 1), outcomes="kh"),
    Spec("01", 2024, "6T", "05/07/2024", "2024-07-10", "HaNoi_6T_2024.xlsx",
         (1200, 1300, 1000, Decimal("850.5"), 3), (800, None, 600, 400, 2), projects=True),
    Spec("46", 2024, "6T", "06/07/2024", "2024-07-10", "Hue_6T_2024.xlsx",
         (900, None, 700, 700, 2), (600, None, 300, 250, 1)),
    Spec("79", 2024, "6T", "08/07/2024", "2024-07-10", "HCM_6T_2024.xlsx",
         (2000, 2100, 1500, 1200, 5), (1500, None, 1000, 900, 4)),
    Spec("01", 2024, "CN", "15/01/2025", "2025-01-20", "HaNoi_CN_2024.xlsx",
         (1200, 1300, 1300, 1250, 3), (800, None, 800, 780, 2), outcomes="cn"),
    Spec("46", 2024, "CN", "16/01/2025", "2025-01-20", "Hue_CN_2024.xlsx",
         (900, None, 900, 880, 2), (600, None, 600, 590, 1), outcomes="cn"),
    Spec("79", 2024, "CN", "17/01/2025", "2025-01-20", "HCM_CN_2024.xlsx",
         (2000, 2100, 2100, 2050, 5), (1500, None, 1500, 1450, 4), outcomes="cn"),
]
HUE_6T = RUN1[3]
HANOI_6T = RUN1[2]
HANOI_CN = RUN1[5]
ARRIVAL2 = "2025-01-27"
RESUBMISSION = replace(HUE_6T, ngay_lap="22/01/2025", arrival=ARRIVAL2, name="Hue_6T_2024_dieu_chinh.xlsx",
                       kcqg=(900, None, 700, 777, 2))  # KCQG executed 700 -> 777; late: W06
DUPLICATE_PATH = f"{ARRIVAL2}/Ban sao - HaNoi_6T_2024.xlsx"
BAD = Spec("31", 2024, "6T", "20/01/2025", ARRIVAL2, "HaiPhong_6T_2024.xlsx",
           (1000, None, 500, -50, 1), (300, None, 200, 100, 1))  # F05: negative executed
REJECTED_ONLY = replace(HANOI_CN, ngay_lap="01/02/2025", arrival="2025-02-03", name="HaNoi_CN_2024_v2.xlsx",
                        kcdp=(800, None, -5, 780, 2))  # F05: negative allocated
DANANG = Spec("48", 2024, "6T", "01/02/2025", "2025-02-05", "DaNang_6T_2024.xlsx",
              (700, None, 600, 500, 2), (400, None, 300, 200, 1))  # valid (late: W06)
FORCED_TEST = "assert_e2e_forced_failure_on_da_nang"


def units_by_region() -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    with (config.seeds_dir() / "units.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["era"] == "63":
                out.setdefault(r["region_code"], set()).add(r["unit_id"])
    return out


def region_of(unit_id: str) -> str:
    return next(region for region, units in units_by_region().items() if unit_id in units)


# ---------------------------------------------------------------- helpers


def submission_id(raw: Path, spec_or_path) -> str:
    path = raw / (spec_or_path.path if isinstance(spec_or_path, Spec) else spec_or_path)
    return sha(path)[:16]


class Background:
    """`kc run` in a subprocess started now, waited for later (output to a file: no pipe to fill)."""

    def __init__(self, raw: Path, warehouse: Path, *extra: str, cwd: Path, **env: str):
        self.raw, self.warehouse = raw, warehouse
        self.raw_before = tree(raw)
        self.log = cwd / f"kc_run_{warehouse.name}.log"
        self._fh = self.log.open("w")
        self.proc = subprocess.Popen(kc_run_cmd(raw, warehouse, *extra), env=kc_env(**env), cwd=cwd,
                                     stdout=self._fh, stderr=subprocess.STDOUT, text=True)
        self._run: Run | None = None

    def result(self) -> Run:
        if self._run is None:
            try:
                self.proc.wait(timeout=RUN_TIMEOUT)
            finally:
                self._fh.close()
            self._run = Run(self.proc.returncode, self.log.read_text(), self.raw_before, tree(self.raw))
        return self._run


def marts(db: Path) -> dict[str, dict]:
    """Every mart of the published file: columns and all rows, ORDER BY ALL (read-only).

    `marts.publication` (when it was published) is left out: it changes with every publication.
    """
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' AND table_name <> ?"
            " ORDER BY 1", [PUBLICATION_TABLE]).fetchall()]
        out = {}
        for t in tables:
            cur = con.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL')
            columns = [d[0] for d in cur.description]
            out[t] = {"columns": columns, "rows": cur.fetchall()}
        out["__schemas__"] = {"columns": [], "rows": con.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables ORDER BY 1").fetchall()}
    finally:
        con.close()
    return out


def rows(snapshot: dict, table: str) -> list[dict]:
    t = snapshot[table]
    return [dict(zip(t["columns"], r)) for r in t["rows"]]


def build_query(warehouse: Path, sql: str, params=()) -> list[tuple]:
    con = duckdb.connect(str(warehouse / "build.duckdb"), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def published_state(warehouse: Path) -> dict:
    db = warehouse / "khuyencong.duckdb"
    st = db.stat()
    return {"sha": sha(db), "inode": st.st_ino, "mtime": st.st_mtime_ns, "parquet": tree(warehouse / "parquet" / "marts")}


def copy_warehouse(src: Path, dst: Path) -> Path:
    # the local Airflow home is per warehouse and recreated on demand; everything else is copied as is
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("airflow"))
    return dst


def expected_funding(specs: list[Spec], raw: Path) -> list[tuple]:
    """fct_funding as the files say: the latest version (ngay_lap, arrival, name) of each report."""
    latest: dict[tuple, Spec] = {}
    for s in specs:
        key = (s.unit_id, s.year, s.period)
        if key not in latest or s.version > latest[key].version:
            latest[key] = s
    out = []
    for s in latest.values():
        months = {"KH": 0, "CN": 12}[s.period] if s.period in ("KH", "CN") else int(s.period[:-1])
        for source, values in zip(SOURCES, (s.kcqg, s.kcdp)):
            if values is None:
                continue
            pi, pa, alloc, executed, count = values
            out.append((submission_id(raw, s), s.unit_id, s.year, s.period, months, source, dec(pi),
                        dec(pa if pa is not None else pi), dec(alloc), dec(executed), count))
    return sorted(out, key=lambda r: tuple("" if v is None else str(v) for v in r))


def dec(v) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def funding_table(snapshot: dict) -> list[tuple]:
    cols = ["submission_id", "unit_id", "year", "period", "period_months", "funding_source", "plan_initial_mvnd",
            "plan_adjusted_mvnd", "allocated_mvnd", "executed_mvnd", "project_count"]
    got = [tuple(r[c] for c in cols) for r in rows(snapshot, "fct_funding")]
    return sorted(got, key=lambda r: tuple("" if v is None else str(v) for v in r))


def status_of(snapshot: dict, unit_id: str, year: int, period: str) -> dict:
    [row] = [r for r in rows(snapshot, "submission_status")
             if (r["unit_id"], r["year"], r["period"]) == (unit_id, year, period)]
    return row


# ---------------------------------------------------------------- webhook for the failure alert


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):  # http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append(json.loads(body.decode("utf-8")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def webhook():
    handler = type("Hook", (_Hook,), {"received": []})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/alert", handler.received
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- the scenario (once per module)


@dataclass
class Scenario:
    root: Path
    raw: Path
    warehouse: Path
    run1: Run
    run2: Run
    run3: Run
    marts1: dict
    marts2: dict
    marts3: dict
    published2: dict
    published3: dict
    summary2: str
    added_by_test: set


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    root = tmp_path_factory.mktemp("e2e")
    raw, warehouse = root / "raw", root / "warehouse"
    for spec in RUN1:
        spec.write(raw)
    added = set(tree(raw))
    assert len(added) == 8

    run1 = kc_run(raw, warehouse, cwd=root)
    assert run1.returncode == 0, run1.output[-6000:]
    marts1 = marts(warehouse / "khuyencong.duckdb")

    RESUBMISSION.write(raw)
    shutil.copyfile(raw / HANOI_6T.path, raw / DUPLICATE_PATH)
    BAD.write(raw)
    added = set(tree(raw))
    run2 = kc_run(raw, warehouse, cwd=root)
    assert run2.returncode == 0, run2.output[-6000:]
    marts2 = marts(warehouse / "khuyencong.duckdb")
    published2 = published_state(warehouse)
    summary2 = (warehouse / "reports" / "latest_run.md").read_text(encoding="utf-8")

    time.sleep(1.1)  # so that a rewrite of the published file would show in its mtime
    run3 = kc_run(raw, warehouse, cwd=root)
    assert run3.returncode == 0, run3.output[-6000:]
    marts3 = marts(warehouse / "khuyencong.duckdb")
    published3 = published_state(warehouse)
    return Scenario(root, raw, warehouse, run1, run2, run3, marts1, marts2, marts3, published2, published3, summary2,
                    added)


@pytest.fixture(scope="module")
def background(scenario, webhook):
    """The runs on copies of the warehouse after run 3, started together (they take ~30 s each)."""
    root = scenario.root
    runs = {}
    # rebuild: same raw/, a copy of the warehouse
    rebuild_wh = copy_warehouse(scenario.warehouse, root / "wh_rebuild")
    before = published_state(rebuild_wh)  # taken before the run starts
    runs["rebuild"] = Background(scenario.raw, rebuild_wh, "--rebuild", cwd=root)
    runs["rebuild"].before = before

    # only refused files arrive: F05 resubmission of Hà Nội CN, and a file that is no workbook at all (F01)
    raw_rej = root / "raw_rejected"
    shutil.copytree(scenario.raw, raw_rej)
    REJECTED_ONLY.write(raw_rej)
    (raw_rej / REJECTED_ONLY.arrival / "scan_bao_cao.xlsx").write_bytes(b"%PDF-1.4 this is a scan, not a workbook")
    rej_wh = copy_warehouse(scenario.warehouse, root / "wh_rejected")
    before = published_state(rej_wh)
    runs["rejected"] = Background(raw_rej, rej_wh, cwd=root)
    runs["rejected"].before = before

    # a new valid file, and a dbt project with one more (failing) singular test
    raw_fail = root / "raw_dbt_fail"
    shutil.copytree(scenario.raw, raw_fail)
    DANANG.write(raw_fail)
    project = root / "dbt_project_failing"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "tests" / f"{FORCED_TEST}.sql").write_text(
        "-- forced failure for the end-to-end test: fails when Đà Nẵng's report is in the facts\n"
        "select unit_id from {{ ref('fct_funding') }} where unit_id = 'P63-48'\n", encoding="utf-8")
    fail_wh = copy_warehouse(scenario.warehouse, root / "wh_dbt_fail")
    url, _ = webhook
    before = published_state(fail_wh)
    runs["dbt_fail"] = Background(raw_fail, fail_wh, cwd=root, KC_DBT_PROJECT_DIR=str(project),
                                  KC_ALERT_WEBHOOK_URL=url)
    runs["dbt_fail"].before = before
    yield runs
    for bg in runs.values():  # never leave a child behind (only the ones started here)
        if bg.proc.poll() is None:
            bg.proc.kill()
            bg.proc.wait()


# ---------------------------------------------------------------- run 1: publish


def test_run1_publishes(scenario):
    out = scenario.run1.output
    assert "khuyencong_nightly: success" in out
    assert "8 accepted, 0 accepted with warnings, 0 rejected" in out
    w = scenario.warehouse
    assert (w / "khuyencong.duckdb").is_file() and (w / "build.duckdb").is_file()
    # the published file holds the marts schema only (no raw schema: no personal data)
    assert scenario.marts1["__schemas__"]["rows"] == [("marts",)]
    tables = sorted(t for t in scenario.marts1 if not t.startswith("__"))
    assert tables == sorted(["dim_unit", "dim_indicator", "fct_funding", "fct_outcomes", "fct_projects",
                             "region_funding", "region_outcomes", "submission_status", "funding_by_current_unit",
                             "outcomes_by_current_unit"])
    # Parquet copies of the same tables, same row counts
    parquet = w / "parquet" / "marts"
    assert sorted(p.stem for p in parquet.glob("*.parquet")) == sorted([*tables, PUBLICATION_TABLE])
    con = duckdb.connect()
    for t in tables:
        n = con.execute("SELECT count(*) FROM read_parquet(?)", [str(parquet / f"{t}.parquet")]).fetchone()[0]
        assert n == len(scenario.marts1[t]["rows"]), t
    con.close()
    assert (w / "reports" / "latest_run.md").is_file()
    gate = json.loads((w / "reports" / "mart_gate" / "latest.json").read_text(encoding="utf-8"))
    assert gate["success"] is True and gate["failed"] == []
    # publish writes the conference report and kc run names it
    assert (w / "reports" / "index.html").is_file()
    assert f"conference: {(w / 'reports' / 'index.html').resolve()}" in out


def test_run1_fct_funding_is_what_the_files_say(scenario):
    assert funding_table(scenario.marts1) == expected_funding(RUN1, scenario.raw)
    hanoi_6t = [r for r in rows(scenario.marts1, "fct_funding")
                if (r["unit_id"], r["year"], r["period"]) == ("P63-01", 2024, "6T")]
    assert sum(r["executed_mvnd"] for r in hanoi_6t) == Decimal("1250.5")  # 850.5 + 400
    # and the projects of the one file that has a de_an sheet
    projects = [r for r in rows(scenario.marts1, "fct_projects")]
    assert sorted(r["project_code"] for r in projects) == ["DA-01", "DA-02", "DA-03", "DA-04", "DA-05"]
    assert {r["submission_id"] for r in projects} == {submission_id(scenario.raw, HANOI_6T)}


def test_run1_submission_status_lists_missing_units(scenario):
    status = rows(scenario.marts1, "submission_status")
    n63 = sum(len(u) for u in units_by_region().values())
    assert n63 == 63
    reported = {"KH": {"P63-01", "P63-46"}, "6T": {"P63-01", "P63-46", "P63-79"}, "CN": {"P63-01", "P63-46", "P63-79"}}
    for period, units in reported.items():
        period_rows = [r for r in status if (r["year"], r["period"]) == (2024, period)]
        assert len(period_rows) == 63, period
        assert {r["unit_id"] for r in period_rows if r["status"] == "accepted"} == units
        missing = [r for r in period_rows if r["status"] == "missing"]
        assert len(missing) == 63 - len(units)
        assert all(r["versions_received"] == 0 and r["latest_submission_id"] is None for r in missing)
    hai_phong = status_of(scenario.marts1, "P63-31", 2024, "6T")
    assert hai_phong["status"] == "missing" and hai_phong["deadline"] == date(2024, 7, 15)
    hanoi = status_of(scenario.marts1, "P63-01", 2024, "6T")
    assert (hanoi["status"], hanoi["versions_received"], hanoi["on_time"], hanoi["latest_received_on"]) == \
        ("accepted", 1, True, date(2024, 7, 10))


def test_run1_region_funding_sums_the_units(scenario):
    got = {(r["region_code"], r["funding_source"]): r for r in rows(scenario.marts1, "region_funding")
           if (r["year"], r["period"]) == (2024, "6T")}
    regions = units_by_region()
    specs_6t = [s for s in RUN1 if s.period == "6T"]
    for region in ("BAC", "MTTN", "NAM"):
        units = [s for s in specs_6t if s.unit_id in regions[region]]
        for i, source in enumerate(SOURCES):
            executed = sum((Decimal(str((s.kcqg, s.kcdp)[i][3])) for s in units), Decimal(0))
            row = got[(region, source)]
            assert row["executed_mvnd"] == executed, (region, source)
            assert row["units_expected"] == len(regions[region])
            assert row["units_reported"] == len(units)
    assert got[("CA_NUOC", "TONG")]["executed_mvnd"] == Decimal("850.5") + 400 + 700 + 250 + 1200 + 900
    assert (got[("BAC", "KCQG")]["units_expected"], got[("MTTN", "KCQG")]["units_expected"],
            got[("NAM", "KCQG")]["units_expected"]) == (28, 15, 20)


# ---------------------------------------------------------------- run 2: resubmission, duplicate, refused file


def test_run2_verdicts(scenario):
    out = scenario.run2.output
    assert "khuyencong_nightly: success" in out
    assert "11 in raw/, 8 already seen, 2 new, 1 duplicates" in out
    assert "0 accepted, 1 accepted with warnings, 1 rejected" in out
    summary = scenario.summary2  # reports/latest_run.md as run 2 left it
    assert f"| {markdown_code(RESUBMISSION.path)} | accepted_with_warnings |" in summary
    assert f"| {markdown_code(BAD.path)} | rejected |" in summary


def test_run2_resubmission_supersedes(scenario):
    m = scenario.marts2
    hue = {r["funding_source"]: r for r in rows(m, "fct_funding")
           if (r["unit_id"], r["year"], r["period"]) == ("P63-46", 2024, "6T")}
    assert hue["KCQG"]["executed_mvnd"] == Decimal(777)
    assert {r["submission_id"] for r in hue.values()} == {submission_id(scenario.raw, RESUBMISSION)}
    st = status_of(m, "P63-46", 2024, "6T")
    assert st["versions_received"] == 2
    assert st["latest_submission_id"] == submission_id(scenario.raw, RESUBMISSION)
    assert st["status"] == "accepted_with_warnings"  # it arrived after 15 July: W06
    assert (st["warning_count"], st["on_time"], st["latest_received_on"]) == (1, False, date(2025, 1, 27))
    # every fact is the latest version of its report; the refused file adds nothing
    assert funding_table(m) == expected_funding(RUN1 + [RESUBMISSION], scenario.raw)
    mttn = [r for r in rows(m, "region_funding")
            if (r["region_code"], r["year"], r["period"], r["funding_source"]) == ("MTTN", 2024, "6T", "KCQG")]
    assert [r["executed_mvnd"] for r in mttn] == [Decimal(777)]


def test_run2_duplicate_is_recorded_not_counted(scenario):
    raw, w = scenario.raw, scenario.warehouse
    dups = build_query(w, "SELECT path, submission_id, arrival_date FROM raw.duplicate_files")
    assert dups == [(DUPLICATE_PATH, submission_id(raw, HANOI_6T), date(2025, 1, 27))]
    assert build_query(w, "SELECT count(*) FROM raw.submissions WHERE path = ?", [DUPLICATE_PATH]) == [(0,)]
    assert build_query(w, "SELECT count(*) FROM raw.submissions") == [(10,)]
    st = status_of(scenario.marts2, "P63-01", 2024, "6T")
    assert (st["versions_received"], st["latest_submission_id"]) == (1, submission_id(raw, HANOI_6T))
    hanoi = [r for r in rows(scenario.marts2, "fct_funding") if (r["unit_id"], r["period"]) == ("P63-01", "6T")]
    assert len(hanoi) == 2  # once per source, not twice


def test_run2_refused_file_changes_no_fact_and_gets_a_report(scenario):
    raw, w, m = scenario.raw, scenario.warehouse, scenario.marts2
    sid = submission_id(raw, BAD)
    for table in ("fct_funding", "fct_outcomes", "fct_projects", "funding_by_current_unit", "outcomes_by_current_unit"):
        assert not [r for r in rows(m, table) if r.get("unit_id") == "P63-31" or r.get("submission_id") == sid], table
    bac = {r["funding_source"]: r for r in rows(m, "region_funding")
           if (r["region_code"], r["year"], r["period"]) == ("BAC", 2024, "6T")}
    assert bac["KCQG"]["executed_mvnd"] == Decimal("850.5") and bac["KCQG"]["units_reported"] == 1
    st = status_of(m, "P63-31", 2024, "6T")
    assert (st["status"], st["versions_received"], st["latest_submission_id"]) == ("rejected", 1, sid)
    assert st["error_count"] >= 1
    assert build_query(w, "SELECT count(*) FROM raw.funding_rows WHERE submission_id = ?", [sid]) == [(0,)]

    stem = f"{BAD.arrival}_{Path(BAD.name).stem}_{sid[:8]}"
    folder = w / "reports" / "submissions"
    csv_path, html_path = folder / f"{stem}.csv", folder / f"{stem}.html"
    assert csv_path.is_file() and html_path.is_file(), sorted(p.name for p in folder.iterdir())
    with csv_path.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    header, body = table[0], table[1:]
    assert header[:2] == ["ma_loi / rule", "muc_do / severity"] and len(header) == 9
    f05 = [r for r in body if r[0] == "F05"]
    assert len(f05) == 1, body
    _, severity, sheet, row, column, value, _, message_vi, message_en = f05[0]
    report = BAD.report()
    assert (severity, sheet, row, column, value) == (
        "fatal", "kinh_phi", str(report.row_of("kinh_phi", "KCQG")), report.label_of("kinh_phi", "thuc_hien"), "-50")
    assert message_vi and message_en and message_vi != message_en
    assert "-50" in message_en and "negative" in message_en.lower()
    page = html_path.read_text(encoding="utf-8")
    assert '<p class="verdict rejected">Tệp bị từ chối' in page
    assert "The file is rejected" in page
    assert "<td>F05</td>" in page
    import html as _html
    assert _html.escape(message_vi) in page and _html.escape(message_en) in page
    assert BAD.path in page


def test_run2_reports_for_every_new_file_only(scenario):
    folder = scenario.warehouse / "reports" / "submissions"
    htmls = sorted(p.name for p in folder.glob("*.html"))
    assert len(htmls) == 10  # 8 + resubmission + refused; the byte-identical copy has no report of its own
    assert len(list(folder.glob("*.csv"))) == 10


# ---------------------------------------------------------------- run 3: nothing new


def test_run3_nothing_new_changes_nothing(scenario):
    out = scenario.run3.output
    assert scenario.run3.returncode == 0
    assert "khuyencong_nightly: nothing new" in out and "Airflow not started" in out  # answered in a second
    assert "11 in raw/, 11 already seen, 0 new, 0 duplicates" in out
    assert "dbt build:  skipped" in out
    assert scenario.marts3 == scenario.marts2
    # the published file was not replaced: same inode, same mtime, same bytes; Parquet the same
    assert scenario.published3 == scenario.published2


def test_runs_never_write_raw(scenario):
    for run in (scenario.run1, scenario.run2, scenario.run3):
        assert run.raw_after == run.raw_before
    assert set(tree(scenario.raw)) == scenario.added_by_test


# ---------------------------------------------------------------- mart gate (in this process, while the runs go on)


def test_gate_marts_blocks_on_a_corrupted_build_db(scenario, background, tmp_path):
    """Status coverage is the gate's own check: a unit missing from submission_status blocks publication."""
    from khuyencong.run import pipeline

    w = copy_warehouse(scenario.warehouse, tmp_path / "wh_corrupt")
    before = published_state(w)
    con = duckdb.connect(str(w / "build.duckdb"))
    changed = con.execute(
        "DELETE FROM marts.submission_status WHERE unit_id = 'P63-02' AND year = 2024 AND period = '6T'").fetchone()[0]
    con.close()
    assert changed == 1
    settings = Settings.from_env(scenario.raw, w)
    with pytest.raises(pipeline.PublicationBlocked) as blocked:
        pipeline.gate_marts(settings)
    message = str(blocked.value)
    result_path = w / "reports" / "mart_gate" / "latest.json"
    assert "publication blocked" in message
    assert "every expected unit in submission_status [1 failing: 2024 6T]" in message  # the failing item is named
    assert str(result_path) in message
    result = json.loads(result_path.read_text(encoding="utf-8"))
    assert result["success"] is False
    assert result["failed"] == ["every expected unit in submission_status [1 failing: 2024 6T]"]
    assert "every expected unit in submission_status" in result["blocking_checks"]
    assert published_state(w) == before
    # Data Docs says which checks block publication, on the validation page of the failed suite
    pages = list((w / "reports" / "data_docs" / "validations" / "marts_status_coverage").rglob("*.html"))
    assert len(pages) == 1
    assert "every expected unit in submission_status (blocks publication: yes)" in pages[0].read_text(encoding="utf-8")


def test_reconciliation_is_owned_by_dbt_not_by_the_gate(scenario, background, tmp_path):
    """A region total that no longer equals its units fails the dbt singular test; the GX gate does not repeat it."""
    from dbt_fixtures import run_dbt

    from khuyencong.run import pipeline

    w = copy_warehouse(scenario.warehouse, tmp_path / "wh_unreconciled")
    con = duckdb.connect(str(w / "build.duckdb"))
    changed = con.execute(
        "UPDATE marts.region_funding SET executed_mvnd = executed_mvnd + 1"
        " WHERE region_code = 'BAC' AND funding_source = 'KCQG' AND year = 2024 AND period = '6T'").fetchone()[0]
    con.close()
    assert changed == 1
    dbt = run_dbt(["test", "--select", "assert_region_funding_equals_sum_of_units",
                   "assert_region_funding_national_equals_sum_of_regions"],
                  db_path=w / "build.duckdb", target_dir=tmp_path / "dbt_target", check=False)
    assert dbt.returncode != 0
    assert "FAIL 1 assert_region_funding_equals_sum_of_units" in dbt.stdout
    assert "FAIL 1 assert_region_funding_national_equals_sum_of_regions" in dbt.stdout
    gate = pipeline.gate_marts(pipeline.Settings.from_env(scenario.raw, w))
    assert gate["success"] is True and gate["failed"] == []
    assert not any("reconcil" in check for check in gate["blocking_checks"])


@pytest.fixture(scope="module")
def blocked_pipeline(scenario, background, tmp_path_factory):
    """The stages with a new valid file and an execution rate out of its bounds (a check GX owns)."""
    from khuyencong.rules import mart_gate
    from khuyencong.run import pipeline

    root = tmp_path_factory.mktemp("blocked")
    raw = root / "raw"
    shutil.copytree(scenario.raw, raw)
    DANANG.write(raw)
    w = copy_warehouse(scenario.warehouse, root / "warehouse")
    before = published_state(w)
    original = mart_gate.mart_frames

    def corrupted(con, seeds=None):
        frames = original(con, seeds)
        rates = frames["percentages"]
        rates.loc[rates.index[rates["item"] == "BAC 2024 6T KCQG"][0], "execution_rate_pct"] = 5000.0
        return frames

    settings = Settings.from_env(raw, w)
    with pytest.MonkeyPatch.context() as mp:
        for var in ("KC_DBT_PROJECT_DIR", "KC_EXPECTATIONS_DIR"):
            mp.delenv(var, raising=False)
        mp.setattr(mart_gate, "mart_frames", corrupted)
        loaded = pipeline.check_and_load(settings)
        assert pipeline.needs_build(settings, loaded)
        pipeline.build_marts(settings)
        try:
            pipeline.gate_marts(settings)
            pipeline.publish(settings)
            error = None
        except pipeline.PublicationBlocked as exc:
            error = exc
    return {"raw": raw, "warehouse": w, "settings": settings, "error": error, "before": before}


def test_mart_gate_failure_blocks_publication(blocked_pipeline):
    error, w = blocked_pipeline["error"], blocked_pipeline["warehouse"]
    assert error is not None, "published although the mart gate failed"
    assert "Mart gate failed" in str(error)
    assert "execution_rate_pct within 0..1000 [1 failing: BAC 2024 6T KCQG]" in str(error)
    assert str(w / "reports" / "mart_gate" / "latest.json") in str(error)
    assert published_state(w) == blocked_pipeline["before"]
    assert not [r for r in rows(marts(w / "khuyencong.duckdb"), "fct_funding") if r["unit_id"] == "P63-48"]
    # the file itself was checked and loaded (the gate is on the marts, not on the file)
    assert build_query(w, "SELECT status FROM raw.submissions WHERE path = ?", [DANANG.path]) == \
        [("accepted_with_warnings",)]


def test_next_run_after_a_blocked_publication_publishes(blocked_pipeline):
    from khuyencong.run import pipeline

    settings = blocked_pipeline["settings"]  # the gate is fixed: mart_frames is the real one
    loaded = pipeline.check_and_load(settings)
    assert loaded["new"] == 0 and pipeline.needs_build(settings, loaded)  # nothing new, but not yet published
    pipeline.build_marts(settings)
    pipeline.gate_marts(settings)
    pipeline.publish(settings)
    assert not pipeline.needs_build(settings)
    published = rows(marts(blocked_pipeline["warehouse"] / "khuyencong.duckdb"), "fct_funding")
    assert [r for r in published if r["unit_id"] == "P63-48"]


# ---------------------------------------------------------------- rebuild, refused-only, dbt failure (parallel runs)


def test_run2_builds_what_the_new_rows_feed_and_run1_the_whole_project(scenario):
    """With test_rebuild_gives_the_same_marts: the data-only build gives the marts of a whole build."""
    assert "passed (the whole project)" in scenario.run1.output
    assert "passed (what the new rows feed)" in scenario.run2.output


def test_rebuild_gives_the_same_marts(scenario, background):
    bg = background["rebuild"]
    run = bg.result()
    assert run.returncode == 0, run.output[-6000:]
    assert "khuyencong_nightly: success" in run.output
    # every file of raw/ checked again; the byte-identical copy is a duplicate again
    assert "11 in raw/, 0 already seen, 10 new, 1 duplicates" in run.output
    rebuilt = marts(bg.warehouse / "khuyencong.duckdb")
    assert sorted(rebuilt) == sorted(scenario.marts3)
    for table in scenario.marts3:
        assert rebuilt[table] == scenario.marts3[table], table
    # the refused file's report is written again; the duplicate is recorded again
    assert build_query(bg.warehouse, "SELECT path FROM raw.duplicate_files") == [(DUPLICATE_PATH,)]
    assert run.raw_after == run.raw_before


def test_refused_files_only_change_no_mart_value(scenario, background):
    bg = background["rejected"]
    run = bg.result()
    assert run.returncode == 0, run.output[-6000:]
    assert "13 in raw/, 11 already seen, 2 new, 0 duplicates" in run.output
    assert "0 accepted, 0 accepted with warnings, 2 rejected" in run.output
    # a night of refusals publishes nothing new (issue 15): every mart as it was, and the summary says why
    assert "were all refused" in run.output and "dbt build:  skipped" in run.output, run.output[-4000:]
    after = marts(bg.warehouse / "khuyencong.duckdb")
    assert after == scenario.marts3
    raw = bg.raw
    assert submission_id(raw, HANOI_CN) in {r["latest_submission_id"] for r in rows(after, "submission_status")}
    folder = bg.warehouse / "reports" / "submissions"
    assert list(folder.glob(f"{REJECTED_ONLY.arrival}_HaNoi_CN_2024_v2_*.html"))
    assert list(folder.glob(f"{REJECTED_ONLY.arrival}_scan_bao_cao_*.csv"))
    rules = build_query(bg.warehouse, "SELECT s.path, f.rule FROM raw.findings f JOIN raw.submissions s"
                        " USING (submission_id) WHERE s.arrival_date = DATE '2025-02-03' ORDER BY 1, 2")
    assert (REJECTED_ONLY.path, "F05") in rules
    assert (f"{REJECTED_ONLY.arrival}/scan_bao_cao.xlsx", "F01") in rules
    assert run.raw_after == run.raw_before


def test_dbt_test_failure_fails_the_run_and_keeps_the_published_file(background, webhook):
    bg = background["dbt_fail"]
    run = bg.result()
    assert run.returncode == 1, run.output[-6000:]
    assert "khuyencong_nightly: failed" in run.output
    assert "failed tasks:" in run.output and "dbt_build" in run.output
    assert "publication blocked: the last published warehouse is unchanged" in run.output
    assert FORCED_TEST in run.output  # the message names the failed check
    # the published file and its Parquet copies are byte-identical, the file was not even replaced
    assert published_state(bg.warehouse) == bg.before
    # the new file was checked and loaded into the build database, but is not published
    assert build_query(bg.warehouse, "SELECT status FROM raw.submissions WHERE path = ?", [DANANG.path]) == \
        [("accepted_with_warnings",)]
    assert not [r for r in rows(marts(bg.warehouse / "khuyencong.duckdb"), "fct_funding") if r["unit_id"] == "P63-48"]
    results = json.loads((bg.warehouse / "dbt" / "target" / "run_results.json").read_text())
    failed = [r["unique_id"] for r in results["results"] if r["status"] in ("fail", "error")]
    assert failed == [f"test.khuyencong.{FORCED_TEST}"]
    assert run.raw_after == run.raw_before


def test_dbt_test_failure_alerts_the_webhook(background, webhook):
    run = background["dbt_fail"].result()
    assert run.returncode == 1
    _, received = webhook
    alerts = [a for a in received if a.get("dag_id") == "khuyencong_nightly"]
    assert len(alerts) == 1, (received, run.output[-4000:])  # one alert per failed run, not one per task
    assert FORCED_TEST in (alerts[0]["error"] or "")


def test_no_run_ever_wrote_raw(scenario, background):
    for bg in background.values():
        run = bg.result()
        assert run.raw_after == run.raw_before, bg.warehouse
    assert set(tree(scenario.raw)) == scenario.added_by_test
