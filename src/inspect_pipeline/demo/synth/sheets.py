"""The sheet model: `SheetCells` (one sheet's cells, merges, hidden rows, widths, as the writers render it) and
`SheetDoc` (a sheet as a school lays it out: title, a header block of `BlockEntry`s, `TableColumn`s, `TableRow`s
with the marks of the issues they carry, rows after the table). `lay_out` places a document on cells and resolves
its marks to the Excel addresses of the issues.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .vocabulary import FULLWIDTH_DIGITS


def _col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


COLUMN_LETTERS = [_col_letter(i) for i in range(256)]


def cell_address(r: int, c: int) -> str:
    return f"{COLUMN_LETTERS[c]}{r + 1}"


class SheetCells:
    """One sheet: cells by (row, col), 0-based; merges (r1, c1, r2, c2) inclusive; hidden rows; sheet state."""

    __slots__ = ("name", "cells", "merges", "hidden_rows", "hidden", "header_rows", "widths")

    def __init__(self, name: str, hidden: bool = False) -> None:
        self.name = name
        self.cells: dict[int, dict[int, object]] = {}
        self.merges: list[tuple[int, int, int, int]] = []
        self.hidden_rows: set[int] = set()
        self.hidden = hidden
        self.header_rows: set[int] = set()
        self.widths: dict[int, float] = {}

    def put(self, r: int, c: int, v: object) -> None:
        if v is None or v == "":
            return
        self.cells.setdefault(r, {})[c] = v

    def merge(self, r1: int, c1: int, r2: int, c2: int) -> None:
        if (r1, c1) != (r2, c2):
            self.merges.append((r1, c1, r2, c2))

    def values(self) -> list[list[object]]:
        """Rows of values from A1 (None where empty)."""
        if not self.cells:
            return []
        nrows = max(self.cells) + 1
        ncols = max(max(row) for row in self.cells.values()) + 1
        return [[self.cells.get(r, {}).get(c) for c in range(ncols)] for r in range(nrows)]


@dataclass
class TableColumn:
    id: str  # submission column id, or "x:<header>" for an extra column
    header: str
    group: str | None = None  # two-row header: the merged group label above
    mark: str | None = None  # issue on the header cell


@dataclass
class TableRow:
    values: dict[str, object]
    marks: list[tuple[str, str]] = field(default_factory=list)  # (col id, code)
    hidden: bool = False
    merge_down: tuple[str, ...] = ()  # col ids merged with the next row's cell


@dataclass
class BlockEntry:
    """A header-block field: `label：value` in one cell (inline) or a label cell and a value cell (pair)."""

    field: str
    label: str
    value: object
    style: str = "inline"
    colon: str = "："
    width: int = 1
    mark: str | None = None


@dataclass
class SheetDoc:
    sheet_name: str
    title: str | None
    block: list[list[BlockEntry]]
    cols: list[TableColumn]
    rows: list[TableRow]
    pre: list[str] = field(default_factory=list)  # text rows between the block and the header
    tail: list[tuple] = field(default_factory=list)
    two_row: bool = False
    header_marks: list[str] = field(default_factory=list)  # issues at the first cell of the header row
    no_table: bool = False
    merges_ok: bool = True


def lay_out(doc: SheetDoc) -> tuple[SheetCells, list[tuple[str | None, str]]]:
    """Place a document on a grid; returns the grid and the (cell, code) issues its marks resolve to."""
    g = SheetCells(doc.sheet_name)
    issues: list[tuple[str | None, str]] = []
    ncols = max(len(doc.cols), 8)
    r = _place_block(g, doc, ncols, issues)
    for text in doc.pre:
        g.put(r, 0, text)
        r += 1
    if doc.no_table:
        _tail(g, doc, r, ncols)
        return g, issues

    header_row = _place_header(g, doc, r)
    for c, col in enumerate(doc.cols):
        if col.mark:
            issues.append((cell_address(header_row, c), col.mark))
    for code in doc.header_marks:
        issues.append((cell_address(header_row, 0), code))
    r = _place_rows(g, doc, header_row + 1, issues)
    _tail(g, doc, r, len(doc.cols))
    widths = {"description": 28, "measures": 22, "location": 16, "interim_control": 22, "remarks": 14,
              "found_date": 12, "deadline": 12, "done_date": 12, "hazard_id": 12, "funds_wan": 10}
    for c, col in enumerate(doc.cols):
        g.widths[c] = widths.get(col.id, 9)
    return g, issues


def _place_block(g: SheetCells, doc: SheetDoc, ncols: int, issues: list[tuple[str | None, str]]) -> int:
    """The title and the header block from row 0; returns the next free row."""
    r = 0
    if doc.title is not None:
        g.put(r, 0, doc.title)
        if doc.merges_ok:
            g.merge(r, 0, r, ncols - 1)
        r += 1
    for brow in doc.block:
        c = 0
        for e in brow:
            if e.style == "inline":
                g.put(r, c, f"{e.label}{e.colon}{'' if e.value is None else e.value}")
                cell = (r, c)
                if e.width > 1 and doc.merges_ok:
                    g.merge(r, c, r, c + e.width - 1)
                c += e.width + 1
            else:
                g.put(r, c, e.label)
                g.put(r, c + 1, e.value)
                cell = (r, c + 1)
                if e.width > 1 and doc.merges_ok:
                    g.merge(r, c + 1, r, c + e.width)
                c += e.width + 2
            if e.mark:
                issues.append((cell_address(*cell), e.mark))
        r += 1
    return r


def _place_header(g: SheetCells, doc: SheetDoc, r: int) -> int:
    """The header at row `r` (one row, or two with merged group labels above); returns the row of the headers."""
    if doc.two_row:
        upper, header_row = r, r + 1
        c = 0
        while c < len(doc.cols):
            col = doc.cols[c]
            if col.group:
                c2 = c
                while c2 + 1 < len(doc.cols) and doc.cols[c2 + 1].group == col.group:
                    c2 += 1
                g.put(upper, c, col.group)
                g.merge(upper, c, upper, c2)
                for k in range(c, c2 + 1):
                    g.put(header_row, k, doc.cols[k].header)
                c = c2 + 1
            else:
                g.put(upper, c, col.header)
                g.merge(upper, c, header_row, c)
                c += 1
        g.header_rows.update((upper, header_row))
    else:
        header_row = r
        for c, col in enumerate(doc.cols):
            g.put(r, c, col.header)
        g.header_rows.add(r)
    return header_row


def _place_rows(g: SheetCells, doc: SheetDoc, r: int, issues: list[tuple[str | None, str]]) -> int:
    """The data rows from row `r` (merged and hidden cells, marks); returns the next free row."""
    col_index: dict[str, int] = {}
    for c, col in enumerate(doc.cols):
        col_index.setdefault(col.id, c)
    merged_from_above: set[str] = set()
    first_hidden = None
    for row in doc.rows:
        for c, col in enumerate(doc.cols):
            if col.id in merged_from_above:
                continue
            g.put(r, c, row.values.get(col.id))
        for cid in row.merge_down:
            g.merge(r, col_index[cid], r + 1, col_index[cid])
        merged_from_above = set(row.merge_down)
        if row.hidden:
            g.hidden_rows.add(r)
            if first_hidden is None:
                first_hidden = r
        for cid, code in row.marks:
            issues.append((cell_address(r, col_index[cid]), code))
        r += 1
    if first_hidden is not None:
        issues.append((cell_address(first_hidden, 0), "hidden-rows"))
    return r


def _tail(g: SheetCells, doc: SheetDoc, r: int, ncols: int) -> None:
    for item in doc.tail:
        kind = item[0]
        if kind == "blank":
            pass
        elif kind == "template":  # pre-numbered empty rows: only 序号
            _, c, start, n, fullwidth = item
            for k in range(n):
                v = start + k
                g.put(r, c, str(v).translate(FULLWIDTH_DIGITS) if fullwidth else v)
                r += 1
            continue
        elif kind == "cells":  # ("cells", {col: value}, merge_across)
            _, cells, across = item
            for c, v in cells.items():
                g.put(r, c, v)
            if across and doc.merges_ok and ncols > 1:
                g.merge(r, 0, r, ncols - 1)
        r += 1


def text_sheet(name: str, lines: list[str]) -> SheetCells:
    g = SheetCells(name)
    for r, line in enumerate(lines):
        g.put(r, 0, line)
    g.widths[0] = 60
    return g
