"""The committed hostile corpus (tests/hostile/): each file is rejected with its expected rule, at its place.

`expected.csv` names, per file, the rule and (where the attack has a place) the sheet,
row and column of the finding. The files are what `make_corpus.py` generates: a test
regenerates them and compares bytes, so the corpus and its generator cannot drift.
"""

from __future__ import annotations

import csv
import importlib.util
from datetime import date
from pathlib import Path

import pytest

from khuyencong.config import ReadLimits
from khuyencong.rules.checking import check_files

pytestmark = pytest.mark.xdist_group("hostile_corpus")  # module fixtures: built once, on one worker

CORPUS = Path(__file__).resolve().parent / "hostile"
EXPECTED = list(csv.DictReader((CORPUS / "expected.csv").open(encoding="utf-8")))
ARRIVAL = date(2024, 7, 10)  # the corpus reports are 6T 2024, due 15 July


@pytest.fixture(scope="module")
def verdicts(gate) -> dict[str, object]:
    """The whole corpus through reader and gate in one call, as `kc validate` checks a batch."""
    paths = [CORPUS / row["file"] for row in EXPECTED]
    return {c.path.name: c for c in check_files(paths, arrival_date=ARRIVAL, gate=gate)}


@pytest.mark.parametrize("case", EXPECTED, ids=[row["file"] for row in EXPECTED])
def test_hostile_file_is_rejected_with_its_rule_at_its_place(verdicts, case):
    check = verdicts[case["file"]]
    assert check.status == "rejected"
    assert check.submission is None or case["rule"] != "F01"
    matching = [f for f in check.findings if f.rule == case["rule"]]
    assert matching, [(f.rule, f.message_en) for f in check.findings]
    where = {k: case[k] for k in ("sheet", "row", "column") if case[k]}
    assert any(all(str(getattr(f, k)) == v for k, v in where.items()) for f in matching), (
        where, [(f.sheet, f.row, f.column, f.message_en) for f in matching])
    for f in matching:
        assert f.message_vi and f.message_en and f.severity == "fatal"
        # no finding quotes the hostile bytes at length or with control characters
        assert all(ch.isprintable() for ch in f.message_en + f.message_vi + (f.value or "")[:1000])
        assert len(f.message_en) < 600


def test_position_findings_name_the_cap(verdicts):
    limits = ReadLimits.from_env()
    cap = f"A1:BL{limits.max_rows_per_sheet}"
    f = next(f for f in verdicts["cell_wide_under_row_cap.xlsx"].findings if f.rule == "F01")
    assert f.value == "XFD9000" and f.expected == cap and cap in f.message_en and "XFD9000" in f.message_vi


def test_no_hostile_file_is_an_unexpected_failure(verdicts):
    """Every refusal is a specific rule, not the reader's last-resort 'could not be processed'."""
    for name, check in verdicts.items():
        assert not any("could not be processed" in f.message_en for f in check.findings), name


def test_corpus_is_what_the_generator_writes(tmp_path):
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    generated = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".xlsx", ".zip", ".csv"))
    assert generated == committed
    for name in generated:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name
        assert (CORPUS / name).stat().st_size < 64 * 1024, name
