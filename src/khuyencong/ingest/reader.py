"""Read one submission file into a typed Submission, with the structural and text rules.

The reader owns F01 (container, `ingest.container`), F02 (sheets here, columns in
`ingest.tables`), F03, F04 and W05 (`ingest.metadata`) and the number-format part of F05
(`ingest.rows`; the money unit in `ingest.metadata`). Rules on parsed values (F05
negative/fractional, F06, F07, W01, W04) are Great Expectations expectations run by
`khuyencong.rules.gate` over the rows produced here.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from pathlib import Path

from khuyencong.config import ReadLimits
from khuyencong.findings import could_not_process
from khuyencong.ingest.container import RawSheet, open_container, sheet_code
from khuyencong.ingest.metadata import MetadataParser
from khuyencong.ingest.refused import Refused
from khuyencong.ingest.rows import RowParser
from khuyencong.ingest.tables import (
    FUNDING_COLUMNS,
    INFO_COLUMNS,
    OUTCOME_COLUMNS,
    PROJECT_COLUMNS,
    REQUIRED_SHEETS,
    FindingLog,
    find_table,
)
from khuyencong.model import FileCheck, Submission
from khuyencong.reference import Reference, load_reference

log = logging.getLogger(__name__)

def arrival_date_from_path(path: Path) -> date | None:
    """`raw/2024-07-10/x.xlsx` arrived on 2024-07-10; None when the folder is not a date."""
    try:
        return date.fromisoformat(path.parent.name)
    except ValueError:
        return None


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_file(
    path: Path,
    *,
    arrival_date: date | None = None,
    limits: ReadLimits | None = None,
    reference: Reference | None = None,
    default_arrival_date: date | None = None,
) -> FileCheck:
    """Read and check one file with the reader's rules (no Great Expectations).

    The arrival date is `arrival_date`, else the `raw/<YYYY-MM-DD>/` folder, else `default_arrival_date`.
    """
    path = Path(path)
    arrival = arrival_date or arrival_date_from_path(path) or default_arrival_date
    sha = file_sha256(path)
    reference = reference or load_reference()  # outside the guard: a broken catalogue is no file's fault
    try:
        sheets = open_container(path, limits)
        parser = _Parser(sheets, arrival, reference)
        submission = parser.parse()
    except Refused as refused:
        return FileCheck(path, sha, arrival, None, [refused.finding])
    except Exception as exc:  # noqa: BLE001 - whatever this file's bytes provoke, it is this file's F01
        log.exception("reading %s failed; refused with F01", path.name)  # a bug stays visible in the logs
        return FileCheck(path, sha, arrival, None, [could_not_process("read", exc)])
    return FileCheck(path, sha, arrival, submission, parser.findings)


# ---------------------------------------------------------------- parsing


class _Parser:
    """The sheet level: required sheets (F02), then the metadata, table and row parsers in turn."""

    def __init__(self, sheets: list[RawSheet], arrival: date | None, ref: Reference):
        self.sheets: dict[str, RawSheet] = {}
        for s in sheets:
            self.sheets.setdefault(sheet_code(s), s)
        self.arrival = arrival
        self.ref = ref
        self.log = FindingLog()

    @property
    def findings(self):
        return self.log.findings

    def parse(self) -> Submission | None:
        missing = [s for s in REQUIRED_SHEETS if s not in self.sheets]
        for code in missing:
            self.log.add(
                "F02",
                f"Thiếu sheet bắt buộc '{code}'.",
                f"Required sheet '{code}' is missing.",
                sheet=code, expected=code,
            )
        info_table = find_table(self.sheets.get("thong_tin"), "thong_tin", INFO_COLUMNS, self.log)
        info = MetadataParser(info_table, self.arrival, self.ref, self.log) if info_table else None
        meta = info.parse() if info else None
        tables = {code: find_table(self.sheets.get(code), code, cols, self.log) for code, cols in (
            ("kinh_phi", FUNDING_COLUMNS), ("ket_qua", OUTCOME_COLUMNS), ("de_an", PROJECT_COLUMNS),
        )}
        if meta is None or self.log.has("F01", "F02"):
            return None
        letters = {t.sheet.name: t.column_letters() for t in (*tables.values(), info_table) if t is not None}
        rows = RowParser(self.ref, self.log, info.factor)
        return Submission(
            column_letters=letters,
            info_sheet=self.sheets["thong_tin"].name,
            field_rows=info.field_rows,
            metadata=meta,
            funding=rows.funding(tables["kinh_phi"]),
            outcomes=rows.outcomes(tables["ket_qua"]),
            projects=rows.projects(tables["de_an"]),
        )
