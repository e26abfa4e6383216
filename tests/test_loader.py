"""The loader: discovery by path and sha256, one transaction per file, rejected files keep no rows."""

from __future__ import annotations

import shutil
from datetime import datetime

import duckdb
import pytest
from builders import valid_report

from khuyencong.rules.checking import check_files
from khuyencong.warehouse.loader import discover, ensure_raw_schema, load_check, record_duplicates

LOADED_AT = datetime(2024, 7, 11, 1, 0)


def counts(con) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0]
            for t in ("submissions", "funding_rows", "outcome_rows", "project_rows", "findings", "duplicate_files")}


@pytest.fixture
def raw(tmp_path):
    """The landing zone root: files go to raw/<arrival date>/."""
    (tmp_path / "raw" / "2024-07-10").mkdir(parents=True)
    return tmp_path / "raw"


@pytest.fixture
def con():
    c = duckdb.connect()
    ensure_raw_schema(c)
    yield c
    c.close()


def test_discovery_splits_new_seen_and_duplicates(con, raw, gate):
    good = valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")
    copy = raw / "2024-07-10" / "HaNoi_6T (copy).xlsx"
    shutil.copy(good, copy)
    found = discover(con, raw)
    # the byte-identical copy in the same run: the first in path order counts, the other is a duplicate
    assert [p.name for p in found.new] == ["HaNoi_6T (copy).xlsx"] and len(found.duplicates) == 1
    [check] = check_files(found.new, gate=gate)
    load_check(con, check, raw, LOADED_AT)
    record_duplicates(con, found.duplicates, raw, LOADED_AT)

    again = discover(con, raw)
    assert again.new == [] and again.duplicates == [] and again.seen == 2 and again.total == 2
    # a later copy under another name is a duplicate of the loaded submission, not a new version
    later = raw / "2024-07-12" / "resend.xlsx"
    later.parent.mkdir()
    shutil.copy(good, later)
    third = discover(con, raw)
    assert third.new == [] and third.duplicates == [(later, check.submission_id)]


def test_accepted_file_loads_its_rows_in_one_transaction(con, raw, gate):
    path = valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")
    [check] = check_files([path], gate=gate)
    assert check.status == "accepted"
    load_check(con, check, raw, LOADED_AT)
    after = counts(con)
    sub = check.submission
    assert after["submissions"] == 1
    assert after["funding_rows"] == len(sub.funding) and after["outcome_rows"] == len(sub.outcomes)
    assert after["project_rows"] == len(sub.projects)
    row = con.execute("SELECT path, unit_id, year, period, status FROM raw.submissions").fetchone()
    assert row == ("2024-07-10/HaNoi_6T.xlsx", "P63-01", 2024, "6T", "accepted")
    # loading the same check again violates the key: the whole transaction is rolled back, nothing doubles
    with pytest.raises(duckdb.ConstraintException):
        load_check(con, check, raw, LOADED_AT)
    assert counts(con) == after


def test_rejected_file_keeps_findings_but_no_rows(con, raw, gate):
    bad = valid_report().with_cell("kinh_phi", "KCQG", "thuc_hien", -5)
    path = bad.write_xlsx(raw / "2024-07-10" / "bad.xlsx")
    [check] = check_files([path], gate=gate)
    assert check.status == "rejected"
    load_check(con, check, raw, LOADED_AT)
    c = counts(con)
    assert c["submissions"] == 1 and c["findings"] >= 1
    assert c["funding_rows"] == c["outcome_rows"] == c["project_rows"] == 0
    assert con.execute("SELECT rule, source_row, column_name FROM raw.findings WHERE rule = 'F05'").fetchone()[0] == "F05"


def test_unreadable_file_is_recorded_without_identity(con, raw, gate):
    path = raw / "2024-07-10" / "junk.xlsx"
    path.write_bytes(b"not a workbook at all")
    [check] = check_files([path], gate=gate)
    load_check(con, check, raw, LOADED_AT)
    assert con.execute("SELECT status, unit_id, error_count FROM raw.submissions").fetchone() == ("rejected", None, 1)


def test_build_database_of_an_earlier_version_loses_the_unread_deadline_column(raw, gate):
    """raw.submissions.deadline was written and never read: an existing build database drops it and loads on."""
    from khuyencong.warehouse.schema import RAW_TABLES

    old = duckdb.connect()
    old.execute("CREATE SCHEMA raw")
    earlier = RAW_TABLES["submissions"].replace("loaded_at ", "deadline DATE,\n        loaded_at ")
    old.execute(f"CREATE TABLE raw.submissions ({earlier})")
    columns = lambda: [r[0] for r in old.execute("SELECT column_name FROM information_schema.columns "  # noqa: E731
                                                 "WHERE table_name = 'submissions'").fetchall()]
    assert "deadline" in columns()
    ensure_raw_schema(old)
    assert "deadline" not in columns() and "loaded_at" in columns()
    [check] = check_files([valid_report().write_xlsx(raw / "2024-07-10" / "HaNoi_6T.xlsx")], gate=gate)
    load_check(old, check, raw, LOADED_AT)
    assert counts(old)["submissions"] == 1
    old.close()
