"""Acceptance: `kc validate --json` on the shipped sample, as a province or operator would run it.

Two calls (the Great Expectations start-up is paid once per call): every
deliberately invalid file is rejected with its rule; every other file exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from khuyencong_sample.generate import INVALID_SAMPLE_FILES, WARNING_SAMPLE_FILES

RAW = Path(__file__).resolve().parents[1] / "raw"


def kc_validate(files: list[Path]) -> tuple[int, dict]:
    proc = subprocess.run(
        [sys.executable, "-m", "khuyencong.cli", "validate", "--json", *map(str, files)],
        capture_output=True, text=True, timeout=600,
    )
    return proc.returncode, json.loads(proc.stdout)


@pytest.fixture(scope="module")
def sample_files() -> list[Path]:
    files = sorted(p for p in RAW.glob("*/*") if p.is_file())
    assert len(files) >= 475
    return files


def test_every_invalid_sample_file_reports_its_rule():
    files = [RAW / rel for rel in INVALID_SAMPLE_FILES]
    code, out = kc_validate(files)
    assert code == 1
    by_file = {Path(f["file"]).relative_to(RAW).as_posix(): f for f in out["files"]}
    for rel, rule in INVALID_SAMPLE_FILES.items():
        assert by_file[rel]["status"] == "rejected", rel
        rules = {f["rule"] for f in out["findings"] if Path(f["file"]).relative_to(RAW).as_posix() == rel}
        assert rule in rules, (rel, rules)
    for f in out["findings"]:
        assert f["message_vi"] and f["message_en"] and f["severity"] in ("fatal", "warning")


def test_every_valid_sample_file_exits_zero(sample_files):
    valid = [p for p in sample_files if p.relative_to(RAW).as_posix() not in INVALID_SAMPLE_FILES]
    code, out = kc_validate(valid)
    assert code == 0, [f for f in out["files"] if f["status"] == "rejected"][:5]
    statuses = {Path(f["file"]).relative_to(RAW).as_posix(): f["status"] for f in out["files"]}
    assert len(statuses) == len(valid)
    for rel, rule in WARNING_SAMPLE_FILES.items():
        assert statuses[rel] == "accepted_with_warnings", rel
        rules = {f["rule"] for f in out["findings"] if Path(f["file"]).relative_to(RAW).as_posix() == rel}
        assert rule in rules, (rel, rules)
