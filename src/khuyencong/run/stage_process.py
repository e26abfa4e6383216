"""Run a stage in this process, or in the one `kc run` started ahead for it.

Great Expectations takes about 5 s to import, and two stages need it (check_and_load, gate_marts).
`kc run` starts a child process for those two at the very beginning; it imports GX on the second
core while Airflow starts on the first. The DAG's tasks call `run_stage(name, settings)`: under
`kc run` the named stage runs in that child, which sends back the stage's result or its exception;
anywhere else (a real scheduler, a test) the stage runs where it is called. Same function, same
result, same XCom.

The child works for the run: it shares the parent's hold on `build.lock` (an inherited descriptor,
`lock.adopt`), so stages it runs nest in the run's lock exactly as they would in-process, and it dies
with the parent. Its log goes to the parent's stderr; answers travel on its own stdout.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from khuyencong.config import Settings, activate, crash_with
from khuyencong.errors import StageFailed, from_wire, to_wire
from khuyencong.rules.gate import quiet_great_expectations
from khuyencong.run import dbt_process, pipeline
from khuyencong.run.child import die_with_parent, die_with_parent_env
from khuyencong.warehouse.lock import adopt, held_descriptor

#: the stages worth a warm process: the ones that import Great Expectations
WARM_STAGES = ("check_and_load", "gate_marts")
#: what the warm process imports while it waits for its first stage
_WARM_IMPORTS = ("great_expectations", "khuyencong.rules.gate", "khuyencong.rules.checking",
                 "khuyencong.rules.history", "khuyencong.rules.mart_gate", "khuyencong.reports.data_docs",
                 "khuyencong.reports.submission_reports", "khuyencong.warehouse.loader")

log = logging.getLogger(__name__)


class StageProcess:
    """A child process that runs stages of `pipeline` for this process, one request at a time."""

    def __init__(self, settings: Settings) -> None:
        self.key = settings.build_db.resolve()
        fd = held_descriptor(settings.build_db)
        env = {**os.environ, **die_with_parent_env(), "KC_STAGE_PARENT_PID": str(os.getpid())}
        if fd is not None:
            env["KC_STAGE_LOCK_FD"] = f"{fd}:{settings.build_db}"
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "khuyencong.run.stage_process"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env, pass_fds=(fd,) if fd is not None else (),
        )

    def call(self, stage: str, settings: Settings) -> dict:
        self._proc.stdin.write(json.dumps({"stage": stage, "settings": settings.to_dict()}) + "\n")
        self._proc.stdin.flush()
        line = self._proc.stdout.readline()
        if not line:
            code = self._proc.wait()
            raise StageFailed(f"the process running {stage} ended ({code}) without an answer; its log is above")
        answer = json.loads(line)
        if answer["ok"]:
            return answer["result"]
        raise _exception(answer)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.stdin.close()  # it exits at the end of its input
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc.stdout.close()


_ahead: dict = {}


def start_ahead(settings: Settings) -> None:
    """Start the stage process and the dbt process for this run (call it while holding `build.lock`)."""
    process = StageProcess(settings)
    _ahead[process.key] = process
    dbt_process.start_ahead(settings)


def close_all() -> None:
    while _ahead:
        _ahead.popitem()[1].close()
    dbt_process.close_all()


def run_stage(stage: str, settings: Settings) -> dict:
    """`pipeline.<stage>(settings)`, in the process started ahead for it when there is one."""
    process = _ahead.get(settings.build_db.resolve())
    if process is not None and stage in WARM_STAGES and process.alive():  # a retry after it died runs here
        return process.call(stage, settings)
    return getattr(pipeline, stage)(settings)


# ---------------------------------------------------------------- the child


def _answer_for(exc: BaseException) -> dict:
    return {"ok": False, **to_wire(exc)}


def _exception(answer: dict) -> Exception:
    return from_wire(answer)


def serve() -> None:
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # whatever a library prints goes to the log, not into the answers
    die_with_parent()
    crash_with(int(os.environ["KC_STAGE_PARENT_PID"]))  # a crash point here is the whole run's
    held = os.environ.get("KC_STAGE_LOCK_FD")
    if held:
        fd, build_db = held.split(":", 1)
        adopt(Path(build_db), int(fd))
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
    logging.getLogger("khuyencong").setLevel(logging.INFO)
    for module in _WARM_IMPORTS:
        importlib.import_module(module)
    quiet_great_expectations()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = {"ok": True, "result": getattr(pipeline, request["stage"])(
                activate(Settings.from_dict(request["settings"])))}
        except Exception as exc:  # noqa: BLE001 - sent back to the task, which raises it there
            log.exception("%s failed", request["stage"])
            answer = _answer_for(exc)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
    # the run asks for nothing more: every stage closed what it opened; skip tearing down GX (about 1 s)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    serve()
