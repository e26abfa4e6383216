"""Printed after `make run`: how to query the published marts (`python -m khuyencong.query_hint WAREHOUSE`)."""

from __future__ import annotations

import sys
from pathlib import Path


def hint(warehouse: Path) -> str:
    return f"""
Query the marts (read-only, while the next run publishes):
  .venv/bin/python -c "import duckdb; c = duckdb.connect('{warehouse}/khuyencong.duckdb', read_only=True); \\
print(c.sql(\\"SELECT region_code, executed_mvnd, execution_rate_pct, executed_share_of_national_pct \\
FROM marts.region_funding WHERE year = 2024 AND period = 'CN' AND funding_source = 'KCQG' ORDER BY 1\\"))"
Parquet copies: {warehouse}/parquet/marts/*.parquet    Error reports: {warehouse}/reports/submissions/
"""


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    print(hint(Path(args[0] if args else "warehouse")))


if __name__ == "__main__":
    main()
