"""DDL of the build database's `raw` schema: the contract between the loader and dbt sources.

One row per distinct file content in `raw.submissions` (its `submission_id` is the
first 16 hex digits of the file's sha256); byte-identical copies that arrive later
under another path go to `raw.duplicate_files`. Rows and findings reference
`submission_id`. Rejected submissions have findings but no rows.
Money columns are DECIMAL(20, 6) million VND, so sums reconcile exactly.
"""

from __future__ import annotations

# The value columns' types, and what they can hold: the gate refuses (F05) any figure beyond
# these before it reaches the load (`value_range_parameters`, used by the expectation suites).
DECIMAL_PRECISION, DECIMAL_SCALE = 20, 6  # million VND to the đồng
MONEY = f"DECIMAL({DECIMAL_PRECISION}, {DECIMAL_SCALE})"
QUANTITY = MONEY
COUNT = "INTEGER"
DECIMAL_LIMIT = 10 ** (DECIMAL_PRECISION - DECIMAL_SCALE)  # |value| must stay below it
COUNT_MAX = 2**31 - 1  # DuckDB INTEGER


def value_range_parameters() -> dict[str, float | int]:
    """GX expectation parameters (`{"$PARAMETER": name}` in expectations/*.json) for the column ranges."""
    return {
        "decimal_limit": float(DECIMAL_LIMIT),  # exact in a float; a value that rounds to it is refused
        "decimal_floor": -float(DECIMAL_LIMIT),
        "decimal_places": DECIMAL_SCALE,
        "count_max": COUNT_MAX,
    }

RAW_TABLES: dict[str, str] = {
    "submissions": """
        submission_id      VARCHAR PRIMARY KEY,
        sha256             VARCHAR NOT NULL UNIQUE,
        path               VARCHAR NOT NULL,      -- relative to raw/, e.g. 2024-07-10/Bao cao.xlsx
        file_name          VARCHAR NOT NULL,
        file_size          BIGINT NOT NULL,
        arrival_date       DATE,                  -- from the raw/<YYYY-MM-DD>/ folder; NULL: not a date (refused, F04)
        unit_id            VARCHAR,               -- NULL when the file was refused before its unit was known
        unit_name_in_file  VARCHAR,
        year               INTEGER,
        period             VARCHAR,
        period_months      INTEGER,
        report_date        DATE,                  -- ngay_lap
        money_unit         VARCHAR,
        status             VARCHAR NOT NULL,      -- accepted | accepted_with_warnings | rejected
        error_count        INTEGER NOT NULL,
        warning_count      INTEGER NOT NULL,
        funding_row_count  INTEGER NOT NULL,
        outcome_row_count  INTEGER NOT NULL,
        project_row_count  INTEGER NOT NULL,
        preparer_name      VARCHAR,               -- personal data: never leaves the raw schema
        preparer_phone     VARCHAR,
        preparer_email     VARCHAR,
        loaded_at          TIMESTAMP NOT NULL
    """,
    "duplicate_files": """
        path               VARCHAR PRIMARY KEY,
        sha256             VARCHAR NOT NULL,
        submission_id      VARCHAR NOT NULL,      -- the submission with the same bytes
        arrival_date       DATE NOT NULL,
        loaded_at          TIMESTAMP NOT NULL
    """,
    "funding_rows": f"""
        submission_id       VARCHAR NOT NULL,
        sheet               VARCHAR NOT NULL,
        source_row          INTEGER NOT NULL,
        funding_source      VARCHAR NOT NULL,
        plan_initial_mvnd   {MONEY},
        plan_adjusted_mvnd  {MONEY},
        allocated_mvnd      {MONEY},
        executed_mvnd       {MONEY},
        project_count       {COUNT}
    """,
    "outcome_rows": f"""
        submission_id   VARCHAR NOT NULL,
        sheet           VARCHAR NOT NULL,
        source_row      INTEGER NOT NULL,
        indicator_code  VARCHAR NOT NULL,
        unit_label      VARCHAR,
        target_value    {QUANTITY},
        actual_value    {QUANTITY}
    """,
    "project_rows": f"""
        submission_id   VARCHAR NOT NULL,
        sheet           VARCHAR NOT NULL,
        source_row      INTEGER NOT NULL,
        project_code    VARCHAR NOT NULL,
        project_name    VARCHAR,
        funding_source  VARCHAR NOT NULL,
        activity        VARCHAR,
        approved_mvnd   {MONEY},
        executed_mvnd   {MONEY},
        status          VARCHAR,
        beneficiaries   {COUNT}
    """,
    "findings": """
        submission_id  VARCHAR NOT NULL,
        rule           VARCHAR NOT NULL,
        severity       VARCHAR NOT NULL,
        sheet          VARCHAR,
        source_row     INTEGER,
        column_name    VARCHAR,
        value          VARCHAR,
        expected       VARCHAR,
        message_vi     VARCHAR NOT NULL,
        message_en     VARCHAR NOT NULL
    """,
}


def create_raw_schema_sql() -> list[str]:
    """Idempotent statements that create the raw schema and its tables."""
    statements = ["CREATE SCHEMA IF NOT EXISTS raw"]
    for table, columns in RAW_TABLES.items():
        statements.append(f"CREATE TABLE IF NOT EXISTS raw.{table} ({columns})")
    # build databases made before the loader stopped writing it (nothing read it; dbt computes deadlines)
    statements.append("ALTER TABLE raw.submissions DROP COLUMN IF EXISTS deadline")
    # and before a file in a folder that is not a date could be recorded (refused, F04) without an arrival date
    statements.append("ALTER TABLE raw.submissions ALTER COLUMN arrival_date DROP NOT NULL")
    return statements
