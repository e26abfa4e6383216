"""The data engineer's hand workflow (README, "For data engineers"): `kc load`, `dbt build` by hand
from `dbt_project/`, `kc publish` (the mart gate first), each a real subprocess as typed in a shell.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from builders import valid_report
from kc_runs import kc_env

from khuyencong.config import DBT_PROJECT_DIR

pytestmark = pytest.mark.integration  # dbt by hand, kc load and kc publish as subprocesses

KC = [sys.executable, "-m", "khuyencong.cli"]
DBT = str(Path(sys.executable).with_name("dbt"))


def run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, env=kc_env(**env), capture_output=True, text=True, timeout=600,
                          check=False)


def test_load_then_dbt_build_by_hand_then_publish(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse"
    valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")
    valid_report().with_meta(ma_don_vi="79", ten_don_vi="TP HCM", nam=2030).write_xlsx(
        raw / "2024-07-10" / "HCM_2030.xlsx")
    # a full-year report signed in July: accepted as an estimate (W07), and shown as such to BI
    valid_report().with_meta(ma_don_vi="48", ten_don_vi="Thành phố Đà Nẵng", ky_bao_cao="CN").write_xlsx(
        raw / "2024-07-10" / "DaNang_CN.xlsx")

    # nothing built yet: publishing says what to do, changes nothing
    nothing = run([*KC, "publish", "--warehouse", str(warehouse)], tmp_path)
    assert nothing.returncode == 2 and "kc load" in nothing.stderr

    loaded = run([*KC, "load", "--raw", str(raw), "--warehouse", str(warehouse)], tmp_path)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert "3 new files (1 accepted, 1 with warnings, 1 rejected)" in loaded.stdout
    assert "HCM_2030.xlsx  F04" in loaded.stdout and "DaNang_CN.xlsx  W07" in loaded.stdout

    # dbt by hand, from the project folder, with the profile kept in the repository
    built = run([DBT, "build", "--profiles-dir", "."], DBT_PROJECT_DIR,
                KC_BUILD_DB=str(warehouse / "build.duckdb"),
                DBT_TARGET_PATH=str(tmp_path / "target"), DBT_LOG_PATH=str(tmp_path / "logs"))
    assert built.returncode == 0, built.stdout[-3000:]

    published = run([*KC, "publish", "--warehouse", str(warehouse)], tmp_path)
    assert published.returncode == 0, published.stderr[-3000:]
    assert "mart gate:" in published.stdout and "published:" in published.stdout
    con = duckdb.connect(str(warehouse / "khuyencong.duckdb"), read_only=True)
    try:
        units = con.execute("SELECT DISTINCT unit_id FROM marts.fct_funding ORDER BY 1").fetchall()
        estimates = con.execute("SELECT unit_id, period, status, is_estimate FROM marts.submission_status"
                                " WHERE year = 2024 AND status <> 'missing' ORDER BY 1").fetchall()
        [(fingerprint,)] = con.execute("SELECT fingerprint FROM marts.publication").fetchall()
    finally:
        con.close()
    # the fingerprint counts what can change the marts: the two accepted files, not the refused one
    assert units == [("P63-01",), ("P63-48",)] and '"submissions": 2' in fingerprint
    assert estimates == [("P63-01", "6T", "accepted", False), ("P63-48", "CN", "accepted_with_warnings", True)]

