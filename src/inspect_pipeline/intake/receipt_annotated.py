"""The receipt of a rejected workbook written with openpyxl: the school's own workbook annotated, or a reproduction
of its sheets (for .xls/.ods/.csv), with every problem cell filled and commented (merged ranges: their top-left
cell), our marks of an earlier receipt cleared, and a first sheet `问题清单` linked to the cells.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

from ..core.issues import Issue
from ..read.grid import Workbook
from ..write.paging import apply_openpyxl, plan
from .receipt_content import (
    AUTHOR,
    ERROR_RGB,
    ISSUE_HEADERS,
    ISSUE_SHEET,
    MARK,
    WARNING_RGB,
    WIDTHS,
    ReceiptInfo,
    _issue_rows,
    _sheet_title,
    _text,
    footer,
    issue_sheet_lines,
    line_height,
    mark_comment,
    mark_fill,
    row_height,
)


def _annotated_original(info: ReceiptInfo, issues: list[Issue], original: Path) -> openpyxl.Workbook:
    wb = openpyxl.load_workbook(original, keep_vba=False, rich_text=True)
    if ISSUE_SHEET in wb.sheetnames and all(i.sheet != ISSUE_SHEET for i in issues):
        del wb[ISSUE_SHEET]  # our list from an earlier receipt, sent back corrected
    sheets = {ws.title: ws for ws in wb.worksheets}
    for ws in sheets.values():
        _clear_old_marks(ws)
    _mark(sheets, issues)
    _add_issue_sheet(wb, info, issues, {name: ws.title for name, ws in sheets.items()})
    return wb


def _reproduction(info: ReceiptInfo, issues: list[Issue], book: Workbook) -> openpyxl.Workbook:
    """A fresh workbook with the same sheets, values at the same coordinates, merges and hidden rows."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    used = {ISSUE_SHEET.casefold()}
    sheets = {}
    for sh in book.sheets:
        ws = wb.create_sheet(_sheet_title(sh.name, used))
        for i, row in enumerate(sh.rows, 1):
            for j, v in enumerate(row, 1):
                if v is not None and v != "":
                    _put(ws, i, j, v)
        done: list[tuple[int, int, int, int]] = []
        for r0, c0, r1, c1 in sh.merged:
            overlaps = any(r0 <= b[2] and b[0] <= r1 and c0 <= b[3] and b[1] <= c1 for b in done)
            if (r0, c0) != (r1, c1) and not overlaps:  # Excel calls overlapping merges a corrupt file
                ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
                done.append((r0, c0, r1, c1))
        for r in sh.hidden_rows:
            ws.row_dimensions[r + 1].hidden = True
        ws.sheet_state = "visible" if sh.visible else "hidden"
        sheets.setdefault(sh.name, ws)
    _mark(sheets, issues)
    _add_issue_sheet(wb, info, issues, {name: ws.title for name, ws in sheets.items()})
    return wb


def _put(ws, row: int, col: int, value: object):
    """Write one value; strings always as text (a school's '=…' stays text)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    elif isinstance(value, float) and not math.isfinite(value):
        value = str(value)
    elif not isinstance(value, int | float | dt.date | dt.time):
        value = _text(value)
    cell = ws.cell(row, col, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _anchor(ws, row: int, col: int) -> tuple[int, int]:
    """The top-left cell of the merged range holding (row, col), else the cell itself."""
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return rng.min_row, rng.min_col
    return row, col


def _clear_old_marks(ws) -> None:
    """Remove our comments and fills of an earlier receipt (a school often sends our annotated copy back)."""
    for cell in list(ws._cells.values()):  # only existing cells: iter_rows would create the whole used range
        comment = cell.comment
        if comment is None or (MARK not in comment.text and comment.author != AUTHOR):
            continue
        own = comment.text.split(MARK)[0].rstrip() if MARK in comment.text else ""
        cell.comment = Comment(own, comment.author or "", height=comment.height, width=comment.width) if own else None
        if cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb in (ERROR_RGB, WARNING_RGB):
            cell.fill = PatternFill()


def _mark(sheets: dict[str, object], issues: list[Issue]) -> None:
    """Fill and comment every cell an issue points at (merged ranges: their top-left cell)."""
    notes: dict[tuple[str, int, int], list[Issue]] = {}
    for i in issues:
        rc = i.position
        if i.sheet in sheets and rc is not None:
            notes.setdefault((i.sheet, *_anchor(sheets[i.sheet], *rc)), []).append(i)
    for (name, row, col), found in notes.items():
        cell = sheets[name].cell(row, col)
        rgb = mark_fill(found)
        cell.fill = PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)
        text, height, width = mark_comment(found, cell.comment.text if cell.comment is not None else "")
        cell.comment = Comment(text, AUTHOR, height=height, width=width)


def _add_issue_sheet(
    wb: openpyxl.Workbook,
    info: ReceiptInfo,
    issues: list[Issue],
    targets: dict[str, str],
    extra: Iterable[str] = (),
) -> None:
    """Insert the first, active sheet `问题清单`: a summary and one row per issue, linked to its cell."""
    ws = wb.create_sheet(ISSUE_SHEET, 0)
    last = len(WIDTHS)
    wrap = Alignment(wrap_text=True, vertical="center")
    fonts = {"title": Font(name="黑体", bold=True, size=16), "facts": Font(size=10),
             "verdict": Font(bold=True, size=10, color="FFC00000")}
    lines = [(line, fonts[role]) for line, role, _ in issue_sheet_lines(info, issues, extra)]
    for r, (line, font) in enumerate(lines, 1):
        cell = _put(ws, r, 1, line)
        cell.font, cell.alignment = font, wrap
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=last)
        ws.row_dimensions[r].height = line_height(line, font.size)
    head = len(lines) + 2
    for c, h in enumerate(ISSUE_HEADERS, 1):
        cell = _put(ws, head, c, h)
        cell.font = Font(bold=True, size=10)
        cell.alignment = wrap
        cell.fill = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
    ws.row_dimensions[head].height = row_height(ISSUE_HEADERS, WIDTHS)
    body = Font(size=10)
    for r, (issue, row) in enumerate(zip(issues, _issue_rows(issues)), head + 1):
        for c, v in enumerate(row, 1):
            cell = _put(ws, r, c, v)
            cell.alignment, cell.font = wrap, body
        ws.row_dimensions[r].height = row_height(row, WIDTHS)
        rc = issue.position
        if issue.sheet in targets and rc is not None:
            link = ws.cell(r, 3)
            target = targets[issue.sheet].replace("'", "''")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{target}'!{get_column_letter(rc[1])}{rc[0]}")
            link.font = Font(size=10, color="FF0563C1", underline="single")
    for c, w in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(head + 1, 1)
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(ISSUE_HEADERS))}{max(head + len(issues), head)}"
    apply_openpyxl(ws, plan(list(WIDTHS)), repeat_rows=(head - 1, head - 1))
    page = footer(info)
    ws.oddHeader.left.text, ws.oddHeader.right.text = "&A", "回执（退回的原表）"
    ws.oddFooter.left.text, ws.oddFooter.center.text, ws.oddFooter.right.text = page.left, page.center, page.right
    wb.properties.category = "receipt-returned"
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0
    if wb.views:
        wb.views[0].firstSheet = 0
