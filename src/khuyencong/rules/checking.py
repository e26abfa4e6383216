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

from khuyencong.config import ReadLimits
from khuyencong.findings import could_not_process, finding, sort_key
from khuyencong.ingest.reader import arrival_date_from_path, file_sha256, read_file
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


#: from this many files on, the reading runs in a process pool over both cores
PARALLEL_FROM = 200
READ_CHUNK = 50


def _read_chunk(paths: list[Path], kwargs: dict) -> list[FileCheck]:
    return [read_file(p, **kwargs) for p in paths]


def _read_alone(path: Path, kwargs: dict) -> FileCheck:
    """A file that took its worker down, read again alone: if it crashes a process by itself, it is refused."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(read_file, path, **kwargs).result()
        except BrokenProcessPool:
            log.error("reading %s crashed its process; refused with F01", path.name)
            return FileCheck(path, file_sha256(path), kwargs.get("arrival_date"), None,
                             [could_not_process("read", RuntimeError("the reader's process crashed"))])


def read_files(paths: list[Path], **kwargs) -> list[FileCheck]:
    """Read files in order; many of them in a pool of processes (one per core), each file isolated."""
    if len(paths) < PARALLEL_FROM or (os.cpu_count() or 1) < 2:
        return [read_file(p, **kwargs) for p in paths]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    done: dict[Path, FileCheck] = {}
    chunks = [paths[i:i + READ_CHUNK] for i in range(0, len(paths), READ_CHUNK)]
    # spawn, not fork: the parent may hold Airflow's threads and database connections
    with ProcessPoolExecutor(min(2, os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(_read_chunk, chunk, kwargs): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                done.update(zip(futures[future], future.result()))
            except BrokenProcessPool:
                pass  # the files of the broken chunks are read again, alone, below
    return [done[p] if p in done else _read_alone(p, kwargs) for p in paths]


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
                        limits=limits or ReadLimits.from_env())
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
