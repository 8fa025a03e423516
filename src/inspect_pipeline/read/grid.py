"""A received file as a grid of cells with true Excel coordinates, whatever its format (read by workbook.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

CellValue = str | int | float | bool | dt.date | dt.datetime | dt.time | None


@dataclass(frozen=True, slots=True)
class Sheet:
    """One sheet. rows[i][j] is Excel cell (row i+1, column j+1); rows may be ragged (missing = None)."""

    name: str
    visible: bool
    rows: list[list[CellValue]]
    # merged ranges, 0-based inclusive: (first_row, first_col, last_row, last_col)
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    # 0-based indexes of rows the workbook marks hidden (xlsx/xlsm; empty where the format does not say)
    hidden_rows: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Workbook:
    """Every sheet of a file, in workbook order."""

    format: str  # xlsx | xlsm | xls | ods | csv
    sheets: list[Sheet]


class FileRefused(Exception):
    """The file cannot be read as a workbook. `code` is one of unreadable-file, unsupported-format,
    password-protected; `detail` is a short Chinese phrase saying what the file is (shown on the receipt)."""

    def __init__(self, code: str, detail: str):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


DAMAGED = "文件已损坏或不完整"
