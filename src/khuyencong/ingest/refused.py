"""`Refused`: a file that cannot be opened, with its F01 finding.

Its own module because both the pre-flight scans and the container raise it, and the
container calls the pre-flight scans: neither imports the other back.
"""

from __future__ import annotations

from khuyencong.errors import FileVerdict
from khuyencong.findings import Finding, finding


class Refused(FileVerdict):
    """The container cannot be read; carries the F01 finding for the sender."""

    def __init__(self, message_vi: str, message_en: str, value: str | None = None, **where):
        super().__init__(message_en)
        self.finding: Finding = finding("F01", message_vi, message_en, value=value, **where)
