"""The row parser: data rows of sheets kinh_phi, ket_qua and de_an into typed rows.

Owns the number-format part of F05 (and formula cells without a cached value); money is
converted to million VND with the factor of the file's money unit.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from khuyencong.ingest.tables import FUNDING_COLUMNS, FindingLog, Table, is_blank
from khuyencong.model import FundingRow, OutcomeRow, ProjectRow
from khuyencong.normalise import NumberFormatError, parse_vn_number
from khuyencong.reference import Reference


def _cell_decimal(value: int | float) -> Decimal:
    """A numeric cell as Excel shows it: 15 significant digits, so a cached 1300.3000000000002 is 1300.3
    (the float's tail is no data, and would otherwise count as decimal places)."""
    return Decimal(f"{value:.15g}") if isinstance(value, float) else Decimal(value)


class RowParser:
    def __init__(self, ref: Reference, log: FindingLog, money_factor: Decimal):
        self.ref = ref
        self.log = log
        self.factor = money_factor

    def number(self, table: Table, row: int, cells: list[object], code: str, money: bool) -> Decimal | None:
        value = table.cell(cells, code)
        sheet = table.sheet
        col_idx = table.columns.get(code)
        where = dict(sheet=sheet.name, row=row, column=table.column_label(code))
        if col_idx is not None and (row, col_idx + 1) in sheet.formula_without_value:
            self.log.add(
                "F05",
                "Ô công thức chưa có giá trị tính sẵn: hãy mở tệp bằng Excel, tính lại và lưu.",
                "Formula cell without a cached value: open the file in Excel, recalculate and save.",
                value="=…", expected="a number", **where,
            )
            return None
        if is_blank(value):
            return None
        if isinstance(value, bool) or isinstance(value, (date, datetime, timedelta)):
            parsed = None
        elif isinstance(value, (int, float)):
            parsed = _cell_decimal(value)
        else:
            try:
                parsed = parse_vn_number(str(value))
            except NumberFormatError:
                parsed = None
        if parsed is None or not parsed.is_finite():
            self.log.add(
                "F05",
                f"'{value}' không phải số hợp lệ: dấu chấm phân cách hàng nghìn (48.331), dấu phẩy thập phân (123,37).",
                f"'{value}' is not a valid number: use '.' for thousands (48.331) and ',' for decimals (123,37).",
                value=value, expected="số theo quy ước Việt Nam / a number, e.g. 48.331 or 123,37", **where,
            )
            return None
        return parsed * self.factor if money else parsed

    @staticmethod
    def text(table: Table, cells: list[object], code: str) -> str | None:
        value = table.cell(cells, code)
        if is_blank(value):
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()

    def funding(self, table: Table | None) -> list[FundingRow]:
        rows = []
        if table is None:
            return rows
        for row, cells in table.records():
            raw_source = self.text(table, cells, "nguon_kinh_phi")
            values = [self.number(table, row, cells, c, money=c != "so_de_an") for c in FUNDING_COLUMNS[1:]]
            if raw_source is None and all(v is None for v in values):
                continue
            if all(v is None for v in values) and not any(
                (row, table.columns[c] + 1) in table.sheet.formula_without_value for c in FUNDING_COLUMNS[1:] if c in table.columns
            ):
                continue  # a source row left empty: not reported
            source = self.ref.funding_source_code(raw_source) if raw_source else None
            rows.append(FundingRow(table.sheet.name, row, source or (raw_source or ""), *values))
        return rows

    def outcomes(self, table: Table | None) -> list[OutcomeRow]:
        rows = []
        if table is None:
            return rows
        for row, cells in table.records():
            code_text = self.text(table, cells, "ma_chi_tieu")
            name_text = self.text(table, cells, "chi_tieu")
            target = self.number(table, row, cells, "ke_hoach", money=False)
            actual = self.number(table, row, cells, "thuc_hien", money=False)
            if target is None and actual is None:
                continue  # indicator listed but not reported
            code = (self.ref.indicator_code(code_text) if code_text else None) or (
                self.ref.indicator_code(name_text) if name_text else None
            )
            rows.append(OutcomeRow(
                table.sheet.name, row, code or (code_text or name_text or ""),
                self.text(table, cells, "don_vi_tinh"), target, actual,
            ))
        return rows

    def projects(self, table: Table | None) -> list[ProjectRow]:
        rows = []
        if table is None:
            return rows
        for row, cells in table.records():
            raw_source = self.text(table, cells, "nguon_kinh_phi")
            source = self.ref.funding_source_code(raw_source) if raw_source else None
            rows.append(ProjectRow(
                table.sheet.name, row,
                self.text(table, cells, "ma_de_an") or "",
                self.text(table, cells, "ten_de_an"),
                source or (raw_source or ""),
                self.text(table, cells, "noi_dung"),
                self.number(table, row, cells, "kinh_phi_duyet", money=True),
                self.number(table, row, cells, "kinh_phi_thuc_hien", money=True),
                self.text(table, cells, "trang_thai"),
                self.number(table, row, cells, "so_co_so_thu_huong", money=False),
            ))
        return rows
