"""Safe output: the one home of the rules that keep submitted text inert wherever the product writes it.

A submission (its cells, its file name) is attacker-controlled text. Whatever we
write for people must stay text when opened:

- terminal, logs, Markdown: no control characters (C0 but a structural newline,
  DEL, C1, ANSI escape sequences, bidirectional overrides); each is shown as U+FFFD
  so a person still sees that something was there;
- Markdown: a name is an inline code span, so it cannot break a table, emphasise,
  link or inject HTML;
- CSV: no cell starts a formula (OWASP "CSV Injection": `'` before a leading
  `= + - @`, tab or CR; every field quoted, quotes doubled), plain numbers stay numbers;
- HTML: text and attributes escaped; links only to relative, percent-encoded paths;
- Great Expectations Data Docs: GX 1.x writes the unexpected values of a result into
  its tables as raw HTML, so results are escaped here before GX renders them.
"""

from __future__ import annotations

import copy
import csv
import html
import json
import re
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote

REPLACEMENT = "\ufffd"

# ANSI/ECMA-48 escape sequences, 7-bit and 8-bit forms: CSI, the string controls (OSC, DCS, SOS, PM,
# APC, up to their terminator), and the other two-or-more-character ESC sequences.
_ESCAPE_SEQUENCE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x00-\x1f\x7f-\x9f]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]"
)
# C0 (but tab and newline, handled apart), DEL, C1, bidirectional marks, embeddings, overrides and
# isolates ("Trojan Source"), and the Unicode line and paragraph separators.
_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL_BUT_NEWLINE = re.compile(f"[{_CONTROLS}]")
_CONTROL = re.compile(f"[\n{_CONTROLS}]")


def plain_text(value: Any, *, keep_newlines: bool = False) -> str:
    """`value` as text without control characters: for a terminal, a log line, Markdown, a CSV cell.

    Each escape sequence or control character becomes U+FFFD, a tab a space. With
    `keep_newlines` (multi-line messages) CR LF and CR become LF and LF stays; otherwise
    a newline is a control character like any other (a file name is one line).
    """
    if value is None:
        return ""
    text = _ESCAPE_SEQUENCE.sub(REPLACEMENT, str(value)).replace("\t", " ")
    if keep_newlines:
        return _CONTROL_BUT_NEWLINE.sub(REPLACEMENT, text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub(REPLACEMENT, text)


def json_text(value: Any, **dumps_options: Any) -> str:
    """JSON for a terminal: letters stay readable, every control character is a `\\u` escape (same data).

    `json.dumps` escapes C0 itself; DEL, C1 and the bidirectional controls it writes raw.
    """
    text = json.dumps(value, ensure_ascii=False, **dumps_options)
    return _CONTROL_BUT_NEWLINE.sub(lambda m: f"\\u{ord(m[0]):04x}", text)  # raw newlines are indentation


# ---------------------------------------------------------------- Markdown


_PIPE = re.compile(r"(\\*)\|")


def markdown_code(value: Any) -> str:
    """An inline code span showing `value` literally, also inside a GFM table cell.

    Nothing in a code span is emphasis, a link or HTML; the fence is one backtick longer
    than the longest run of backticks in the text, and `|` is escaped for the table.
    """
    text = plain_text(value)
    if not text:
        return ""
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    if text.strip(" ") and (text[0] == "`" or text[-1] == "`" or text[0] == text[-1] == " "):
        text = f" {text} "  # Markdown takes one space off each end again
    # `|` ends a GFM table cell even in a code span unless escaped, and a backslash just before
    # the escape would escape it instead: keep the run of backslashes before each `|` even.
    text = _PIPE.sub(lambda m: m[1] + "\\" * (len(m[1]) % 2) + "\\|", text)
    return f"{fence}{text}{fence}"


def markdown_code_block(value: Any) -> str:
    """A fenced code block showing multi-line `value` literally: no line in it can close the fence."""
    text = plain_text(value, keep_newlines=True)
    fence = "`" * max(3, max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence}\n{text}\n{fence}"


# ---------------------------------------------------------------- CSV

FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")  # OWASP's, and their full-width forms
PLAIN_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A value a spreadsheet shows as text or as a number, never runs as a formula.

    Numbers (and text that is a plain number such as `-12.5`) stay as they are; text
    whose first non-blank character starts a formula gets a leading `'`.
    """
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    text = str(value)
    if PLAIN_NUMBER.fullmatch(text):
        return text
    text = plain_text(text, keep_newlines=True)
    if text[:1] in FORMULA_TRIGGERS or text.lstrip()[:1] in FORMULA_TRIGGERS:
        return "'" + text
    return text


class SafeCsvWriter:
    """`csv.writer` with every field quoted (quotes doubled) and every cell through `csv_cell`."""

    def __init__(self, f: IO[str], **fmtparams: Any):
        self._writer = csv.writer(f, quoting=csv.QUOTE_ALL, **fmtparams)

    def writerow(self, row: Any) -> Any:
        return self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Any) -> None:
        for row in rows:
            self.writerow(row)


# ---------------------------------------------------------------- HTML


def html_text(value: Any) -> str:
    """Text for an HTML element or a quoted attribute value: controls replaced, `<>&"'` escaped."""
    return html.escape(plain_text(value, keep_newlines=True), quote=True)


def html_href(relative_path: Any) -> str:
    """A quoted-attribute-safe link to a file beside the page: percent-encoded, so never a scheme.

    `javascript:x` becomes `javascript%3Ax`, a relative path; `//host` loses its leading slashes.
    """
    path = plain_text(relative_path).replace("\\", "/").lstrip("/")
    return html.escape(quote(path, safe="/"), quote=True)


def docs_value(value: Any) -> Any:
    """A GX result value for Data Docs: every string escaped (GX 1.x puts table cells in raw)."""
    if isinstance(value, str):
        return html_text(value)
    if isinstance(value, dict):
        return {docs_value(k) if isinstance(k, str) else k: docs_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [docs_value(v) for v in value]
    return value


def docs_result(result: Any) -> Any:
    """A copy of a GX suite validation result fit for Data Docs: what each expectation found, escaped.

    The expectations' own configuration (our suites) is kept; the values found in the data
    (unexpected lists, index rows, counts, observed values, exception text) are escaped.
    """
    safe = copy.deepcopy(result)
    for item in safe.results:
        item.result = docs_value(item.result or {})
        if item.exception_info:
            item.exception_info = docs_value(item.exception_info)
    return safe
