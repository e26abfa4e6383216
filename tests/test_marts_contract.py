"""docs/marts-contract.md says what the model YAML says, both ways.

The contract is prose for analysts, kept by hand; the dbt YAML (`models/marts/<mart>.yml`,
read by `mart_docs.read_mart_docs`, the reader publish uses for comments and keys) is what
dbt enforces. This holds the two together: the same marts, for each the same columns in the
same order with the same types, the same key (the YAML's grain), and every Vietnamese term the
doc gives for a column also in that column's YAML description. `publication` is not a dbt
model: it is held to its declaration in `warehouse/publication.py` the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

import pytest

from khuyencong import config
from khuyencong.warehouse import publication
from khuyencong.warehouse.mart_docs import MartDoc, read_mart_docs

CONTRACT = config.PROJECT_ROOT / "docs" / "marts-contract.md"
COLUMN_HEADER = ["column", "type", "meaning"]
GLANCE_HEADER = ["table", "grain (one row per)", "key"]
# the doc names types as DuckDB shows them; the YAML uses names PostgreSQL also knows
# (docs/bi-and-postgres.md: `double precision`, not `double`)
TYPE_ALIASES = {"double precision": "double"}


@dataclass(frozen=True)
class DocColumn:
    name: str
    type: str
    meaning: str


@dataclass
class Contract:
    glance: dict[str, tuple[tuple[str, ...], str]]  # table -> (key columns, grain text)
    columns: dict[str, list[DocColumn]]  # table -> its column table, in the doc's order


def _cells(line: str) -> list[str] | None:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return None
    return [cell.strip() for cell in line[1:-1].split("|")]


def _code(cell: str) -> str:
    if not re.fullmatch(r"`[^`]+`", cell):
        raise ValueError(f"expected one `name` in a cell, found {cell!r}")
    return cell[1:-1]


def parse_contract(text: str) -> Contract:
    """The "Tables at a glance" rows and every `| column | type | meaning |` table, by table name.

    A column table belongs to the `## <table>` section it is in, or to the table named on a
    line of its own just above it (`` `funding_by_current_unit`: ``) when a section holds two.
    """
    glance: dict[str, tuple[tuple[str, ...], str]] = {}
    columns: dict[str, list[DocColumn]] = {}
    heading = named = None
    rows: list[DocColumn] | None = None
    in_glance = False
    for number, line in enumerate(text.splitlines(), 1):
        cells = _cells(line)
        if cells is None:
            rows, in_glance = None, False
            if line.startswith("## "):
                heading, named = line[3:].strip(), None
            elif match := re.fullmatch(r"`(\w+)`:", line.strip()):
                named = match.group(1)
            continue
        if set("".join(cells)) <= set("-: "):  # the header's separator row
            continue
        if cells == GLANCE_HEADER:
            in_glance = True
        elif cells == COLUMN_HEADER:
            table = named or heading
            if not table or not re.fullmatch(r"\w+", table):
                raise ValueError(f"line {number}: a column table under {table!r}, not a table name")
            if table in columns:
                raise ValueError(f"line {number}: {table} has two column tables")
            rows = columns[table] = []
        elif in_glance:
            if len(cells) != 3:
                raise ValueError(f"line {number}: {len(cells)} cells in a table-at-a-glance row")
            # a table without a key (one row) says so in words
            key = tuple(k.strip() for k in _code(cells[2]).split(",")) if cells[2].startswith("`") else ()
            glance[_code(cells[0])] = (key, cells[1])
        elif rows is not None:
            if len(cells) != 3:
                raise ValueError(f"line {number}: {len(cells)} cells in a column row")
            rows.append(DocColumn(_code(cells[0]), cells[1], cells[2]))
    return Contract(glance, columns)


def _type(name: str | None) -> str | None:
    if name is None:
        return None
    flat = re.sub(r"\s*([(),])\s*", r"\1", " ".join(name.lower().split()))
    return TYPE_ALIASES.get(flat, flat)


def vietnamese_terms(meaning: str) -> list[str]:
    """The parenthesised terms of a meaning that are Vietnamese: `(kế hoạch đầu năm)`."""
    return [term for term in re.findall(r"\(([^()]*)\)", unicodedata.normalize("NFC", meaning))
            if any(ord(ch) > 127 and unicodedata.category(ch).startswith("L") for ch in term)]


def contract_problems(contract: Contract, docs: dict[str, MartDoc], publication_doc: MartDoc) -> list[str]:
    """Every way the contract and the YAML (plus publication's declaration) disagree, as sentences."""
    problems: list[str] = []
    tables = {**docs, publication_doc.name: publication_doc}
    for where, documented in (("tables at a glance", set(contract.glance)),
                              ("column tables", set(contract.columns))):
        problems += [f"{t}: in the YAML, not in the contract's {where}" for t in sorted(set(tables) - documented)]
        problems += [f"{t}: in the contract's {where}, not in the YAML" for t in sorted(documented - set(tables))]
    for name, doc in sorted(tables.items()):
        if name in contract.glance and contract.glance[name][0] != doc.grain:
            problems.append(f"{name}: the contract's key is {', '.join(contract.glance[name][0])},"
                            f" the YAML's grain is {', '.join(doc.grain) or 'none'}")
        if not doc.description:
            problems.append(f"{name}: no description in the YAML")
        if name not in contract.columns:
            continue
        source = "publication.py" if name == publication_doc.name else "the YAML"
        documented = {c.name: c for c in contract.columns[name]}
        problems += [f"{name}.{c}: in the YAML, not in the contract" for c in doc.column_types if c not in documented]
        problems += [f"{name}.{c}: in the contract, not in the YAML" for c in documented if c not in doc.column_types]
        common = [c for c in documented if c in doc.column_types]
        if common != [c for c in doc.column_types if c in documented]:
            problems.append(f"{name}: the contract lists the columns in another order than the YAML")
        for column in common:
            said = documented[column]
            if _type(said.type.strip("`")) != _type(doc.column_types[column]):
                problems.append(f"{name}.{column}: the contract says {said.type},"
                                f" {source} {doc.column_types[column]}")
            description = doc.columns.get(column)
            if not description:
                problems.append(f"{name}.{column}: no description in {source}")
            if not said.meaning:
                problems.append(f"{name}.{column}: no meaning in the contract")
            for term in vietnamese_terms(said.meaning):
                if description and term.casefold() not in unicodedata.normalize("NFC", description).casefold():
                    problems.append(f"{name}.{column}: the contract's ({term}) is not in the description"
                                    f" in {source}: {description!r}")
    return problems


def _publication_doc() -> MartDoc:
    doc = publication.publication_doc()
    return MartDoc(doc.name, doc.description, doc.columns, doc.grain,
                   {name: type_ for name, type_, _ in publication.COLUMNS})


@pytest.fixture(scope="module")
def contract() -> Contract:
    return parse_contract(CONTRACT.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def docs() -> dict[str, MartDoc]:
    return read_mart_docs()


def test_the_contract_says_what_the_yaml_says(contract, docs):
    assert docs, "no mart described under dbt_project/models/marts"
    problems = contract_problems(contract, docs, _publication_doc())
    assert not problems, "docs/marts-contract.md and the model YAML disagree:\n" + "\n".join(problems)


def test_every_mart_has_its_own_section(docs):
    headings = {line[3:].strip() for line in CONTRACT.read_text(encoding="utf-8").splitlines()
                if line.startswith("## ")}
    sections = {name for heading in headings for name in re.findall(r"\w+", heading)}
    assert sorted(set(docs) - sections) == []


def test_drift_either_way_is_caught(contract, docs):
    """The check reports a column, type, key, table or term that one side has and the other not."""
    text = CONTRACT.read_text(encoding="utf-8")
    drifted = parse_contract(
        text.replace("| `project_count` | integer | number of projects funded (số đề án) |\n", "")
            .replace("| `target_value` | decimal(20,6) | annual target (kế hoạch), in the indicator's unit |",
                     "| `target_value` | double | annual target (mục tiêu), in the indicator's unit |")
            .replace("| `period_months` | integer | months covered (số tháng) |\n"
                     "| `indicator_code` | varchar | indicator (mã chỉ tiêu) |",
                     "| `indicator_code` | varchar | indicator (mã chỉ tiêu) |\n"
                     "| `period_months` | integer | months covered (số tháng) |")
            .replace("| `dim_indicator` | outcome indicator | `indicator_code` |",
                     "| `dim_indicator` | outcome indicator | `indicator_code, name_vi` |"))
    extra = {**docs, "fct_new": MartDoc("fct_new", "New.", {"a": "A."}, ("a",), {"a": "varchar"})}
    extra["dim_unit"] = replace(docs["dim_unit"], column_types={**docs["dim_unit"].column_types, "extra": "varchar"})
    problems = contract_problems(drifted, extra, _publication_doc())
    assert "fct_funding.project_count: in the YAML, not in the contract" in problems
    assert "fct_outcomes.target_value: the contract says double, the YAML decimal(20,6)" in problems
    assert any(p.startswith("fct_outcomes.target_value: the contract's (mục tiêu) is not in") for p in problems)
    assert "fct_outcomes: the contract lists the columns in another order than the YAML" in problems
    assert "dim_indicator: the contract's key is indicator_code, name_vi, the YAML's grain is indicator_code" in problems
    assert "fct_new: in the YAML, not in the contract's tables at a glance" in problems
    assert "dim_unit.extra: in the YAML, not in the contract" in problems
    gone = {k: v for k, v in docs.items() if k != "region_outcomes"}
    assert "region_outcomes: in the contract's column tables, not in the YAML" in contract_problems(
        contract, gone, _publication_doc())


def test_parse_contract_reads_sections_and_named_tables():
    text = "\n".join([
        "## Tables at a glance", "", "| table | grain (one row per) | key |", "|---|---|---|",
        "| `t1` | thing | `a, b` |", "| `t0` | one row | none (one row) |", "",
        "## t1", "", "| column | type | meaning |", "|---|---|---|", "| `a` | varchar | a (mã) |", "",
        "## t2 and t3", "", "`t2`:", "", "| column | type | meaning |", "|---|---|---|",
        "| `x` | integer | x |", "", "`t3`:", "", "| column | type | meaning |", "|---|---|---|",
        "| `y` | decimal(20, 6) | y |", "",
        "| where | what |", "|---|---|", "| `somewhere` | not a column table |",
    ])
    parsed = parse_contract(text)
    assert parsed.glance == {"t1": (("a", "b"), "thing"), "t0": ((), "one row")}
    assert parsed.columns == {"t1": [DocColumn("a", "varchar", "a (mã)")], "t2": [DocColumn("x", "integer", "x")],
                              "t3": [DocColumn("y", "decimal(20, 6)", "y")]}
    assert _type("decimal(20, 6)") == _type("DECIMAL(20,6)") and _type("double precision") == "double"
    assert vietnamese_terms("KH 0 (số tháng), (plan ÷ last − 1), (`CN`)") == ["số tháng"]
    with pytest.raises(ValueError, match="not a table name"):
        parse_contract("## Two tables\n\n| column | type | meaning |\n|---|---|---|\n| `a` | varchar | a |\n")
