"""The era boundary and the period calendar have one home, the seeds `eras` and `periods`.

A copy of the dbt project whose `eras.csv` moves the merger from 2025-07-01 to 2025-01-01
(`KC_DBT_PROJECT_DIR` points at it) moves every layer with it: Python `era_for`, the
reader's unit check and its message, dbt (`int_periods_reported`, `dim_unit`,
`submission_status`) and the mart gate's status coverage. The unchanged project is the
control. The dbt build also shows that dbt's period end (macro `kc_period_end`) and
Python's `period_end` give the same era for every period of three years.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from builders import valid_report
from dbt_fixtures import DBT_PROJECT_DIR, create_raw_fixture, run_dbt, submission

from khuyencong import config
from khuyencong.ingest.reader import read_file
from khuyencong.periods import era_for, period_calendar, period_end
from khuyencong.rules.mart_gate import check_marts

pytestmark = pytest.mark.xdist_group("era_boundary")  # module fixtures: built once, on one worker

NEW_BOUNDARY = date(2025, 1, 1)  # era 34 begins here in the copy
YEARS = (2024, 2025, 2026)


def _project_with_boundary(root: Path, first_day_of_34: date) -> Path:
    """A copy of dbt_project/ whose only change is the boundary in seeds/eras.csv."""
    copy = root / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs", ".user.yml"))
    eras = copy / "seeds" / "eras.csv"
    text = eras.read_text(encoding="utf-8")
    last_of_63 = date.fromordinal(first_day_of_34.toordinal() - 1)
    edited = text.replace("2025-06-30", last_of_63.isoformat()).replace("2025-07-01", first_day_of_34.isoformat())
    assert edited != text
    eras.write_text(edited, encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def moved_project(tmp_path_factory) -> Path:
    return _project_with_boundary(tmp_path_factory.mktemp("era_copy"), NEW_BOUNDARY)


def _activate_project(project: Path | None) -> None:
    """What an entry point does with `KC_DBT_PROJECT_DIR`: settings from the environment, installed."""
    config.activate(config.Settings.from_env(environ={"KC_DBT_PROJECT_DIR": str(project)} if project else {}))


@pytest.fixture
def use_project():
    before = config.active()
    yield _activate_project
    config.activate(before)


def test_below_the_entry_point_nothing_reads_the_environment(moved_project, use_project, monkeypatch):
    use_project(None)
    monkeypatch.setenv("KC_DBT_PROJECT_DIR", str(moved_project))
    assert config.seeds_dir() == DBT_PROJECT_DIR / "seeds"  # until an entry point installs settings
    assert era_for(2025, "KH") == 63


def test_python_era_follows_the_seed(moved_project, use_project):
    use_project(None)
    assert config.seeds_dir() == DBT_PROJECT_DIR / "seeds"
    assert [era_for(2025, p) for p in ("KH", "6T", "7T")] == [63, 63, 34]
    use_project(moved_project)
    assert config.seeds_dir() == moved_project / "seeds"
    assert [era_for(2025, p) for p in ("KH", "6T", "7T")] == [34, 34, 34]
    assert era_for(2024, "CN") == 63
    assert period_calendar().eras[1].valid_from == NEW_BOUNDARY


def _tuyen_quang_6t_2025(raw: Path, code: str, name: str) -> Path:
    report = valid_report().with_meta(nam=2025, ky_bao_cao="6T", ngay_lap="05/07/2025", ma_don_vi=code, ten_don_vi=name)
    return report.write(raw / f"{code}_6T_2025.xlsx")


def test_reader_checks_the_unit_against_the_seeds_era(tmp_path, moved_project, use_project):
    """Hà Giang (02) exists only among the 63, Tuyên Quang (08) in both eras, as P63-08 and P34-08."""
    ha_giang = _tuyen_quang_6t_2025(tmp_path, "02", "Tỉnh Hà Giang")
    tuyen_quang = _tuyen_quang_6t_2025(tmp_path, "08", "Tỉnh Tuyên Quang")
    arrival = date(2025, 7, 10)

    use_project(None)  # 6T 2025 ends on 2025-06-30: the 63 provinces
    assert read_file(ha_giang, arrival_date=arrival).submission.metadata.unit_id == "P63-02"
    assert read_file(tuyen_quang, arrival_date=arrival).submission.metadata.unit_id == "P63-08"

    use_project(moved_project)  # the 34 provinces from 2025-01-01
    refused = read_file(ha_giang, arrival_date=arrival)
    assert refused.status == "rejected"
    [f03] = [f for f in refused.findings if f.rule == "F03"]
    assert f03.message_en == "Unit code '02' does not exist among the 34 provinces (from 2025-01-01)."
    assert f03.message_vi == "Mã đơn vị '02' không tồn tại trong giai đoạn 34 tỉnh (từ 01/01/2025)."
    accepted = read_file(tuyen_quang, arrival_date=arrival)
    assert accepted.findings == [] and accepted.submission.metadata.unit_id == "P34-08"


def _submissions() -> list[dict]:
    subs = [
        submission("P34-08", 2025, "6T", funding=[{"funding_source": "KCQG", "plan_initial_mvnd": 10,
                                                   "executed_mvnd": 4}], submission_id="tq_6t_2025"),
        submission("P63-01", 2024, "CN", funding=[{"funding_source": "KCQG", "plan_initial_mvnd": 20,
                                                   "executed_mvnd": 18}], submission_id="hn_cn_2024"),
    ]
    # one refused file for every period of three years: each (year, period) gets its era in dbt
    for year in YEARS:
        for period in period_calendar().period_months:
            subs.append(submission("P63-01", year, period, status="rejected", submission_id=f"r_{year}_{period}"))
    return subs


@pytest.fixture(scope="module")
def moved_build(moved_project, tmp_path_factory):
    root = tmp_path_factory.mktemp("era_build")
    db = root / "build.duckdb"
    before = config.active()
    _activate_project(moved_project)
    try:
        create_raw_fixture(db, _submissions())
    finally:
        config.activate(before)
    run_dbt(["build"], moved_project, db, root / "target")
    return db


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_dbt_follows_the_seed(moved_build):
    assert _query(moved_build, "SELECT era FROM intermediate.int_periods_reported"
                               " WHERE year = 2025 AND period = '6T'") == [(34,)]
    assert _query(moved_build, "SELECT DISTINCT era, valid_from, valid_to FROM marts.dim_unit ORDER BY era") == [
        (34, NEW_BOUNDARY, None), (63, date(2008, 8, 1), date(2024, 12, 31))]
    # the 34 provinces are expected for 6T 2025 (P63-01 is listed only because it sent a refused file),
    # and Tuyên Quang's report is in the facts
    assert _query(moved_build, "SELECT count(*) FILTER (WHERE unit_id LIKE 'P34-%'), list(unit_id) FILTER"
                               " (WHERE unit_id LIKE 'P63-%') FROM marts.submission_status"
                               " WHERE year = 2025 AND period = '6T'") == [(34, ["P63-01"])]
    assert _query(moved_build, "SELECT unit_id, executed_mvnd FROM marts.fct_funding WHERE year = 2025") == [
        ("P34-08", 4)]
    assert _query(moved_build, "SELECT DISTINCT effective_date FROM staging.stg_reference__unit_successions") == [
        (NEW_BOUNDARY,)]


def test_dbt_and_python_agree_on_every_periods_era(moved_build, moved_project):
    seeds = moved_project / "seeds"
    got = {(y, p): era for y, p, era in _query(moved_build, "SELECT year, period, era FROM intermediate.int_periods_reported")}
    expected = {(y, p): era_for(y, p, seeds) for y in YEARS for p in period_calendar(seeds).period_months}
    assert got == expected
    assert {era for (y, _), era in expected.items() if y == 2025} == {34}  # KH 2025 counts as 2025-01-01
    assert period_end(2025, "KH", seeds) == NEW_BOUNDARY


def test_mart_gate_follows_the_seed(moved_build, moved_project, tmp_path):
    moved, _ = check_marts(moved_build, tmp_path / "moved", seeds_dir=moved_project / "seeds")
    assert moved["success"], moved["failed"]
    # the same marts judged with the unchanged seeds: KH..6T 2025 (7 periods) would need the 63 provinces
    control, _ = check_marts(moved_build, tmp_path / "control", seeds_dir=DBT_PROJECT_DIR / "seeds")
    assert control["success"] is False
    assert control["failed"] == ["every expected unit in submission_status"
                                 " [7 failing: 2025 1T, 2025 2T, 2025 3T, 2025 4T, 2025 5T …]"]
