"""One writer at a time on the build database, politely.

Two locks, both on the build database:
- DuckDB's own file lock, held by whatever process has `build.duckdb` open for writing
  (a stage of ours, or a data engineer's `dbt build` by hand). `connect_writer` waits for it.
- `build.lock` next to it (an `flock`), held by `kc run` for the whole run and by each writing
  DAG task for its duration, so two runs never interleave their stages. It records its holder.

A run that finds either taken waits up to `Settings.lock_timeout_seconds`, then raises
`WarehouseBusy` naming the holder. That is an operational error (Airflow retries it), never a
gate verdict.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from khuyencong.errors import WarehouseBusy, is_transient_text

POLL_SECONDS = 0.25
_held: dict[Path, int] = {}  # lock files this process holds -> nesting depth (flock is per open file)
_fds: dict[Path, int] = {}  # lock files this process holds -> the descriptor holding the flock


def lock_path(build_db: Path) -> Path:
    return build_db.with_name(build_db.stem + ".lock")


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "an unknown process"
    return f"pid {info.get('pid')} on {info.get('host')} ({info.get('purpose')}, since {info.get('since')})"


@contextmanager
def build_lock(build_db: Path, purpose: str, timeout: float) -> Iterator[None]:
    """Hold `build.lock` (re-entrant within a process); wait at most `timeout` seconds for it."""
    path = lock_path(build_db).resolve()
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"the build database {build_db} is in use by {_holder(path)}; waited {timeout:.0f} s "
                        "(KC_LOCK_TIMEOUT_SECONDS). Nothing was changed; run again when it has finished."
                    ) from None
                time.sleep(POLL_SECONDS)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "purpose": purpose,
                "since": datetime.now(UTC).isoformat(timespec="seconds"), "argv": sys.argv[:3]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        _held[path] = 1
        _fds[path] = fd
        try:
            yield
        finally:
            del _held[path], _fds[path]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def held_descriptor(build_db: Path) -> int | None:
    """The descriptor through which this process holds `build.lock`, to hand to a child working for it."""
    return _fds.get(lock_path(build_db).resolve())


def adopt(build_db: Path, fd: int) -> None:
    """Hold `build.lock` through a descriptor inherited from the parent that holds it for this run.

    flock belongs to the open file, which parent and child now share: the child's stages nest inside
    the parent's hold (re-entrant, never released here), and a child outliving its parent keeps the lock
    until it exits, so nobody else writes while it still does.
    """
    path = lock_path(build_db).resolve()
    _held[path] = _held.get(path, 0) + 1
    _fds[path] = fd


def is_lock_conflict(exc: BaseException) -> bool:
    """DuckDB's "Could not set lock on file ... Conflicting lock is held in ... (PID n)"."""
    return is_transient_text(str(exc)) and "lock" in str(exc).lower()


def connect_writer(db_path: Path, timeout: float = 0.0, read_only: bool = False):
    """`duckdb.connect`, waiting up to `timeout` s while another process (a hand `dbt build`) holds the file.

    The warehouse's one way to open the build database, for writers and readers (`read_only=True`) alike;
    the connection is a context manager that closes it.
    """
    import duckdb

    db_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return duckdb.connect(str(db_path), read_only=read_only)
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise WarehouseBusy(f"{db_path} is held by another process; waited {timeout:.0f} s "
                                    f"(KC_LOCK_TIMEOUT_SECONDS). DuckDB says: {exc}") from exc
            time.sleep(POLL_SECONDS)
