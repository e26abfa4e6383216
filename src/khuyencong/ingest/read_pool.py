"""Reading files in worker processes that start from this module, never from the parent's main module.

multiprocessing's spawn (and forkserver) re-run the parent's `__main__` in every worker. Under
Airflow's task supervisor that is the `airflow` entry point, whose metadata database is blocked
there on purpose, so every worker died on start and every file was refused with F01. Here each
worker is `python -m khuyencong.ingest.read_pool`, started with the environment minus Airflow's
variables: it imports the reader, says it is ready, then answers requests (files to read) on its
stdin/stdout, one pickled frame each way.

A worker that cannot get ready is a bug of the run (`ReaderCannotStart`, raised: no file is refused
for it). A worker that dies while reading, after it was ready, took a file down with it: its chunk
is read again one file per fresh worker, and a file that kills a worker alone is refused (F01).
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import struct
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from queue import Empty, SimpleQueue

from khuyencong import config
from khuyencong.errors import ReaderCannotStart
from khuyencong.findings import could_not_process
from khuyencong.ingest.reader import file_sha256, read_file
from khuyencong.model import FileCheck

log = logging.getLogger(__name__)

#: seconds a worker may take to import the reader before the pool counts it as unable to start
READY_TIMEOUT = 120.0
_READY = "ready"
_FRAME = struct.Struct("!Q")
#: KC_CRASH_AT point (docs/architecture.md): every worker dies before it is ready
DIE_AT_START = "reader_start"


def _send(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _recv(stream):
    """The next frame, or None when the other side has gone (EOF)."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None  # noqa: S301 - our own child's frames


def worker_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without Airflow's: a worker reads files and nothing else."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if not k.startswith("AIRFLOW")}


class _Worker:
    def __init__(self, die_at_start: bool) -> None:
        argv = [sys.executable, "-m", __name__] + (["--die-at-start"] if die_at_start else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=worker_environment(), close_fds=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], READY_TIMEOUT)
        answer = _recv(self.proc.stdout) if ready else None
        if answer == _READY:  # the run's settings, whole: the worker reads the same seeds and caps
            try:
                _send(self.proc.stdin, config.active().to_dict())
            except OSError:
                answer = None
        if answer != _READY:
            self.close()
            raise ReaderCannotStart(
                f"a reader worker process could not start (exit code {self.proc.returncode}; its error is in "
                "the log above): nothing was read, no file was refused for it; the run stops here")

    def read(self, paths: list[Path], kwargs: dict) -> list[FileCheck] | None:
        """The checks of `paths`, or None when the worker died on them."""
        try:
            _send(self.proc.stdin, (paths, kwargs))
            answer = _recv(self.proc.stdout)
        except OSError:  # a broken pipe: it died before reading the request
            answer = None
        if answer is None:
            self.proc.wait()
            log.error("a reader worker died (exit code %s) reading %d file(s)", self.proc.returncode, len(paths))
            return None
        kind, value = answer
        if kind == "error":  # not about a file (read_file keeps those): the catalogue, the disk
            raise RuntimeError(f"a reader worker failed: {value}")
        return value

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()  # it exits at the end of its input
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def read_in_workers(paths: list[Path], kwargs: dict, *, workers: int, chunk: int,
                    die_at_start: bool = False) -> list[FileCheck]:
    """`read_file(p, **kwargs)` for every path, in `workers` processes, results in the order of `paths`."""
    chunks: SimpleQueue = SimpleQueue()
    for start in range(0, len(paths), chunk):
        chunks.put(paths[start:start + chunk])
    done: dict[Path, FileCheck] = {}
    crashed: list[Path] = []

    def serve(worker_factory: Callable[[], _Worker]) -> None:
        worker = worker_factory()
        try:
            while True:
                try:
                    batch = chunks.get_nowait()
                except Empty:
                    return
                checks = worker.read(batch, kwargs)
                if checks is None:
                    crashed.extend(batch)
                    worker = worker_factory()  # a replacement must start, or the run stops
                else:
                    done.update(zip(batch, checks))
        finally:
            worker.close()

    def factory() -> _Worker:
        return _Worker(die_at_start)

    with ThreadPoolExecutor(workers) as threads:
        for future in [threads.submit(serve, factory) for _ in range(workers)]:
            future.result()  # ReaderCannotStart or a worker's error, raised here
    for path in crashed:  # each file of a crashed chunk alone, in a fresh worker
        worker = factory()
        try:
            checks = worker.read([path], kwargs)
        finally:
            worker.close()
        done[path] = checks[0] if checks else _crashed(path, kwargs)
    return [done[p] for p in paths]


def _crashed(path: Path, kwargs: dict) -> FileCheck:
    log.error("reading %s crashed its process; refused with F01", path.name)
    return FileCheck(path, file_sha256(path), kwargs.get("arrival_date"), None,
                     [could_not_process("read", RuntimeError("the reader's process crashed"))])


def _serve() -> None:
    """The worker: answers requests on stdin until its end; whatever a library prints goes to stderr."""
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    if "--die-at-start" in sys.argv[1:]:
        os._exit(70)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    _send(answers, _READY)
    settings = _recv(requests)
    if settings is None:
        os._exit(0)
    config.activate(config.Settings.from_dict(settings))
    while (request := _recv(requests)) is not None:
        paths, kwargs = request
        try:
            answer = ("ok", [read_file(p, **kwargs) for p in paths])
        except Exception as exc:  # noqa: BLE001 - sent to the parent, which raises it
            answer = ("error", f"{type(exc).__name__}: {exc}")
        _send(answers, answer)
    sys.stderr.flush()
    os._exit(0)  # nothing to tear down: skip the interpreter's teardown


if __name__ == "__main__":
    _serve()
