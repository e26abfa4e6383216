"""The deliberate defects: corruptions that make the refused (F01-F07) and warned (W01, W04) sample files."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from khuyencong.ingest.template import FUNDING_COLUMNS
from khuyencong_sample.figures import _ONE, _SOURCE_LABELS, ReportFigures, SampleFile
from khuyencong_sample.writers import Cell, Report


def _row_of(rows: list[dict[str, Cell]], key: str, value: str) -> dict[str, Cell]:
    for row in rows:
        if row.get(key) in (value, _SOURCE_LABELS.get(value)):
            return row
    raise KeyError(value)


def _m_missing_kinh_phi(report: Report, sf: SampleFile) -> None:
    report.kinh_phi = None


def _m_missing_thuc_hien(report: Report, sf: SampleFile) -> None:
    report.columns["kinh_phi"] = [c for c in FUNDING_COLUMNS if c != "thuc_hien"]


def _m_unknown_code(report: Report, sf: SampleFile) -> None:
    report.metadata = [("ma_don_vi", "99") if k == "ma_don_vi" else (k, v) for k, v in report.metadata if k != "ten_don_vi"]


def _m_period_13t(report: Report, sf: SampleFile) -> None:
    report.metadata = [(k, "13T" if k == "ky_bao_cao" else v) for k, v in report.metadata]


def _m_date_after_arrival(report: Report, sf: SampleFile) -> None:
    late = sf.arrival + timedelta(days=7)
    report.metadata = [(k, late if k == "ngay_lap" else v) for k, v in report.metadata]


def _m_english_decimal(report: Report, sf: SampleFile) -> None:
    row = _row_of(report.kinh_phi, "nguon_kinh_phi", "KCDP")
    row["thuc_hien"] = f"{Decimal(str(row['thuc_hien'])).quantize(Decimal('0.1'))}"  # "1234.5": `.` as decimal mark


def _m_negative(report: Report, sf: SampleFile) -> None:
    _row_of(report.kinh_phi, "nguon_kinh_phi", "KCDP")["thuc_hien"] = -120


def _m_unknown_source(report: Report, sf: SampleFile) -> None:
    report.kinh_phi.append({"nguon_kinh_phi": "KCTW", "ke_hoach_dau_nam": 200, "da_phan_bo": 100, "thuc_hien": 80})


def _m_unknown_indicator(report: Report, sf: SampleFile) -> None:
    report.ket_qua.append({"ma_chi_tieu": "xuat_khau", "chi_tieu": "Kim ngạch xuất khẩu sản phẩm CNNT",
                           "don_vi_tinh": "triệu USD", "ke_hoach": 12, "thuc_hien": 9})


def _m_duplicate_kcqg(report: Report, sf: SampleFile) -> None:
    row = dict(_row_of(report.kinh_phi, "nguon_kinh_phi", "KCQG"))
    report.kinh_phi.insert(1, row)


# the fatal rule each defect triggers (raw_*: the bytes are broken, not the content)
RULE_OF_DEFECT = {
    "raw_xls": "F01", "raw_truncated_zip": "F01", "missing_kinh_phi": "F02", "missing_thuc_hien": "F02",
    "unknown_code": "F03", "era63_unit_in_era34": "F03", "period_13t": "F04", "date_after_arrival": "F04",
    "english_decimal": "F05", "negative": "F05", "unknown_source": "F06", "unknown_indicator": "F06",
    "duplicate_kcqg": "F07",
}

MUTATIONS = {
    "missing_kinh_phi": _m_missing_kinh_phi,
    "missing_thuc_hien": _m_missing_thuc_hien,
    "unknown_code": _m_unknown_code,
    "period_13t": _m_period_13t,
    "date_after_arrival": _m_date_after_arrival,
    "english_decimal": _m_english_decimal,
    "negative": _m_negative,
    "unknown_source": _m_unknown_source,
    "unknown_indicator": _m_unknown_indicator,
    "duplicate_kcqg": _m_duplicate_kcqg,
}

def _w04(fig: ReportFigures) -> ReportFigures:
    """Projects approved for KCĐP exceed the KCĐP plan by 6%: the W04 sample."""
    assert fig.projects
    plan = fig.funding_by_source()["KCDP"].plan
    projects = list(fig.projects)
    for i, p in enumerate(projects):
        if p.source == "KCDP":
            projects[i] = replace(p, approved=p.approved + (plan * Decimal("0.06")).quantize(_ONE))
            break
    return replace(fig, projects=tuple(projects))

