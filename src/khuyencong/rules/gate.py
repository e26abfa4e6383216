"""The Great Expectations gate: the suites in `expectations/` run over the rows of many files at once.

A GX validation costs tens of milliseconds however small the frame, so the files
of one call are stacked into one frame per table (each row tagged with its file
key, sheet and source row), validated once per suite, and the failures are split
back into per-file findings with the original sheet, row and column. The rule
code, the column and the bilingual message of each expectation live in its
`meta`, so the suites are the single definition of these rules.

`great_expectations` is imported here, never at module level of the CLI or DAG.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from khuyencong import config
from khuyencong.findings import Finding, finding
from khuyencong.model import FileCheck
from khuyencong.normalise import format_vn_number
from khuyencong.reference import Reference, load_reference
from khuyencong.rules.table import Table
from khuyencong.warehouse.schema import value_range_parameters

ROW_ID_COLUMNS = ["file_key", "sheet", "source_row"]


def quiet_great_expectations() -> None:
    """GX logs every decorator it registers at INFO; that drowns task logs."""
    for name in ("great_expectations", "great_expectations._docs_decorators",
                 "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Suite:
    name: str
    table: str
    document: dict[str, Any]


def load_suites(directory: Path | None = None) -> dict[str, Suite]:
    directory = directory or config.EXPECTATIONS_DIR
    suites = {}
    for path in sorted(directory.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if "expectations" in doc and "table" in doc.get("meta", {}):
            suites[doc["name"]] = Suite(doc["name"], doc["meta"]["table"], doc)
    return suites


def new_context(project_dir: Path | None = None):
    """One GX context per run: ephemeral, or file-backed when Data Docs are wanted."""
    quiet_great_expectations()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    quiet_great_expectations()  # again: importing GX resets its loggers' levels

    if project_dir is None:
        context = gx.get_context(mode="ephemeral")
    else:
        context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _decimal_places(value: Decimal | None) -> int | None:
    """Digits after the decimal point, trailing zeros aside (1.50 has 1); never raises for a huge value."""
    if value is None:
        return None
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else None


def _fraction(value: Decimal | None) -> float | None:
    return None if value is None else float(value - value.to_integral_value(rounding="ROUND_FLOOR"))


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # pandas Timestamp included
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        if not abs(value) < 1e15:  # inf, or too large to write out digit by digit
            return f"{value:.15g}"
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value.item() if hasattr(value, "item") else value)


def _fmt_vi(value: Any) -> str:
    """As _fmt, but numbers in the Vietnamese convention (`48.331`, `123,37`) for message_vi."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "dtype"):
        return _fmt(value)
    text = _fmt(value)
    if "e" in text or "inf" in text:  # 1e+20, inf: no Vietnamese digit grouping
        return text
    try:
        return format_vn_number(Decimal(text)) if text else text
    except ArithmeticError:
        return text


# Every figure that goes to a DECIMAL or INTEGER warehouse column, per table: model field -> (column
# code in the file, Vietnamese, English, kind). The `gia_tri` suite checks them all in one long frame
# against what the column holds (warehouse.schema.value_range_parameters).
DECIMAL, COUNT = "decimal", "count"
VALUE_COLUMNS: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "funding": {
        "plan_initial_mvnd": ("ke_hoach_dau_nam", "Kế hoạch đầu năm", "Start-of-year plan", DECIMAL),
        "plan_adjusted_mvnd": ("ke_hoach_dieu_chinh", "Kế hoạch điều chỉnh", "Adjusted plan", DECIMAL),
        "allocated_mvnd": ("da_phan_bo", "Kinh phí đã phân bổ", "Allocated amount", DECIMAL),
        "executed_mvnd": ("thuc_hien", "Kinh phí thực hiện", "Executed amount", DECIMAL),
        "project_count": ("so_de_an", "Số đề án", "Number of projects", COUNT),
    },
    "outcomes": {
        "target_value": ("ke_hoach", "Chỉ tiêu kế hoạch", "Target", DECIMAL),
        "actual_value": ("thuc_hien", "Kết quả thực hiện", "Achieved value", DECIMAL),
    },
    "projects": {
        "approved_mvnd": ("kinh_phi_duyet", "Kinh phí duyệt", "Approved amount", DECIMAL),
        "executed_mvnd": ("kinh_phi_thuc_hien", "Kinh phí thực hiện của đề án", "Project executed amount", DECIMAL),
        "beneficiaries": ("so_co_so_thu_huong", "Số cơ sở thụ hưởng", "Number of beneficiary establishments", COUNT),
    },
}


def _exact(value: Decimal, vietnamese: bool = False) -> str:
    """The figure as read, every digit (850.1234567, 100000000000000); beyond 10^15 in exponent form."""
    if not abs(value) < 10**15:
        return str(value)
    return format_vn_number(value) if vietnamese else f"{value.normalize():f}"


def _values(key: int, table: str, row) -> list[dict]:
    """One row per figure of a source row, for the `gia_tri` suite; the text is the exact Decimal."""
    out = []
    for field_name, (code, vi, en, kind) in VALUE_COLUMNS[table].items():
        value: Decimal | None = getattr(row, field_name)
        if value is None:
            continue
        out.append({
            "file_key": key, "sheet": row.sheet, "source_row": row.row, "measure": code,
            "measure_vi": vi, "measure_en": en, "text": _exact(value), "text_vi": _exact(value, vietnamese=True),
            "decimal_value": float(value) if kind == DECIMAL else None,
            "decimal_places": _decimal_places(value) if kind == DECIMAL else None,
            "count_value": float(value) if kind == COUNT else None,
        })
    return out


def build_frames(checks: list[FileCheck], reference: Reference) -> dict[str, Table]:
    """One table per table name, rows of every checked file tagged with file_key = index in checks."""
    funding, outcomes, projects, totals, values = [], [], [], [], []
    for key, check in enumerate(checks):
        sub = check.submission
        if sub is None:
            continue
        plans: dict[str, tuple[float | None, str, int]] = {}
        for r in sub.funding:
            effective = r.plan_adjusted_mvnd if r.plan_adjusted_mvnd is not None else r.plan_initial_mvnd
            funding.append({
                "file_key": key, "sheet": r.sheet, "source_row": r.row, "funding_source": r.funding_source,
                "plan_initial_mvnd": _num(r.plan_initial_mvnd), "plan_adjusted_mvnd": _num(r.plan_adjusted_mvnd),
                "allocated_mvnd": _num(r.allocated_mvnd), "executed_mvnd": _num(r.executed_mvnd),
                "project_count": _num(r.project_count), "project_count_fraction": _fraction(r.project_count),
                "plan_effective_mvnd": _num(effective),
            })
            values.extend(_values(key, "funding", r))
            plans.setdefault(r.funding_source, (_num(effective), r.sheet, r.row))
        for r in sub.outcomes:
            counted = r.indicator_code in reference.count_indicators
            outcomes.append({
                "file_key": key, "sheet": r.sheet, "source_row": r.row, "indicator_code": r.indicator_code,
                "target_value": _num(r.target_value), "actual_value": _num(r.actual_value),
                "target_value_fraction": _fraction(r.target_value) if counted else None,
                "actual_value_fraction": _fraction(r.actual_value) if counted else None,
            })
            values.extend(_values(key, "outcomes", r))
        approved: dict[str, float] = {}
        for r in sub.projects:
            projects.append({
                "file_key": key, "sheet": r.sheet, "source_row": r.row, "project_code": r.project_code,
                "funding_source": r.funding_source, "approved_mvnd": _num(r.approved_mvnd),
                "executed_mvnd": _num(r.executed_mvnd), "beneficiaries": _num(r.beneficiaries),
                "beneficiaries_fraction": _fraction(r.beneficiaries),
            })
            values.extend(_values(key, "projects", r))
            if r.approved_mvnd is not None:
                approved[r.funding_source] = approved.get(r.funding_source, 0.0) + float(r.approved_mvnd)
        for source, total in sorted(approved.items()):
            plan, sheet, row = plans.get(source, (None, "kinh_phi", None))
            if plan:
                diff = abs(total - plan) / plan * 100
            else:
                diff = 0.0 if total == 0 else 100.0  # projects funded from a source with no plan
            totals.append({
                "file_key": key, "sheet": sheet, "source_row": row, "funding_source": source,
                "approved_total_mvnd": total, "plan_mvnd": plan, "approved_vs_plan_diff_pct": round(diff, 4),
            })

    return {
        "funding": Table(funding, columns=[
            "file_key", "sheet", "source_row", "funding_source", "plan_initial_mvnd", "plan_adjusted_mvnd",
            "allocated_mvnd", "executed_mvnd", "project_count", "project_count_fraction", "plan_effective_mvnd",
        ]),
        "outcomes": Table(outcomes, columns=[
            "file_key", "sheet", "source_row", "indicator_code", "target_value", "actual_value",
            "target_value_fraction", "actual_value_fraction",
        ]),
        "projects": Table(projects, columns=[
            "file_key", "sheet", "source_row", "project_code", "funding_source", "approved_mvnd",
            "executed_mvnd", "beneficiaries", "beneficiaries_fraction",
        ]),
        "project_totals": Table(totals, columns=[
            "file_key", "sheet", "source_row", "funding_source", "approved_total_mvnd", "plan_mvnd",
            "approved_vs_plan_diff_pct",
        ]),
        "values": Table(values, columns=[
            "file_key", "sheet", "source_row", "measure", "measure_vi", "measure_en", "text", "text_vi",
            "decimal_value", "decimal_places", "count_value",
        ]),
    }


# Extra columns returned with each failing row, for the message placeholders.
CONTEXT_COLUMNS = {
    "funding": ["project_count"],
    "outcomes": ["target_value", "actual_value"],
    "projects": ["beneficiaries"],
    "project_totals": ["funding_source", "approved_total_mvnd", "plan_mvnd"],
    "deadlines": ["arrival_date", "deadline"],
    "cumulative": ["measure", "measure_vi", "measure_en", "item", "earlier_value", "earlier_period"],
    "plan_change": ["funding_source", "plan_initial_mvnd", "last_year_plan_mvnd", "last_year_period"],
    "values": ["measure", "measure_vi", "measure_en", "text", "text_vi", "decimal_places"],
}


def _data_docs_description(meta: dict) -> str | None:
    """What Data Docs shows for a mart expectation: the check's name and whether its failure blocks publication."""
    if "blocks_publication" not in meta:
        return None  # a file suite: GX's own wording
    return f"{meta.get('check', '')} (blocks publication: {meta['blocks_publication']})".strip()


class GateError(RuntimeError):
    """The gate itself failed (an expectation raised): an error of the run, not of a file."""


class SuiteRunner:
    """Runs named suites of `expectations/` over pandas frames in one GX context, one validation per suite."""

    def __init__(self, context, suite_names: Iterable[str], source_name: str, directory: Path | None = None):
        self.context = context
        all_suites = load_suites(directory)
        self.suites = {n: all_suites[n] for n in suite_names}
        self._gx_suites: dict[str, Any] = {}
        self._batch_definitions: dict[str, Any] = {}
        self.last_results: dict[str, Any] = {}  # suite name -> GX validation result (for Data Docs)
        self._prepare(source_name)

    def _prepare(self, source_name: str) -> None:
        from great_expectations.core.expectation_suite import ExpectationSuite
        from great_expectations.expectations.expectation_configuration import (
            ExpectationConfiguration,
        )

        try:
            source = self.context.data_sources.get(source_name)
        except (KeyError, ValueError, LookupError):
            source = self.context.data_sources.add_pandas(source_name)
        for name, suite in self.suites.items():
            configs = [
                ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=e.get("meta", {}),
                                         description=_data_docs_description(e.get("meta", {})))
                for e in suite.document["expectations"]
            ]
            gx_suite = ExpectationSuite(name=name, expectations=configs, meta=suite.document.get("meta"))
            try:
                self.context.suites.delete(name)
            except Exception:  # noqa: BLE001 - absent suite
                pass
            self._gx_suites[name] = self.context.suites.add(gx_suite)
            try:
                asset = source.get_asset(suite.table)
            except (KeyError, ValueError, LookupError):
                asset = source.add_dataframe_asset(suite.table)
            try:
                self._batch_definitions[name] = asset.get_batch_definition("whole")
            except (KeyError, ValueError, LookupError):
                self._batch_definitions[name] = asset.add_batch_definition_whole_dataframe("whole")

    def validate(self, name: str, df, index_columns: list[str], params: dict | None = None):
        """One GX validation of one suite; raises GateError when an expectation itself broke."""
        batch = self._batch_definitions[name].get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(
            self._gx_suites[name],
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": index_columns},
            expectation_parameters=params or {},
        )
        self.last_results[name] = result
        for item in result.results:
            raised = (item.exception_info or {}).get("raised_exception")
            if raised:
                raise GateError(f"expectation {item.expectation_config.type} of suite {name} raised: "
                                f"{item.exception_info.get('exception_message')}")
        return result

    def check_files(self, frames: dict[str, Any], checks: list[FileCheck], params: dict | None = None) -> None:
        """Validate each suite's frame and append the per-file findings (in place)."""
        for name, suite in self.suites.items():
            table = frames.get(suite.table)
            if table is None or table.empty:
                continue
            df = table.frame()
            index_columns = ROW_ID_COLUMNS + CONTEXT_COLUMNS.get(suite.table, [])
            result = self.validate(name, df, index_columns, params)
            for item in result.results:
                if not item.success:
                    for key, f in _findings_of(item, name, checks):
                        checks[key].findings.append(f)


class FileGate(SuiteRunner):
    """Validates the rows of many files with the per-file suites, in one GX run per suite."""

    def __init__(self, context=None, reference: Reference | None = None, directory: Path | None = None):
        super().__init__(context if context is not None else new_context(), FILE_SUITES, "kc_files", directory)
        self.reference = reference or load_reference()

    def expectation_parameters(self) -> dict[str, object]:
        return {
            "funding_sources": sorted(set(self.reference.funding_sources.values())),
            "indicators": sorted(set(self.reference.indicators.values())),
            **value_range_parameters(),
        }

    def check(self, checks: list[FileCheck]) -> None:
        """Append the suites' findings to each check (in place)."""
        self.check_files(build_frames(checks, self.reference), checks, self.expectation_parameters())


FILE_SUITES = ("kinh_phi", "ket_qua", "de_an", "de_an_theo_nguon", "gia_tri")


def _message_fields(row: dict, value_field: str, other_field: str | None, fmt) -> dict[str, str]:
    fields = {k: fmt(v) for k, v in row.items()}
    fields.update(value=fmt(row.get(value_field)), other=fmt(row.get(other_field)) if other_field else "",
                  column=fields.get("measure", ""), source=fields.get("funding_source", ""),
                  approved=fields.get("approved_total_mvnd", ""), plan=fields.get("plan_mvnd", ""))
    return fields


def _row_number(value: Any) -> int | None:
    """Source rows come back from pandas as int, float or NaN (a row-less finding)."""
    if value is None or value != value:
        return None
    return int(value)


def _findings_of(item, suite_name: str, checks: list[FileCheck]) -> Iterable[tuple[int, Finding]]:
    config_ = item.expectation_config
    meta, kwargs = config_.meta or {}, config_.kwargs
    if "column_A" in kwargs:
        value_field, other_field = kwargs["column_B"], kwargs["column_A"]
    elif "column_list" in kwargs:
        value_field, other_field = kwargs["column_list"][-1], None
    else:
        value_field, other_field = kwargs["column"], None
    value_field = value_field.removesuffix("_fraction")  # whole-number checks report the value itself
    value_field = meta.get("value_column", value_field)  # the suite may name the file's own figure
    other_field = meta.get("other_column", other_field)
    seen: set[tuple] = set()
    rows = sorted(item.result.get("unexpected_index_list") or [],
                  key=lambda r: (int(r["file_key"]), _row_number(r.get("source_row")) or 0))
    for row in rows:
        key = int(row["file_key"])
        if "column_list" in kwargs:  # report the repeats, not the first occurrence
            ident = (key, row.get(value_field))
            if ident not in seen:
                seen.add(ident)
                continue
        fields = _message_fields(row, value_field, other_field, _fmt)
        fields_vi = _message_fields(row, value_field, other_field, _fmt_vi)
        yield key, finding(
            meta["rule"],
            meta["message_vi"].format(**fields_vi),
            meta["message_en"].format(**fields),
            sheet=str(row.get("sheet")),
            row=_row_number(row.get("source_row")),
            column=checks[key].submission.column_label(str(row.get("sheet")), row.get("measure") or meta.get("column")),
            value=fields["value"],
            expected=meta.get("expected"),
        )
