"""A nightly `dbt build` follows what changed (docs/architecture.md, "What a run rebuilds").

- new data only: `build_marts` builds what depends on `raw` and its tests (no seeds, no reference
  views, no unit tests), and the marts equal those of a full build of the same landing zone;
- an edited project (here a seed) or a new build database: the whole project is built again,
  and so is a full build that failed or was killed half-way, even if the project is put back.
"""

from __future__ import annotations

import shutil

import duckdb
import pytest
from builders import valid_report

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse import build_state
from khuyencong.warehouse.lock import connect_writer

MARTS = ["dim_indicator", "dim_unit", "fct_funding", "fct_outcomes", "fct_projects", "funding_by_current_unit",
         "outcomes_by_current_unit", "region_funding", "region_outcomes", "submission_status"]


def marts(build_db) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(build_db), read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM marts."{t}" ORDER BY ALL').fetchall() for t in MARTS}
    finally:
        con.close()


def first_file(raw) -> None:
    valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")


def second_file(raw) -> None:
    valid_report().with_meta(ma_don_vi="79", ten_don_vi="Thành phố Hồ Chí Minh").with_cell(
        "kinh_phi", "KCQG", "thuc_hien", 777).write_xlsx(raw / "2024-07-12" / "HCM_6T.xlsx")


def load_and_build(settings: Settings) -> dict:
    pipeline.check_and_load(settings)
    return pipeline.build_marts(settings)


@pytest.fixture
def project_copy(tmp_path):
    copy = tmp_path / "dbt_project"
    shutil.copytree(Settings.from_env().dbt_project_dir, copy, ignore=shutil.ignore_patterns("target", "logs"))
    return copy


def test_new_data_builds_only_what_raw_feeds_and_gives_the_full_build_marts(tmp_path, project_copy):
    raw = tmp_path / "raw"
    settings = Settings.from_env(raw, tmp_path / "wh", environ={"KC_DBT_PROJECT_DIR": str(project_copy)})
    first_file(raw)
    first = load_and_build(settings)
    assert first["scope"] == "full" and first["passed"]["seed"] == 9 and first["passed"]["unit_test"] > 0

    second_file(raw)
    second = load_and_build(settings)
    assert second["scope"] == "data"
    assert "seed" not in second["passed"] and "unit_test" not in second["passed"]
    assert 0 < second["passed"]["model"] < first["passed"]["model"]  # reference views were not rebuilt
    assert second["passed"]["test"] < first["passed"]["test"]

    # the same landing zone built whole from an empty database: the same marts
    whole = Settings.from_env(raw, tmp_path / "wh_whole", environ={"KC_DBT_PROJECT_DIR": str(project_copy)})
    assert load_and_build(whole)["scope"] == "full"
    assert marts(settings.build_db) == marts(whole.build_db)
    assert any(row[0] for row in marts(settings.build_db)["fct_funding"])  # not two empty sets


def test_an_edited_seed_or_an_unfinished_full_build_builds_the_whole_project_again(tmp_path, project_copy):
    raw = tmp_path / "raw"
    settings = Settings.from_env(raw, tmp_path / "wh", environ={"KC_DBT_PROJECT_DIR": str(project_copy)})
    first_file(raw)
    assert load_and_build(settings)["scope"] == "full"

    aliases = project_copy / "seeds" / "unit_aliases.csv"
    aliases.write_text(aliases.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # any edit is a change
    again = pipeline.build_marts(settings)
    assert again["scope"] == "full" and again["passed"]["seed"] == 9

    # what build_marts does before a full build starts; a kill (or a failed test) stops it before the record
    con = connect_writer(settings.build_db, 5)
    try:
        build_state.forget_full_build(con)
    finally:
        con.close()
    assert pipeline.build_marts(settings)["scope"] == "full"
