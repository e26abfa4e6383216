"""What the dbt YAML says about each mart: descriptions and grain (for the published file), types.

The dbt YAML under `models/marts/` is the one place the marts are described; publish turns
it into `COMMENT ON` statements and primary keys so BI tools show the same text. The grain
(primary key) is read from the tests that already guard it: a model-level
`unique_combination` (or dbt_utils' `unique_combination_of_columns`), else a column with a
`unique` test; an explicit `primary_key` constraint, when there is one, wins. The columns'
contract types are read too: `tests/test_marts_contract.py` holds docs/marts-contract.md to them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from khuyencong import config
from khuyencong.warehouse.sql import ident, literal

COMBINATION_TESTS = ("unique_combination", "dbt_utils.unique_combination_of_columns")


@dataclass(frozen=True)
class MartDoc:
    name: str
    description: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # column -> description (described ones only)
    grain: tuple[str, ...] = ()  # primary-key columns; empty when the YAML declares none
    # every column the YAML lists, in its order -> its contract `data_type` (None when it declares none)
    column_types: dict[str, str | None] = field(default_factory=dict)


def default_models_dir() -> Path:
    return config.DBT_PROJECT_DIR / "models" / "marts"


def clean_text(text: object) -> str | None:
    """One line of printable text: YAML folding and stray control characters never reach a BI tool."""
    if text is None:
        return None
    flat = " ".join(str(text).split())
    flat = "".join(ch for ch in flat if unicodedata.category(ch) != "Cc")
    return flat or None


def _tests(node: dict) -> list:
    # dbt 1.8+ says `data_tests`; older YAML says `tests`
    return list(node.get("data_tests") or []) + list(node.get("tests") or [])


def _test_name_and_args(test) -> tuple[str, dict]:
    if isinstance(test, str):
        return test, {}
    if isinstance(test, dict) and len(test) == 1:
        [(name, body)] = test.items()
        body = body or {}
        return name, {**body, **(body.get("arguments") or {})}
    return "", {}


def _primary_key(model: dict) -> tuple[str, ...]:
    for constraint in model.get("constraints") or []:
        if constraint.get("type") == "primary_key" and constraint.get("columns"):
            return tuple(constraint["columns"])
    for column in model.get("columns") or []:
        if any(c.get("type") == "primary_key" for c in column.get("constraints") or []):
            return (column["name"],)
    for test in _tests(model):
        name, args = _test_name_and_args(test)
        if name in COMBINATION_TESTS and args.get("combination_of_columns"):
            return tuple(args["combination_of_columns"])
    for column in model.get("columns") or []:
        if any(_test_name_and_args(t)[0] == "unique" for t in _tests(column)):
            return (column["name"],)
    return ()


def read_mart_docs(models_dir: Path | None = None) -> dict[str, MartDoc]:
    """Every model described in the `*.yml` files under `models_dir` (the marts folder), by name."""
    folder = models_dir or default_models_dir()
    if not folder.is_dir():  # a wrong KC_DBT_PROJECT_DIR must not publish undocumented marts quietly
        raise FileNotFoundError(f"dbt models folder not found: {folder}")
    docs: dict[str, MartDoc] = {}
    for path in sorted([*folder.glob("**/*.yml"), *folder.glob("**/*.yaml")]):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in content.get("models") or []:
            name = model["name"]
            if name in docs:
                raise ValueError(f"model {name!r} is described twice under {folder}")
            listed = model.get("columns") or []
            columns = {c["name"]: clean_text(c.get("description")) for c in listed}
            docs[name] = MartDoc(
                name=name,
                description=clean_text(model.get("description")),
                columns={k: v for k, v in columns.items() if v},
                grain=_primary_key(model),
                column_types={c["name"]: clean_text(c.get("data_type")) for c in listed},
            )
    return docs


def document_table(con, schema: str, table: str, doc: MartDoc | None) -> None:
    """Declare `doc`'s grain as the primary key of `schema.table` and attach its descriptions.

    The primary key is added after the rows are in: DuckDB checks the grain (unique, no NULL)
    once, and a mart that breaks its own grain fails the publication instead of reaching BI.
    """
    if doc is None:
        return
    target = f"{ident(schema)}.{ident(table)}"
    present = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()]
    missing = [c for c in doc.grain if c not in present]
    if missing:
        raise ValueError(f"{table}: grain column(s) {missing} declared in the dbt YAML are not in the table")
    if doc.grain:
        con.execute(f"ALTER TABLE {target} ADD PRIMARY KEY ({', '.join(ident(c) for c in doc.grain)})")
    if doc.description:
        con.execute(f"COMMENT ON TABLE {target} IS {literal(doc.description)}")
    for column in present:
        if doc.columns.get(column):
            con.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {literal(doc.columns[column])}")
