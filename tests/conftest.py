"""Shared fixtures: one Great Expectations gate per session, the session's published sample warehouse
(tests/shared_warehouse.py), a PostgreSQL server, the conference build database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from webhook import webhook  # noqa: F401 - the alert tests' receiver, a fixture for every test module

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `from builders import ...`

# 6T 2024 is due on 15 July: files arriving on 10 July are on time (no W06), signed on 5 July.
ARRIVAL_FOLDER = "2024-07-10"


# Markers that follow from a fixture (the markers are declared in pyproject.toml): whatever needs the
# session's `kc run` is e2e; a PostgreSQL server, a browser or a dbt build is integration. Modules and
# tests that run these themselves carry the marker explicitly.
FIXTURE_MARKERS = {
    "published_sample": "e2e",
    "pg_server": "integration",
    "browser": "integration",
    "conference_build_db": "integration",
    "old_duckdb_python": "integration",
    "moved_build": "integration",
}


def _heavy_first(item) -> int:
    """The order the workers take tests in (`make test` runs --dist loadgroup --no-loadscope-reorder):
    the longest first, so that no long test starts last. The end-to-end module first (its module
    fixtures run six `kc run`s, none over the shared sample), then what reads the shared sample (the
    other worker builds it meanwhile), the other end-to-end tests, integration, then the rest."""
    if item.get_closest_marker("xdist_group") and item.module.__name__ == "test_pipeline_e2e":
        return 0
    if "published_sample" in item.fixturenames:
        return 1
    return 2 if item.get_closest_marker("e2e") else 3 if item.get_closest_marker("integration") else 4


@pytest.hookimpl(tryfirst=True)  # before -m selects
def pytest_collection_modifyitems(config, items):
    for item in items:
        for name in sorted(FIXTURE_MARKERS.keys() & set(item.fixturenames)):
            item.add_marker(FIXTURE_MARKERS[name])
    items.sort(key=_heavy_first)  # stable: each module's tests keep their order


class _LoadgroupOnStructuredNodeIds:
    """`--dist loadgroup` on pytest >= 9.2 (pytest-xdist#1386, fix proposed in #1388): xdist 3.8 marks a
    grouped test by writing `item._nodeid`, which pytest 9.2's structured node ids no longer read, so
    the groups are silently ignored. This does what xdist means to do (the `@group` suffix), and
    nothing once xdist does it itself."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        if not getattr(config.option, "loadgroup", False):  # set on the workers of --dist loadgroup
            return
        for item in items:
            names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default"))
                            for m in item.iter_markers("xdist_group")})
            suffix = "@" + "_".join(names)
            if names and not item.nodeid.endswith(suffix) and hasattr(item, "_id"):
                from _pytest.nodeid import NodeId

                item._id = NodeId.parse(item.nodeid + suffix)


def pytest_configure(config):
    config.pluginmanager.register(_LoadgroupOnStructuredNodeIds(), "kc-loadgroup-on-structured-node-ids")


@pytest.fixture(scope="session")
def gate():
    """The GX gate costs ~6 s to create (GX import): one for the whole session."""
    from khuyencong.rules.gate import FileGate

    return FileGate()


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """A landing-zone folder `raw/<arrival date>/`."""
    folder = tmp_path / "raw" / ARRIVAL_FOLDER
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def check(raw_dir, gate):
    """check(report, "xlsx" | "zip", name=..., folder=..., **zip_options) -> FileCheck, through reader + gate."""
    from khuyencong.rules.checking import check_files

    def run(report, fmt: str = "xlsx", *, name: str | None = None, folder: Path | None = None,
            arrival_date=None, **zip_options):
        path = (folder or raw_dir) / (name or f"Bao cao KC 6 thang 2024 - Ha Noi.{fmt}")
        path.parent.mkdir(parents=True, exist_ok=True)
        report.write(path, **zip_options)
        [result] = check_files([path], arrival_date=arrival_date, gate=gate)
        return result

    return run


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory):
    """The committed sample `raw/` published by one real `kc run`, built once per session for all xdist workers.

    Returns a `shared_warehouse.PublishedSample`: `.raw` (the committed raw/, read in place), `.warehouse`,
    `.published_db`, `.build_db`, `.record` (the run record), `.output` (what `kc run` printed), `.marts()`,
    and `.copy_to(path)` for a test that changes anything. Read-only: open its DuckDB files with
    `read_only=True`, never run `kc run`, a stage or dbt on it. At the end of the session the warehouse
    must be byte-identical to what the run left (checked here, per worker). Outside a test module, e.g.
    for a comparison in another fixture: `shared_warehouse.published_sample_for(tmp_path_factory)`.
    """
    from shared_warehouse import published_sample_for

    sample = published_sample_for(tmp_path_factory)
    yield sample
    changed = sample.changed_files()
    assert not changed, f"a test changed the shared published sample (use .copy_to()): {changed[:20]}"


@pytest.fixture(scope="session")
def pg_server():
    """A PostgreSQL server on loopback for the whole session (tests/pg_fixtures.py)."""
    from pg_fixtures import PgServer

    reason = PgServer.unavailable_reason()
    if reason:
        pytest.skip(reason)
    server = PgServer.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_postgres_target_from_the_shell(monkeypatch):
    """A developer's KC_POSTGRES_URL must not make every pipeline test publish to their database."""
    monkeypatch.delenv("KC_POSTGRES_URL", raising=False)
    monkeypatch.delenv("KC_POSTGRES_READER_ROLE", raising=False)


@pytest.fixture(scope="session")
def conference_build_db(tmp_path_factory) -> Path:
    """A build database holding the conference figures (test_dbt_conference_figures), dbt built once a session."""
    from dbt_fixtures import DBT_PROJECT_DIR, create_raw_fixture, run_dbt
    from test_dbt_conference_figures import conference_submissions

    root = tmp_path_factory.mktemp("dbt_conference")
    db_path = root / "build.duckdb"
    create_raw_fixture(db_path, conference_submissions())
    run_dbt(["build"], DBT_PROJECT_DIR, db_path, root / "target")
    return db_path
