"""`kc`: the warehouse's command line.

Start-up stays fast: Airflow, dbt and Great Expectations are imported only inside
the commands that need them (`validate` of a few files needs none: rules/fast_gate.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

from khuyencong import config
from khuyencong.errors import exit_code, kind_of
from khuyencong.reports.safe import json_text, plain_text

# Each command imports what it runs when it runs (below): `kc validate` starts in a fraction of a
# second without the pipeline's modules, `kc run` with nothing new without the rules'.


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kc",
        description="Khuyến công data warehouse: check provincial submissions, run the nightly load.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check submission files exactly as the pipeline would")
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--json", action="store_true", help='print {"findings": [...]} on stdout')
    p.add_argument("--arrival-date", type=_date, help="arrival date (default: the raw/<YYYY-MM-DD>/ folder, else today)")
    p.add_argument("--warehouse", type=Path, help="also run the history rules (W02, W03, W06) against this warehouse")
    p.add_argument("--gx", action="store_true",
                   help="check with Great Expectations, as the pipeline does (default for more than 20 files)")

    p = sub.add_parser("template", help="write the blank KC-1 workbook for provinces")
    p.add_argument("out", type=Path, metavar="OUT.xlsx")

    p = sub.add_parser("sample", help="write the deterministic sample submissions")
    p.add_argument("--out", type=Path, required=True, metavar="DIR")
    p.add_argument("--scale", type=int, default=1, metavar="N",
                   help="about N times the files: earlier years back to 2010, then more versions (default 1)")
    p.add_argument("--manifest", type=Path, metavar="FILE",
                   help="also write the expected counts (files, verdicts, duplicates, rows) as JSON")

    p = sub.add_parser("run", help="run the nightly DAG in-process (no Airflow server)")
    p.add_argument("--raw", type=Path, help="landing zone (default $KC_RAW_DIR or ./raw)")
    p.add_argument("--warehouse", type=Path, help="warehouse directory (default $KC_WAREHOUSE_DIR or ./warehouse)")
    p.add_argument("--rebuild", action="store_true", help="rebuild the whole warehouse from raw/ alone")
    p.add_argument("--allow-shrink", action="store_true",
                   help="publish even if the marts would hold fewer accepted reports than the published ones")

    p = sub.add_parser("load", help="check and load new files from raw/ into the build database (no dbt, no publish)")
    p.add_argument("--raw", type=Path, help="landing zone (default $KC_RAW_DIR or ./raw)")
    p.add_argument("--warehouse", type=Path, help="warehouse directory (default $KC_WAREHOUSE_DIR or ./warehouse)")

    p = sub.add_parser("publish", help="gate the marts in the build database (after a hand `dbt build`) and publish them")
    p.add_argument("--warehouse", type=Path, help="warehouse directory (default $KC_WAREHOUSE_DIR or ./warehouse)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        return _validate(args)
    if args.command == "template":
        from khuyencong.ingest.template import write_template

        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_template(args.out)
        print(f"template written: {args.out}")
        return 0
    if args.command == "sample":
        from khuyencong_sample.generate import build_sample, manifest, write_plan

        if args.scale < 1:
            print("--scale must be at least 1", file=sys.stderr)
            return 2
        if args.manifest and args.manifest.resolve().is_relative_to(args.out.resolve()):
            print("--manifest must be outside --out: the nightly run would read it as a submission", file=sys.stderr)
            return 2
        plan = build_sample(scale=args.scale)
        written = write_plan(args.out, plan)
        print(f"{len(written)} sample files written under {args.out}")
        if args.manifest:
            args.manifest.parent.mkdir(parents=True, exist_ok=True)
            args.manifest.write_text(json.dumps(manifest(plan), indent=2) + "\n", encoding="utf-8")
        return 0
    if args.command == "run":
        from khuyencong.run.local_run import exit_now, run_local

        settings = config.activate(replace(config.Settings.from_env(args.raw, args.warehouse),
                                           allow_shrink=args.allow_shrink))
        exit_now(run_local(settings, rebuild=args.rebuild))
    if args.command == "load":
        return _load(config.activate(config.Settings.from_env(args.raw, args.warehouse)))
    if args.command == "publish":
        return _publish(config.activate(config.Settings.from_env(warehouse_dir=args.warehouse)))
    return 2  # pragma: no cover - argparse enforces the commands


def _failed(command: str, exc: Exception) -> int:
    """Say what went wrong, and exit with the code of its kind (`khuyencong.errors`)."""
    import traceback

    if kind_of(exc) == "bug":
        traceback.print_exception(exc, file=sys.stderr)
    print(f"{command}: {plain_text(str(exc), keep_newlines=True)}", file=sys.stderr)
    return exit_code(exc)


def _load(settings) -> int:
    """The load stage alone, for data engineers: then `cd dbt_project && dbt build`, then `kc publish`."""
    from khuyencong.run import pipeline

    try:
        result = pipeline.check_and_load(settings)
    except Exception as exc:  # a verdict (exit 1), a transient error (75), a bug (70, with its traceback)
        return _failed("kc load", exc)
    print(f"loaded into {settings.build_db}: {result['new']} new files "
          f"({result['accepted']} accepted, {result['accepted_with_warnings']} with warnings, "
          f"{result['rejected']} rejected), {result['rows_loaded']} rows")
    for f in result["files"]:
        print(f"  {f['status']:24} {plain_text(f['path'])}  {' '.join(f['rules'])}")
    return 0


def _publish(settings) -> int:
    """The mart gate, then publication, of whatever `dbt build` left in the build database."""
    from khuyencong.run import pipeline

    if not settings.build_db.exists():
        print(f"kc publish: no build database at {settings.build_db}: run `kc load` and `dbt build` first",
              file=sys.stderr)
        return 2
    try:
        gate = pipeline.gate_marts(settings)
        published = pipeline.publish(settings)
    except Exception as exc:  # a verdict (exit 1), a transient error (75), a bug (70, with its traceback)
        return _failed("kc publish", exc)
    print(f"mart gate: {gate['checks']} expectations passed")
    print(f"published: {published['published']} ({len(published['tables'])} marts) and {published['parquet']}")
    return 0


FAST_VALIDATE_MAX_FILES = 20  # above this, GX's start-up is amortised and its batch is faster


def _validate(args) -> int:
    from khuyencong.rules.checking import check_files

    missing = [plain_text(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"kc validate: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    arrival = args.arrival_date
    settings = config.activate(config.Settings.from_env(warehouse_dir=args.warehouse))
    history = None
    if args.warehouse:
        from khuyencong.rules.history import HistoryRules

        history = HistoryRules.from_database(settings.build_db)
    gate = None  # check_files makes the GX gate
    if not args.gx and len(args.files) <= FAST_VALIDATE_MAX_FILES:
        from khuyencong.rules.fast_gate import FastFileGate

        gate = FastFileGate()  # same suites, same findings, without the seconds of GX start-up
    checks = check_files(args.files, arrival_date=arrival, default_arrival_date=date.today(), gate=gate,
                         history=history, limits=settings.limits)
    rejected = any(c.status == "rejected" for c in checks)
    if args.json:
        out = {
            "findings": [dict(file=str(c.path), **f.to_dict()) for c in checks for f in c.findings],
            "files": [
                {"file": str(c.path), "status": c.status, "submission_id": c.submission_id,
                 "errors": sum(f.is_fatal for f in c.findings),
                 "warnings": sum(not f.is_fatal for f in c.findings)}
                for c in checks
            ],
        }
        sys.stdout.write(json_text(out, indent=2) + "\n")
    else:
        for c in checks:
            _print_check(c)
    return 1 if rejected else 0


VERDICT_TEXT = {
    "accepted": "ACCEPTED / được chấp nhận",
    "accepted_with_warnings": "ACCEPTED WITH WARNINGS / được chấp nhận, có cảnh báo",
    "rejected": "REJECTED / bị từ chối",
}


def _print_check(check) -> None:
    """The text report of one file; every piece taken from the file (name, sheet, labels, values) made inert."""
    print(f"{plain_text(check.path)}: {VERDICT_TEXT[check.status]}")
    for f in check.findings:
        where = " ".join(x for x in (
            f"sheet {f.sheet}" if f.sheet else "", f"row {f.row}" if f.row else "", f"column {f.column}" if f.column else "",
        ) if x)
        print(f"  {f.rule} {f.severity:7} {plain_text(where)}")
        print(f"      vi: {plain_text(f.message_vi)}")
        print(f"      en: {plain_text(f.message_en)}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
