"""`make run`'s closing hint: printed by `python -m khuyencong.query_hint WAREHOUSE`, never on import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from khuyencong import query_hint


def test_importing_prints_nothing_and_main_names_the_warehouse(capsys):
    out = subprocess.run([sys.executable, "-c", "import khuyencong.query_hint"], check=True,
                         capture_output=True, text=True).stdout
    assert out == ""
    query_hint.main(["wh"])
    printed = capsys.readouterr().out
    assert printed == query_hint.hint(Path("wh")) + "\n"
    assert "'wh/khuyencong.duckdb'" in printed and "wh/reports/submissions/" in printed
