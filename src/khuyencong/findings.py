"""Findings: what a check says about a file, in the shape of a validation error report.

Every finding names the rule (F01-F07 fatal, W01-W07 warning, as in
the rule table of docs/submission-format.md), where it is (sheet, row, column), the value found,
what was expected, and a message in Vietnamese and in English.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

FATAL = "fatal"
WARNING = "warning"

# rule -> (severity, title in Vietnamese, title in English)
RULES: dict[str, tuple[str, str, str]] = {
    "F01": (FATAL, "Không đọc được tệp", "File unreadable"),
    "F02": (FATAL, "Thiếu sheet hoặc cột bắt buộc", "Required sheet or column missing"),
    "F03": (FATAL, "Đơn vị báo cáo không hợp lệ", "Reporting unit unknown or not in the period's era"),
    "F04": (FATAL, "Năm, kỳ báo cáo hoặc ngày lập không hợp lệ", "Year, period or report date invalid"),
    "F05": (FATAL, "Giá trị số không hợp lệ", "Invalid numeric value"),
    "F06": (FATAL, "Nguồn kinh phí hoặc chỉ tiêu không có trong danh mục", "Unknown funding source or indicator"),
    "F07": (FATAL, "Dòng bị trùng", "Duplicate row"),
    "W01": (WARNING, "Thực hiện vượt kế hoạch điều chỉnh", "Executed exceeds the adjusted plan"),
    "W02": (WARNING, "Số lũy kế giảm so với kỳ trước", "Cumulative figure lower than in an earlier period"),
    "W03": (WARNING, "Kế hoạch đầu năm chênh lệch hơn 50% so với năm trước", "Start-of-year plan differs from last year's by more than 50%"),
    "W04": (WARNING, "Tổng kinh phí đề án lệch kế hoạch hơn 1%", "Projects' approved amounts differ from the funding plan by more than 1%"),
    "W05": (WARNING, "Tên đơn vị không khớp mã đơn vị", "Unit name does not match the unit code"),
    "W06": (WARNING, "Nộp sau hạn", "Received after the deadline"),
    "W07": (WARNING, "Số liệu ước tính: báo cáo lập trước khi hết kỳ", "Estimate: report prepared before its period ended"),
}

REPORT_COLUMNS = (
    "rule", "severity", "sheet", "row", "column", "value", "expected", "message_vi", "message_en",
)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    sheet: str | None
    row: int | None
    column: str | None
    value: str | None
    expected: str | None
    message_vi: str
    message_en: str

    @property
    def is_fatal(self) -> bool:
        return self.severity == FATAL

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def finding(
    rule: str,
    message_vi: str,
    message_en: str,
    *,
    sheet: str | None = None,
    row: int | None = None,
    column: str | None = None,
    value: Any = None,
    expected: str | None = None,
) -> Finding:
    """Build a finding; the severity comes from the rule."""
    severity = RULES[rule][0]
    return Finding(
        rule=rule,
        severity=severity,
        sheet=sheet,
        row=row,
        column=column,
        value=None if value is None else str(value),
        expected=expected,
        message_vi=message_vi,
        message_en=message_en,
    )


def sort_key(f: Finding) -> tuple:
    return (f.severity != FATAL, f.sheet or "", f.row or 0, f.column or "", f.rule)


def verdict(findings: list[Finding]) -> str:
    """`rejected`, `accepted_with_warnings` or `accepted`."""
    if any(f.is_fatal for f in findings):
        return "rejected"
    if findings:
        return "accepted_with_warnings"
    return "accepted"


_UNSAFE_TEXT = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]+")
EXCEPTION_TEXT_CHARS = 300


def could_not_process(stage: str, exc: BaseException) -> Finding:
    """The F01 finding for a file that made a reader, gate or loader fail: what failed, never a traceback.

    The exception text can quote the file's own bytes: control and bidi characters become spaces, and it is cut.
    """
    text = _UNSAFE_TEXT.sub(" ", f"{type(exc).__name__}: {exc}")[:EXCEPTION_TEXT_CHARS]
    return finding(
        "F01",
        f"Không xử lý được tệp ({stage}): {text}. Hãy lưu lại tệp từ mẫu báo cáo rồi gửi lại.",
        f"The file could not be processed ({stage}): {text}. Save it again from the template and resend it.",
        expected="a file the reader can process",
    )
