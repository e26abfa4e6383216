"""Check files exactly as the pipeline does: the reader's rules, then the Great Expectations suites.

Per-file isolation lives here: whatever goes wrong while reading or gating one file
becomes a fatal finding on that file (F01: it could not be processed), and the other
files are checked as usual. A failure that is not about one file (the gate cannot
start, every file fails the same way) still raises.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from khuyencong import config
from khuyencong.config import ReadLimits
from khuyencong.findings import could_not_process, finding, sort_key
from khuyencong.ingest.read_pool import DIE_AT_START, read_in_workers
from khuyencong.ingest.reader import arrival_date_from_path, read_file
from khuyencong.model import FileCheck
from khuyencong.rules.gate import FileGate
from khuyencong.rules.history import HistoryRules

log = logging.getLogger(__name__)


def undated_folder(path: Path) -> object:
    folder = path.parent.name
    return finding(
        "F04",
        f"Thư mục nhận '{folder}' không phải là ngày (yyyy-mm-dd): không xác định được ngày nhận tệp.",
        f"Arrival folder '{folder}' is not a date (yyyy-mm-dd): the file's arrival date is unknown.",
        value=folder, expected="raw/<yyyy-mm-dd>/<file>",
    )


#: from this many files on, the reading runs in worker processes over both cores (`ingest.read_pool`)
PARALLEL_FROM = 200
READ_CHUNK = 50


def read_files(paths: list[Path], *, die_at_start: bool = False, **kwargs) -> list[FileCheck]:
    """Read files in order; many of them in worker processes (one per core), each file isolated.

    `die_at_start` is the crash tests' `KC_CRASH_AT=reader_start`: the workers die before they are ready.
    """
    if len(paths) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [read_file(p, **kwargs) for p in paths]
    return read_in_workers(paths, kwargs, workers=min(2, os.cpu_count() or 1), chunk=READ_CHUNK,
                           die_at_start=die_at_start)


def _gate_isolated(gate, checks: list[FileCheck]) -> None:
    """One GX batch for all files; if the batch fails, file by file, so only the culprit is refused."""
    try:
        gate.check(checks)
        return
    except Exception:  # noqa: BLE001 - a batch failure is narrowed down below
        log.exception("the batched gate failed; checking file by file")
    failures = 0
    for check in checks:
        try:
            gate.check([check])
        except Exception as exc:  # noqa: BLE001 - becomes this file's finding
            failures += 1
            check.submission = None
            check.findings.append(could_not_process("gate", exc))
    if failures == len(checks) > 1:
        raise RuntimeError("the gate failed on every file: this is not about one file")


def check_files(
    paths: Sequence[Path],
    *,
    arrival_date: date | None = None,
    default_arrival_date: date | None = None,
    gate=None,
    history=None,
    limits: ReadLimits | None = None,
    landing_zone: bool = False,
    crash_at: str | None = None,
) -> list[FileCheck]:
    """Read every file, then gate them all in one GX batch per table.

    `arrival_date` overrides the date taken from each file's `raw/<YYYY-MM-DD>/` folder;
    `default_arrival_date` applies to files outside such a folder. With `landing_zone`
    (the pipeline), a file whose folder is not a date is refused (F04) instead.
    `gate` is a `khuyencong.rules.gate.FileGate` (one per run); made here when not given.
    `history` (a `khuyencong.rules.history.HistoryRules`) adds W02, W03 and W06 from the warehouse.
    """
    paths = [Path(p) for p in paths]
    checks = read_files(paths, arrival_date=arrival_date, default_arrival_date=default_arrival_date,
                        limits=limits or config.active().limits, die_at_start=crash_at == DIE_AT_START)
    for p, check in zip(paths, checks):
        if landing_zone and arrival_date is None and arrival_date_from_path(p) is None:
            check.findings.append(undated_folder(p))
    gated = [c for c in checks if c.submission is not None]
    if gated:
        if gate is None:
            gate = FileGate()
        _gate_isolated(gate, gated)
        if history is None:  # no warehouse: W06 from the arrival date, W02 among this call's files
            history = HistoryRules.empty()
        _history_isolated(history, checks, gate.context)
    for c in checks:
        c.findings.sort(key=sort_key)
    return checks


def _history_isolated(history, checks: list[FileCheck], context) -> None:
    try:
        history.check(checks, context=context)
        return
    except Exception:  # noqa: BLE001
        log.exception("the history rules failed on the batch; checking file by file")
    for check in checks:
        try:
            history.check([check], context=context)
        except Exception as exc:  # noqa: BLE001
            check.submission = None
            check.findings.append(could_not_process("history rules", exc))
