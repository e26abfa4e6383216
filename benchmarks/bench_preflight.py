"""The pre-flight sheet scan is linear: time per MB stays flat as hostile sheet XML doubles in size.

    make bench-preflight        (or: python benchmarks/bench_preflight.py)

Three shapes: the quadratic-formula attack (one `<f>`, then cells that never close), a
tag name without `>`, and an ordinary sheet of many cells. Also the scan's share of
reading the shipped sample (`raw/`), against the whole reader.
"""

from __future__ import annotations

import sys
import time
import zipfile
from pathlib import Path

from khuyencong.config import ReadLimits
from khuyencong.ingest.preflight import scan_workbook

LIMITS = ReadLimits()
WORKBOOK = {
    "xl/workbook.xml": b'<workbook xmlns:r="r"><sheets><sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": b'<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/>'
                                  b"</Relationships>",
}
SHAPES = {
    "unclosed cells after a formula": lambda n: b'<row r="1"><c r="A1"><f>1</f></c>' + b'<c r="A1">' * n + b"</row>",
    "tag name without '>'": lambda n: b"<" + b"a" * (10 * n) + b'<row r="1"/>',
    "ordinary cells": lambda n: b"".join(
        b'<row r="%d">' % r + b"".join(b'<c r="%s%d" t="n"><v>%d</v></c>' % (c, r, r) for c in (b"A", b"B", b"C", b"D"))
        + b"</row>" for r in range(1, min(n // 4, LIMITS.max_rows_per_sheet) + 1)),
}


def scan_seconds(xml: bytes) -> float:
    entries = {**WORKBOOK, "xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + xml + b"</sheetData></worksheet>"}
    t = time.perf_counter()
    scan_workbook(entries, LIMITS)
    return time.perf_counter() - t


def main(raw: Path) -> None:
    for name, build in SHAPES.items():
        print(name)
        for n in (10_000, 20_000, 40_000, 80_000, 160_000):
            xml = build(n)
            seconds = scan_seconds(xml)
            print(f"  {len(xml) / 1e6:7.2f} MB  {seconds * 1000:8.1f} ms  {seconds / (len(xml) / 1e6) * 1000:7.1f} ms/MB")
    workbooks = sorted(raw.glob("*/*.xlsx"))
    if workbooks:
        from khuyencong.ingest.reader import read_file

        scan = read = 0.0
        for path in workbooks:
            with zipfile.ZipFile(path) as z:
                entries = {i.filename: z.read(i) for i in z.infolist()}
            t = time.perf_counter()
            scan_workbook(entries, LIMITS)
            scan += time.perf_counter() - t
            t = time.perf_counter()
            read_file(path)
            read += time.perf_counter() - t
        print(f"sample: {len(workbooks)} workbooks, pre-flight scan {scan:.2f} s of {read:.2f} s reading "
              f"({scan / read:.0%})")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("raw"))
