"""Wall time of the PostgreSQL target on an existing warehouse (run `make run` first).

    .venv/bin/python benchmarks/bench_postgres.py                    # warehouse/ of `make run`
    .venv/bin/python benchmarks/bench_postgres.py --warehouse /tmp/wh --repeat 5

Starts a throwaway PostgreSQL on loopback (tests/pg_fixtures.py), then times
publish_to_postgres of the published file (first publication, then republications, which
also swap out the old schema), copy_raw_schema of the build database, and
`dbt build --target postgres` over that raw. Prints one line per measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "tests"))
sys.path.insert(0, str(REPO_ROOT / "src"))

from dbt_fixtures import run_dbt
from pg_fixtures import PgServer

from khuyencong.warehouse.postgres import copy_raw_schema, publish_to_postgres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=REPO_ROOT / "warehouse")
    parser.add_argument("--repeat", type=int, default=3, help="republications to time")
    parser.add_argument("--skip-dbt", action="store_true")
    args = parser.parse_args()
    published = args.warehouse / "khuyencong.duckdb"
    build = args.warehouse / "build.duckdb"
    if not published.exists() or not build.exists():
        sys.exit(f"no warehouse in {args.warehouse}: run `make run` first")
    reason = PgServer.unavailable_reason()
    if reason:
        sys.exit(reason)
    server = PgServer.start()
    try:
        url = server.create_database("bench")
        started = time.perf_counter()
        result = publish_to_postgres(published, url, "kc_bench_reader")
        rows = sum(result["tables"].values())
        print(f"publish_to_postgres, first: {time.perf_counter() - started:.2f} s "
              f"({len(result['tables'])} tables, {rows} rows)")
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            publish_to_postgres(published, url, "kc_bench_reader")
            times.append(time.perf_counter() - started)
        print(f"publish_to_postgres, republish: median {statistics.median(times):.2f} s of {len(times)}")
        dbt_url = server.create_database("bench_dbt")
        started = time.perf_counter()
        copied = copy_raw_schema(build, dbt_url)
        print(f"copy_raw_schema: {time.perf_counter() - started:.2f} s ({sum(copied.values())} rows)")
        if not args.skip_dbt:
            parts = urlsplit(dbt_url)
            os.environ.update({"KC_PG_HOST": parts.hostname, "KC_PG_PORT": str(parts.port),
                               "KC_PG_USER": parts.username, "KC_PG_PASSWORD": "",
                               "KC_PG_DBNAME": parts.path.lstrip("/")})
            with tempfile.TemporaryDirectory() as target:
                started = time.perf_counter()
                run_dbt(["build", "--target", "postgres"], target_dir=target)
                print(f"dbt build --target postgres: {time.perf_counter() - started:.2f} s")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
