"""`kc validate`: exit codes, the --json report, and a start-up that imports nothing heavy.

The end-to-end runs are real `kc` subprocesses, started together (a few files: the
fast evaluator, no GX import); the other cases call `khuyencong.cli.main` in-process,
once with its default engine and once with the session's GX gate.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from builders import valid_report

from khuyencong import cli
from khuyencong.rules import checking

pytestmark = pytest.mark.xdist_group("cli_validate")  # module fixtures: built once, on one worker

BIN = Path(sys.executable).parent
KC = str(BIN / "kc")
FINDING_KEYS = {"file", "rule", "severity", "sheet", "row", "column", "value", "expected", "message_vi", "message_en"}
HEAVY = ("great_expectations", "dbt", "airflow")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli") / "raw" / "2024-07-10"
    folder.mkdir(parents=True)
    pdf = folder / "bao cao.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%junk\n")
    return {
        "valid": valid_report().write_xlsx(folder / "Bao cao 6T 2024 - Ha Noi.xlsx"),
        "warning": valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", 1400).write_zip(folder / "canh bao.zip"),
        "rejected": valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", "1.5").write_zip(folder / "loi.zip"),
        "pdf": pdf,
    }


@pytest.fixture(scope="module")
def runs(corpus) -> dict[str, subprocess.CompletedProcess]:
    """All subprocesses at once (a few files each: none imports GX)."""
    commands = {
        "several": [KC, "validate", "--json", *(str(corpus[k]) for k in ("valid", "warning", "rejected", "pdf"))],
        "pdf": [KC, "validate", "--json", str(corpus["pdf"])],
        "missing": [KC, "validate", str(corpus["valid"].parent / "khong_co.xlsx")],
        "help": [KC, "--help"],
        "validate_help": [KC, "validate", "--help"],
    }
    procs = {
        name: subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        for name, cmd in commands.items()
    }
    done = {}
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        done[name] = subprocess.CompletedProcess(commands[name], proc.returncode, out, err)
    return done


def report_of(run) -> dict:
    assert run.stdout.strip(), run.stderr
    return json.loads(run.stdout)


# ---------------------------------------------------------------- subprocess


def test_valid_file_exits_0_without_findings(kc, corpus):
    code, stdout = kc("validate", "--json", corpus["valid"])
    assert code == 0
    out = json.loads(stdout)
    assert out["findings"] == []
    [f] = out["files"]
    assert f["file"] == str(corpus["valid"]) and f["status"] == "accepted"
    assert (f["errors"], f["warnings"]) == (0, 0) and len(f["submission_id"]) == 16


def test_several_files_in_one_call(runs, corpus):
    run = runs["several"]
    assert run.returncode == 1, run.stderr  # one rejected file rejects the call
    out = report_of(run)
    statuses = {Path(f["file"]).name: f["status"] for f in out["files"]}
    assert statuses == {
        corpus["valid"].name: "accepted",
        corpus["warning"].name: "accepted_with_warnings",
        corpus["rejected"].name: "rejected",
        corpus["pdf"].name: "rejected",
    }
    for finding in out["findings"]:
        assert set(finding) == FINDING_KEYS
    by_file = {}
    for finding in out["findings"]:
        by_file.setdefault(Path(finding["file"]).name, []).append(finding)
    assert corpus["valid"].name not in by_file
    [w01] = by_file[corpus["warning"].name]
    assert (w01["rule"], w01["severity"], w01["sheet"], w01["row"], w01["column"], w01["value"]) == (
        "W01", "warning", "kinh_phi", 2, "thuc_hien (E)", "1400",
    )
    [f05] = by_file[corpus["rejected"].name]
    assert (f05["rule"], f05["severity"], f05["sheet"], f05["row"], f05["column"], f05["value"]) == (
        "F05", "fatal", "kinh_phi", 2, "thuc_hien (E)", "1.5",
    )
    assert "48.331" in f05["message_vi"] and "48.331" in f05["message_en"]
    [f01] = by_file[corpus["pdf"].name]
    assert f01["rule"] == "F01" and f01["value"] == corpus["pdf"].name
    assert "không được chấp nhận" in f01["message_vi"]  # Vietnamese text unescaped in the JSON


def test_rejected_file_exits_1(runs, corpus):
    run = runs["pdf"]
    assert run.returncode == 1, run.stderr
    out = report_of(run)
    assert [f["rule"] for f in out["findings"]] == ["F01"]
    assert out["files"][0]["errors"] == 1


def test_missing_file_is_a_usage_error(runs):
    assert runs["missing"].returncode == 2
    assert "khong_co.xlsx" in runs["missing"].stderr


def test_help_runs(runs):
    assert runs["help"].returncode == 0
    assert "validate" in runs["help"].stdout
    assert runs["validate_help"].returncode == 0
    assert "--json" in runs["validate_help"].stdout and "--arrival-date" in runs["validate_help"].stdout


def test_cli_start_up_imports_nothing_heavy():
    code = (
        "import sys, json\n"
        "from khuyencong import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []


def test_cli_import_time_shows_no_heavy_package():
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", "import khuyencong.cli"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    imported = [line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")]
    assert "khuyencong.cli" in imported
    assert not [m for m in imported if m.split(".")[0] in HEAVY + ("pandas",)]


# ---------------------------------------------------------------- in-process (both engines)


@pytest.fixture(params=["fast", "gx"])
def kc(request, monkeypatch, capsys):
    """kc(*argv) -> (exit code, stdout) through cli.main: its default engine, or the session's GX gate."""
    if request.param == "gx":
        gate, real = request.getfixturevalue("gate"), checking.check_files
        monkeypatch.setattr(checking, "check_files", lambda paths, **kw: real(paths, **{**kw, "gate": gate}))

    def run(*argv: str):
        code = cli.main([str(a) for a in argv])
        return code, capsys.readouterr().out

    return run


def test_warning_file_exits_0(kc, corpus):
    code, out = kc("validate", "--json", corpus["warning"])
    assert code == 0
    report = json.loads(out)
    assert [f["rule"] for f in report["findings"]] == ["W01"]
    assert report["files"][0]["status"] == "accepted_with_warnings"
    assert report["files"][0]["warnings"] == 1


def test_text_report(kc, corpus):
    code, out = kc("validate", corpus["rejected"], corpus["valid"])
    assert code == 1
    assert "REJECTED / bị từ chối" in out and "ACCEPTED / được chấp nhận" in out
    assert "F05 fatal   sheet kinh_phi row 2 column thuc_hien (E)" in out
    assert "vi: '1.5' không phải số hợp lệ" in out and "en: '1.5' is not a valid number" in out


def test_arrival_date_option(kc, corpus):
    code, out = kc("validate", "--json", "--arrival-date", "2024-07-01", corpus["valid"])
    assert code == 1
    [f] = json.loads(out)["findings"]
    assert (f["rule"], f["row"], f["value"], f["expected"]) == ("F04", 6, "05/07/2024", "<= 01/07/2024")


def test_bad_arrival_date_option(kc, corpus, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["validate", "--arrival-date", "20/07/2024", str(corpus["valid"])])
    assert exc.value.code == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_arrival_date_defaults_to_today_outside_raw(kc, tmp_path):
    path = valid_report().with_meta(ngay_lap="01/01/2099").write_xlsx(tmp_path / "not-a-date-folder" / "x.xlsx")
    code, out = kc("validate", "--json", path)
    findings = json.loads(out)["findings"]
    # arriving today, a 2024 report is also late (W06); the date after arrival is the fatal F04
    assert code == 1 and [f["rule"] for f in findings if f["severity"] == "fatal"] == ["F04"]
    assert findings[0]["expected"] == f"<= {date.today():%d/%m/%Y}"


@pytest.mark.parametrize("argv", [["template", "{tmp}/t.xlsx"], ["sample", "--out", "{tmp}/raw"]])
def test_template_and_sample_import_nothing_heavy(argv, tmp_path):
    """`kc template` and `kc sample` are for people at a desk: they must start fast."""
    args = [a.format(tmp=tmp_path) for a in argv]
    code = (
        "import sys, json\n"
        "from khuyencong import cli\n"
        f"assert cli.main({args!r}) == 0\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY + ('pandas',)!r})))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
