"""What is wrong with a roster, said so that the clerk can find every cell in Excel (roster.md: a bad roster stops
the run with a clear message): the sheet, the row and column as Excel shows them, what is wrong and what is allowed;
every problem's row even when there are too many to list one by one. A file that is no workbook at all is said to
be what it is (a text file, a web page, a Word document), not "a roster without headers"."""

from __future__ import annotations

import codecs
from collections.abc import Iterable
from dataclasses import dataclass

from ..core.errors import RosterError
from ..read.cellrefs import column_letters

SHOWN = 20  # problems listed one by one; the rows of the rest are named together
VALUE_CHARS = 40


@dataclass(frozen=True, order=True)
class Problem:
    """One problem of a roster row: Excel row, 0-based column index, the column's header as written, and what is
    wrong and what is allowed."""

    row: int
    column: int
    header: str
    text: str


class RosterProblems(RosterError):
    """A roster with several problems: a headline, then one line per problem (`details`). `str()` holds them all,
    one per line (logs, flows); the CLI prints each line escaped."""

    def __init__(self, headline: str, details: Iterable[str]):
        self.headline = headline
        self.details = tuple(details)
        super().__init__("\n".join((headline, *self.details)))


def roster_problems(file_name: str, sheet: str, problems: Iterable[Problem]) -> RosterError:
    """The error naming every problem: one line for a single problem; else a headline with every row (compactly),
    the first SHOWN problems one per line, and how many more there are, in which rows."""
    found = sorted(set(problems))
    if len(found) == 1:
        return RosterError(f"学校名单 {file_name} {_where(sheet, found[0])}：{found[0].text}。请修改后重新运行。")
    headline = (f"学校名单 {file_name} 有 {len(found)} 处问题，在工作表“{sheet}”第 {row_ranges(p.row for p in found)} 行；"
                "请逐条修改后重新运行：")
    details = [f"{_where(sheet, p)}：{p.text}" for p in found[:SHOWN]]
    rest = found[SHOWN:]
    if rest:
        details.append(f"……另有 {len(rest)} 处问题未逐条列出，在第 {row_ranges(p.row for p in rest)} 行"
                       "（改好以上各处后再运行，会列出其余的问题）")
    return RosterProblems(headline, details)


def _where(sheet: str, problem: Problem) -> str:
    column = f" {column_letters(problem.column)} 列" if problem.column >= 0 else ""
    return f"工作表“{sheet}”第 {problem.row} 行{column}（{problem.header}）"


def row_ranges(rows: Iterable[int]) -> str:
    """Row numbers as the clerk reads them: `12、15、40–45` (a run of three or more rows as a range)."""
    ordered = sorted(set(rows))
    parts, i = [], 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{ordered[i]}–{ordered[j]}")
        else:
            parts.extend(str(r) for r in ordered[i : j + 1])
        i = j + 1
    return "、".join(parts)


def shown_value(value: object) -> str:
    """A cell's value inside a problem line: as text, cut at VALUE_CHARS characters."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


# ---------------------------------------------------------------- a roster that is no workbook

# what read.sniff says a refused file is → what the roster line calls it
_KINDS = {
    "网页文件（HTML），不是真正的 Excel 文件": "网页文件（HTML），只是文件名像 Excel 表格",
    "链接（快捷方式），不是文件本身": "链接（快捷方式），不是名单文件本身",
    "不是 Excel 表格的 Office 文件": "Office 文件，但不是 Excel 表格",
    "OpenDocument 文档，不是表格": "OpenDocument 文档，但不是表格",
    "无法识别的文件类型": "一个认不出类型的文件（既不是表格，也不是文本）",
}
SAVE_AS = "请用 Excel 或 WPS 打开原来的名单，另存为“Excel 工作簿（*.xlsx）”，再放到 {path}。"


def not_a_workbook(file_name: str, path: object, kind: str) -> RosterError:
    """A roster file whose bytes are not a workbook; `kind` is what read.sniff found it to be."""
    what = _KINDS.get(kind, kind)
    space = " " if what[:1].isascii() else ""  # 而是 PDF 文件, 而是网页文件
    return RosterError(f"学校名单 {file_name} 不是 Excel 工作簿，而是{space}{what}。" + SAVE_AS.format(path=path))


def text_not_a_workbook(file_name: str, path: object, data: bytes) -> RosterError:
    """A roster named like a workbook (.xlsx, .xls, .ods) holding plain text: its first line is shown, and a
    comma-separated roster can simply be renamed."""
    first = _first_line(data)
    shown = f"（第一行是“{shown_value(first)}”）" if first else ""
    csv_hint = ""
    if first and ("," in first or "\t" in first or "，" in first):
        csv_hint = "如果它本来就是逗号分隔的名单（CSV），也可以把它改名为 roster.csv。"
    return RosterError(f"学校名单 {file_name} 不是 Excel 工作簿，而是一个文本文件{shown}，只是文件名像 Excel 表格。"
                       + SAVE_AS.format(path=path) + csv_hint)


def _first_line(data: bytes) -> str:
    head = data[:4096]
    for encoding in ("utf-8-sig", "gb18030"):
        try:  # not final: the head may end inside a character
            text = codecs.getincrementaldecoder(encoding)().decode(head)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = head.decode("utf-8", "replace")
    return next((line.strip() for line in text.splitlines() if line.strip()), "")
