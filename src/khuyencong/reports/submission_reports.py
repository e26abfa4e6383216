"""Reports for people: one error report per file for its sender, and a summary per run.

A file's report is a CSV in the shape of a validation error file (rule, severity,
sheet, row, column, value found, expected, message in Vietnamese, in English)
and an HTML page with the same content and a one-line verdict at the top
(`templates/submission.html.j2`).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from khuyencong.findings import REPORT_COLUMNS, RULES
from khuyencong.model import FileCheck, display_path
from khuyencong.reports.pages import write_page
from khuyencong.reports.safe import SafeCsvWriter, markdown_code, markdown_code_block

CSV_HEADER = {
    "rule": "ma_loi / rule", "severity": "muc_do / severity", "sheet": "sheet", "row": "dong / row",
    "column": "cot / column", "value": "gia_tri / value found", "expected": "yeu_cau / expected",
    "message_vi": "thong_bao (tieng Viet)", "message_en": "message (English)",
}
VERDICTS = {
    "accepted": ("Tệp được chấp nhận.", "The file is accepted."),
    "accepted_with_warnings": ("Tệp được chấp nhận, có cảnh báo cần xem lại.", "The file is accepted, with warnings to review."),
    "rejected": ("Tệp bị từ chối: sửa các lỗi dưới đây rồi gửi lại.", "The file is rejected: fix the errors below and send it again."),
}


def report_stem(check: FileCheck) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", check.path.stem).strip("_")[:60] or "file"
    arrival = check.arrival_date.isoformat() if check.arrival_date else "undated"
    return f"{arrival}_{base}_{check.submission_id[:8]}"


def write_file_reports(check: FileCheck, out_dir: Path, raw_dir: Path | None = None) -> Path:
    """Write `<stem>.csv` and `<stem>.html`; returns the HTML path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report_stem(check)
    findings = [f.to_dict() for f in check.findings]
    with (out_dir / f"{stem}.csv").open("w", encoding="utf-8-sig", newline="") as f:  # BOM: Excel opens it right
        writer = SafeCsvWriter(f)
        writer.writerow([CSV_HEADER[c] for c in REPORT_COLUMNS])
        for d in findings:
            writer.writerow([d[c] for c in REPORT_COLUMNS])
    name = display_path(check.path, raw_dir) if raw_dir else display_path(check.path.name)
    return write_page(
        out_dir / f"{stem}.html", "submission.html.j2",
        check=check, name=name, verdict=VERDICTS[check.status], columns=REPORT_COLUMNS, findings=findings,
        errors=sum(f.is_fatal for f in check.findings), warnings=sum(not f.is_fatal for f in check.findings),
        rules=[(r, RULES[r][1], RULES[r][2]) for r in sorted({f.rule for f in check.findings})],
    )


def write_run_summary(settings, stages: dict) -> Path:
    """`reports/runs/<timestamp>.json` and `reports/latest_run.md`: every file of the run with its verdict."""
    runs = settings.reports_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    (runs / f"{stamp}.json").write_text(json.dumps(stages, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    for old in sorted(runs.glob("*.json"))[:-30]:  # keep the last 30 run records
        old.unlink()
    loaded = stages.get("check_and_load", {})
    verdict = ("**Publication blocked**: the last published warehouse is unchanged.\n\n"
               + markdown_code_block(stages["blocked"]["message"]) if "blocked" in stages
               else "Published." if "publish" in stages
               else stages["nothing_published"]["message"] if "nothing_published" in stages
               else "Nothing new: the published warehouse is current.")
    postgres = (stages.get("publish") or {}).get("postgres")
    if postgres:  # the error is one printable line already; a code span keeps it inert in Markdown
        verdict += ("\n\nPostgreSQL: published." if postgres.get("ok") else
                    "\n\nPostgreSQL: **not published** " + markdown_code(postgres["error"]))
    lines = [f"# Run {stamp}", "", verdict, "", "| file | verdict | errors | warnings | rules | report |", "|---|---|---|---|---|---|"]
    for f in loaded.get("files", []):
        cells = (markdown_code(f["path"]), f["status"], f["errors"], f["warnings"], " ".join(f["rules"]),
                 markdown_code(f["report"]))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    path = settings.reports_dir / "latest_run.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
