"""The workbooks of a reminder round (催报提醒_<week>.xlsx, 整改到期预警_<week>.xlsx): the report workbooks' layout
with the round's own line under the title, and a 说明 sheet."""

from __future__ import annotations

from pathlib import Path

from .. import __version__
from ..report.workbooks import Meta, ReportBook


class RoundBook(ReportBook):
    """The report workbooks' layout, with a reminder round's own line under the title."""

    def subtitle(self) -> str:
        m = self.meta
        return f"填报单位：{m.bureau}　周次：{m.period}　生成时间：{m.generated_at:%Y-%m-%d %H:%M}"


def round_book(path: Path, kind: str, info: dict) -> RoundBook:
    """A workbook of a reminder round (催报提醒, 整改到期预警), its header from the round's `info`."""
    meta = Meta(info["bureau"], info["week"], info["cutoff"], 0, info["generated_at"], __version__, [],
                info.get("spoken_week", ""))
    return RoundBook(path, kind, meta)


def column_caps(columns: list[dict], caps: dict[str, int]) -> dict[int, int]:
    """Column index → widest width (characters) for the layout's columns named in `caps`."""
    return {c: caps[col["key"]] for c, col in enumerate(columns) if col["key"] in caps}


def notes_sheet(book: RoundBook, lines: list[tuple[str, str]]) -> None:
    """The 说明 sheet: one labelled line each."""
    ws = book.sheet("说明", landscape=False, widths={0: 14, 1: 72})
    for r, (k, v) in enumerate(lines):
        ws.put(r, 0, k, "label")
        ws.put(r, 1, v)


def summary_rows(ws, top: int, columns: list[dict], rows: list[dict], count_keys: tuple[str, ...]) -> None:
    """The rows of a summary table from row `top` (counts as integers), then a bold 合计 row of the counts."""
    r = top
    for row in rows:
        for c, col in enumerate(columns):
            ws.put(r, c, row[col["key"]], "int" if col["key"] in count_keys else "text")
        r += 1
    for c, col in enumerate(columns):
        total = sum(x[col["key"]] for x in rows) if col["key"] in count_keys else ("合计" if c == 0 else "")
        ws.put(r, c, total, "int" if col["key"] in count_keys else "label", bold=True)
