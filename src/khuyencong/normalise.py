"""Text rules of the submission format: header names, Vietnamese number text, decoding.

Pure functions, no I/O: property-tested in tests/test_normalise.py.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from decimal import Decimal, InvalidOperation

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def strip_diacritics(text: str) -> str:
    text = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def normalise_header(text: object) -> str:
    """`Kế hoạch đầu năm`, `KE HOACH DAU NAM` and `ke_hoach_dau_nam` all give `ke_hoach_dau_nam`."""
    if text is None:
        return ""
    plain = strip_diacritics(unicodedata.normalize("NFC", str(text))).lower()
    return _NON_ALNUM.sub("_", plain).strip("_")


# `.` groups thousands (exactly three digits each), `,` marks decimals.
_GROUPED = re.compile(r"^(-?)(\d{1,3}(?:\.\d{3})+)(?:,(\d+))?$")
_PLAIN = re.compile(r"^(-?)(\d+)(?:,(\d+))?$")
_DASHES = {"-", "–", "—"}  # a dash alone means zero


class NumberFormatError(ValueError):
    """Text that is not a number in the Vietnamese convention (rule F05)."""


def parse_vn_number(text: str) -> Decimal | None:
    """Parse number text: `48.331` -> 48331, `123,37` -> 123.37, `-` -> 0, `` -> None.

    Raises NumberFormatError for anything else, notably `1.5` and `12.34`
    (a dot that does not group exactly three digits).
    """
    s = text.strip().replace("\u00a0", "")
    if not s:
        return None
    if s in _DASHES:
        return Decimal(0)
    m = _GROUPED.match(s) or _PLAIN.match(s)
    if not m:
        raise NumberFormatError(text)
    sign, integer, fraction = m.groups()
    literal = f"{sign}{integer.replace('.', '')}" + (f".{fraction}" if fraction else "")
    try:
        return Decimal(literal)
    except InvalidOperation as exc:  # pragma: no cover - the regexes admit only digits
        raise NumberFormatError(text) from exc


def format_vn_number(value: Decimal, keep_trailing_zeros: bool = False) -> str:
    """Inverse of parse_vn_number (for writing sample text cells and reports).

    `keep_trailing_zeros` keeps the value's own decimals (97,50 in a column of rates).
    """
    text = f"{value:f}"  # not abs(): it rounds to the context's 28 digits
    sign = "-" if text.startswith("-") else ""
    text = text.lstrip("-")
    integer, _, fraction = text.partition(".")
    groups = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    if not keep_trailing_zeros:
        fraction = fraction.rstrip("0")
    return sign + ".".join(groups) + (f",{fraction}" if fraction else "")


class DecodeError(ValueError):
    """Bytes that are none of the accepted text encodings (rule F01)."""


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes; returns (NFC text, encoding name).

    UTF-8 with or without BOM, UTF-16 with BOM, else Windows-1258 (whose
    Vietnamese tone marks are combining characters: NFC composes them).
    """
    candidates: list[str]
    if data.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp1258"]
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if _CONTROL.search(text):
            continue  # binary junk decodes in cp1258 but is not text
        return unicodedata.normalize("NFC", text), encoding
    raise DecodeError("not UTF-8, UTF-16 with BOM or Windows-1258 text")


def column_letter(index: int) -> str:
    """Excel's column letter of a 1-based column index: 1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
