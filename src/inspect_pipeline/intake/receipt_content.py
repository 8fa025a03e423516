"""What every receipt shows, whichever way it is written (receipts.py, receipt_annotated.py, receipt_streamed.py):
the sheet names, headers, widths and colours, `ReceiptInfo`, the facts block and the table of issues, row heights,
text made safe for a cell, cell addresses, sheet titles, and the atomic write of a receipt.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ..core.issues import Issue
from ..core.publish import write_file_atomic
from ..core.weeks import chinese
from ..write.book import Footer
from ..write.measure import lines_needed
from ..write.measure import row_height as measured_row_height

ISSUE_SHEET = "问题清单"
RECEIPT_SHEET = "回执"
AUTHOR = "数据校验"
NO_CELL = "—"
ERROR_RGB, WARNING_RGB = "FFFFC7CE", "FFFFEB9C"
MARK = f"【{AUTHOR}】"  # starts our part of a comment appended to the school's own
OUTCOME_TEXT = {"accepted": "已受理", "duplicate": "重复报送", "rejected": "未受理"}
SEVERITY_TEXT = {"error": "错误", "warning": "提示"}
ISSUE_HEADERS = ("序号", "工作表", "单元格", "列名", "填写内容", "问题类型", "问题说明", "如何修改", "类别", "代码")
WARNING_HEADERS = ("序号", "工作表", "单元格", "列名", "填写内容", "问题类型", "提示", "建议", "代码")
WIDTHS = (5, 10, 7, 12, 12, 12, 30, 30, 6, 14)  # 问题清单's columns: fixed, so that rows can be streamed
RECEIPT_TITLE = "安全隐患周报回执"
ISSUE_FACTS = ("学校", "学校标识码", "周次", "文件", "收到时间")  # the facts line of 问题清单
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


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
    on_time: bool | None = None  # received before the week's cutoff (None: not known, e.g. no week)
    bureau: str = ""  # who sends the receipt (footer)


# ---------------------------------------------------------------------------------------------------- shared bits


def _text(value: object) -> str:
    """Any value as text that is safe in an XML cell (no control characters, within Excel's 32,767 limit)."""
    return ILLEGAL_CHARACTERS_RE.sub("", "" if value is None else str(value))[:32767]


def _ordered(issues: Iterable[Issue]) -> list[Issue]:
    """Errors, then warnings; each by sheet, row, column (issues without a cell first: they are structural)."""
    return sorted(issues, key=lambda i: (i.severity != "error", i.sheet or "", *(i.position or (0, 0))))


def _issue_rows(issues: list[Issue]) -> list[tuple]:
    """Table rows in ISSUE_HEADERS order."""
    return [
        (n, i.sheet or NO_CELL, i.cell or NO_CELL, i.column or "", i.value or "", _kind(i), i.message, i.fix,
         SEVERITY_TEXT.get(i.severity, i.severity), i.code)
        for n, i in enumerate(issues, 1)
    ]


def _kind(issue: Issue) -> str:
    try:
        return issue.kind
    except KeyError:  # a code of an older record no longer declared
        return issue.code


def mark_fill(found: list[Issue]) -> str:
    """The fill (ARGB) of a cell with these issues: red if any is an error, else yellow."""
    return ERROR_RGB if any(i.severity == "error" for i in found) else WARNING_RGB


def mark_comment(found: list[Issue], own: str = "") -> tuple[str, int, int]:
    """Our comment on a cell with these issues, after the school's own comment `own` if any: its text, and the
    height and width (px) of its box."""
    text = "\n".join(f"• {'' if i.severity == 'error' else '提示：'}{_text(i.message)}；{_text(i.fix)}" for i in found)
    if own.strip():
        text = f"{own.rstrip()}\n\n{MARK}\n{text}"
    lines = sum(max(1, math.ceil(len(line) / 18)) for line in text.splitlines())
    return text, min(40 + 18 * lines, 600), 320


def issue_sheet_lines(info: ReceiptInfo, issues: list[Issue], extra: Iterable[str] = ()) -> list[tuple[str, str, int]]:
    """The lines above the table of 问题清单, each (text, role, font size): the title, the facts, the verdict,
    then any notes."""
    n_err = sum(i.severity == "error" for i in issues)
    facts = "　".join(f"{k}：{_text(v)}" for k, v in _facts(info) if k in ISSUE_FACTS)
    verdict = f"共 {n_err} 处错误，{len(issues) - n_err} 处提示，请全部改正后重新报送。"
    notes = [(line, "facts", 10) for line in ([info.note] if info.note else []) + list(extra)]
    return [(f"{RECEIPT_TITLE}（未受理）", "title", 16), (facts, "facts", 10), (verdict, "verdict", 10), *notes]


def anchor(merged: Iterable[tuple[int, int, int, int]], r: int, c: int) -> tuple[int, int]:
    """The top-left cell of the merged range (r0, c0, r1, c1; 0-based) holding (r, c), else the cell itself."""
    for r0, c0, r1, c1 in merged:
        if r0 <= r <= r1 and c0 <= c <= c1:
            return r0, c0
    return r, c


def line_height(text: str, size: float) -> float:
    """The height (points) of a line of 问题清单 above its table: `text` at `size` points wrapped across all its
    columns (merged)."""
    return measured_row_height(lines_needed(text, sum(WIDTHS) + len(WIDTHS) - 1, size), size)


def row_height(values: Iterable[object], widths: Iterable[float]) -> float:
    """The height, in points, a row of wrapped cells needs to show all its text at its columns' widths, so that
    printed text never spills or hides."""
    most = max((lines_needed(v, w) for v, w in zip(values, widths) if v not in (None, "")), default=1)
    return measured_row_height(most)


def _when(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def week_text(week: str) -> str:
    """The week as schools write it (`2023年第47周`); the label itself if it is none."""
    try:
        return chinese(week)
    except ValueError:
        return week or NO_CELL


def _received(info: ReceiptInfo) -> str:
    timing = {True: "按时", False: "迟报（截止时间后收到）"}.get(info.on_time)
    return f"{_when(info.received_at)}（{timing}）" if timing else _when(info.received_at)


def footer(info: ReceiptInfo) -> Footer:
    return Footer(f"{info.bureau}　{RECEIPT_TITLE}" if info.bureau else RECEIPT_TITLE,
                  f"文件：{info.file_name}"[:32], f"收到时间：{_when(info.received_at)}")


def _facts(info: ReceiptInfo) -> list[tuple[str, object]]:
    """The key/value block of a receipt."""
    facts: list[tuple[str, object]] = [
        ("学校", info.school_name or "（未识别）"),
        ("学校标识码", info.school_code or NO_CELL),
        ("周次", week_text(info.week)),
        ("文件", info.file_name),
        ("收到时间", _received(info)),
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


def _sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name close to `name`."""
    base = _BAD_SHEET_CHARS.sub("_", _text(name)).strip("'")[:31] or "Sheet"
    title, n = base, 1
    while title.casefold() in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 2]}({n})"
    used.add(title.casefold())
    return title
