"""Fuzzing: sample files from raw/, mutated, always get a verdict (exit 0 or 1), never a traceback.

Mutations: byte flips (of the file, or of one entry's decompressed bytes, re-zipped),
truncation, zip entries removed or duplicated, and cells replaced by extreme or hostile
values. Most examples run in-process through `check_files` (reader + gate + history,
as `kc validate`); a few run the real CLI in a subprocess under an address-space limit
and a timeout, so an abort, a runaway allocation or a hang fails the test.

Profiles (KC_FUZZ_PROFILE): `ci` (default: derandomized, 100 examples, for `make test`)
and `fuzz` (random, KC_FUZZ_EXAMPLES examples, default 2000, for `make fuzz`); the CLI
test runs a thirtieth of them (at least 3).
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import warnings
import zipfile
import zlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from khuyencong.rules.checking import check_files

ROOT = Path(__file__).resolve().parents[1]
CLI_MEMORY_BYTES = 2 * 1024**3  # the CLI checks a sample file in ~1.5 GB of address space (GX, pandas, DuckDB)
CLI_TIMEOUT_SECONDS = 600  # a hang, not a slow start on a loaded machine
VERDICTS = {"accepted", "accepted_with_warnings", "rejected"}

# Applied to these tests only (not loaded as the default profile, which would change other property tests).
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
PROFILES = {
    "ci": settings(max_examples=100, derandomize=True, deadline=None, database=None, suppress_health_check=_SLOW_OK),
    "fuzz": settings(max_examples=int(os.environ.get("KC_FUZZ_EXAMPLES", "2000")), deadline=None,
                     suppress_health_check=_SLOW_OK),
}
FUZZ = PROFILES[os.environ.get("KC_FUZZ_PROFILE", "ci")]
CLI_EXAMPLES = max(3, FUZZ.max_examples // 30)


def _seeds() -> list[tuple[str, str, bytes]]:
    """Two workbooks and two zips of CSVs from the shipped sample: (arrival folder, name, bytes)."""
    files = sorted((ROOT / "raw").glob("*/*"))
    chosen = [p for p in files if p.suffix == ".xlsx"][:2] + [p for p in files if p.suffix == ".zip"][:2]
    return [(p.parent.name, p.name, p.read_bytes()) for p in chosen]


SEEDS = _seeds()

HOSTILE_VALUES = [
    "1e20", "1E+300", "1e-400", "inf", "-inf", "Infinity", "NaN", "nan", "-0", "-1", "0,0000001",
    "99.999.999.999.999,9999999", "100.000.000.000.000", "2147483648", "9" * 400, "1" + ".000" * 200,
    "=1+1", "@SUM(A1)", "", " ", "-", "<", "&", "1.5", "12.34", "١٢٣", "１２３", "\u202e123", "😀",
    "x" * 20_000, "01/01/1900", "31/02/2024", "CN", "KCQG", "0x10", "1_000", "+5",
]


def _entries(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names are a mutation
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                z.writestr(name, data)
    return out.getvalue()


def _flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for pos, mask in flips:
        if buf:
            buf[pos % len(buf)] ^= mask
    return bytes(buf)


_XLSX_VALUE = re.compile(rb"<(v|t)>([^<]*)</\1>")


def _replace_cell(name: str, data: bytes, index: int, value: str) -> bytes:
    """The index-th cell value of a sheet part (xlsx `<v>`/`<t>`) or field of a CSV, replaced by `value`."""
    if name.endswith(".xml"):
        matches = list(_XLSX_VALUE.finditer(data))
        if not matches:
            return data
        m = matches[index % len(matches)]
        return data[:m.start(2)] + html.escape(value).encode() + data[m.end(2):]
    text = data.decode("utf-8-sig", errors="replace")
    delimiter = ";" if text.count(";") > text.count(",") else ","
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    cells = [(i, j) for i, row in enumerate(rows) for j in range(len(row))]
    if not cells:
        return data
    i, j = cells[index % len(cells)]
    rows[i][j] = value
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def mutate(data: bytes, mutation: tuple) -> bytes:
    kind, *args = mutation
    if kind == "flip":
        return _flip(data, args[0])
    if kind == "truncate":
        return data[: args[0] % (len(data) + 1)]
    try:
        entries = _entries(data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, NotImplementedError,
            RuntimeError, zlib.error):
        return data  # an earlier step broke the zip: nothing left to edit entry by entry
    if not entries:
        return data
    k = args[0] % len(entries)
    if kind == "drop":
        return _zip(entries[:k] + entries[k + 1:])
    if kind == "duplicate":
        return _zip(entries + [entries[k]])
    if kind == "flip_entry":
        return _zip([(n, _flip(d, args[1]) if i == k else d) for i, (n, d) in enumerate(entries)])
    if kind == "cell":
        sheets = [i for i, (n, _) in enumerate(entries) if n.startswith("xl/worksheets/") or n.endswith(".csv")]
        target = sheets[k % len(sheets)] if sheets else k
        return _zip([(n, _replace_cell(n, d, args[1], args[2]) if i == target else d)
                     for i, (n, d) in enumerate(entries)])
    raise AssertionError(kind)


flips = st.lists(st.tuples(st.integers(0, 2**20), st.integers(1, 255)), min_size=1, max_size=8)
mutations = st.one_of(
    st.tuples(st.just("flip"), flips),
    st.tuples(st.just("truncate"), st.integers(0, 2**20)),
    st.tuples(st.just("drop"), st.integers(0, 50)),
    st.tuples(st.just("duplicate"), st.integers(0, 50)),
    st.tuples(st.just("flip_entry"), st.integers(0, 50), flips),
    st.tuples(st.just("cell"), st.integers(0, 50), st.integers(0, 500), st.sampled_from(HOSTILE_VALUES)),
)
# seeds by index: a failing example then prints as a few numbers, not as the file's bytes
mutated_files = st.tuples(st.sampled_from(range(len(SEEDS))), st.lists(mutations, min_size=1, max_size=3))


def write_mutated(folder: Path, seed: int, steps: list[tuple]) -> Path:
    arrival, name, data = SEEDS[seed]
    for step in steps:
        data = mutate(data, step)
    path = folder / arrival / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@FUZZ
@given(mutated_files)
def test_a_mutated_sample_file_gets_a_verdict(gate, case):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_mutated(Path(tmp), *case)
        [check] = check_files([path], gate=gate)
    assert check.status in VERDICTS
    # a mutation is a file problem with a rule of its own, never the reader's last resort
    assert not [f for f in check.findings if "could not be processed" in f.message_en], check.findings


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CLI_MEMORY_BYTES, CLI_MEMORY_BYTES))


@settings(FUZZ, max_examples=CLI_EXAMPLES)
@given(mutated_files)
@example((0, [("cell", 1, 7, "1e20")]))  # through the gate: a real GX run in the subprocess
@example((2, [("cell", 2, 9, "9" * 400)]))
def test_the_cli_answers_a_mutated_file_within_memory_and_time(case):
    with tempfile.TemporaryDirectory() as tmp:
        path = write_mutated(Path(tmp), *case)
        done = subprocess.run(
            [sys.executable, "-m", "khuyencong.cli", "validate", "--json", "--arrival-date",
             date(2024, 7, 10).isoformat(), str(path)],
            capture_output=True, text=True, timeout=CLI_TIMEOUT_SECONDS, preexec_fn=_limit_memory,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
    assert done.returncode in (0, 1), (done.returncode, done.stderr[-3000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    [file] = json.loads(done.stdout)["files"]
    assert file["status"] in VERDICTS
    assert (file["status"] == "rejected") == (done.returncode == 1)


@pytest.mark.parametrize("mutation", [
    ("flip", [(100, 0xFF)]), ("truncate", 200), ("drop", 0), ("duplicate", 1),
    ("flip_entry", 3, [(10, 0x20)]), ("cell", 1, 7, "1e20"),
])
def test_each_mutation_changes_the_file(mutation):
    """The fuzzer's mutations do what they say, so the property tests test something."""
    for seed in SEEDS:
        assert mutate(seed[2], mutation) != seed[2], (seed[1], mutation)
