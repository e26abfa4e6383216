"""`kc run` as a user runs it: a subprocess with a clean environment, and what it left behind."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUN_TIMEOUT = 600


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` -> sha256 (the byte-identity evidence for raw/ and Parquet)."""
    return {p.relative_to(folder).as_posix(): sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def kc_env(**extra: str) -> dict[str, str]:
    drop = ("AIRFLOW", "KC_RAW_DIR", "KC_WAREHOUSE_DIR", "KC_DBT_PROJECT_DIR", "KC_EXPECTATIONS_DIR",
            "KC_ALERT_WEBHOOK_URL", "KC_DAGS_DIR")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(extra)
    return env


def kc_run_cmd(raw: Path, warehouse: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "khuyencong.cli", "run", "--raw", str(raw), "--warehouse", str(warehouse), *extra]


@dataclass
class Run:
    returncode: int
    output: str
    raw_before: dict
    raw_after: dict


def kc_run(raw: Path, warehouse: Path, *extra: str, cwd: Path, **env: str) -> Run:
    before = tree(raw)
    proc = subprocess.run(kc_run_cmd(raw, warehouse, *extra), env=kc_env(**env), cwd=cwd,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    return Run(proc.returncode, proc.stdout + "\n" + proc.stderr, before, tree(raw))




def latest_record(warehouse: Path) -> dict:
    """The newest run record (`reports/runs/`, the one place runs are recorded)."""
    runs = sorted((warehouse / "reports" / "runs").glob("*.json"))
    return json.loads(runs[-1].read_text(encoding="utf-8"))
