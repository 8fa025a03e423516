"""The receipts written with xlsxwriter row by row: the streamed copy of a large rejected workbook (constant memory:
its values, hidden rows and sheets, problem cells filled and commented) and the first sheet `问题清单` as xlsxwriter
writes it, for the streamed copy and for the plain receipt (`write_explanation`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

from openpyxl.utils.cell import get_column_letter

from ..core.issues import Issue
from ..read.grid import Workbook
from ..write.book import Book, Sheet
from ..write.cells import text
from .receipt_content import (
    AUTHOR,
    ISSUE_HEADERS,
    ISSUE_SHEET,
    WIDTHS,
    ReceiptInfo,
    _atomic,
    _issue_rows,
    _sheet_title,
    _text,
    anchor,
    footer,
    issue_sheet_lines,
    mark_comment,
    mark_fill,
)

MAX_LINKS = 65_000  # Excel keeps at most 65,530 hyperlinks per sheet
STREAMED_NOTE = "原表格较大，本副本只保留了各单元格的内容（未保留原格式和合并单元格），问题单元格已标出。"


def _streamed(info: ReceiptInfo, issues: list[Issue], book: Workbook, out_path: Path) -> Path:
    """A fresh .xlsx written row by row in constant memory: the 问题清单 sheet first, then every sheet's values at
    their coordinates (strings always as text), hidden rows and hidden sheets kept, cells with issues filled and
    commented. Merged ranges, styles, widths and pictures are not reproduced in this mode (a comment on a cell
    inside a merged range goes to the range's top-left cell, as in the annotated copy)."""
    def write(tmp: str) -> None:
        out = Book(tmp, "receipt-returned", footer=footer(info), streamed=True)
        first = _issue_sheet(out)
        used = {ISSUE_SHEET.casefold()}
        pages = [(sh, out.wb.add_worksheet(_sheet_title(sh.name, used))) for sh in book.sheets]
        targets: dict[str, str] = {}
        for sh, ws in pages:
            targets.setdefault(sh.name, ws.get_name())
        _xw_issue_sheet(out, info, issues, targets, [STREAMED_NOTE], sheet=first)
        cells = _XwCells(out.wb)
        for sh, ws in pages:
            notes = _notes(sh, issues) if targets[sh.name] == ws.get_name() else {}
            _xw_sheet(ws, sh, notes, cells)
        out.close()

    return _atomic(out_path, write)


def _notes(sheet, issues: list[Issue]) -> dict[int, dict[int, list[Issue]]]:
    """Issues of one grid sheet by 0-based row and column (on a merged range's top-left cell)."""
    found = [(i, rc) for i in issues if i.sheet == sheet.name and (rc := i.position) is not None]
    merged = sheet.merged if len(sheet.merged) * len(found) <= 5_000_000 else []
    notes: dict[int, dict[int, list[Issue]]] = {}
    for i, (row, col) in found:
        r, c = anchor(merged, row - 1, col - 1)
        notes.setdefault(r, {}).setdefault(c, []).append(i)
    return notes


STREAMED_WIDTH = 14  # every column of a streamed copy (its own widths are not reproduced)
NUMBER_FORMATS = {"datetime": "yyyy-mm-dd hh:mm:ss", "date": "yyyy-mm-dd", "time": "hh:mm:ss", "plain": None}


class _XwCells:
    """xlsxwriter formats for reproduced values (number formats x fills), made once per workbook."""

    def __init__(self, wb):
        self._wb, self._made = wb, {}

    def format(self, kind: str, fill: str | None):
        """The format for a value of `kind` with background `fill` (an ARGB string, or None)."""
        key = (kind, fill)
        if key not in self._made:
            props: dict[str, object] = {}
            if NUMBER_FORMATS[kind]:
                props["num_format"] = NUMBER_FORMATS[kind]
            if fill:
                props.update(pattern=1, bg_color=f"#{fill[2:]}")
            self._made[key] = self._wb.add_format(props) if props else None
        return self._made[key]


def _xw_sheet(ws, sheet, notes: dict[int, dict[int, list[Issue]]], cells: _XwCells) -> None:
    """Write one grid sheet row by row (constant_memory: rows strictly in order)."""
    last = max(len(sheet.rows), max(notes, default=-1) + 1)
    hidden = sheet.hidden_rows
    ws.set_column(0, max(max(map(len, sheet.rows), default=1), 1) - 1, STREAMED_WIDTH)  # dates fit, not ###
    ws.set_landscape()
    ws.set_paper(9)  # A4, every column on the page's width
    ws.fit_to_pages(1, 0)
    write_string, write_number = ws.write_string, ws.write_number
    for r in range(last):
        if r in hidden:
            ws.set_row(r, None, None, {"hidden": True})
        row = sheet.rows[r] if r < len(sheet.rows) else []
        marks = notes.get(r)
        if marks is None:  # the common case, kept lean: ~2 million cells a minute matter here
            for c, value in enumerate(row):
                kind = type(value)
                if kind is str:
                    if value:
                        write_string(r, c, value)  # xlsxwriter escapes control characters and truncates
                elif kind is float and math.isfinite(value) or kind is int and abs(value) < 1e15:
                    write_number(r, c, value)
                elif value is not None:
                    _xw_value(ws, r, c, value, cells, None)
            continue
        for c, value in enumerate(row):
            if (value is not None and value != "") or c in marks:
                _xw_value(ws, r, c, value, cells, _fill(marks.get(c)))
        for c in sorted(marks):
            if c >= len(row):
                ws.write_blank(r, c, None, cells.format("plain", _fill(marks[c])))
            ws.write_comment(r, c, *_comment(marks[c]))
    if not sheet.visible:
        ws.hide()


def _fill(found: list[Issue] | None) -> str | None:
    return mark_fill(found) if found else None


def _comment(found: list[Issue]) -> tuple[str, dict]:
    """Text and options of our comment on a cell (as in an annotated copy)."""
    text, height, width = mark_comment(found)
    return text, {"author": AUTHOR, "width": width, "height": height}


def _xw_value(ws, r: int, c: int, value: object, cells: _XwCells, fill: str | None) -> None:
    """Write one reproduced value; strings always as text (a school's '=…' stays text)."""
    if value is None or value == "":
        ws.write_blank(r, c, None, cells.format("plain", fill))
    elif isinstance(value, bool):
        ws.write_boolean(r, c, value, cells.format("plain", fill))
    elif isinstance(value, int | float) and -1e308 < value < 1e308:  # not NaN/inf, not an int beyond floats
        ws.write_number(r, c, value, cells.format("plain", fill))
    elif isinstance(value, dt.datetime) and 1900 <= value.year <= 9999:
        ws.write_datetime(r, c, value.replace(tzinfo=None), cells.format("datetime", fill))
    elif isinstance(value, dt.date) and not isinstance(value, dt.datetime) and 1900 <= value.year <= 9999:
        ws.write_datetime(r, c, value, cells.format("date", fill))
    elif isinstance(value, dt.time):
        ws.write_datetime(r, c, value.replace(tzinfo=None), cells.format("time", fill))
    else:
        ws.write_string(r, c, _text(value), cells.format("plain", fill))


def _issue_sheet(book: Book) -> Sheet:
    return book.sheet(ISSUE_SHEET, widths=dict(enumerate(WIDTHS)))


def _xw_issue_sheet(book: Book, info: ReceiptInfo, issues: list[Issue], targets: dict[str, str],
                    extra: Iterable[str] = (), *, sheet: Sheet | None = None) -> None:
    """The first, active sheet `问题清单` (rows in order: works in streamed mode), as `_add_issue_sheet` writes it
    with openpyxl: title, the facts, the verdict, any notes, then one row per issue linked to its cell."""
    ws = sheet or _issue_sheet(book)
    last = len(WIDTHS) - 1
    styles = {"title": "title", "facts": "note", "verdict": "alert"}
    lines = issue_sheet_lines(info, issues, extra)
    for r, (line, role, _) in enumerate(lines):
        ws.merge(r, 0, r, last, line, styles[role])
    ws.height(0, 28)
    head = len(lines) + 1
    ws.row(head, 0, ISSUE_HEADERS, "head")
    for n, (issue, row) in enumerate(zip(issues, _issue_rows(issues)), 1):
        r = head + n
        ws.row(r, 0, row)
        rc = issue.position
        if issue.sheet in targets and rc is not None and n <= MAX_LINKS:
            target = targets[issue.sheet].replace("'", "''")
            ws.link(r, 2, f"internal:'{target}'!{get_column_letter(rc[1])}{rc[0]}", text(issue.cell))
    ws.ws.freeze_panes(head + 1, 0)
    ws.ws.autofilter(head, 0, max(head + len(issues), head), len(ISSUE_HEADERS) - 1)
    ws.repeat_rows = (head, head)
    ws.ws.activate()
