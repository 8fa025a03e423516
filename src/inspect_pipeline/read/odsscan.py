"""The streaming scan of an ods's content.xml (on the parser of xmlsafe.py): its tables as calamine reads them
(`OdsScan`, one `OdsTable` each).

Attributes are matched by their local name in any namespace for ODF (calamine wants the literal `table:` prefix; any
namespace is a superset of that).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field

from .cellrefs import MAX_ROWS, area_name, cell_name
from .xmlsafe import (
    _LOCAL,
    MAX_CELL_TEXT,
    Exceeded,
    Malformed,
    Tally,
    feed,
    local_attrs,
    local_name,
    new_parser,
)

# ---- ods: content.xml

_ODS_VALUE_ATTRS = frozenset({"value-type", "value", "string-value", "date-value", "time-value", "boolean-value",
                              "formula"})
_ODS_TEXT_ATTRS = ("string-value", "date-value", "time-value", "formula")  # copied into strings by calamine


@dataclass
class OdsTable:
    """One table:table as calamine reads it, repeats kept compressed: the area from A1 of cells holding something
    (with repeats), merged spans (row, col, row repeat, col repeat, rows spanned, cols spanned), hidden row runs
    (row, count) and error cells (row, col, row repeat, col repeat, text)."""

    name: str
    n_rows: int = 0
    n_cols: int = 0
    merged_area: int = 0
    spans: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)
    hidden: list[tuple[int, int]] = field(default_factory=list)
    errors: list[tuple[int, int, int, int, str]] = field(default_factory=list)


class OdsScan:
    """One pass over content.xml. Per cell, the text calamine expands (its characters, `text:c` of each `text:s`,
    a line break between paragraphs, and the string attributes it copies), times the cell's column repeat and its
    row's repeat, goes to the file's Tally; the area and merged spans are checked as they grow, before anything is
    expanded. Tables are read as calamine reads them: from a table:table to the next end of one."""

    def __init__(self, tally: Tally):
        self.tally = tally
        self.tables: list[OdsTable] = []
        self._table: OdsTable | None = None
        self._in_row = self._in_cell = False
        self._row = self._col = self._row_repeat = 0
        self._annotation = 0
        self._cell: dict[str, str] = {}
        self._chars = self._paragraphs = 0
        self._content = self._error = False
        self._error_text: list[str] = []

    @property
    def current_table(self) -> str:
        """Return the name of the table being read ("" between tables)."""
        return self._table.name if self._table is not None else ""

    def scan(self, zf: zipfile.ZipFile, member: str = "content.xml") -> OdsScan:
        """Scan the part; return self, or raise Exceeded, Malformed, Forbidden or expat.ExpatError."""
        parser = new_parser()
        parser.StartElementHandler, parser.EndElementHandler = self._start, self._end
        parser.CharacterDataHandler = self._text
        feed(zf, member, parser)
        return self

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = _LOCAL.get(name) or local_name(name)
        if self._in_cell:
            self._start_in_cell(local, attrs)
        elif local in ("table-cell", "covered-table-cell"):
            if self._in_row:
                self._in_cell, self._cell = True, local_attrs(attrs)
                self._chars = self._paragraphs = 0
                self._content, self._error_text = False, []
                # LibreOffice: calcext:value-type="error" beside office:value-type="string"
                self._error = any(v == "error" and k.endswith(" value-type") for k, v in attrs.items())
        elif local == "table-row":
            if self._in_row:
                raise Malformed("table-row inside table-row")
            if self._table is not None:
                self._start_row(local_attrs(attrs))
        elif local == "table" and self._table is None:
            self._table = OdsTable(local_attrs(attrs).get("name", ""))

    def _start_in_cell(self, local: str, attrs: dict[str, str]) -> None:
        """Account for an element inside a cell: paragraphs, runs of spaces, annotations (which calamine skips)."""
        self._content = True
        if local == "annotation":
            self._annotation += 1
        elif self._annotation:
            return
        elif local == "p":
            self._paragraphs += 1
        elif local == "s":
            count = local_attrs(attrs).get("c", "1")
            if not (count.isascii() and count.isdigit()):
                raise Malformed(f"bad text:c {count[:20]!r}")
            self._add_chars(int(count[:30]))

    def _start_row(self, attrs: dict[str, str]) -> None:
        """Enter a table-row: its repeat count and visibility."""
        self._in_row, self._col = True, 0
        self._row_repeat = _count(attrs, "number-rows-repeated")
        table = self._table
        if attrs.get("visibility", "visible") != "visible" and self._row < MAX_ROWS:
            last = table.hidden[-1] if table.hidden else None
            if last and last[0] + last[1] == self._row:  # one run for consecutive hidden rows
                table.hidden[-1] = (last[0], last[1] + self._row_repeat)
            else:
                table.hidden.append((self._row, self._row_repeat))

    def _end(self, name: str) -> None:
        local = _LOCAL.get(name) or local_name(name)
        if self._in_cell:
            if local in ("table-cell", "covered-table-cell") and not self._annotation:
                self._end_cell()
            elif local == "annotation":
                self._annotation -= 1
        elif local == "table-row" and self._in_row:
            self._in_row = False
            self._row += self._row_repeat
        elif local == "table" and self._table is not None:
            self._end_table(self._table)
            self._table, self._row = None, 0

    def _end_table(self, table: OdsTable) -> None:
        """Keep a finished table, its hidden rows cut to its area; add it to the file's sums."""
        table.hidden = [(row, min(count, table.n_rows - row)) for row, count in table.hidden if row < table.n_rows]
        self.tally.add_sheet(table.n_rows * table.n_cols, table.merged_area)
        self.tables.append(table)

    def _text(self, data: str) -> None:
        if self._in_cell:
            self._content = True
            if not self._annotation:
                self._add_chars(len(data))
                if self._error and len(self._error_text) < 16:
                    self._error_text.append(data)

    def _add_chars(self, chars: int) -> None:
        """Count characters of the open cell's text; raise Exceeded past 32,767 (Excel's limit for a cell)."""
        self._chars += chars
        if self._chars > MAX_CELL_TEXT:
            raise Exceeded("cell-text", self._chars, MAX_CELL_TEXT, cell_name(min(self._row, 10**9), self._col))

    def _end_cell(self) -> None:
        """Close a cell: count its text, area, merged span and error over its repeats."""
        self._in_cell = False
        cell, table, tally = self._cell, self._table, self.tally
        row, col, rows = self._row, self._col, self._row_repeat
        cols = _count(cell, "number-columns-repeated")
        self._col += cols
        if table is None:
            return
        if len(cell.get("string-value", "")) > MAX_CELL_TEXT:
            where = cell_name(min(row, 10**9), col)
            raise Exceeded("cell-text", len(cell["string-value"]), MAX_CELL_TEXT, where)
        chars = self._chars + max(self._paragraphs - 1, 0) + sum(len(cell.get(a, "")) for a in _ODS_TEXT_ATTRS)
        holds = self._content or not _ODS_VALUE_ATTRS.isdisjoint(cell)
        if holds:
            table.n_rows, table.n_cols = max(table.n_rows, row + rows), max(table.n_cols, col + cols)
            if table.n_rows * table.n_cols > tally.max_cells:
                raise Exceeded("area", table.n_rows * table.n_cols, tally.max_cells,
                               area_name(table.n_rows, table.n_cols))
            if chars:
                tally.add_text(chars * cols * rows)
            if self._error:
                table.errors.append((row, col, rows, cols, "".join(self._error_text).strip()[:64]))
        row_span, col_span = _count(cell, "number-rows-spanned"), _count(cell, "number-columns-spanned")
        if row_span > 1 or col_span > 1:
            area = row_span * col_span
            where = f"{cell_name(min(row, 10**9), col)}起 {row_span} 行 × {col_span} 列"
            if area > tally.max_cells:
                raise Exceeded("merge", area, tally.max_cells, where)
            table.merged_area += area * rows * cols
            if table.merged_area > tally.max_cells:
                raise Exceeded("merges", table.merged_area, tally.max_cells)
            table.spans.append((row, col, rows, cols, row_span, col_span))


def _count(attrs: dict[str, str], name: str) -> int:
    """Return a repeat or span count (at least 1); raise Malformed if it is not a number (calamine would fail)."""
    value = attrs.get(name)
    if value is None:
        return 1
    if not (value.isascii() and value.isdigit()):
        raise Malformed(f"bad {name} {value[:20]!r}")
    return max(1, int(value[:30]))
