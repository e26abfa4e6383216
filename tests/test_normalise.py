"""Property tests of the text rules (docs/submission-format.md#how-names-are-matched and #numbers-dates-and-text): numbers, headers, decoding."""

from __future__ import annotations

import codecs
import re
import unicodedata
from decimal import Decimal

import pytest
from builders import cp1258_form, encode_text
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from khuyencong.normalise import (
    DecodeError,
    NumberFormatError,
    decode_text,
    format_vn_number,
    normalise_header,
    parse_vn_number,
)

settings.register_profile(
    "kc", max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("kc")

VIETNAMESE_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VIETNAMESE = VIETNAMESE_LOWER + VIETNAMESE_LOWER.upper()

# amounts as they occur: up to 10^15 with up to 9 decimals (at most 24 significant digits)
decimals = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**15, max_value=10**15, places=p) for p in (0, 2, 9)
)
vietnamese_text = st.text(alphabet=VIETNAMESE + "0123456789 .,-()/:;'", min_size=1, max_size=60)


# ---------------------------------------------------------------- numbers: examples


@pytest.mark.parametrize(
    "text, value",
    [
        ("48.331", Decimal(48331)),
        ("123,37", Decimal("123.37")),
        ("1.234.567,5", Decimal("1234567.5")),
        ("-", Decimal(0)),
        ("–", Decimal(0)),
        ("—", Decimal(0)),
        ("0", Decimal(0)),
        ("1200", Decimal(1200)),
        ("-48.331", Decimal(-48331)),
        ("-0,5", Decimal("-0.5")),
        (" 48.331 ", Decimal(48331)),
        ("48.331\u00a0", Decimal(48331)),
        ("1.000.000", Decimal(1000000)),
        ("0,000001", Decimal("0.000001")),
    ],
)
def test_parse_examples(text, value):
    parsed = parse_vn_number(text)
    assert parsed == value and isinstance(parsed, Decimal)


@pytest.mark.parametrize("text", ["", "   ", "\u00a0"])
def test_blank_is_not_reported(text):
    assert parse_vn_number(text) is None


@pytest.mark.parametrize(
    "text",
    ["1.5", "12.34", "1.2345", "1234.567", ".123", "1.", "1.23,4", "1,234.5", "1,5,6", "1.234.56", "12,34.567",
     "abc", "1e5", "+5", "--5", "5-", "1 200", "NaN", "Infinity", "1.234,", ",5", "- 5"],
)
def test_not_numbers(text):
    with pytest.raises(NumberFormatError):
        parse_vn_number(text)


@pytest.mark.parametrize(
    "value, text",
    [(Decimal(48331), "48.331"), (Decimal("123.37"), "123,37"), (Decimal("1234567.5"), "1.234.567,5"),
     (Decimal(0), "0"), (Decimal(-1000), "-1.000"), (Decimal("1.50"), "1,5"), (Decimal("1E+3"), "1.000"),
     (Decimal(100), "100")],
)
def test_format_examples(value, text):
    assert format_vn_number(value) == text


# ---------------------------------------------------------------- numbers: properties


@given(decimals)
def test_parse_of_formatted_value_equals_value(value):
    assert parse_vn_number(format_vn_number(value)) == value


def test_format_keeps_every_digit():
    value = parse_vn_number("69.410,302759342035203004323557")  # 29 significant digits, parsed exactly
    assert value == Decimal("69410.302759342035203004323557")
    assert format_vn_number(value) == "69.410,302759342035203004323557"


@given(decimals)
def test_format_parse_round_trip_is_stable(value):
    """format(parse(s)) == s for every canonical text s = format(value)."""
    text = format_vn_number(value)
    assert format_vn_number(parse_vn_number(text)) == text


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10**6))
def test_grouped_text_parses_to_its_digits(integer, fraction):
    text = f"{integer:,}".replace(",", ".") + (f",{fraction}" if fraction else "")
    expected = Decimal(f"{integer}.{fraction}" if fraction else str(integer))
    assert parse_vn_number(text) == expected


@given(
    st.text(alphabet="0123456789", min_size=1, max_size=6),
    st.text(alphabet="0123456789", min_size=0, max_size=8).filter(lambda g: len(g) != 3),
    st.lists(st.text(alphabet="0123456789", min_size=3, max_size=3), max_size=2),
    st.sampled_from(["", "-"]),
    st.sampled_from(["", ",5"]),
    st.booleans(),
)
@example("1", "5", [], "", "", False)
@example("12", "34", [], "", "", False)
def test_dot_not_grouping_exactly_three_digits_is_rejected(head, bad_group, good_groups, sign, fraction, bad_last):
    """Any dot followed by a group of other than three digits makes the text not a number."""
    groups = [*good_groups, bad_group] if bad_last else [bad_group, *good_groups]
    text = sign + head + "".join("." + g for g in groups) + fraction
    with pytest.raises(NumberFormatError):
        parse_vn_number(text)


@given(st.text(alphabet="0123456789", min_size=4, max_size=8), st.text(alphabet="0123456789", min_size=3, max_size=3))
def test_leading_group_longer_than_three_is_rejected(head, group):
    with pytest.raises(NumberFormatError):
        parse_vn_number(f"{head}.{group}")


@given(st.text(max_size=20))
def test_parse_never_raises_anything_but_number_format_error(text):
    try:
        value = parse_vn_number(text)
    except NumberFormatError:
        return
    assert value is None or (isinstance(value, Decimal) and value.is_finite())


# ---------------------------------------------------------------- headers

HEADER_RE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*$")


@pytest.mark.parametrize(
    "label, code",
    [
        ("Kế hoạch đầu năm", "ke_hoach_dau_nam"),
        ("KẾ HOẠCH ĐẦU NĂM", "ke_hoach_dau_nam"),
        ("ke_hoach_dau_nam", "ke_hoach_dau_nam"),
        ("  Nguồn   kinh phí (*) ", "nguon_kinh_phi"),
        ("Đã phân bổ", "da_phan_bo"),
        ("Số cơ sở thụ hưởng", "so_co_so_thu_huong"),
        ("Mã đề án", "ma_de_an"),
        ("KCĐP", "kcdp"),
        ("Thừa Thiên - Huế", "thua_thien_hue"),
        ("TP. Hồ Chí Minh", "tp_ho_chi_minh"),
        (unicodedata.normalize("NFD", "Kế hoạch điều chỉnh"), "ke_hoach_dieu_chinh"),
        (None, ""),
        ("", ""),
        ("---", ""),
        (2024, "2024"),
    ],
)
def test_header_examples(label, code):
    assert normalise_header(label) == code


@given(st.text())
def test_header_output_shape_and_idempotence(text):
    code = normalise_header(text)
    assert code == "" or HEADER_RE.match(code)
    assert normalise_header(code) == code


@given(vietnamese_text)
def test_header_insensitive_to_case_diacritics_and_normal_form(text):
    code = normalise_header(text)
    assert normalise_header(text.upper()) == code
    assert normalise_header(text.lower()) == code
    assert normalise_header(unicodedata.normalize("NFD", text)) == code
    assert normalise_header(unicodedata.normalize("NFC", text)) == code
    assert normalise_header(cp1258_form(text)) == code
    plain = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    assert normalise_header(plain.replace("đ", "d").replace("Đ", "D")) == code


# ---------------------------------------------------------------- decoding

ENCODINGS = {
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf-16": "utf-16",
    "utf-16-be": "utf-16",
    "cp1258": "cp1258",
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@given(text=vietnamese_text)
def test_decode_returns_nfc_text(encoding, text):
    nfc = unicodedata.normalize("NFC", text)
    decoded, used = decode_text(encode_text(text, encoding))
    assert decoded == nfc
    if encoding == "cp1258" and text.isascii():
        assert used == "utf-8"  # ASCII is the same in both
    else:
        assert used == ENCODINGS[encoding]


@given(vietnamese_text)
def test_decode_nfd_utf8_is_composed(text):
    decoded, _ = decode_text(unicodedata.normalize("NFD", text).encode("utf-8"))
    assert decoded == unicodedata.normalize("NFC", text)


def test_cp1258_form_keeps_tone_marks_combining():
    """Sanity check of the builder: Windows-1258 bytes carry the tone as a separate byte."""
    data = encode_text("Hỗ trợ đề án", "cp1258")
    assert b"\xde" in data  # U+0303 combining tilde (ngã)
    assert b"\xf2" in data  # U+0323 combining dot below (nặng)
    assert b"\xf5" in data  # ơ precomposed
    assert decode_text(data) == ("Hỗ trợ đề án", "cp1258")


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF32_LE + "kinh_phi".encode("utf-32-le"),
        "kinh_phi".encode("utf-16-le"),  # UTF-16 without BOM: NUL bytes
        bytes(range(32)),
        b"\x00\x01\x02junk",
        codecs.BOM_UTF8 + b"\xff\xfe\xfa",
    ],
)
def test_undecodable_bytes(data):
    with pytest.raises(DecodeError):
        decode_text(data)


@given(st.binary(min_size=1, max_size=200))
def test_decode_either_returns_nfc_text_or_raises_decode_error(data):
    try:
        text, encoding = decode_text(data)
    except DecodeError:
        return
    assert encoding in ("utf-8", "utf-8-sig", "utf-16", "cp1258")
    assert unicodedata.is_normalized("NFC", text)
