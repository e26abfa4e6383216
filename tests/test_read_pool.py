"""Reading in worker processes that start from our own module (`ingest.read_pool`), whatever the parent is.

Under Airflow's task supervisor the parent's main module is the `airflow` entry point, with its metadata
database blocked: multiprocessing's spawn workers re-ran it and died, and every file was refused F01.
These tests put the reader under a parent whose main module refuses to be re-run, with that blocked
database in the environment; a worker that cannot start stops the run instead of refusing files; a
worker that a file kills refuses that file alone.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from compose_file import ROOT

from khuyencong.errors import ReaderCannotStart
from khuyencong.ingest.read_pool import read_in_workers
from khuyencong.ingest.reader import read_file

SAMPLE = sorted((ROOT / "raw").rglob("*.xlsx"))[:6]

# The parent as Airflow's task supervisor is to the reader: a main module that must not run twice.
PARENT = textwrap.dedent("""
    import os, sys
    if __name__ != "__main__":
        raise SystemExit("the parent's main module was re-run in a worker")
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = "airflow-db-not-allowed:///"
    from pathlib import Path
    from khuyencong.ingest.read_pool import read_in_workers
    checks = read_in_workers([Path(p) for p in sys.argv[1:]], {}, workers=2, chunk=2)
    print("STATUSES", " ".join(c.status for c in checks))
""")


def test_workers_do_not_rerun_the_parents_main_module(tmp_path):
    script = tmp_path / "parent_main.py"
    script.write_text(PARENT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), *map(str, SAMPLE)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    statuses = proc.stdout.split("STATUSES ", 1)[1].split()
    assert statuses == [read_file(p).status for p in SAMPLE]


def test_the_multiprocessing_spawn_pool_it_replaces_did_rerun_it(tmp_path):
    """The failure above, as it was: a spawn pool re-runs the main module in each worker."""
    script = tmp_path / "parent_main.py"
    script.write_text(PARENT.replace(
        "from khuyencong.ingest.read_pool import read_in_workers\n",
        "import multiprocessing\nfrom concurrent.futures import ProcessPoolExecutor\n"
        "from khuyencong.ingest.reader import read_file\n").replace(
        "checks = read_in_workers([Path(p) for p in sys.argv[1:]], {}, workers=2, chunk=2)",
        "checks = list(ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn'))"
        ".map(read_file, [Path(p) for p in sys.argv[1:]]))"), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), *map(str, SAMPLE)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode != 0 and "re-run in a worker" in proc.stderr, proc.stderr[-3000:]


def test_results_equal_reading_in_process_in_order():
    checks = read_in_workers(SAMPLE, {}, workers=2, chunk=2)
    expected = [read_file(p) for p in SAMPLE]
    assert [(c.path, c.sha256, c.status, c.submission_id) for c in checks] == [
        (c.path, c.sha256, c.status, c.submission_id) for c in expected]
    assert [[f.rule for f in c.findings] for c in checks] == [[f.rule for f in c.findings] for c in expected]


def test_a_worker_that_cannot_start_stops_the_run_and_refuses_no_file():
    with pytest.raises(ReaderCannotStart, match="could not start"):
        read_in_workers(SAMPLE, {}, workers=2, chunk=2, die_at_start=True)


KILLER = textwrap.dedent("""
    # A reader worker dies (as on a segfault) when it opens a file whose name says so.
    import os, pathlib
    _open = pathlib.Path.open
    def _open_or_die(self, *args, **kwargs):
        if "KILLS_ITS_READER" in self.name:
            os._exit(139)
        return _open(self, *args, **kwargs)
    pathlib.Path.open = _open_or_die
""")


def test_a_file_that_kills_its_worker_is_refused_alone(tmp_path, monkeypatch):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(KILLER, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path / 'site'}:{':'.join(sys.path)}")
    folder = tmp_path / "raw" / "2024-07-10"
    folder.mkdir(parents=True)
    killer = folder / "KILLS_ITS_READER.xlsx"
    killer.write_bytes(SAMPLE[0].read_bytes())
    paths = [*SAMPLE[:3], killer, *SAMPLE[3:]]
    checks = read_in_workers(paths, {}, workers=2, chunk=2)
    assert [c.path for c in checks] == paths
    crashed = checks[3]
    assert crashed.status == "rejected" and [f.rule for f in crashed.findings] == ["F01"]
    assert "process crashed" in crashed.findings[0].message_en
    assert [c.status for c in checks[:3] + checks[4:]] == [read_file(p).status for p in SAMPLE]


def test_workers_get_no_airflow_variables():
    from khuyencong.ingest.read_pool import worker_environment

    env = worker_environment({"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "airflow-db-not-allowed:///",
                              "AIRFLOW_HOME": "/x", "KC_RAW_DIR": "/raw", "PATH": "/bin"})
    assert env == {"KC_RAW_DIR": "/raw", "PATH": "/bin"}

