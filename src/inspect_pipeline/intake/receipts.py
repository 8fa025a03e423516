"""Receipts (回执): what a school gets back for each file it sent (outputs.md §1).

- accepted / duplicate: a short `回执` workbook, written with xlsxwriter (thousands a week, ~1–2 ms each);
- rejected: the school's own workbook with every problem cell filled and commented and a first sheet `问题清单`
  (openpyxl); for .xls/.ods/.csv a fresh .xlsx reproducing the sheets; for a workbook spanning more than
  `annotate_max_cells` cells a streamed copy of its values (xlsxwriter, constant memory: seconds, not minutes);
  when nothing could be read, a small workbook saying why (`write_explanation`). Annotation problems fall back
  down that list, each logged as one line: a bad school file never raises here.

Text that came from a school is always written as text, never as a live formula, and every receipt is written to
a temp file beside `out_path` and renamed into place, so it is never half-written.

This module holds the entry points (`write_accepted`, `write_rejected`, `write_explanation`, `copy_missing`); what
every receipt shows is in receipt_content.py, the annotated copy and the reproduction (openpyxl) in
receipt_annotated.py, the streamed copy and the xlsxwriter `问题清单` sheet in receipt_streamed.py.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path

from ..core.issues import Issue
from ..read.grid import Workbook
from .receipt_annotated import _annotated_original, _reproduction
from .receipt_content import (
    _XW_OPTIONS,
    _XW_STREAM,
    ISSUE_SHEET,
    RECEIPT_SHEET,
    WARNING_HEADERS,
    WIDTHS,
    ReceiptInfo,
    _atomic,
    _facts,
    _issue_rows,
    _ordered,
    _xw_put,
)
from .receipt_streamed import _streamed, _xw_issue_sheet

log = logging.getLogger(__name__)

COPY_FAILED = "原表格无法由程序打开，未能生成带标注的副本；问题见下表"
NO_COPY_NEEDED = "原表格较大，且问题不在具体单元格上，故未附副本；问题见下表"


def copy_missing(reason: str, watchdog_seconds: float, max_memory_mb: float) -> str:
    """The Chinese sentence of a plain receipt saying why the annotated copy is missing: `reason` is "watchdog",
    "memory", or anything else (the copy failed or crashed)."""
    if reason == "watchdog":
        return f"原表格过大，未能生成带标注的副本（超过 {watchdog_seconds:g} 秒的时间上限）；问题见下表"
    if reason == "memory":
        return f"原表格过大，未能生成带标注的副本（超过 {max_memory_mb:g} MB 的内存上限）；问题见下表"
    return COPY_FAILED


# ---------------------------------------------------------------------------------------------------- accepted


def write_accepted(info: ReceiptInfo, warnings: list[Issue], out_path: Path) -> Path:
    """The short `回执` workbook for an accepted (or duplicate) file, with its warnings if any."""
    import xlsxwriter  # a declared dependency, imported where receipts are written

    rows = [r[:7] + r[8:] for r in _issue_rows(_ordered(warnings))]

    def write(tmp: str) -> None:
        wb = xlsxwriter.Workbook(tmp, _XW_OPTIONS)
        ws = wb.add_worksheet(RECEIPT_SHEET)
        title = wb.add_format({"bold": True, "font_size": 14})
        key = wb.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        value = wb.add_format({"border": 1, "align": "left", "valign": "top", "text_wrap": True})
        bold = wb.add_format({"bold": True})
        head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        body = wb.add_format({"border": 1, "valign": "top", "text_wrap": True})
        for c, w in enumerate(WIDTHS[:7] + WIDTHS[8:]):
            ws.set_column(c, c, w)
        ws.write_string(0, 0, "安全隐患周报回执", title)
        r = 2
        for k, v in _facts(info):
            ws.write_string(r, 0, k, key)
            ws.merge_range(r, 1, r, 6, "", value)
            _xw_put(ws, r, 1, v, value)
            r += 1
        if rows:
            r += 1
            ws.write_string(r, 0, f"提示 {len(rows)} 处（不影响受理，请在下次填报时注意）：", bold)
            ws.write_row(r + 1, 0, WARNING_HEADERS, head)
            for i, row in enumerate(rows, r + 2):
                for c, v in enumerate(row):
                    _xw_put(ws, i, c, v, body)
        ws.set_landscape()
        ws.set_paper(9)
        ws.fit_to_pages(1, 0)
        wb.close()

    return _atomic(out_path, write)


# ---------------------------------------------------------------------------------------------------- rejected


def write_rejected(
    info: ReceiptInfo,
    issues: list[Issue],
    out_path: Path,
    *,
    original: Path | None,
    fmt: str | None,
    workbook: Workbook | None,
    annotate_max_cells: int | None = None,
) -> Path:
    """The receipt of a rejected file, written to out_path (returned): the annotated original, else a
    reproduction, else an explanation saying the copy is missing. A workbook spanning more than
    `annotate_max_cells` cells (None: no threshold) gets a streamed copy instead of the first two."""
    issues = _ordered(issues)
    builds: list[tuple[str, Callable[[], Path]]] = []
    if workbook is not None and annotate_max_cells is not None and cell_count(workbook) > annotate_max_cells:
        if not any(i.position for i in issues):  # a copy with nothing marked: the school has its own file
            return write_explanation(info, issues, out_path, missing=NO_COPY_NEEDED)
        builds.append(("streaming a copy", lambda: _streamed(info, issues, workbook, out_path)))
    else:
        if original is not None and fmt in ("xlsx", "xlsm"):
            builds.append(("annotating the original",
                           lambda: _atomic(out_path, _annotated_original(info, issues, Path(original)).save)))
        if workbook is not None:
            builds.append(("reproducing the sheets",
                           lambda: _atomic(out_path, _reproduction(info, issues, workbook).save)))
    for what, build in builds:
        try:
            with warnings.catch_warnings():  # openpyxl warns about every feature it drops from a school's file
                warnings.simplefilter("ignore")
                return build()
        except Exception as exc:  # noqa: BLE001 - a school's file must not stop its receipt
            log.warning("receipt for %r: %s failed (%s), falling back", info.file_name, what, _one_line(exc))
    return write_explanation(info, issues, out_path, missing=COPY_FAILED if builds else None)


def cell_count(book: Workbook) -> int:
    """Cells the sheets of `book` span (rows x widest row, summed): what annotating it would have to load."""
    return sum(len(sh.rows) * max(map(len, sh.rows), default=0) for sh in book.sheets)


def _one_line(exc: BaseException) -> str:
    """An exception as one short log line (no traceback)."""
    text = " ".join(f"{type(exc).__name__}: {exc}".split())
    return text if len(text) <= 300 else text[:297] + "..."

def write_explanation(info: ReceiptInfo, issues: list[Issue], out_path: Path, *, missing: str | None = None) -> Path:
    """The plain receipt, a single sheet `问题清单` (xlsxwriter, any number of issues in little memory), written to
    out_path (returned): for a file that could not be opened, what it is and what to send instead; with `missing`,
    the sentence saying why the annotated copy is missing, above the table of issues."""
    import xlsxwriter

    issues = _ordered(issues)
    lines = [f"文件“{info.file_name}”未能受理。"]
    if missing:
        lines.append(missing)
    else:
        for i in issues:
            if i.severity == "error":
                lines += [f"原因：{i.message}", f"请：{i.fix}"]

    def write(tmp: str) -> None:
        wb = xlsxwriter.Workbook(tmp, _XW_STREAM if len(issues) > 1000 else _XW_OPTIONS)
        _xw_issue_sheet(wb, wb.add_worksheet(ISSUE_SHEET), info, issues, {}, lines)
        wb.close()

    return _atomic(out_path, write)

