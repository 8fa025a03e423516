"""`Book` and `Sheet`: the one way our workbooks are written with xlsxwriter. A sheet records what is put in it,
then on `Book.close` sizes its columns from the content (CJK counts double, long text wraps within a cap), gives
every row with wrapped text the height its lines need, and sets up the printed page (paging.py): A4, orientation
by width, fitted or split into column blocks so that no text prints under 8 pt, header rows repeated, the sheet
name in the page header and a footer line. Values go through cells.py: blank is an empty cell, text is never a
formula. In `streamed` (constant-memory) mode columns have fixed widths and rows are written in order."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import xlsxwriter

from . import kinds
from .cells import classify
from .measure import BASE_PT, lines_needed, row_height, text_width
from .paging import MARGIN_IN, apply_xlsxwriter, plan

BODY_FONT, TITLE_FONT = "宋体", "黑体"
_BORDERED = {"font_name": BODY_FONT, "font_size": BASE_PT, "valign": "vcenter", "border": 1}
_BOLD = {"bold": True, "bg_color": "#F2F2F2"}
STYLES: dict[str, dict] = {
    "title": {"font_name": TITLE_FONT, "font_size": 16, "bold": True, "align": "center", "valign": "vcenter",
              "text_wrap": True},
    "subtitle": {"font_name": BODY_FONT, "font_size": BASE_PT, "valign": "vcenter", "text_wrap": True},
    "note": {"font_name": BODY_FONT, "font_size": BASE_PT, "valign": "top", "text_wrap": True},
    "alert": {"font_name": BODY_FONT, "font_size": BASE_PT, "valign": "top", "text_wrap": True, "bold": True,
              "font_color": "#C00000"},
    "head": {**_BORDERED, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7"},
    "text": {**_BORDERED, "text_wrap": True},
    "label": {**_BORDERED, **_BOLD, "text_wrap": True},
    "int": {**_BORDERED, "num_format": "0"},
    "num": {**_BORDERED, "num_format": "0.00"},
    "pct": {**_BORDERED, "num_format": "0.0%"},
    "date": {**_BORDERED, "num_format": "yyyy-mm-dd"},
    "datetime": {**_BORDERED, "num_format": "yyyy-mm-dd hh:mm"},
    "link": {**_BORDERED, "text_wrap": True, "font_color": "#0563C1", "underline": 1},
}
WRAPPED = {"title", "subtitle", "note", "alert", "head", "text", "label", "link"}
SIZES = {"title": 16.0}
HEAD_CAP = 8.5  # a header never widens its column beyond this: it wraps instead
TEXT_CAP = 40.0  # nor does body text, unless the sheet caps the column otherwise
MIN_WIDTH = 4.0
TEXT_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


@dataclass(frozen=True)
class Footer:
    left: str = ""
    center: str = ""
    right: str = ""

    def code(self) -> str:
        """The footer as Excel codes: left, center, and right with the page number, on one line short enough for
        a portrait page's thirds, in the body size (office programs scale it with the sheet: never under 8 pt)."""
        esc = lambda s: s.replace("&", "&&")  # noqa: E731
        right = f"{esc(self.right)} 第&P/&N页" if self.right else "第 &P 页，共 &N 页"
        return f"&L{esc(self.left)}&C{esc(self.center)}&R{right}"


class Book:
    """An xlsxwriter workbook of one declared kind (kinds.py)."""

    def __init__(self, path: Path | str, kind: str, *, footer: Footer = Footer(), streamed: bool = False,
                 author: str = ""):
        options = {**TEXT_OPTIONS, "default_date_format": "yyyy-mm-dd"}
        options["constant_memory" if streamed else "in_memory"] = True
        self.wb = self._workbook(path, options)
        self.kind = kinds.check(kind)
        self.wb.set_properties({PROPERTY: kind, "author": author})
        self.footer, self.streamed = footer, streamed
        self.sheets: list[Sheet] = []
        self._formats: dict[tuple, object] = {}

    def _workbook(self, path: Path | str, options: dict):
        """The xlsxwriter workbook written to (templated.py records the calls instead)."""
        return xlsxwriter.Workbook(str(path), options)

    def format(self, style: str, bold: bool = False, **extra):
        key = (style, bold, tuple(sorted(extra.items()))) if extra else (style, bold)  # once per cell: kept cheap
        found = self._formats.get(key)
        if found is None:
            props = {**STYLES[style], **(_BOLD if bold else {}), **extra}
            found = self._formats[key] = self.wb.add_format(props)
        return found

    def sheet(self, name: str, *, repeat_rows: tuple[int, int] | None = None, freeze: tuple[int, int] | None = None,
              labels: int = 0, blocks: list[tuple[int, int]] | None = None, one_page: bool = False,
              landscape: bool | None = None, widths: dict[int, float] | None = None,
              caps: dict[int, float] | None = None) -> Sheet:
        """A new sheet. `repeat_rows` print on every page; `labels` columns repeat on every page of a sheet printed
        in column `blocks`; `widths` fix columns, `caps` bound how wide content may make them."""
        sheet = Sheet(self, self.wb.add_worksheet(name), repeat_rows=repeat_rows, labels=labels, blocks=blocks,
                      one_page=one_page, landscape=landscape, widths=widths or {}, caps=caps or {})
        if freeze:
            sheet.ws.freeze_panes(*freeze)
        self.sheets.append(sheet)
        return sheet

    def close(self) -> None:
        for sheet in self.sheets:
            sheet.finish()
        self.wb.close()


PROPERTY = kinds.PROPERTY


class Sheet:
    def __init__(self, book: Book, ws, *, repeat_rows, labels, blocks, one_page, landscape, widths, caps):
        self.book, self.ws = book, ws
        self.repeat_rows, self.labels, self.blocks = repeat_rows, labels, blocks
        self.one_page, self.landscape = one_page, landscape
        self.fixed, self.caps = dict(widths), dict(caps)
        self.measured: dict[int, float] = {}
        self.wrapped: dict[int, list[tuple[int, int, str, float]]] = {}  # row -> (first col, last col, text, size)
        self.heights: dict[int, float] = {}
        self.tall: list[tuple[int, int, tuple]] = []  # wrapped text merged over rows r0..r1
        self.last_col = 0
        self._row = -1  # streamed: the row being written

    # ------------------------------------------------------------------ writing

    def put(self, r: int, c: int, value: object, style: str = "text", *, bold: bool = False) -> None:
        """One cell: blank for a missing value, a number or date as such, anything else as text."""
        self._enter(r)
        kind, value = classify(value)
        style = kind if kind in ("date", "datetime") and style not in ("date", "datetime") else style
        self._write(r, c, kind, value, self.book.format(style, bold))
        self._note(r, c, c, _shown(kind, value, style), style)

    def _write(self, r: int, c: int, kind: str, value: object, fmt) -> None:
        write, value = self._writer(kind, value)
        write(r, c, value, fmt)

    def _writer(self, kind: str, value: object) -> tuple[Callable, object]:
        """The worksheet's method that writes a value of this kind, and the value as it takes it."""
        if kind == "blank":
            return self.ws.write_blank, None
        if kind == "number":
            return self.ws.write_number, value
        if kind == "bool":
            return self.ws.write_boolean, value
        if kind == "date":
            return self.ws.write_datetime, dt.datetime.combine(value, dt.time())
        if kind == "datetime":
            return self.ws.write_datetime, value
        return self.ws.write_string, value

    def rows(self, top: int, rows: Iterable[Sequence[object]], style_of: Callable[[int, object], str]) -> None:
        """Rows of cells from column 0 of row `top` down, each cell as `put` writes it, in `style_of(column,
        value)`; what `put` works out for a cell (kind, format, shown text, width needed) is worked out once per
        distinct value of a column (a list sheet of tens of thousands of rows repeats its schools and statuses)."""
        seen: dict[tuple, tuple] = {}
        for r, values in enumerate(rows, start=top):
            self._enter(r)
            for c, value in enumerate(values):
                style = style_of(c, value)
                try:
                    key: tuple | None = (c, style, type(value), value)
                    done = seen.get(key)
                except TypeError:  # an unhashable value: worked out each time
                    key, done = None, None
                if done is None:
                    kind, shown_value = classify(value)
                    cell_style = kind if kind in ("date", "datetime") and style not in ("date", "datetime") else style
                    shown = _shown(kind, shown_value, cell_style)
                    self._note(r, c, c, shown, cell_style)  # its width; a value seen again needs no more
                    write, written = self._writer(kind, shown_value)
                    one_line = cell_style in WRAPPED and self._one_line(c, c, shown, SIZES.get(cell_style, BASE_PT))
                    done = (write, written, self.book.format(cell_style), shown, cell_style, one_line)
                    if key is not None:
                        seen[key] = done
                elif done[4] in WRAPPED and not done[5]:
                    self.wrapped.setdefault(r, []).append((c, c, done[3], SIZES.get(done[4], BASE_PT)))
                done[0](r, c, done[1], done[2])

    def row(self, r: int, c: int, values: Iterable[object], style: str = "text", *, bold: bool = False) -> None:
        for i, value in enumerate(values):
            self.put(r, c + i, value, style, bold=bold)

    def merge(self, r0: int, c0: int, r1: int, c1: int, value: object, style: str = "text", *,
              bold: bool = False) -> None:
        """A merged range showing `value` (as text or number; blank when missing)."""
        if (r0, c0) == (r1, c1):
            return self.put(r0, c0, value, style, bold=bold)
        self._enter(r0)
        kind, value = classify(value)
        fmt = self.book.format(style, bold)
        self.ws.merge_range(r0, c0, r1, c1, "", fmt)
        self._write(r0, c0, kind, value, fmt)
        self.last_col = max(self.last_col, c1)
        if kind != "blank" and style in WRAPPED:
            entry = (c0, c1, _shown(kind, value, style), SIZES.get(style, BASE_PT))
            if r0 == r1:
                self.wrapped.setdefault(r0, []).append(entry)
            else:
                self.tall.append((r0, r1, entry))

    def link(self, r: int, c: int, target: str, shown: str) -> None:
        self._enter(r)
        self.ws.write_url(r, c, target, self.book.format("link"), shown)
        self._note(r, c, c, shown, "link")

    def height(self, r: int, points: float) -> None:
        """At least this height for row r (e.g. a title row)."""
        self.heights[r] = max(self.heights.get(r, 0.0), points)

    # ------------------------------------------------------------------ measuring

    def _note(self, r: int, c0: int, c1: int, shown: str, style: str) -> None:
        self.last_col = max(self.last_col, c1)
        size = SIZES.get(style, BASE_PT)
        if shown and style not in ("title", "subtitle", "note", "alert"):  # sentences above a table do not size
            need = text_width(shown, size)                                   # its columns
            cap = HEAD_CAP if style == "head" else self.caps.get(c0, TEXT_CAP) if style in WRAPPED else None
            if cap is not None and need > cap:  # wider than the cap: it wraps, down to its longest word
                need = min(need, max(cap, _longest_word(shown, size)))
            self.measured[c0] = max(self.measured.get(c0, MIN_WIDTH), need)
        if style in WRAPPED and not self._one_line(c0, c1, shown, size):
            self.wrapped.setdefault(r, []).append((c0, c1, shown, size))

    def _one_line(self, c0: int, c1: int, shown: str, size: float) -> bool:
        """True when a wrapped text is sure to take one line at the default height, whatever the sheet's columns
        become: it fits the width its column has now, and a column only ever grows (a list's short texts are
        then not kept for `_needed`)."""
        if c0 != c1 or size != BASE_PT or "\n" in shown:
            return False
        least = self.fixed[c0] if c0 in self.fixed else self.measured.get(c0, MIN_WIDTH)
        return text_width(shown, size) <= least

    def width(self, c: int) -> float:
        return self.fixed.get(c, self.measured.get(c, MIN_WIDTH + 4))

    def _enter(self, r: int) -> None:
        """Streamed: before the first cell of a new row, give the row before its height (it is then written)."""
        if self.book.streamed and r != self._row:
            if self._row >= 0:
                self._size_row(self._row)
            self._row = r

    def _size_row(self, r: int) -> None:
        height = self._needed(r)
        if height:
            self.ws.set_row(r, height)

    def _lines(self, entry: tuple, rooms: dict | None = None) -> int:
        """Lines a wrapped entry takes; `rooms` keeps the width of each span once the widths are final."""
        c0, c1, shown, size = entry
        room = rooms.get((c0, c1)) if rooms is not None else None
        if room is None:
            room = sum(self.width(c) for c in range(c0, c1 + 1)) + (c1 - c0)
            if rooms is not None:
                rooms[(c0, c1)] = room
        return lines_needed(shown, room, size)

    def _needed(self, r: int, rooms: dict | None = None) -> float:
        """The height row r needs (0: the default height will do)."""
        height = self.heights.pop(r, 0.0)
        for entry in self.wrapped.pop(r, []):
            lines, size = self._lines(entry, rooms), entry[3]
            if lines > 1 or size > BASE_PT:
                height = max(height, row_height(lines, size))
        return height

    def banner(self, rows: list[tuple[str, str]]) -> None:
        """Lines above the table (text, style), one per row from row 0, each merged across the first printed
        block of columns (the whole width when the sheet prints in one): written when the sheet is finished."""
        self._banner = rows

    def finish(self) -> None:
        for c in range(self.last_col + 1):
            if c in self.fixed or c in self.measured:
                self.ws.set_column(c, c, self.width(c))
        widths = [self.width(c) for c in range(self.last_col + 1)]
        page = plan(widths, blocks=self.blocks, labels=self.labels, one_page=self.one_page, landscape=self.landscape)
        last = (page.breaks[0] - 1) if page.breaks else max(self.last_col, 1)
        for r, (text, style) in enumerate(getattr(self, "_banner", [])):
            self.merge(r, 0, r, last, text, style)
        if self.book.streamed:
            if self._row >= 0:
                self._size_row(self._row)
        else:
            rooms: dict = {}  # the widths are final here
            heights = {r: self._needed(r, rooms) for r in sorted(set(self.wrapped) | set(self.heights))}
            for r0, r1, entry in self.tall:  # the rows a merged cell spans together hold its lines
                have = sum(heights.get(r) or row_height(1) for r in range(r0, r1 + 1))
                need = row_height(self._lines(entry), entry[3])
                if need > have:
                    heights[r1] = (heights.get(r1) or row_height(1)) + need - have
            for r, height in heights.items():
                if height:
                    self.ws.set_row(r, height)
        apply_xlsxwriter(self.ws, page, repeat_rows=self.repeat_rows, labels=self.labels)
        # the sheet's name on the left; the right part keeps LibreOffice from cutting a header of CJK text alone
        self.ws.set_header(f"&L&A&R{kinds.KINDS[self.book.kind]}",
                           {"scale_with_doc": False, "margin": MARGIN_IN["header"]})
        self.ws.set_footer(self.book.footer.code(), {"scale_with_doc": False, "margin": MARGIN_IN["footer"]})


def _shown(kind: str, value: object, style: str) -> str:
    """The text a cell shows, for measuring."""
    if kind == "number":
        if style == "pct":
            return f"{value * 100:.1f}%"
        return f"{value:.2f}" if style == "num" else f"{value:g}"
    if kind == "date" or kind == "datetime" and style == "date":
        return "2023-11-24"
    if kind == "datetime":
        return "2023-11-24 18:00"
    return "" if value is None else str(value)


@lru_cache(maxsize=1 << 16)
def _longest_word(text: str, size: float) -> float:
    """The width of the longest run of letters and digits (a number, a code): wrapping never breaks it."""
    return max((text_width(w, size) for w in re.findall(r"[0-9A-Za-z.:%]+", text)), default=0.0)
