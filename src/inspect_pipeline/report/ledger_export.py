"""The hazard ledger as the web page shows it (a filtered table of `listings.ledger_rows`) written as a workbook
through the project's writer (write/book), kind `ledger-export`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..write.book import Book, Footer

# (key, 表头, style, cap on the width) in the order of the page's table
COLUMNS = [
    ("zone", "片区", "text", 10),
    ("school_name", "学校", "text", 16),
    ("section_owner", "包校责任人", "text", 8),
    ("code", "隐患编号", "text", 22),
    ("found_date", "发现日期", "date", None),
    ("first_week", "首报周次", "text", None),
    ("location", "部位", "text", 12),
    ("description", "隐患描述", "text", 30),
    ("level", "等级", "text", None),
    ("mode", "整改方式", "text", 8),
    ("deadline", "整改期限", "date", None),
    ("status", "状态", "text", 8),
    ("overdue", "逾期", "text", None),
    ("owner", "整改责任人", "text", 8),
]


def shown(key: str, value: object) -> object:
    """A ledger value as the table and the workbook show it (flags as 是/否)."""
    if key == "overdue":
        return "是" if value else "否"
    return value


def write_ledger_export(path: Path, rows: list[dict], *, title: str, filters: str, bureau: str,
                        generated_at: dt.datetime) -> Path:
    """隐患台账_<week>.xlsx: a title, the filters it was chosen by, and the rows (one per hazard)."""
    book = Book(path, "ledger-export", footer=Footer(left=bureau, center=title), author=bureau)
    caps = {c: cap for c, (_, _, _, cap) in enumerate(COLUMNS) if cap}
    ws = book.sheet("隐患台账", repeat_rows=(2, 2), freeze=(3, 0), caps=caps)
    last = len(COLUMNS) - 1
    ws.merge(0, 0, 0, last, title, "title")
    ws.height(0, 28)
    ws.merge(1, 0, 1, last, f"筛选：{filters or '全部'}　生成时间：{generated_at:%Y-%m-%d %H:%M}　共 {len(rows)} 条",
             "subtitle")
    ws.row(2, 0, [head for _, head, _, _ in COLUMNS], "head")
    for r, row in enumerate(rows, start=3):
        for c, (key, _, style, _) in enumerate(COLUMNS):
            ws.put(r, c, shown(key, row.get(key)), style)
    if rows:
        ws.ws.autofilter(2, 0, 2 + len(rows), last)
    else:
        ws.merge(3, 0, 3, last, "没有符合筛选条件的隐患")
    book.close()
    return path
