"""Receipts (回执): what a school gets back for each file it sent (outputs.md §1).

- accepted / duplicate: a short `回执` workbook, written with xlsxwriter (thousands a week, ~1–2 ms each);
- rejected: the school's own workbook with every problem cell filled and commented and a first sheet `问题清单`
  (openpyxl); for .xls/.ods/.csv a fresh .xlsx reproducing the sheets; for a workbook spanning more than
  `annotate_max_cells` cells a streamed copy of its values (xlsxwriter, constant memory: seconds, not minutes);
  when nothing could be read, a small workbook saying why (`write_explanation`). Annotation problems fall back
  down that list, each logged as one line: a bad school file never raises here.

Text that came from a school is always written as text, never as a live formula, and every receipt is written to
a temp file beside `out_path` and renamed into place, so it is never half-written.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import (
    column_index_from_string,
    coordinate_from_string,
    get_column_letter,
)
from openpyxl.worksheet.hyperlink import Hyperlink

from ..core.issues import Issue
from ..core.publish import write_file_atomic
from ..read.grid import Workbook

log = logging.getLogger(__name__)

ISSUE_SHEET = "问题清单"
RECEIPT_SHEET = "回执"
AUTHOR = "数据校验"
MARK = f"【{AUTHOR}】"  # starts our part of a comment appended to the school's own
NO_CELL = "—"
ERROR_RGB, WARNING_RGB = "FFFFC7CE", "FFFFEB9C"
OUTCOME_TEXT = {"accepted": "已受理", "duplicate": "重复报送", "rejected": "未受理"}
SEVERITY_TEXT = {"error": "错误", "warning": "提示"}
ISSUE_HEADERS = ("序号", "工作表", "单元格", "列名", "填写内容", "问题", "如何修改", "类别", "代码")
WARNING_HEADERS = ("序号", "工作表", "单元格", "列名", "填写内容", "提示", "建议", "代码")
WIDTHS = (6, 14, 9, 18, 20, 40, 40, 8, 18)
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_XW_TEXT = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
_XW_OPTIONS = {"in_memory": True, **_XW_TEXT}
_XW_STREAM = {"constant_memory": True, **_XW_TEXT}  # rows go to temp files as they are written
MAX_LINKS = 65_000  # Excel keeps at most 65,530 hyperlinks per sheet
STREAMED_NOTE = "原表格较大，本副本只保留了各单元格的内容（未保留原格式和合并单元格），问题单元格已标出。"
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


@dataclass(frozen=True)
class ReceiptInfo:
    file_name: str  # original file name as the school sent it
    received_at: dt.datetime  # tz-aware
    week: str  # "2023-W47"
    outcome: str  # accepted | rejected | duplicate
    school_name: str | None
    school_code: str | None
    counts: dict[str, int]  # rows, new, major, open, rectified (accepted only)
    note: str = ""  # an extra Chinese sentence shown on the receipt


# ---------------------------------------------------------------------------------------------------- shared bits


def _text(value: object) -> str:
    """Any value as text that is safe in an XML cell (no control characters, within Excel's 32,767 limit)."""
    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))[:32767]


def _cell_rc(cell: str | None) -> tuple[int, int] | None:
    """'G7' → (7, 7); None for a missing or malformed address."""
    if not cell:
        return None
    try:
        col, row = coordinate_from_string(cell.replace("$", "").strip().upper())
        col_idx = column_index_from_string(col)
    except Exception:
        return None
    return (row, col_idx) if 1 <= row <= 1_048_576 and 1 <= col_idx <= 16_384 else None


def _ordered(issues: Iterable[Issue]) -> list[Issue]:
    """Errors, then warnings; each by sheet, row, column (issues without a cell first: they are structural)."""
    return sorted(issues, key=lambda i: (i.severity != "error", i.sheet or "", *(_cell_rc(i.cell) or (0, 0))))


def _issue_rows(issues: list[Issue]) -> list[tuple]:
    """Table rows in ISSUE_HEADERS order."""
    return [
        (n, i.sheet or NO_CELL, i.cell or NO_CELL, i.column or "", i.value or "", i.message, i.fix,
         SEVERITY_TEXT.get(i.severity, i.severity), i.code)
        for n, i in enumerate(issues, 1)
    ]


LINE_HEIGHT = 15.0  # points per line of 11-point text


def row_height(values: Iterable[object], widths: Iterable[float]) -> float:
    """The height, in points, a row of wrapped cells needs to show all its text: the most lines any cell takes at
    its column's width (a CJK character is two width units), so printed text never spills or hides."""
    most = 1
    for value, width in zip(values, widths):
        parts = ("" if value is None else str(value)).split("\n")
        most = max(most, sum(max(1, math.ceil(_units(part) / max(width - 1, 1))) for part in parts))
    return LINE_HEIGHT * most


def _units(text: str) -> int:
    """Display width of text in column-width units (wide and full-width characters count two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _when(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _facts(info: ReceiptInfo) -> list[tuple[str, object]]:
    """The key/value block of a receipt."""
    facts: list[tuple[str, object]] = [
        ("学校", info.school_name or "（未识别）"),
        ("学校标识码", info.school_code or NO_CELL),
        ("周次", info.week),
        ("文件", info.file_name),
        ("收到时间", _when(info.received_at)),
        ("结果", OUTCOME_TEXT.get(info.outcome, info.outcome)),
    ]
    if info.outcome == "accepted":
        c = info.counts
        facts += [("隐患条数", c.get("rows", 0)), ("其中重大", c.get("major", 0)), ("本周新增", c.get("new", 0)),
                  ("仍未整改", c.get("open", 0)), ("已整改", c.get("rectified", 0))]
    if info.note:
        facts.append(("说明", info.note))
    return facts


def _atomic(out_path: Path, write: Callable[[str], None]) -> Path:
    """Run `write(temp_path)` on a temp file beside out_path, then rename it into place."""
    return write_file_atomic(Path(out_path), write)


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


def _xw_put(ws, row: int, col: int, value: object, fmt) -> None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, _text(value), fmt)


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
        if not any(_cell_rc(i.cell) for i in issues):  # a copy with nothing marked: the school has its own file
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


# ---------------------------------------------------------------------------------------------------- streamed


def _streamed(info: ReceiptInfo, issues: list[Issue], book: Workbook, out_path: Path) -> Path:
    """A fresh .xlsx written row by row in constant memory: the 问题清单 sheet first, then every sheet's values at
    their coordinates (strings always as text), hidden rows and hidden sheets kept, cells with issues filled and
    commented. Merged ranges, styles, widths and pictures are not reproduced in this mode (a comment on a cell
    inside a merged range goes to the range's top-left cell, as in the annotated copy)."""
    import xlsxwriter

    def write(tmp: str) -> None:
        wb = xlsxwriter.Workbook(tmp, _XW_STREAM)
        first = wb.add_worksheet(ISSUE_SHEET)
        used = {ISSUE_SHEET.casefold()}
        pages = [(sh, wb.add_worksheet(_sheet_title(sh.name, used))) for sh in book.sheets]
        targets: dict[str, str] = {}
        for sh, ws in pages:
            targets.setdefault(sh.name, ws.get_name())
        _xw_issue_sheet(wb, first, info, issues, targets, [STREAMED_NOTE])
        cells = _XwCells(wb)
        for sh, ws in pages:
            notes = _notes(sh, issues) if targets[sh.name] == ws.get_name() else {}
            _xw_sheet(ws, sh, notes, cells)
        wb.close()

    return _atomic(out_path, write)


def _notes(sheet, issues: list[Issue]) -> dict[int, dict[int, list[Issue]]]:
    """Issues of one grid sheet by 0-based row and column (on a merged range's top-left cell)."""
    found = [(i, rc) for i in issues if i.sheet == sheet.name and (rc := _cell_rc(i.cell)) is not None]
    merged = sheet.merged if len(sheet.merged) * len(found) <= 5_000_000 else []
    notes: dict[int, dict[int, list[Issue]]] = {}
    for i, (row, col) in found:
        r, c = row - 1, col - 1
        for r0, c0, r1, c1 in merged:
            if r0 <= r <= r1 and c0 <= c <= c1:
                r, c = r0, c0
                break
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
    if not found:
        return None
    return ERROR_RGB if any(i.severity == "error" for i in found) else WARNING_RGB


def _comment(found: list[Issue]) -> tuple[str, dict]:
    """Text and options of our comment on a cell (as `_mark` writes it in an annotated copy)."""
    text = "\n".join(f"• {'' if i.severity == 'error' else '提示：'}{_text(i.message)}；{_text(i.fix)}" for i in found)
    lines = sum(max(1, math.ceil(len(line) / 18)) for line in text.splitlines())
    return text, {"author": AUTHOR, "width": 320, "height": min(40 + 18 * lines, 600)}


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


def _xw_issue_sheet(wb, ws, info: ReceiptInfo, issues: list[Issue], targets: dict[str, str],
                    extra: Iterable[str] = ()) -> None:
    """The first, active sheet `问题清单` with xlsxwriter (rows in order: works in constant_memory mode): as
    `_add_issue_sheet` writes it with openpyxl."""
    title = wb.add_format({"bold": True, "font_size": 14})
    verdict_fmt = wb.add_format({"bold": True, "font_color": "#C00000"})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "pattern": 1})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    link = wb.add_format({"text_wrap": True, "valign": "top", "font_color": "#0563C1", "underline": 1})
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)
    n_err = sum(i.severity == "error" for i in issues)
    ws.write_string(0, 0, "安全隐患周报回执（未受理）", title)
    facts = "　".join(f"{k}：{_text(v)}" for k, v in _facts(info) if k in ("学校", "学校标识码", "文件", "周次", "收到时间"))
    ws.write_string(1, 0, _text(facts))
    ws.write_string(2, 0, f"共 {n_err} 处错误，{len(issues) - n_err} 处提示，请全部改正后重新报送。", verdict_fmt)
    r = 3
    for line in ([info.note] if info.note else []) + list(extra):
        ws.write_string(r, 0, _text(line))
        r += 1
    head = r + 1
    for c, h in enumerate(ISSUE_HEADERS):
        ws.write_string(head, c, h, head_fmt)
    for n, (issue, row) in enumerate(zip(issues, _issue_rows(issues)), 1):
        r = head + n
        ws.set_row(r, row_height(row, WIDTHS))
        for c, v in enumerate(row):
            _xw_put(ws, r, c, v, wrap)
        rc = _cell_rc(issue.cell)
        if issue.sheet in targets and rc is not None and n <= MAX_LINKS:
            target = targets[issue.sheet].replace("'", "''")
            ws.write_url(r, 2, f"internal:'{target}'!{get_column_letter(rc[1])}{rc[0]}", link, _text(issue.cell))
    ws.freeze_panes(head + 1, 0)
    ws.autofilter(head, 0, max(head + len(issues), head), len(ISSUE_HEADERS) - 1)
    ws.repeat_rows(head)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.activate()


def _sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name close to `name`."""
    base = _BAD_SHEET_CHARS.sub("_", _text(name)).strip("'")[:31] or "Sheet"
    title, n = base, 1
    while title.casefold() in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 2]}({n})"
    used.add(title.casefold())
    return title


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
        rc = _cell_rc(i.cell)
        if i.sheet in sheets and rc is not None:
            notes.setdefault((i.sheet, *_anchor(sheets[i.sheet], *rc)), []).append(i)
    for (name, row, col), found in notes.items():
        cell = sheets[name].cell(row, col)
        rgb = ERROR_RGB if any(i.severity == "error" for i in found) else WARNING_RGB
        cell.fill = PatternFill(fill_type="solid", start_color=rgb, end_color=rgb)
        ours = "\n".join(
            f"• {'' if i.severity == 'error' else '提示：'}{_text(i.message)}；{_text(i.fix)}" for i in found
        )
        if cell.comment is not None and cell.comment.text.strip():
            ours = f"{cell.comment.text.rstrip()}\n\n{MARK}\n{ours}"
        lines = sum(max(1, math.ceil(len(line) / 18)) for line in ours.splitlines())
        cell.comment = Comment(ours, AUTHOR, height=min(40 + 18 * lines, 600), width=320)


def _add_issue_sheet(
    wb: openpyxl.Workbook,
    info: ReceiptInfo,
    issues: list[Issue],
    targets: dict[str, str],
    extra: Iterable[str] = (),
) -> None:
    """Insert the first, active sheet `问题清单`: a summary and one row per issue, linked to its cell."""
    ws = wb.create_sheet(ISSUE_SHEET, 0)
    n_err = sum(i.severity == "error" for i in issues)
    _put(ws, 1, 1, "安全隐患周报回执（未受理）").font = Font(bold=True, size=14)
    facts = "　".join(f"{k}：{_text(v)}" for k, v in _facts(info) if k in ("学校", "学校标识码", "文件", "周次", "收到时间"))
    _put(ws, 2, 1, facts)
    verdict = f"共 {n_err} 处错误，{len(issues) - n_err} 处提示，请全部改正后重新报送。"
    _put(ws, 3, 1, verdict).font = Font(bold=True, color="FFC00000")
    r = 4
    for line in ([info.note] if info.note else []) + list(extra):
        _put(ws, r, 1, line)
        r += 1
    head = r + 1
    for c, h in enumerate(ISSUE_HEADERS, 1):
        cell = _put(ws, head, c, h)
        cell.font = Font(bold=True)
        cell.fill = PatternFill(fill_type="solid", start_color="FFDDEBF7", end_color="FFDDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, (issue, row) in enumerate(zip(issues, _issue_rows(issues)), head + 1):
        for c, v in enumerate(row, 1):
            _put(ws, r, c, v).alignment = wrap
        ws.row_dimensions[r].height = row_height(row, WIDTHS)
        rc = _cell_rc(issue.cell)
        if issue.sheet in targets and rc is not None:
            link = ws.cell(r, 3)
            target = targets[issue.sheet].replace("'", "''")
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{target}'!{get_column_letter(rc[1])}{rc[0]}")
            link.font = Font(color="FF0563C1", underline="single")
    for c, w in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = ws.cell(head + 1, 1)
    ws.auto_filter.ref = f"A{head}:{get_column_letter(len(ISSUE_HEADERS))}{max(head + len(issues), head)}"
    ws.print_title_rows = f"{head}:{head}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    for other in wb.worksheets:
        other.sheet_view.tabSelected = False
    ws.sheet_view.tabSelected = True
    wb.active = 0
    if wb.views:
        wb.views[0].firstSheet = 0
