"""The one error hierarchy: what went wrong decides who acts and whether to try again.

- a **file verdict** is about one submission: it becomes findings on that file and never leaves
  the stage that read it (the sender fixes it);
- a **publication verdict** (`PublicationBlocked`) is a decision on the marts: the last published
  warehouse stays as it was, the run fails, and retrying cannot change it;
- a **transient** error (`Transient`: a busy warehouse, a full disk, a lost connection) is retried
  by Airflow and answered with exit code 75 by `kc`;
- anything else is a **bug** (or a broken install): the run fails loudly, without retries.

`kind_of(exc)` is the one classification; the DAG's retry policy, the stage process (which sends
exceptions across a process boundary with `to_wire` / `from_wire`) and the CLI exit codes read it.
"""

from __future__ import annotations

import errno
import traceback
from typing import Literal

Kind = Literal["verdict", "transient", "bug"]

#: `kc` exit codes per kind (sysexits: 75 EX_TEMPFAIL, 70 EX_SOFTWARE)
EXIT_CODES: dict[str, int] = {"verdict": 1, "transient": 75, "bug": 70}


class KcError(Exception):
    """Base of the product's own errors."""


class FileVerdict(KcError):
    """A file is refused: carried as findings on that file, never raised past the reader."""


class PublicationBlocked(KcError):
    """A dbt test, a mart expectation or the shrink guard failed: the last published warehouse stays as it was."""


class PublicationWouldShrink(PublicationBlocked):
    """The new marts hold less than the published ones (zero rows, fewer accepted reports)."""


class Transient(KcError):
    """Worth trying again later: nothing was changed."""


class WarehouseBusy(Transient):
    """Another process holds the build database; retry later."""


class Bug(KcError):
    """Not a file's fault, not a verdict, not transient: the run stops and says where."""


class StageFailed(Bug):
    """A stage raised a bug in the process that ran it; the message carries its traceback."""


class ReaderCannotStart(Bug):
    """A reader worker process could not start: the run's fault (environment, install), never a file's."""


#: what the disk or a connection says when the fault is the machine's, not the data's
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.ECONNREFUSED, errno.ECONNRESET, errno.ETIMEDOUT}
_TRANSIENT_TEXT = ("no space left on device", "disk quota exceeded", "could not set lock", "conflicting lock")


def is_transient_text(text: str) -> bool:
    """A message (dbt's output, DuckDB's error) that says the machine was busy or full, not the data wrong."""
    lowered = text.lower()
    return any(t in lowered for t in _TRANSIENT_TEXT)


def kind_of(exc: BaseException) -> Kind:
    if isinstance(exc, PublicationBlocked):
        return "verdict"
    if isinstance(exc, Transient):
        return "transient"
    if isinstance(exc, KcError):
        return "bug"
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return "transient"
    if is_transient_text(str(exc)):
        return "transient"
    return "bug"


def exit_code(exc: BaseException) -> int:
    return EXIT_CODES[kind_of(exc)]


def to_wire(exc: BaseException) -> dict:
    """An exception as JSON for another process: our own classes by name, anything else by its kind."""
    if type(exc) in _BY_NAME.values():
        return {"class": type(exc).__name__, "message": str(exc)}
    kind = kind_of(exc)
    message = f"{type(exc).__name__}: {exc}"
    if kind == "bug":
        message += "\n" + "".join(traceback.format_exception(exc))
    return {"class": "Transient" if kind == "transient" else "StageFailed", "message": message}


def from_wire(data: dict) -> KcError:
    return _BY_NAME.get(data.get("class"), StageFailed)(data.get("message", ""))


_BY_NAME: dict[str, type[KcError]] = {cls.__name__: cls for cls in (
    FileVerdict, PublicationBlocked, PublicationWouldShrink, Transient, WarehouseBusy, Bug, StageFailed,
    ReaderCannotStart)}
