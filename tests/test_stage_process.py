"""The warm stage process of `kc run` (docs/architecture.md, "Start-up, overlapped").

A stage run there returns what it returns in process, under the run's own hold on `build.lock`;
verdicts and errors come back as the same exceptions. (A crash point reached in the warm process
killing the whole run is shown by tests/test_crash_convergence.py: `mid_load` is reached there.)
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from builders import valid_report

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.run.stage_process import StageFailed, StageProcess, _answer_for, _exception
from khuyencong.warehouse.lock import WarehouseBusy, build_lock

VOLATILE = {"seconds", "data_docs"}


def landing(root) -> Settings:
    valid_report().write_xlsx(root / "raw" / "2024-07-10" / "HaNoi_6T.xlsx")
    valid_report().with_meta(ma_don_vi="79", ten_don_vi="TP HCM").with_cell(
        "kinh_phi", "KCQG", "thuc_hien", -5).write_xlsx(root / "raw" / "2024-07-10" / "HCM_6T.xlsx")
    return Settings.from_env(root / "raw", root / "wh", environ={"KC_LOCK_TIMEOUT_SECONDS": "1"})


def other_writer(settings: Settings) -> str:
    """What a second process trying to take the lock is told."""
    code = textwrap.dedent(f"""
        from pathlib import Path
        from khuyencong.warehouse.lock import WarehouseBusy, build_lock
        try:
            with build_lock(Path({str(settings.build_db)!r}), "intruder", 0.5):
                print("took it")
        except WarehouseBusy as exc:
            print(exc)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_a_stage_in_the_warm_process_returns_what_it_returns_in_process(tmp_path):
    here, there = landing(tmp_path / "here"), landing(tmp_path / "there")
    expected = pipeline.check_and_load(here)
    with build_lock(there.build_db, "kc run", 5):
        process = StageProcess(there)
        try:
            result = process.call("check_and_load", there)
            busy = other_writer(there)  # the run still holds the lock, the warm process inside it
        finally:
            process.close()
    assert {k: v for k, v in result.items() if k not in VOLATILE} == \
        {k: v for k, v in expected.items() if k not in VOLATILE}
    assert result["rejected"] == 1 and result["accepted"] == 1
    assert "kc run" in busy and "took it" not in busy
    assert "took it" in other_writer(there)  # and lets go of it with the run


def test_verdicts_and_errors_come_back_as_the_same_exceptions():
    blocked = _exception(_answer_for(pipeline.PublicationBlocked("mart gate failed: marts_percentages")))
    assert isinstance(blocked, pipeline.PublicationBlocked) and "marts_percentages" in str(blocked)
    assert isinstance(_exception(_answer_for(WarehouseBusy("held by pid 1"))), WarehouseBusy)
    try:
        raise ValueError("a bug")
    except ValueError as exc:
        error = _exception(_answer_for(exc))
    assert isinstance(error, StageFailed) and "ValueError: a bug" in str(error) and "Traceback" in str(error)


def test_a_stage_error_in_the_warm_process_is_raised_in_the_task(tmp_path):
    settings = Settings.from_env(tmp_path / "no_raw", tmp_path / "wh")
    process = StageProcess(settings)
    try:
        with pytest.raises(StageFailed, match="landing zone not found"):
            process.call("check_and_load", settings)
    finally:
        process.close()
