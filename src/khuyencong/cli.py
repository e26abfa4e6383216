"""`kc`: the warehouse's command line.

Start-up stays fast: Airflow, dbt and Great Expectations are imported only inside
the commands that need them (`validate` pays the GX start-up once for all files).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from khuyencong import config


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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "validate":
        return _validate(args)
    if args.command == "template":
        from khuyencong.template import write_template

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
        from khuyencong.local_run import run_local

        return run_local(
            raw=(args.raw or config.raw_dir()).resolve(),
            warehouse=(args.warehouse or config.warehouse_dir()).resolve(),
            rebuild=args.rebuild,
        )
    return 2  # pragma: no cover - argparse enforces the commands


def _validate(args) -> int:
    from khuyencong.checking import check_files

    missing = [str(f) for f in args.files if not f.is_file()]
    if missing:
        print(f"kc validate: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    arrival = args.arrival_date
    history = None
    if args.warehouse:
        from khuyencong.history import HistoryRules

        history = HistoryRules.from_warehouse(args.warehouse.resolve())
    checks = check_files(args.files, arrival_date=arrival, default_arrival_date=date.today(), history=history)
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
        json.dump(out, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
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
    print(f"{check.path}: {VERDICT_TEXT[check.status]}")
    for f in check.findings:
        where = " ".join(x for x in (
            f"sheet {f.sheet}" if f.sheet else "", f"row {f.row}" if f.row else "", f"column {f.column}" if f.column else "",
        ) if x)
        print(f"  {f.rule} {f.severity:7} {where}")
        print(f"      vi: {f.message_vi}")
        print(f"      en: {f.message_en}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
