"""Reliability of the nightly load, stage by stage, in this process (issue: nothing a province sends,
no crash and no second process stops or corrupts the run).

- per-file isolation: a file that breaks the reader, the gate or the load is refused with F01, with its
  report, recorded by its hash (not retried), and the other files go on;
- dates: a period that had not begun by arrival is F04, a report signed before its period ended is W07,
  an arrival folder that is not a date is F04;
- landing zone: symlinks are refused unopened, names that are not UTF-8 or hold newlines load;
- one writer: a held lock makes a stage wait, then fail naming the holder, never a gate verdict;
- the published fingerprint covers the dbt project, so an edited seed rebuilds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from builders import valid_report

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse import fingerprint, loader
from khuyencong.warehouse.lock import WarehouseBusy, build_lock

ARRIVAL = "2024-07-10"


@pytest.fixture
def landing(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    (raw / ARRIVAL).mkdir(parents=True)
    return Settings.from_env(raw, warehouse, environ={"KC_LOCK_TIMEOUT_SECONDS": "1"})


def write(settings: Settings, name: str, report=None, folder: str = ARRIVAL) -> Path:
    return (report or valid_report()).write_xlsx(settings.raw_dir / folder / name)


def submissions(settings: Settings) -> dict[str, tuple]:
    con = duckdb.connect(str(settings.build_db), read_only=True)
    try:
        return {r[0]: r[1:] for r in con.execute(
            "SELECT path, status, (SELECT list(rule ORDER BY rule) FROM raw.findings f"
            " WHERE f.submission_id = s.submission_id) FROM raw.submissions s").fetchall()}
    finally:
        con.close()


# ---------------------------------------------------------------- per-file isolation


def test_a_file_whose_load_fails_is_refused_alone_and_not_retried(landing, monkeypatch):
    """A value the gate let through but the `raw` column can't hold (a project count beyond INTEGER):
    the batch falls back to file by file, and only that file is refused (F01), with its report."""
    write(landing, "HaNoi.xlsx")
    write(landing, "HCM.xlsx", valid_report().with_meta(ma_don_vi="79", ten_don_vi="Thành phố Hồ Chí Minh"))
    real = loader._rows_of

    def overflowing(check, raw_dir, loaded_at):
        rows = real(check, raw_dir, loaded_at)
        if check.path.name == "HaNoi.xlsx":
            rows["funding_rows"] = [[*r[:-1], 3_000_000_000] for r in rows["funding_rows"]]
        return rows

    monkeypatch.setattr(loader, "_rows_of", overflowing)
    first = pipeline.check_and_load(landing)
    assert (first["accepted"], first["rejected"]) == (1, 1)
    [refused] = first["files"]
    assert refused["path"] == f"{ARRIVAL}/HaNoi.xlsx" and refused["rules"] == ["F01"]
    report = (landing.warehouse_dir / refused["report"]).read_text(encoding="utf-8")
    assert "could not be processed (load)" in report and "INT32" in report
    rows = submissions(landing)
    assert rows[f"{ARRIVAL}/HaNoi.xlsx"][0] == "rejected" and rows[f"{ARRIVAL}/HCM.xlsx"][0] == "accepted"
    monkeypatch.setattr(loader, "_rows_of", real)
    again = pipeline.check_and_load(landing)  # recorded by its hash: not retried every night
    assert again["new"] == 0 and again["seen"] == 2


def test_a_file_that_breaks_the_gate_is_refused_alone(landing, monkeypatch):
    from khuyencong.rules import gate as gate_module

    write(landing, "HaNoi.xlsx")
    write(landing, "HCM.xlsx", valid_report().with_meta(ma_don_vi="79", ten_don_vi="Thành phố Hồ Chí Minh"))
    real = gate_module.FileGate.check

    def fragile(self, checks):
        if any(c.path.name == "HCM.xlsx" for c in checks):
            raise RecursionError("GX choked on this file's values")
        return real(self, checks)

    monkeypatch.setattr(gate_module.FileGate, "check", fragile)
    result = pipeline.check_and_load(landing)
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["files"][0]["path"].endswith("HCM.xlsx") and result["files"][0]["rules"] == ["F01"]


def test_a_bug_that_is_not_about_one_file_fails_the_stage(landing, monkeypatch):
    from khuyencong.rules import gate as gate_module

    write(landing, "HaNoi.xlsx")
    write(landing, "HCM.xlsx", valid_report().with_meta(ma_don_vi="79", ten_don_vi="Thành phố Hồ Chí Minh"))

    def broken(self, checks):
        raise RuntimeError("the gate is broken")

    monkeypatch.setattr(gate_module.FileGate, "check", broken)
    with pytest.raises(RuntimeError, match="every file"):
        pipeline.check_and_load(landing)
    assert not landing.build_db.exists() or submissions(landing) == {}  # nothing half-recorded


# ---------------------------------------------------------------- dates


def test_period_not_begun_by_arrival_is_f04(landing):
    write(landing, "HaNoi_2030.xlsx", valid_report().with_meta(nam=2030, ngay_lap="05/07/2024"))
    result = pipeline.check_and_load(landing)
    assert result["rejected"] == 1 and result["files"][0]["rules"] == ["F04"]
    report = (landing.warehouse_dir / result["files"][0]["report"]).read_text(encoding="utf-8")
    assert "has not begun" in report and "chưa bắt đầu" in report


def test_report_signed_before_its_period_ended_is_an_estimate_w07(landing):
    # a full-year report signed in July: accepted, flagged as an estimate
    write(landing, "HaNoi_CN.xlsx", valid_report().with_meta(ky_bao_cao="CN", ngay_lap="05/07/2024"))
    result = pipeline.check_and_load(landing)
    assert result["accepted_with_warnings"] == 1 and result["files"][0]["rules"] == ["W07"]


def test_a_plan_is_never_an_estimate(landing):
    write(landing, "HaNoi_KH.xlsx", valid_report().with_meta(ky_bao_cao="KH", ngay_lap="05/07/2024"))
    result = pipeline.check_and_load(landing)
    assert result["rejected"] == 0 and not any("W07" in f["rules"] for f in result["files"])


def test_arrival_folder_that_is_not_a_date_is_f04_not_mtime(landing):
    write(landing, "HaNoi.xlsx", folder="incoming")
    result = pipeline.check_and_load(landing)
    assert result["rejected"] == 1 and result["files"][0]["rules"] == ["F04"]
    con = duckdb.connect(str(landing.build_db), read_only=True)
    assert con.execute("SELECT arrival_date FROM raw.submissions").fetchall() == [(None,)]
    con.close()


# ---------------------------------------------------------------- the landing zone


def test_symlinks_are_refused_unopened_and_recorded_once(landing, tmp_path):
    outside = tmp_path / "secret.xlsx"
    valid_report().write_xlsx(outside)
    os.symlink(outside, landing.raw_dir / ARRIVAL / "link.xlsx")
    os.symlink(tmp_path, landing.raw_dir / "2024-07-11")  # a whole folder pointing outside raw/
    write(landing, "HaNoi.xlsx")
    result = pipeline.check_and_load(landing)
    assert (result["accepted"], result["rejected"]) == (1, 2)
    refused = {f["path"]: f["rules"] for f in result["files"]}
    assert refused == {f"{ARRIVAL}/link.xlsx": ["F01"], "2024-07-11": ["F01"]}
    page = next((landing.reports_dir / "submissions").glob("*link*.html")).read_text(encoding="utf-8")
    assert "symbolic link" in page
    again = pipeline.check_and_load(landing)
    assert again["new"] == 0 and again["seen"] == 3


def test_names_that_are_not_utf8_or_hold_newlines_and_shell_characters_load(landing):
    folder = os.fsencode(landing.raw_dir / ARRIVAL)
    odd = [b"Ha\xffNoi.xlsx", "Huế\n$(rm -rf ~);|`x`.xlsx".encode()]
    units = [("01", "Thành phố Hà Nội"), ("46", "Tỉnh Thừa Thiên Huế")]
    for name, (code, name_vi) in zip(odd, units):
        data = valid_report().with_meta(ma_don_vi=code, ten_don_vi=name_vi).write_xlsx(
            landing.warehouse_dir.parent / "tmp.xlsx").read_bytes()
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
    result = pipeline.check_and_load(landing)
    assert result["new"] == 2 and result["rejected"] == 0, result
    paths = set(submissions(landing))
    assert f"{ARRIVAL}/Ha\\xffNoi.xlsx" in paths and f"{ARRIVAL}/Huế\n$(rm -rf ~);|`x`.xlsx" in paths
    assert pipeline.check_and_load(landing)["new"] == 0
    # the listing's names (no Path per entry) are the stored text `relative` gives for each path
    entries = loader.scan_landing_zone(landing.raw_dir)
    assert [e.relative for e in entries] == [loader.relative(Path(e.path), landing.raw_dir) for e in entries]
    con = duckdb.connect(str(landing.build_db), read_only=True)
    try:
        assert loader.pending(con, landing.raw_dir)["seen"] == 2  # and the nothing-new check finds them all
    finally:
        con.close()


# ---------------------------------------------------------------- one writer


def test_a_held_build_lock_makes_a_stage_wait_then_fail_naming_the_holder(landing):
    write(landing, "HaNoi.xlsx")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from khuyencong.warehouse.lock import build_lock
        with build_lock(Path({str(landing.build_db)!r}), "a data engineer", 5):
            print("held", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(WarehouseBusy) as busy:
            pipeline.check_and_load(landing)
        assert time.monotonic() - started >= 0.9  # it waited the configured second first
        assert f"pid {holder.pid}" in str(busy.value) and "a data engineer" in str(busy.value)
    finally:
        holder.kill()
        holder.wait()
    assert pipeline.check_and_load(landing)["accepted"] == 1  # nothing was lost: the file is still new


@pytest.mark.integration  # dbt
def test_a_hand_dbt_build_holding_the_database_is_waited_for_not_a_verdict(landing):
    """DuckDB's own file lock (what `dbt build` by hand holds): a lock error, retried, never PublicationBlocked."""
    write(landing, "HaNoi.xlsx")
    pipeline.check_and_load(landing)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, duckdb
        con = duckdb.connect({str(landing.build_db)!r})
        print("open", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(WarehouseBusy) as busy:
            pipeline.build_marts(landing)
        assert not isinstance(busy.value, pipeline.PublicationBlocked)
        assert str(holder.pid) in str(busy.value)
    finally:
        holder.kill()
        holder.wait()


def test_the_lock_is_reentrant_in_one_process(landing):
    with build_lock(landing.build_db, "kc run", 1), build_lock(landing.build_db, "a stage", 1):
        pass


# ---------------------------------------------------------------- rebuild when the project changes


def test_fingerprint_covers_the_dbt_project_and_expectations(landing, tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(landing.dbt_project_dir, copy, ignore=shutil.ignore_patterns("target", "logs"))
    settings = Settings.from_env(landing.raw_dir, landing.warehouse_dir,
                                 environ={"KC_DBT_PROJECT_DIR": str(copy)})
    before = fingerprint.project_fingerprint(settings)
    deadlines = copy / "seeds" / "reporting_deadlines.csv"
    deadlines.write_text(deadlines.read_text(encoding="utf-8").replace(",15,", ",20,", 1), encoding="utf-8")
    assert fingerprint.project_fingerprint(settings) != before
    (copy / "target").mkdir()
    (copy / "target" / "manifest.json").write_text("{}")  # build output is not project
    after_edit = fingerprint.project_fingerprint(settings)
    shutil.rmtree(copy / "target")
    assert fingerprint.project_fingerprint(settings) == after_edit
