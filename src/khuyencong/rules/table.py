"""The rows a suite validates, as plain dicts: GX gets them as a pandas frame, the fast evaluator as they are."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    rows: list[dict[str, Any]]
    columns: list[str]

    @property
    def empty(self) -> bool:
        return not self.rows

    def frame(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)
