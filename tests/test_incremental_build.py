"""A nightly `dbt build` follows what changed (docs/architecture.md, "What a run rebuilds").

- new data only: `build_marts` builds what depends on `raw` and its tests (no seeds, no reference
  views, no unit tests);
- an edited project (here a seed) or a new build database: the whole project is built again,
  and so is a full build that failed or was killed half-way, even if the project is put back.

That the data-only build gives the marts of a whole build is shown end to end in
tests/test_pipeline_e2e.py: run 2 builds what the new rows feed, and `kc run --rebuild` of the same
landing zone (a whole build from an empty database) gives the same marts, table for table.
"""

from __future__ import annotations

import shutil

import pytest
from builders import valid_report

from khuyencong.config import Settings
from khuyencong.run import pipeline
from khuyencong.warehouse import build_state
from khuyencong.warehouse.lock import connect_writer

pytestmark = pytest.mark.integration  # dbt


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


def test_the_build_follows_what_changed(tmp_path, project_copy):
    raw = tmp_path / "raw"
    settings = Settings.from_env(raw, tmp_path / "wh", environ={"KC_DBT_PROJECT_DIR": str(project_copy)})
    first_file(raw)
    first = load_and_build(settings)  # a new build database: everything
    assert first["scope"] == "full" and first["passed"]["seed"] == 9 and first["passed"]["unit_test"] > 0

    second_file(raw)
    second = load_and_build(settings)  # new data only
    assert second["scope"] == "data"
    assert "seed" not in second["passed"] and "unit_test" not in second["passed"]
    assert 0 < second["passed"]["model"] < first["passed"]["model"]  # the reference views were not rebuilt
    assert 0 < second["passed"]["test"] < first["passed"]["test"]

    aliases = project_copy / "seeds" / "unit_aliases.csv"
    aliases.write_text(aliases.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # any edit is a change
    edited = pipeline.build_marts(settings)
    assert edited["scope"] == "full" and edited["passed"]["seed"] == 9

    # what build_marts does before a full build starts; a kill (or a failed test) stops it before the record
    con = connect_writer(settings.build_db, 5)
    try:
        build_state.forget_full_build(con)
    finally:
        con.close()
    assert pipeline.build_marts(settings)["scope"] == "full"
