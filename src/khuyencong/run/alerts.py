"""Failure callback: log, and post to a webhook when `Settings.alert_webhook_url` (KC_ALERT_WEBHOOK_URL) is set.

It is the DAG's callback, called once per failed run (not per task): its context names the run, the
last task and the reason (a failed task, a timeout); the run record, when the summary wrote one, adds why.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from pathlib import Path

from khuyencong.reports.safe import plain_text

log = logging.getLogger(__name__)


def _recorded_reason(runs_dir: Path | None, run_id: str | None) -> str | None:
    """Why the summary says run `run_id` failed, from its record."""
    if runs_dir is None or not run_id or not runs_dir.is_dir():
        return None
    for path in sorted(runs_dir.glob("*.json"), reverse=True)[:5]:
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("run_id") == run_id:
            return next((record[k]["message"] for k in ("blocked", "failed") if k in record), None)
    return None


def failure_message(context: dict, runs_dir: Path | None = None) -> dict:
    ti = context.get("task_instance") or context.get("ti")
    dag = context.get("dag")
    run_id = getattr(ti, "run_id", None) or context.get("run_id")
    error = context.get("exception") or _recorded_reason(runs_dir, run_id) or context.get("reason")
    return {
        "dag_id": getattr(ti, "dag_id", None) or getattr(dag, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": run_id,
        "try_number": getattr(ti, "try_number", None),
        "error": plain_text(error, keep_newlines=True) if error else None,  # may quote a file name
    }


def notify_failure(context: dict, url: str | None, runs_dir: Path | None = None) -> None:
    message = failure_message(context, runs_dir)
    log.error("khuyencong run failed: %s", json.dumps(message, ensure_ascii=False))
    if not url:
        return
    body = json.dumps({"text": f"Khuyến công nightly failed at {message['task_id']}: {message['error']}", **message},
                      ensure_ascii=False).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator-configured URL
            log.info("alert posted: HTTP %s", response.status)
    except OSError as exc:  # an unreachable webhook must not hide the original failure
        log.warning("alert webhook failed: %s", exc)
