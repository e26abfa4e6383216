"""Quoting for the few statements that cannot take parameters (DDL, COMMENT ON)."""

from __future__ import annotations


def ident(name: str) -> str:
    # identifiers come from the catalogue or the dbt YAML, never from a file; still, quote and refuse anything odd
    if not name.replace("_", "").isalnum():
        raise ValueError(f"unexpected SQL identifier {name!r}")
    return f'"{name}"'


def literal(text: str) -> str:
    """A SQL string literal; COMMENT ON accepts no parameters."""
    return "'" + text.replace("'", "''") + "'"
