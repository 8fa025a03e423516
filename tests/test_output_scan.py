"""Every workbook the demo writes, scanned as a reader would see its cells: no `nan`/`None`/`NaT`/`null` text, no
error cell, no date outside 2000–2100 (outputs.md, first paragraph). The scan covers every kind of workbook the
pipeline writes (write/kinds.py): a writer added later must declare its kind, and the demo must write it."""

from __future__ import annotations

import datetime as dt
import warnings
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles.numbers import is_date_format

from inspect_pipeline.write.kinds import KINDS

pytestmark = pytest.mark.slow

WORDS = {"nan", "none", "nat", "null", "<na>", "inf", "-inf"}
FIRST, LAST = dt.datetime(2000, 1, 1), dt.datetime(2100, 12, 31, 23, 59, 59)
SERIAL_FIRST, SERIAL_LAST = 36526, 73415  # 2000-01-01 and 2100-12-31 as Excel serials


def problems(path: Path) -> Counter:
    """(sheet, what) → count of cells a reader would see wrong."""
    bad: Counter = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "e" or isinstance(value, str) and value.startswith("#") and value.endswith(("!", "?", "A")):
                    bad[(ws.title, f"error {value}")] += 1
                elif isinstance(value, str) and value.strip().lower() in WORDS:
                    bad[(ws.title, f"text {value!r}")] += 1
                elif isinstance(value, dt.datetime | dt.date) and not FIRST <= _as_datetime(value) <= LAST:
                    bad[(ws.title, f"date {value}")] += 1
                elif (isinstance(value, int | float) and not isinstance(value, bool) and cell.number_format
                      and is_date_format(cell.number_format) and not SERIAL_FIRST <= value <= SERIAL_LAST):
                    bad[(ws.title, f"date serial {value}")] += 1
    return bad


def _as_datetime(value: dt.date) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())


def test_the_demo_writes_every_kind_of_workbook(demo_outputs):
    written = demo_outputs[1]
    assert set(written) == set(KINDS), f"kinds written {sorted(written)}, declared {sorted(KINDS)}"


def test_no_workbook_shows_missing_values_errors_or_impossible_dates(demo_outputs):
    written, found = demo_outputs[1], {}
    for kind, paths in written.items():
        for path in paths:
            if bad := problems(path):
                found[path.name] = dict(bad)
    assert found == {}


def test_the_scan_sees_what_it_looks_for(tmp_path):
    """The scan itself: a workbook with each kind of wrong cell is caught."""
    book = openpyxl.Workbook()
    ws = book.active
    ws["A1"], ws["A2"], ws["A3"] = "nan", "None", dt.datetime(1, 1, 2)
    ws["A4"] = -693594
    ws["A4"].number_format = "yyyy-mm-dd"
    ws["A5"] = "=1/0"
    ws["A6"] = "灭火器过期"
    path = tmp_path / "bad.xlsx"
    book.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(path)
    book.active["A5"].value, book.active["A5"].data_type = "#DIV/0!", "e"
    book.save(path)
    assert sum(problems(path).values()) == 5
