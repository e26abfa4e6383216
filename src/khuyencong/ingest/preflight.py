"""Pre-flight checks: linear scans of a file's bytes before any third-party parser sees them (rule F01).

calamine sizes a sheet's grid from the cell references it finds (one cell at
XFD1048576 asks for 17 billion cells and aborts the process), so every cell
reference, `<row r>`, `<dimension ref>` and `<mergeCell ref>` of a sheet is
checked against the caps first. The same single pass finds the formula cells that
have no cached value. CSV text is parsed with a field-size cap and a column cap.

Every scan here is linear in the size of its input: tags are matched by a regex
that cannot cross a `<`, so no match rescans the rest of the part.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import PurePosixPath

from khuyencong.config import ReadLimits
from khuyencong.ingest.refused import Refused
from khuyencong.normalise import column_letter

# The tags the walk needs: `</c>` and the start or empty tags c, row, f, v, with any namespace prefix;
# the regex engine skips every other tag. A tag need not end in `>` here (quick-xml, under calamine,
# reads `>` and even `<` inside attribute values): every `<c` and `<row` counts, whatever follows.
# `[^<>]*+` stops at the next angle bracket and names are possessive: no match rescans the part.
_PREFIX = rb"(?:[A-Za-z_][\w.-]*+:)?"
_TAG = re.compile(rb"<(?:(/)" + _PREFIX + rb"c|" + _PREFIX + rb"(c|row|f|v))(?![\w.:-])([^<>]*+)(>?)")
_CELL_TAG = re.compile(rb"<" + _PREFIX + rb"c(?![\w.:-])")
# Every r= and ref= anywhere in the part, inside other attributes' values too, and repeated ones:
# calamine takes the last of a repeated attribute, so each must be within the caps.
_POSITION_ATTR = re.compile(rb"""(?<![\w:.-])(r|ref)\s*=\s*(?:"([^"]*+)"|'([^']*+)')""")
_PLAIN_CELL_REF = re.compile(rb'(?:^|\s)r="([A-Z]{1,3})([1-9][0-9]{0,8})"')  # what Excel writes: the fast path
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_CELL_REF = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,9})")
_SHEET_TAG = re.compile(rb"<(?:\w++:)?sheet\b[^<>]*+>")
_REL_TAG = re.compile(rb"<(?:\w++:)?Relationship\b[^<>]*+>")
_ATTR = re.compile(rb'(?<![\w:])([\w:]++)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_SHOWN_REF_CHARS = 40  # a hostile attribute can be megabytes long
CELL, ROW, RANGE = ("ô", "cell"), ("dòng", "row"), ("vùng", "range")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n


def _attrs(tag: bytes) -> dict[bytes, bytes]:
    return {m.group(1): m.group(2) if m.group(2) is not None else m.group(3) for m in _ATTR.finditer(tag)}


def _xml_text(raw: bytes) -> str:
    return html.unescape(raw.decode("utf-8", errors="replace"))


class _SheetScan:
    """Walks one worksheet part tag by tag: caps every position, collects formula gaps."""

    def __init__(self, sheet: str, limits: ReadLimits):
        self.sheet = sheet
        self.limits = limits
        self.row = 0  # current row (implicit rows count on from the last one, as calamine does)
        self.col = 0  # last column of the current row
        self.cell: tuple[int, int] | None = None  # open <c>
        self.has_formula = self.has_value = False
        self.gaps: set[tuple[int, int]] = set()
        self._columns: dict[bytes, int] = {}  # column letters -> index, a few dozen per sheet

    def _column(self, letters: bytes) -> int:
        index = self._columns.get(letters)
        if index is None:
            index = self._columns[letters] = _column_index(letters.decode())
        return index

    def _close_cell(self) -> None:
        if self.cell is not None and self.has_formula and not self.has_value:
            self.gaps.add(self.cell)
        self.cell = None

    def _refuse(self, ref: str, what: tuple[str, str], row: int | None, col: int | None) -> Refused:
        rows, cols = self.limits.max_rows_per_sheet, self.limits.max_columns_per_sheet
        cap = f"A1:{column_letter(cols)}{rows}"
        shown = "".join(ch if ch.isprintable() else "?" for ch in ref[:_SHOWN_REF_CHARS])
        shown += "…" if len(ref) > _SHOWN_REF_CHARS else ""
        return Refused(
            f"Sheet '{self.sheet}': {what[0]} '{shown}' nằm ngoài giới hạn {rows} dòng × {cols} cột ({cap}) "
            "của một báo cáo.",
            f"Sheet '{self.sheet}': {what[1]} '{shown}' is outside the limit of {rows} rows × {cols} columns "
            f"({cap}) for one report.",
            shown, sheet=self.sheet, row=row, column=column_letter(col) if col else None, expected=cap,
        )

    def _position(self, ref: str, what: tuple[str, str]) -> tuple[int, int]:
        m = _CELL_REF.fullmatch(ref.strip())
        if m is None:
            raise self._refuse(ref, what, None, None)
        row, col = int(m.group(2)), _column_index(m.group(1))
        if not (1 <= row <= self.limits.max_rows_per_sheet and 1 <= col <= self.limits.max_columns_per_sheet):
            raise self._refuse(ref, what, row if row >= 1 else None, col)
        return row, col

    def _check_references(self, xml: bytes) -> None:
        """Every position the part names, wherever it names it, within the caps (refused otherwise).

        A malformed position is refused at once; beyond the caps, the furthest row is named (the
        sheet's length, as the sender sees it), else the furthest column.
        """
        cells = len(_CELL_TAG.findall(xml))
        if cells > self.limits.max_rows_per_sheet * self.limits.max_columns_per_sheet:
            raise self._refuse(f"{cells} cells", CELL, None, None)
        last_row, last_col = (0, "", ROW, 0), (0, "", CELL, 0)  # (row, as written, kind, col), (col, ..., row)
        for m in _POSITION_ATTR.finditer(xml):
            raw = m.group(2) if m.group(2) is not None else m.group(3)
            value = raw.decode("ascii", errors="replace").strip()
            kind = CELL if m.group(1) == b"r" else RANGE
            parts = [value] if kind is CELL else re.split(r"[:\s]+", value)  # A1:B2, lists, whole rows or columns
            for part in parts:
                if not part:
                    continue
                if part.isdigit():
                    row, col = self._whole_number(part, value, kind), 0
                elif part.isalpha() and len(part) <= 3 and kind is RANGE:
                    row, col = 0, _column_index(part)
                elif (cell := _CELL_REF.fullmatch(part)) is not None:
                    row, col = int(cell.group(2)), _column_index(cell.group(1))
                    if row < 1:
                        raise self._refuse(value, kind, None, col)
                else:
                    raise self._refuse(value, kind, None, None)
                if row > last_row[0]:
                    last_row = (row, value, ROW if col == 0 and kind is CELL else kind, col)
                if col > last_col[0]:
                    last_col = (col, value, kind, row)
        if last_row[0] > self.limits.max_rows_per_sheet:
            raise self._refuse(last_row[1], last_row[2], last_row[0], last_row[3] or None)
        if last_col[0] > self.limits.max_columns_per_sheet:
            raise self._refuse(last_col[1], last_col[2], last_col[3] or None, last_col[0])

    def _whole_number(self, text: str, value: str, kind: tuple[str, str]) -> int:
        if len(text) > 9:
            raise self._refuse(value, kind, None, None)
        return int(text)

    def _row_number(self, text: str, what: tuple[str, str] = ROW) -> int:
        text = text.strip()
        row = int(text) if text.isdigit() and len(text) <= 9 else 0
        if not 1 <= row <= self.limits.max_rows_per_sheet:
            raise self._refuse(text, what, row or None, None)
        return row

    def scan(self, xml: bytes) -> set[tuple[int, int]]:
        self._check_references(xml)
        # Positions are now known to be within the caps; the walk follows them (and counts the cells
        # and rows that give none) for the formula gaps and the implicit positions.
        for m in _TAG.finditer(xml):
            closing, name, rest, end = m.groups()
            if closing:  # </c>
                self._close_cell()
                continue
            empty = not end or rest.endswith(b"/")
            if name == b"c":
                self._close_cell()
                plain = _PLAIN_CELL_REF.search(rest)
                if plain is not None:
                    row, col = int(plain.group(2)), self._column(plain.group(1))
                elif (ref := self._ref(rest)) is not None:
                    row, col = self._position(ref, CELL)
                else:
                    row, col = self.row, self.col + 1
                    if col > self.limits.max_columns_per_sheet:
                        raise self._refuse(f"{column_letter(col)}{row}", CELL, row, col)
                self.row, self.col = row, col
                if not empty:
                    self.cell, self.has_formula, self.has_value = (row, col), False, False
            elif name == b"row":
                self._close_cell()
                ref = self._ref(rest)
                self.row = self._row_number(str(self.row + 1) if ref is None else ref)
                self.col = 0
            elif name == b"f" and self.cell is not None:
                self.has_formula = True
            elif name == b"v" and self.cell is not None and not empty:
                # `<v></v>` holds no value; whatever else follows the tag is the cached value
                self.has_value = self.has_value or xml[m.end():m.end() + 1] not in (b"<", b"")
        self._close_cell()
        return self.gaps

    @staticmethod
    def _ref(rest: bytes) -> str | None:
        m = _R_ATTR.search(rest)
        if m is None:
            return None
        raw = m.group(1) if m.group(1) is not None else m.group(2)
        return raw.decode("ascii", errors="replace")


def _sheet_parts(entries: dict[str, bytes]) -> dict[str, str]:
    """Worksheet part -> the sheet name the workbook gives it (its part name when it has none)."""
    parts = {n: n for n in entries if n.startswith("xl/worksheets/") and n.endswith(".xml")}
    targets = {}
    for tag in _REL_TAG.findall(entries.get("xl/_rels/workbook.xml.rels", b"")):
        attrs = _attrs(tag)
        targets[attrs.get(b"Id", b"")] = attrs.get(b"Target", b"").decode("utf-8", errors="replace")
    for tag in _SHEET_TAG.findall(entries.get("xl/workbook.xml", b"")):
        attrs = _attrs(tag)
        target = targets.get(attrs.get(b"r:id", b""), "")
        if not target:
            continue
        part = str(PurePosixPath(target.lstrip("/") if target.startswith("/") else f"xl/{target}"))
        if part in entries:
            parts[part] = _xml_text(attrs.get(b"name", b""))
    return parts


def scan_workbook(entries: dict[str, bytes], limits: ReadLimits) -> dict[str, set[tuple[int, int]]]:
    """Refuse (F01) a sheet position beyond the caps; return the formula cells without a cached value.

    The result maps a sheet name to its (row, column) cells, 1-based. Every worksheet part is
    scanned, named or not, since calamine reads whatever part the workbook points at.
    """
    gaps = {}
    for part, sheet in _sheet_parts(entries).items():
        cells = _SheetScan(sheet, limits).scan(entries[part])
        if cells:
            gaps[sheet] = cells
    return gaps


# ---------------------------------------------------------------- CSV


def csv_rows(text: str, entry: str, sheet: str, limits: ReadLimits) -> list[list[object]]:
    """Parse CSV text with the field-size and column caps; a parse error is F01 naming the line."""
    head = "\n".join(text.split("\n", 10)[:10])  # a title line may have no separator at all
    delimiter = ";" if head.count(";") > head.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[object]] = []
    previous = csv.field_size_limit(limits.max_csv_field_chars)  # process-wide: restored below
    try:
        for row in reader:
            if len(row) > limits.max_columns_per_sheet:
                raise _csv_refused(entry, sheet, reader.line_num,
                                   f"có {len(row)} cột, vượt giới hạn {limits.max_columns_per_sheet}",
                                   f"has {len(row)} columns, more than the limit of {limits.max_columns_per_sheet}",
                                   f"<= {limits.max_columns_per_sheet} columns")
            rows.append(list(row))
    except csv.Error as exc:
        too_long = "field larger than field limit" in str(exc)
        raise _csv_refused(
            entry, sheet, reader.line_num,
            f"có một ô dài hơn {limits.max_csv_field_chars} ký tự" if too_long else "không đọc được theo định dạng CSV",
            f"has a field longer than {limits.max_csv_field_chars} characters" if too_long else "is not valid CSV",
            f"<= {limits.max_csv_field_chars} characters per field" if too_long else "CSV (RFC 4180)",
        ) from exc
    finally:
        csv.field_size_limit(previous)
    return rows


def _csv_refused(entry: str, sheet: str, line: int, vi: str, en: str, expected: str) -> Refused:
    return Refused(f"Tệp '{entry}', dòng {line}: {vi}.", f"'{entry}', line {line}: {en}.", entry,
                   sheet=sheet, row=line or None, expected=expected)
