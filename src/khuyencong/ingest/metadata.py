"""The metadata parser: sheet thong_tin (field / value rows) into Metadata.

Owns F04 (year, period, report date, period dates), F03 and W05 (unit code and name), W07
(a report signed before its period ended) and the money-unit part of F05.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from khuyencong.ingest.tables import FindingLog, Table, is_blank
from khuyencong.model import Metadata
from khuyencong.normalise import normalise_header
from khuyencong.periods import (
    FIRST_YEAR,
    LAST_YEAR,
    era_of,
    era_span,
    normalise_period,
    period_end,
    period_months,
    period_start,
)
from khuyencong.reference import Reference

MONEY_UNITS = {  # normalised don_vi_tien -> (canonical, factor to million VND)
    "dong": ("dong", Decimal("0.000001")),
    "vnd": ("dong", Decimal("0.000001")),
    "nghin_dong": ("nghin_dong", Decimal("0.001")),
    "ngan_dong": ("nghin_dong", Decimal("0.001")),
    "trieu_dong": ("trieu_dong", Decimal(1)),
    "trieu": ("trieu_dong", Decimal(1)),
    "ty_dong": ("ty_dong", Decimal(1000)),
    "ty": ("ty_dong", Decimal(1000)),
}

_DATE_TEXT = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL_2000, _SERIAL_2101 = 36526, 73051  # Excel date serials of 2000-01-01 and 2101-01-01: a bare 2024 is no date


def _shown(value: object) -> str:
    """A cell as the sender typed it: Excel stores 2024 as 2024.0."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class MetadataParser:
    """Parses the info table; `factor` (to million VND) and `field_rows` are known after `parse`."""

    def __init__(self, table: Table, arrival: date | None, ref: Reference, log: FindingLog):
        self.table = table
        self.arrival = arrival
        self.ref = ref
        self.log = log
        self.factor = Decimal(1)
        self.field_rows: dict[str, int] = {}

    def parse(self) -> Metadata:
        table = self.table
        fields: dict[str, tuple[int, object]] = {}
        for row, cells in table.records():
            key = normalise_header(table.cell(cells, "truong"))
            if key and key not in fields:
                fields[key] = (row, table.cell(cells, "gia_tri"))
                self.field_rows[key] = row
        sheet = table.sheet.name
        value_col = table.column_label("gia_tri")

        def where(key: str) -> dict:
            return dict(sheet=sheet, row=fields[key][0] if key in fields else None, column=value_col if key in fields else key)

        def get(key: str) -> object:
            return fields.get(key, (None, None))[1]

        money_unit = self._money_unit(get("don_vi_tien"), where("don_vi_tien"))
        year = self._year(get("nam"), where("nam"))
        period = self._period(get("ky_bao_cao"), where("ky_bao_cao"))
        report_date = self._report_date(get("ngay_lap"), where("ngay_lap"))
        unit_code = self._unit_code(get("ma_don_vi"))
        name = None if is_blank(get("ten_don_vi")) else str(get("ten_don_vi")).strip()
        unit_id = self._unit(unit_code, name, year, period, where)
        if year and period:
            self._period_dates(year, period, report_date, where)

        def personal(key: str) -> str | None:
            v = get(key)
            return None if is_blank(v) else str(v).strip()

        return Metadata(
            unit_id=unit_id,
            unit_code=unit_code,
            unit_name_in_file=name,
            year=year,
            period=period,
            period_months=period_months(period) if period else None,
            report_date=report_date,
            money_unit=money_unit,
            preparer_name=personal("nguoi_lap"),
            preparer_phone=personal("dien_thoai"),
            preparer_email=personal("email"),
        )

    def _money_unit(self, raw_unit: object, where: dict) -> str:
        """The canonical money unit (triệu đồng when not given); sets the factor to million VND."""
        if is_blank(raw_unit):
            return "trieu_dong"
        unit = MONEY_UNITS.get(normalise_header(raw_unit))
        if unit is None:
            self.log.add(
                "F05",
                f"Đơn vị tiền '{raw_unit}' không hợp lệ: dùng đồng, nghìn đồng, triệu đồng hoặc tỷ đồng.",
                f"Money unit '{raw_unit}' is invalid: use đồng, nghìn đồng, triệu đồng or tỷ đồng.",
                value=raw_unit, expected="đồng | nghìn đồng | triệu đồng | tỷ đồng", **where,
            )
            return "trieu_dong"
        money_unit, self.factor = unit
        return money_unit

    def _period_dates(self, year: int, period: str, report_date: date | None, where) -> None:
        """F04 for a period that had not begun when the file arrived; W07 for a report signed before its period ended."""
        start, end = period_start(year, period), period_end(year, period)
        if self.arrival is not None and self.arrival < start:
            self.log.add(
                "F04",
                f"Kỳ báo cáo {period} năm {year} bắt đầu ngày {start:%d/%m/%Y}, sau ngày nhận tệp "
                f"{self.arrival:%d/%m/%Y}: không thể báo cáo cho một kỳ chưa bắt đầu.",
                f"Period {period} {year} begins on {start:%d/%m/%Y}, after the arrival date "
                f"{self.arrival:%d/%m/%Y}: a period that has not begun cannot be reported.",
                value=f"{period} {year}", expected=f"a period begun by {self.arrival:%d/%m/%Y}", **where("nam"),
            )
        elif report_date is not None and period != "KH" and report_date < end:
            self.log.add(
                "W07",
                f"Báo cáo lập ngày {report_date:%d/%m/%Y}, trước khi kỳ {period} năm {year} kết thúc "
                f"({end:%d/%m/%Y}): số liệu là ước tính, chưa phải số chính thức.",
                f"Report signed on {report_date:%d/%m/%Y}, before period {period} {year} ended "
                f"({end:%d/%m/%Y}): the figures are an estimate, not final.",
                value=f"{report_date:%d/%m/%Y}", expected=f">= {end:%d/%m/%Y}", **where("ngay_lap"),
            )

    def _year(self, value: object, where: dict) -> int | None:
        year = None
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
            year = int(value)
        elif isinstance(value, str) and value.strip().isdigit():
            year = int(value.strip())
        if year is None or not FIRST_YEAR <= year <= LAST_YEAR:
            self.log.add(
                "F04",
                f"Năm báo cáo '{_shown(value)}' không hợp lệ (phải từ {FIRST_YEAR} đến {LAST_YEAR}).",
                f"Report year '{_shown(value)}' is invalid (must be {FIRST_YEAR} to {LAST_YEAR}).",
                value=_shown(value) if value is not None else None, expected=f"{FIRST_YEAR}..{LAST_YEAR}", **where,
            )
            return None
        return year

    def _period(self, value: object, where: dict) -> str | None:
        period = None
        if not is_blank(value):
            text = str(int(value)) + "T" if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer() else str(value)
            period = normalise_period(text)
            if period is None:  # Vietnamese words: "6 tháng", "Cả năm", "Kế hoạch"
                key = normalise_header(text)
                m = re.fullmatch(r"(\d{1,2})_?thang(?:_dau_nam)?", key)
                if m:
                    period = normalise_period(f"{m.group(1)}T")
                elif key in ("ca_nam", "nam"):
                    period = "CN"
                elif key in ("ke_hoach", "ke_hoach_dau_nam"):
                    period = "KH"
        if period is None:
            self.log.add(
                "F04",
                f"Kỳ báo cáo '{_shown(value)}' không hợp lệ: dùng KH, 1T..11T hoặc CN.",
                f"Report period '{_shown(value)}' is invalid: use KH, 1T..11T or CN.",
                value=_shown(value) if value is not None else None, expected="KH | 1T..11T | CN", **where,
            )
        return period

    def _report_date(self, value: object, where: dict) -> date | None:
        parsed: date | None = None
        if isinstance(value, datetime):
            parsed = value.date()
        elif isinstance(value, date):
            parsed = value
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and _SERIAL_2000 <= value < _SERIAL_2101:
            parsed = _EXCEL_EPOCH + timedelta(days=int(value))
        elif isinstance(value, str):
            m = _DATE_TEXT.match(value.strip())
            if m:
                try:
                    parsed = date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
                except ValueError:
                    parsed = None
        if parsed is None:
            self.log.add(
                "F04",
                "Ngày lập báo cáo thiếu hoặc không hợp lệ: ghi theo dạng dd/mm/yyyy." if is_blank(value)
                else f"Ngày lập '{value}' không hợp lệ: ghi theo dạng dd/mm/yyyy.",
                "Report date (ngay_lap) is missing or invalid: write it as dd/mm/yyyy." if is_blank(value)
                else f"Report date '{value}' is invalid: write it as dd/mm/yyyy.",
                value=value, expected="dd/mm/yyyy", **where,
            )
            return None
        if self.arrival is not None and parsed > self.arrival:
            self.log.add(
                "F04",
                f"Ngày lập {parsed:%d/%m/%Y} muộn hơn ngày nhận tệp {self.arrival:%d/%m/%Y}.",
                f"Report date {parsed:%d/%m/%Y} is later than the arrival date {self.arrival:%d/%m/%Y}.",
                value=f"{parsed:%d/%m/%Y}", expected=f"<= {self.arrival:%d/%m/%Y}", **where,
            )
        return parsed

    @staticmethod
    def _unit_code(value: object) -> str | None:
        if is_blank(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip()
        return text.zfill(2) if text.isdigit() and len(text) < 2 else text

    def _unit(self, code: str | None, name: str | None, year: int | None, period: str | None, where) -> str | None:
        period_era = era_of(year, period) if year and period else None
        era = period_era.era if period_era else None
        era_text = "" if period_era is None else f" trong giai đoạn {era_span(period_era, 'vi')}"
        era_en = "" if period_era is None else f" among the {era_span(period_era, 'en')}"
        if code is None and name is None:
            self.log.add(
                "F03",
                "Thiếu mã đơn vị (ma_don_vi) và tên đơn vị (ten_don_vi).",
                "Neither the unit code (ma_don_vi) nor the unit name (ten_don_vi) is given.",
                expected="ma_don_vi hoặc/or ten_don_vi", **where("ma_don_vi"),
            )
            return None
        if era is None:
            return None  # F04 already said why the era is unknown
        if code is not None:
            unit = self.ref.by_code.get((era, code))
            if unit is None:
                self.log.add(
                    "F03",
                    f"Mã đơn vị '{code}' không tồn tại{era_text}.",
                    f"Unit code '{code}' does not exist{era_en}.",
                    value=code, expected="mã tỉnh theo danh mục / a province code of the period's era", **where("ma_don_vi"),
                )
                return None
            if name is not None and unit not in self.ref.units_named(name, era):
                self.log.add(
                    "W05",
                    f"Tên đơn vị '{name}' không khớp với mã '{code}' ({unit.name}).",
                    f"Unit name '{name}' does not match code '{code}' ({unit.name}).",
                    value=name, expected=unit.name, **where("ten_don_vi"),
                )
            return unit.unit_id
        matches = self.ref.units_named(name, era)
        if len(matches) != 1:
            self.log.add(
                "F03",
                f"Không xác định được đơn vị '{name}'{era_text}: hãy ghi mã đơn vị (ma_don_vi).",
                f"Unit '{name}' cannot be identified{era_en}: give the unit code (ma_don_vi).",
                value=name, expected="tên tỉnh theo danh mục / a province name of the period's era", **where("ten_don_vi"),
            )
            return None
        return matches[0].unit_id
