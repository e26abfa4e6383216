"""Great Expectations Data Docs for the latest run, under `warehouse/reports/data_docs/`.

The run's validation results (one per suite, each covering every file of the
batch) are stored in a file-backed GX project under `warehouse/gx_project/` and
rendered into the site. History is bounded on purpose: Data Docs slows down
badly with thousands of stored results, so each suite keeps only its latest run.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from khuyencong.reports.safe import docs_result
from khuyencong.rules.gate import new_context

SITE_NAME = "khuyencong"


def project_dir(warehouse_dir: Path) -> Path:
    return warehouse_dir / "gx_project"


def site_dir(warehouse_dir: Path) -> Path:
    return warehouse_dir / "reports" / "data_docs"


def configure_site(context, warehouse_dir: Path) -> None:
    site = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir(warehouse_dir))},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    if context.variables.data_docs_sites != {SITE_NAME: site}:
        context.variables.data_docs_sites = {SITE_NAME: site}
        context.variables.save()


def _prune(context_root: Path, keep_per_suite: int = 1) -> list[Path]:
    """Drop all but each suite's latest stored runs; returns the dropped runs as `<suite>/<run name>`."""
    validations = context_root / "gx" / "uncommitted" / "validations"
    if not validations.is_dir():
        return []
    dropped = []
    for suite in (p for p in validations.iterdir() if p.is_dir()):
        runs = sorted(p for p in suite.iterdir() if p.is_dir())  # run names sort by time
        for old in runs[:-keep_per_suite]:
            shutil.rmtree(old, ignore_errors=True)
            dropped.append(old.relative_to(validations))
    return dropped


def publish_results(context, results: dict, warehouse_dir: Path, stage: str) -> Path:
    """Store this stage's results, drop older runs, rebuild the site; returns its index page."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    now = datetime.now(UTC)
    run_id = RunIdentifier(run_name=f"{stage}-{now:%Y%m%dT%H%M%S%f}", run_time=now)
    changed: list = []
    for suite_name, result in results.items():
        suite = ExpectationSuiteIdentifier(name=suite_name)
        key = ValidationResultIdentifier(expectation_suite_identifier=suite, run_id=run_id, batch_identifier=stage)
        context.validation_results_store.set(key, docs_result(result))  # GX renders values as raw HTML
        changed += [suite, key]
    site = site_dir(warehouse_dir)
    for dropped in _prune(project_dir(warehouse_dir)):
        shutil.rmtree(site / "validations" / dropped, ignore_errors=True)  # the pages of pruned runs
    # only this stage's pages and the index: the other stage's pages stand as they were rendered
    whole = not (site / "index.html").exists()
    context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=None if whole else changed)
    return site / "index.html"


def docs_context(warehouse_dir: Path):
    """The run's file-backed GX context, with the Data Docs site configured."""
    root = project_dir(warehouse_dir)
    root.mkdir(parents=True, exist_ok=True)
    context = new_context(root)
    configure_site(context, warehouse_dir)
    return context
