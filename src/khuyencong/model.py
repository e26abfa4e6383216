"""The typed content of one accepted-shape submission (docs/submission-format.md#sheets-and-columns).

Money is in million VND (`_mvnd`), already converted with the file's `don_vi_tien`,
as `Decimal` so sums reconcile exactly. Every row keeps its source sheet and row
number (1-based, as a person sees it in Excel; the header is row 1 unless the
sheet has title rows above it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from khuyencong.findings import Finding, verdict


@dataclass(frozen=True)
class Metadata:
    unit_id: str | None  # P63-46 / P34-15; None when the unit could not be resolved (F03)
    unit_code: str | None  # ma_don_vi as written (two digits)
    unit_name_in_file: str | None  # ten_don_vi as written
    year: int | None
    period: str | None  # KH, 1T..11T, CN
    period_months: int | None  # KH 0, nT n, CN 12
    report_date: date | None  # ngay_lap
    money_unit: str  # normalised: dong, nghin_dong, trieu_dong, ty_dong
    preparer_name: str | None = None  # personal data: raw schema only, never marts
    preparer_phone: str | None = None
    preparer_email: str | None = None


@dataclass(frozen=True)
class FundingRow:
    sheet: str
    row: int
    funding_source: str | None  # canonical code (KCQG, KCDP, DOI_UNG, KHAC) or the raw text if unknown
    plan_initial_mvnd: Decimal | None
    plan_adjusted_mvnd: Decimal | None  # None = not adjusted (the mart falls back to initial)
    allocated_mvnd: Decimal | None
    executed_mvnd: Decimal | None
    project_count: Decimal | None  # Decimal so a fractional count reaches the F05 expectation


@dataclass(frozen=True)
class OutcomeRow:
    sheet: str
    row: int
    indicator_code: str | None  # catalogue code, or the raw text if unknown
    unit_label: str | None
    target_value: Decimal | None
    actual_value: Decimal | None


@dataclass(frozen=True)
class ProjectRow:
    sheet: str
    row: int
    project_code: str | None
    project_name: str | None
    funding_source: str | None
    activity: str | None
    approved_mvnd: Decimal | None
    executed_mvnd: Decimal | None
    status: str | None
    beneficiaries: Decimal | None


@dataclass
class Submission:
    metadata: Metadata
    funding: list[FundingRow] = field(default_factory=list)
    outcomes: list[OutcomeRow] = field(default_factory=list)
    projects: list[ProjectRow] = field(default_factory=list)
    # sheet name -> column code -> Excel column letter, so every finding can say "thuc_hien (E)"
    column_letters: dict[str, dict[str, str]] = field(default_factory=dict)
    # thong_tin: the sheet's name in the file and the row of each field, for metadata findings
    info_sheet: str = "thong_tin"
    field_rows: dict[str, int] = field(default_factory=dict)

    def column_label(self, sheet: str, code: str) -> str:
        """`thuc_hien (E)`; `a|b` names alternatives: the first the sheet has wins."""
        letters = self.column_letters.get(sheet, {})
        options = code.split("|")
        chosen = next((c for c in options if c in letters), options[0])
        letter = letters.get(chosen)
        return f"{chosen} ({letter})" if letter else chosen


@dataclass
class FileCheck:
    """The result of checking one file: a typed submission, findings, or both."""

    path: Path
    sha256: str
    arrival_date: date | None
    submission: Submission | None
    findings: list[Finding] = field(default_factory=list)

    @property
    def status(self) -> str:
        return verdict(self.findings)

    @property
    def submission_id(self) -> str:
        return self.sha256[:16]


def display_path(path: Path, root: Path | None = None) -> str:
    """A path (relative to `root` when under it) as text any database, JSON or report can hold.

    Names that are not valid UTF-8 keep their bytes visible as `\\xNN` escapes; the file itself
    is always opened through its real `Path`.
    """
    text = os.fspath(path)
    if root is not None:
        rel = os.path.relpath(os.path.abspath(text), os.path.abspath(root))
        text = rel if not rel.startswith("..") else os.path.basename(text)
    return os.fsencode(text).decode("utf-8", "backslashreplace").replace(os.sep, "/")
