"""The expectation suites evaluated without Great Expectations, for `kc validate` of a few files.

Importing GX costs seconds; a person checking one file should not wait for it.
This evaluator reads the same documents in `expectations/` (the one home of the
rules) and supports exactly the expectation types and arguments they use: any
other type or argument raises `UnsupportedExpectation` when the suites are
loaded, so a new rule can never be skipped silently. It yields the failing rows
in the shape GX reports them (`unexpected_index_list`), and `gate._findings_of`
turns them into findings, so both engines build findings in one place.
The equivalence with GX is tested on the whole sample (tests/test_fast_gate.py).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from khuyencong.model import FileCheck
from khuyencong.reference import Reference, load_reference
from khuyencong.rules.gate import (
    CONTEXT_COLUMNS,
    FILE_SUITES,
    ROW_ID_COLUMNS,
    FileGate,
    SuiteRunner,
    _findings_of,
    load_suites,
    new_context,
)
from khuyencong.rules.table import Table


class UnsupportedExpectation(ValueError):
    """A suite uses an expectation type or argument this evaluator does not implement."""


def _missing(value: Any) -> bool:
    """What pandas calls null: None, NaN (and NaT, which never reaches these tables)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _between(row: dict, kw: dict) -> bool:
    value = row[kw["column"]]
    low, high = kw.get("min_value"), kw.get("max_value")
    above = low is None or (value > low if kw.get("strict_min") else value >= low)
    below = high is None or (value < high if kw.get("strict_max") else value <= high)
    return above and below


def _in_set(row: dict, kw: dict) -> bool:
    return row[kw["column"]] in kw["value_set"]


def _a_greater_than_b(row: dict, kw: dict) -> bool:
    a, b = row[kw["column_A"]], row[kw["column_B"]]
    return a >= b if kw.get("or_equal") else a > b


@dataclass(frozen=True)
class _Kind:
    """One supported expectation type: its arguments, the columns it reads, and its test of one row."""

    required: frozenset[str]
    optional: frozenset[str]
    domain: Callable[[dict], list[str]]
    fixed: dict[str, Any] = field(default_factory=dict)  # arguments supported only with this value


KINDS: dict[str, _Kind] = {
    "expect_column_values_to_be_between": _Kind(
        frozenset({"column"}), frozenset({"min_value", "max_value", "strict_min", "strict_max"}),
        lambda kw: [kw["column"]]),
    "expect_column_values_to_be_in_set": _Kind(
        frozenset({"column", "value_set"}), frozenset(), lambda kw: [kw["column"]]),
    "expect_column_pair_values_a_to_be_greater_than_b": _Kind(
        frozenset({"column_A", "column_B"}), frozenset({"or_equal", "ignore_row_if"}),
        lambda kw: [kw["column_A"], kw["column_B"]], {"ignore_row_if": "either_value_is_missing"}),
    "expect_compound_columns_to_be_unique": _Kind(
        frozenset({"column_list"}), frozenset(), lambda kw: list(kw["column_list"])),
}
ROW_TESTS = {
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
    "expect_column_pair_values_a_to_be_greater_than_b": _a_greater_than_b,
}


def check_supported(suite_name: str, expectation: dict) -> None:
    kind = KINDS.get(expectation["type"])
    where = f"suite {suite_name}: {expectation['type']}"
    if kind is None:
        raise UnsupportedExpectation(f"{where}: type not supported by the fast evaluator (use --gx, or add it)")
    kwargs = expectation["kwargs"]
    unknown = set(kwargs) - kind.required - kind.optional
    if unknown or not kind.required <= set(kwargs):
        raise UnsupportedExpectation(f"{where}: arguments {sorted(kwargs)} not supported "
                                     f"(required {sorted(kind.required)}, optional {sorted(kind.optional)})")
    for name, value in kind.fixed.items():
        if name in kwargs and kwargs[name] != value:
            raise UnsupportedExpectation(f"{where}: {name}={kwargs[name]!r} not supported (only {value!r})")
    if expectation["type"] == "expect_column_values_to_be_between" and \
            kwargs.get("min_value") is None and kwargs.get("max_value") is None:
        raise UnsupportedExpectation(f"{where}: needs min_value or max_value")


def _resolve(kwargs: dict, params: dict) -> dict:
    """`{"$PARAMETER": name}` replaced by the run's expectation parameter, as GX does."""
    out = {}
    for name, value in kwargs.items():
        if isinstance(value, dict) and "$PARAMETER" in value:
            if value["$PARAMETER"] not in params:
                raise UnsupportedExpectation(f"expectation parameter {value['$PARAMETER']!r} not given")
            value = params[value["$PARAMETER"]]
        out[name] = value
    return out


def unexpected_rows(expectation: dict, rows: list[dict], params: dict) -> list[dict]:
    """The failing rows, in table order: what GX reports as `unexpected_index_list`."""
    kind, kwargs = expectation["type"], _resolve(expectation["kwargs"], params)
    domain = KINDS[kind].domain(kwargs)
    if kind == "expect_compound_columns_to_be_unique":
        # every row of a repeated combination (all its copies), unless all its values are missing
        keys = [tuple(_key(row[c]) for c in domain) for row in rows]
        counts = Counter(keys)
        return [row for row, key in zip(rows, keys, strict=True)
                if counts[key] > 1 and not all(_missing(row[c]) for c in domain)]
    test = ROW_TESTS[kind]
    return [row for row in rows if not any(_missing(row[c]) for c in domain) and not test(row, kwargs)]


def _key(value: Any) -> Any:
    return None if _missing(value) else value  # pandas counts all nulls as one value when finding repeats


@dataclass(frozen=True)
class ExpectationConfig:
    type: str
    kwargs: dict
    meta: dict


@dataclass(frozen=True)
class ExpectationResult:
    """The parts of a GX ExpectationValidationResult that `_findings_of` reads."""

    expectation_config: ExpectationConfig
    success: bool
    result: dict


class FastSuiteRunner:
    """Runs named suites of `expectations/` over Tables, with `SuiteRunner.check_files`'s contract."""

    def __init__(self, suite_names: Iterable[str], directory: Path | None = None):
        all_suites = load_suites(directory)
        self.suites = {n: all_suites[n] for n in suite_names}
        for name, suite in self.suites.items():
            for expectation in suite.document["expectations"]:
                check_supported(name, expectation)
        self.last_results: dict[str, Any] = {}

    def validate(self, name: str, table: Table, index_columns: list[str], params: dict | None = None):
        results = []
        for e in self.suites[name].document["expectations"]:
            domain = KINDS[e["type"]].domain(e["kwargs"])
            shown = index_columns + [c for c in domain if c not in index_columns]
            failing = [{c: row[c] for c in shown} for row in unexpected_rows(e, table.rows, params or {})]
            results.append(ExpectationResult(
                ExpectationConfig(e["type"], e["kwargs"], e.get("meta", {})), not failing,
                {"unexpected_index_list": failing}))
        self.last_results[name] = results
        return results

    def check_files(self, frames: dict[str, Table], checks: list[FileCheck], params: dict | None = None) -> None:
        for name, suite in self.suites.items():
            table = frames.get(suite.table)
            if table is None or table.empty:
                continue
            index_columns = ROW_ID_COLUMNS + CONTEXT_COLUMNS.get(suite.table, [])
            for item in self.validate(name, table, index_columns, params):
                if not item.success:
                    for key, f in _findings_of(item, name, checks):
                        checks[key].findings.append(f)


class FastContext:
    """Stands where a GX context would: tells the history rules to use the fast evaluator too."""

    def __init__(self, directory: Path | None = None):
        self.directory = directory


class FastFileGate(FastSuiteRunner, FileGate):
    """FileGate's `check` (frames, parameters) with this evaluator's `check_files` instead of GX's."""

    def __init__(self, reference: Reference | None = None, directory: Path | None = None):
        FastSuiteRunner.__init__(self, FILE_SUITES, directory)
        self.context = FastContext(directory)
        self.reference = reference or load_reference()


def runner_for(context, suite_names: Iterable[str], source_name: str):
    """The fast evaluator for a FastContext, else a GX SuiteRunner in that context (a new one if None)."""
    if isinstance(context, FastContext):
        return FastSuiteRunner(suite_names, context.directory)
    return SuiteRunner(context if context is not None else new_context(), suite_names, source_name)
