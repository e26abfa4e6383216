"""Check files exactly as the pipeline does: the reader's rules, then the Great Expectations suites."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from khuyencong.findings import sort_key
from khuyencong.reader import FileCheck, read_file


def check_files(
    paths: Sequence[Path],
    *,
    arrival_date: date | None = None,
    default_arrival_date: date | None = None,
    gate=None,
    history=None,
) -> list[FileCheck]:
    """Read every file, then gate them all in one GX batch per table.

    `arrival_date` overrides the date taken from each file's `raw/<YYYY-MM-DD>/` folder;
    `default_arrival_date` applies to files outside such a folder.
    `gate` is a `khuyencong.gate.FileGate` (one per run); made here when not given.
    `history` (a `khuyencong.history.HistoryRules`) adds W02, W03 and W06 from the warehouse.
    """
    checks = [read_file(Path(p), arrival_date=arrival_date, default_arrival_date=default_arrival_date) for p in paths]
    if any(c.submission is not None for c in checks):
        if gate is None:
            from khuyencong.gate import FileGate

            gate = FileGate()
        gate.check(checks)
        if history is None:  # no warehouse: W06 from the arrival date, W02 among this call's files
            from khuyencong.history import HistoryRules

            history = HistoryRules.empty()
        history.check(checks, context=gate.context)
    for c in checks:
        c.findings.sort(key=sort_key)
    return checks
