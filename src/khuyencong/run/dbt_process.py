"""dbt in a process of its own, started before it is needed.

A `dbt build` pays about 4 s before its first query: importing dbt (~3 s) and reading the project
(partial parse, ~1 s). `kc run` starts this process at the very beginning, so that work happens on
the second core while Airflow starts and the files are checked; when the dbt_build task comes, the
process only runs the build (dbtRunner with the manifest it already parsed). Outside `kc run` (a
DAG task under a real scheduler, a test calling a stage) the process is started on the spot, which
costs what a `dbt build` subprocess always cost.

One writer: the process opens DuckDB only for the command it is given, which `build_marts` sends
while it holds the build lock, and it exits after that one command, so dbt's connection (dbtRunner
keeps it open in-process) dies with it. It dies with its parent too (Linux), and exits at once if
its parent closes its input without asking for anything.

    python -m khuyencong.run.dbt_process <project_dir>     reads one JSON list of dbt arguments on stdin
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from khuyencong.config import Settings
from khuyencong.run.child import die_with_parent, die_with_parent_env


def dbt_env(settings: Settings) -> dict[str, str]:
    """What dbt reads from the environment for this warehouse (profiles.yml, target and log folders)."""
    return {
        "KC_BUILD_DB": str(settings.build_db),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir),
        "DBT_LOG_PATH": str(settings.warehouse_dir / "dbt" / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


@dataclass
class DbtOutcome:
    returncode: int  # as the dbt CLI: 0 success, 1 a node failed, 2 dbt itself failed
    output: str


class DbtProcess:
    """One dbt command in a child process that has imported dbt and parsed the project ahead of time."""

    def __init__(self, settings: Settings) -> None:
        self.key = _key(settings)
        env = {**os.environ, **dbt_env(settings), **die_with_parent_env()}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "khuyencong.run.dbt_process", str(settings.dbt_project_dir)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )

    def run(self, args: list[str]) -> DbtOutcome:
        output, _ = self._proc.communicate(json.dumps(args) + "\n")
        return DbtOutcome(self._proc.returncode, output)

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate()


_ahead: dict[tuple, DbtProcess] = {}


def _key(settings: Settings) -> tuple:
    return (settings.dbt_project_dir.resolve(), settings.dbt_target_dir.resolve(), settings.build_db.resolve())


def start_ahead(settings: Settings) -> None:
    """Start the dbt process for this warehouse now; `take` hands it to the dbt_build stage."""
    process = DbtProcess(settings)
    _ahead[process.key] = process


def take(settings: Settings) -> DbtProcess:
    """The process started ahead for this warehouse, else a new one."""
    return _ahead.pop(_key(settings), None) or DbtProcess(settings)


def close_all() -> None:
    """At the end of `kc run`: stop a process nobody needed (nothing to build)."""
    while _ahead:
        _ahead.popitem()[1].close()


def main(project_dir: str) -> int:
    die_with_parent()
    from dbt.cli.main import dbtRunner

    where = ["--profiles-dir", project_dir, "--project-dir", project_dir]
    parsed = dbtRunner().invoke(["parse", "--quiet", *where])
    manifest = parsed.result if parsed.success else None  # a broken project is reported by the command itself
    request = sys.stdin.readline()
    if not request:  # nothing to build this run
        return 0
    result = dbtRunner(manifest=manifest).invoke([*json.loads(request), *where])
    if result.exception is not None:
        print(f"dbt error: {type(result.exception).__name__}: {result.exception}", flush=True)
        return 2
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))  # a normal exit: DuckDB closes the build database cleanly (checkpoint)
