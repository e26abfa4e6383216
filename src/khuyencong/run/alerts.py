"""Failure callback: log, and post to a webhook when `Settings.alert_webhook_url` (KC_ALERT_WEBHOOK_URL) is set."""

from __future__ import annotations

import json
import logging
import urllib.request

log = logging.getLogger(__name__)


def failure_message(context: dict) -> dict:
    from khuyencong.reports.safe import plain_text

    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or context.get("run_id"),
        "try_number": getattr(ti, "try_number", None),
        "error": plain_text(exception, keep_newlines=True) if exception else None,  # may quote a file name
    }


def notify_failure(context: dict, url: str | None) -> None:
    message = failure_message(context)
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
