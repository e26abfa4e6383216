"""Great Expectations Data Docs: built for the latest run, history bounded to what a person reads."""

from __future__ import annotations

from pathlib import Path

from builders import valid_report

from khuyencong.config import Settings
from khuyencong.run import pipeline


def pages(root: Path, suite: str) -> set[Path]:
    return set((root / "validations" / suite).rglob("*.html"))


def test_data_docs_keep_only_the_latest_run(tmp_path):
    raw, warehouse = tmp_path / "raw", tmp_path / "wh"
    valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")
    settings = Settings.from_env(raw, warehouse)
    site = warehouse / "reports" / "data_docs"

    first = pipeline.check_and_load(settings)
    assert first["data_docs"] == str(site / "index.html") and (site / "index.html").is_file()
    first_pages = pages(site, "kinh_phi")
    assert len(first_pages) == 1
    assert "kinh_phi" in (site / "index.html").read_text(encoding="utf-8")

    valid_report().with_meta(ma_don_vi="79", ten_don_vi="TP HCM").write_xlsx(raw / "2024-07-11" / "HCM_6T.xlsx")
    pipeline.check_and_load(settings)
    second_pages = pages(site, "kinh_phi")
    assert len(second_pages) == 1 and second_pages != first_pages  # the older run's page is gone
    stored = warehouse / "gx_project" / "gx" / "uncommitted" / "validations" / "kinh_phi"
    assert len([p for p in stored.iterdir() if p.is_dir()]) == 1  # and so is its stored result
