"""Paths and limits, from the environment with file-relative defaults.

Nothing here imports anything heavy: the CLI start-up path goes through it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _path(var: str, default: Path) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser().resolve() if value else default


def raw_dir() -> Path:
    return _path("KC_RAW_DIR", Path.cwd() / "raw")


def warehouse_dir() -> Path:
    return _path("KC_WAREHOUSE_DIR", Path.cwd() / "warehouse")


def dbt_project_dir() -> Path:
    return _path("KC_DBT_PROJECT_DIR", PROJECT_ROOT / "dbt_project")


def seeds_dir() -> Path:
    return dbt_project_dir() / "seeds"


def expectations_dir() -> Path:
    return _path("KC_EXPECTATIONS_DIR", PROJECT_ROOT / "expectations")


@dataclass(frozen=True)
class ReadLimits:
    """Caps that keep a hostile file from exhausting memory or time (rule F01)."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_uncompressed_bytes: int = 50 * 1024 * 1024
    max_entries: int = 20
    max_rows_per_sheet: int = 10_000
    max_columns_per_sheet: int = 64  # column BL; the widest sheet of the template has 8
    max_csv_field_chars: int = 10_000

    @classmethod
    def from_env(cls) -> ReadLimits:
        def get(name: str, default: int) -> int:
            return int(os.environ.get(name, default))

        d = cls()
        return cls(
            max_file_bytes=get("KC_MAX_FILE_BYTES", d.max_file_bytes),
            max_uncompressed_bytes=get("KC_MAX_UNCOMPRESSED_BYTES", d.max_uncompressed_bytes),
            max_entries=get("KC_MAX_ARCHIVE_ENTRIES", d.max_entries),
            max_rows_per_sheet=get("KC_MAX_ROWS_PER_SHEET", d.max_rows_per_sheet),
            max_columns_per_sheet=get("KC_MAX_COLUMNS_PER_SHEET", d.max_columns_per_sheet),
            max_csv_field_chars=get("KC_MAX_CSV_FIELD_CHARS", d.max_csv_field_chars),
        )
