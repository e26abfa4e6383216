"""Digest of every mart of a published file: row count and an md5 of all rows (sorted, as text).

    python benchmarks/mart_digest.py warehouse/khuyencong.duckdb [--exclude table.column ...]

Used to show that a change leaves the marts byte-for-byte the same (figures in the issue notes).
"""

from __future__ import annotations

import sys

import duckdb

MARTS = ["dim_indicator", "dim_unit", "fct_funding", "fct_outcomes", "fct_projects", "funding_by_current_unit",
         "outcomes_by_current_unit", "region_funding", "region_outcomes", "submission_status"]


def digests(path: str, exclude: set[str] = frozenset()) -> dict[str, tuple[int, str]]:
    con = duckdb.connect(path, read_only=True)
    try:
        out = {}
        for table in MARTS:
            columns = [r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'marts' AND table_name = ?"
                " ORDER BY ordinal_position", [table]).fetchall() if f"{table}.{r[0]}" not in exclude]
            select = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(
                f"SELECT count(*), md5(coalesce(string_agg(r, '|' ORDER BY r), '')) FROM"
                f" (SELECT ({select})::VARCHAR AS r FROM marts.\"{table}\")").fetchone()
        return out
    finally:
        con.close()


if __name__ == "__main__":
    args = sys.argv[1:]
    excluded = set(args[args.index("--exclude") + 1:]) if "--exclude" in args else set()
    for table, (rows, digest) in digests(args[0], excluded).items():
        print(f"{table:26} {rows:6} {digest}")
