"""Receipts (回执): what a school gets back for each file it sent (outputs.md §1).

- accepted / duplicate: a short `回执` workbook (thousands a week): written by xlsxwriter once per shape and worker
  process, then rendered from that template (write/templated.py), the same bytes a few times faster;
- rejected: the school's own workbook with every problem cell filled and commented and a first sheet `问题清单`
  (an .xlsx by editing its parts, receipt_patched.py; where that cannot be done, or for .xlsm, with openpyxl);
  for .xls/.ods/.csv a fresh .xlsx reproducing the sheets; for a workbook spanning more than
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
import zipfile
from collections.abc import Callable
from pathlib import Path

from ..core.issues import Issue
from ..core.publish import write_bytes_atomic
from ..read.grid import Workbook
from ..write.book import Book
from ..write.templated import TemplatedBook
from .receipt_annotated import _annotated_original, _reproduction
from .receipt_content import (
    RECEIPT_SHEET,
    RECEIPT_TITLE,
    WARNING_HEADERS,
    WIDTHS,
    ReceiptInfo,
    _atomic,
    _facts,
    _issue_rows,
    _ordered,
    footer,
)
from .receipt_patched import Unpatchable, patched_copy
from .receipt_streamed import _streamed, _xw_issue_sheet

log = logging.getLogger(__name__)

PATCH_MAX_BYTES = 8 << 20  # an .xlsx whose parts unpack to at most this is annotated by editing them (seconds at most)
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
    """The short `回执` workbook for an accepted (or duplicate) file, with its warnings if any: one A4 page."""
    rows = [r[:8] + r[9:] for r in _issue_rows(_ordered(warnings))]

    def write(tmp: str) -> None:
        book = TemplatedBook(tmp, "receipt-accepted", footer=footer(info))
        widths = dict(enumerate(WIDTHS[:8] + WIDTHS[9:]))
        ws = book.sheet(RECEIPT_SHEET, widths=widths)
        last = len(widths) - 1
        ws.merge(0, 0, 0, last, RECEIPT_TITLE, "title")
        ws.height(0, 28)
        r = 2
        for k, v in _facts(info):
            ws.merge(r, 0, r, 1, k, "label")
            ws.merge(r, 2, r, last, v, "text")
            r += 1
        if rows:
            ws.merge(r + 1, 0, r + 1, last, f"提示 {len(rows)} 处（不影响受理，请在下次填报时注意）：", "alert")
            ws.row(r + 2, 0, WARNING_HEADERS, "head")
            for i, row in enumerate(rows, r + 3):
                ws.row(i, 0, row)
        book.close()

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
    load: Callable[[], Workbook | None] | None = None,
) -> Path:
    """The receipt of a rejected file, written to out_path (returned): the annotated original (an .xlsx whose
    parts are small enough to edit by editing them, else with openpyxl), else a reproduction, else an explanation
    saying the copy is missing. A workbook spanning more than `annotate_max_cells` cells (None: no threshold) gets
    a streamed copy instead, unless its parts are edited. `load` reads the workbook when `workbook` is not given
    and it is needed (its size decides, or the reproduction is the way left)."""
    issues = _ordered(issues)
    patchable = original is not None and fmt == "xlsx" and patchable_size(Path(original))
    if workbook is None and load is not None and not patchable:
        workbook = load()
    builds: list[tuple[str, Callable[[], Path]]] = []
    if (not patchable and workbook is not None and annotate_max_cells is not None
            and cell_count(workbook) > annotate_max_cells):
        if not any(i.position for i in issues):  # a copy with nothing marked: the school has its own file
            return write_explanation(info, issues, out_path, missing=NO_COPY_NEEDED)
        builds.append(("streaming a copy", lambda: _streamed(info, issues, workbook, out_path)))
    else:
        if patchable:
            builds.append(("editing the original's parts", lambda: _patched(info, issues, Path(original), out_path)))
        if original is not None and fmt in ("xlsx", "xlsm"):
            builds.append(("annotating the original",
                           lambda: _atomic(out_path, _annotated_original(info, issues, Path(original)).save)))
        if workbook is not None or load is not None:
            builds.append(("reproducing the sheets",
                           lambda: _atomic(out_path, _reproduction(info, issues, workbook or _loaded(load)).save)))
    for what, build in builds:
        try:
            with warnings.catch_warnings():  # openpyxl warns about every feature it drops from a school's file
                warnings.simplefilter("ignore")
                return build()
        except Unpatchable as exc:  # expected for some files: the next way is as good
            log.info("receipt for %r: %s: %s", info.file_name, what, exc)
        except Exception as exc:  # noqa: BLE001 - a school's file must not stop its receipt
            log.warning("receipt for %r: %s failed (%s), falling back", info.file_name, what, _one_line(exc))
    return write_explanation(info, issues, out_path, missing=COPY_FAILED if builds else None)


def patchable_size(original: Path) -> bool:
    """Whether an .xlsx's parts, as its zip directory declares them, are small enough to edit in a receipt
    (PATCH_MAX_BYTES); False for a file that is not a zip."""
    try:
        with zipfile.ZipFile(original) as zf:
            return sum(i.file_size for i in zf.infolist()) <= PATCH_MAX_BYTES
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def _loaded(load: Callable[[], Workbook | None] | None) -> Workbook:
    book = load() if load is not None else None
    if book is None:
        raise ValueError("the workbook could not be read")
    return book


def _patched(info: ReceiptInfo, issues: list[Issue], original: Path, out_path: Path) -> Path:
    """The annotated copy made by editing the original's parts (receipt_patched.py)."""
    return write_bytes_atomic(out_path, patched_copy(info, issues, original.read_bytes()))


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
    issues = _ordered(issues)
    lines = [f"文件“{info.file_name}”未能受理。"]
    if missing:
        lines.append(missing)
    else:
        for i in issues:
            if i.severity == "error":
                lines += [f"原因：{i.message}", i.fix if i.fix.startswith("请") else f"请：{i.fix}"]

    def write(tmp: str) -> None:
        book = Book(tmp, "receipt-explained", footer=footer(info), streamed=len(issues) > 1000)
        _xw_issue_sheet(book, info, issues, {}, lines)
        book.close()

    return _atomic(out_path, write)

