"""`TemplatedBook`: a `Book` for thousands of small one-sheet workbooks of one shape (the accepted receipts).

It records what `Book` and `Sheet` write instead of handing it to xlsxwriter. The first workbook of each shape (its
formats, sheet name, page set-up, properties) is written by xlsxwriter itself, the recorded calls replayed, and its
zip members are kept as that shape's template. Later workbooks of the shape copy the template's fixed members
(styles, theme, workbook, relationships, app properties) and render only their own parts: the cells, row heights,
merged ranges and dimension of the sheet, the shared strings, the footer line and the creation time.

A template is kept only if rendering the prototype's own recorded calls reproduces every member xlsxwriter wrote,
byte for byte (the creation time aside); otherwise that shape always goes through xlsxwriter. A call the renderer
does not know (dates, rich strings, very long text, a second sheet) sends that workbook through xlsxwriter too, so
what a user sees never depends on which way it was written. Templates live for the process (a worker writes many
receipts of the few shapes there are).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import re
import zipfile
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from .book import Book

log = logging.getLogger(__name__)

SHEET_PART, STRINGS_PART, CORE_PART = "xl/worksheets/sheet1.xml", "xl/sharedStrings.xml", "docProps/core.xml"
OWN_PARTS = (SHEET_PART, STRINGS_PART, CORE_PART)  # what each workbook renders; every other member is the template's
DEFAULT_ROW_PX = 20  # xlsxwriter's default row height, in pixels (15 pt)
MAX_FOOTER = 255  # xlsxwriter's limit of a footer, in UTF-16 units
MAX_PLAIN_TEXT = 16383  # beyond this xlsxwriter measures UTF-16 length before truncating: not rendered here
# calls that only set the page up (the same for every workbook of a shape); any other is not rendered here
SETUP_CALLS = frozenset({"set_column", "set_paper", "set_landscape", "set_portrait", "set_margins", "fit_to_pages",
                         "set_print_scale", "set_v_pagebreaks", "repeat_rows", "repeat_columns", "set_header",
                         "center_horizontally", "hide_gridlines", "freeze_panes", "activate", "set_first_sheet"})
_CONTROL_ESCAPED = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_SPACE_AT_ENDS = re.compile(r"^\s|\s$")
_CELLS = re.compile(r"<sheetData>.*</sheetData>|<sheetData/>", re.S)
_MERGES = re.compile(r"<mergeCells count=\"\d+\">.*?</mergeCells>", re.S)
_DIMENSION = re.compile(r"<dimension ref=\"[^\"]*\"/>")
_FOOTER = re.compile(r"<oddFooter>.*?</oddFooter>", re.S)
_CREATED = re.compile(r"(<dcterms:(?:created|modified) xsi:type=\"dcterms:W3CDTF\">)[^<]*(</dcterms:)")

_templates: dict[tuple, _Template | None] = {}  # shape -> template (None: this shape is always written by xlsxwriter)


class TemplatedBook(Book):
    """A `Book` (same arguments, one sheet) whose workbook is rendered from its shape's template when there is one."""

    def _workbook(self, path: Path | str, options: dict) -> _RecordedWorkbook:
        return _RecordedWorkbook(str(path), options)


class _Format:
    """Stands for an xlsxwriter format until the calls are replayed."""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n


class _RecordedWorkbook:
    """The part of xlsxwriter's Workbook that `Book` uses, recording every call in order."""

    def __init__(self, path: str, options: dict):
        self.path, self.options = path, options
        self.calls: list[tuple[str, tuple, dict]] = []  # (method, args) on the workbook ("wb.*") or the sheet
        self.formats: list[dict] = []
        self.sheet: _RecordedSheet | None = None

    def set_properties(self, props: dict) -> None:
        self.calls.append(("wb.set_properties", (dict(props),), {}))

    def add_format(self, props: dict | None = None) -> _Format:
        self.formats.append(dict(props or {}))
        self.calls.append(("wb.add_format", (self.formats[-1],), {}))
        return _Format(len(self.formats) - 1)

    def add_worksheet(self, name: str) -> _RecordedSheet:
        self.calls.append(("wb.add_worksheet", (name,), {}))
        second = self.sheet is not None
        self.sheet = _RecordedSheet(name, self.calls)
        self.sheet.renderable = not second  # a second sheet: the workbook is written by xlsxwriter
        return self.sheet

    def close(self) -> None:
        sheet = self.sheet
        key = None
        if sheet is not None and sheet.renderable:
            key = (repr(self.options), repr(self.formats), sheet.name, repr(sheet.setup), repr(sheet.first_use()),
                   *(repr(c[1]) for c in self.calls if c[0] == "wb.set_properties"))
        template = _templates.get(key) if key is not None else None
        if template is not None:
            template.write(self.path, sheet)
            return
        self._replay()
        if key is not None and key not in _templates:
            _templates[key] = _Template.made_from(self.path, sheet)

    def _replay(self) -> None:
        """Write this workbook with xlsxwriter, making the recorded calls."""
        wb = xlsxwriter.Workbook(self.path, self.options)
        formats, ws = [], None
        for name, args, kwargs in self.calls:
            if name == "wb.add_format":
                formats.append(wb.add_format(args[0]))
            elif name == "wb.add_worksheet":
                ws = wb.add_worksheet(*args)
            elif name.startswith("wb."):
                getattr(wb, name[3:])(*args, **kwargs)
            else:
                getattr(ws, name)(*(formats[a.n] if isinstance(a, _Format) else a for a in args), **kwargs)
        wb.close()


class _RecordedSheet:
    """The part of xlsxwriter's Worksheet that `Sheet` and the page set-up use, recording calls and the cells."""

    def __init__(self, name: str, calls: list):
        self.name, self._calls = name, calls
        self.cells: dict[int, dict[int, tuple]] = {}  # row -> col -> ("s", string) | ("n", number) | ("b",), format
        self.strings: dict[str, int] = {}  # shared strings, in the order xlsxwriter numbers them
        self.string_count = 0
        self.merges: list[tuple[int, int, int, int]] = []
        self.heights: dict[int, int] = {}  # row -> pixels
        self.setup: list[tuple] = []  # every other call: the same for every workbook of a shape
        self.footer: str | None = None
        self.renderable = True

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            if name not in SETUP_CALLS:
                self.renderable = False
            self._calls.append((name, args, kwargs))
            self.setup.append((name, args, sorted(kwargs.items())))
        return call

    def get_name(self) -> str:
        return self.name

    def _put(self, r: int, c: int, cell: tuple, fmt) -> None:
        if not isinstance(fmt, _Format) or r < 0 or c < 0:
            self.renderable = False
        self.cells.setdefault(r, {})[c] = (*cell, fmt)

    def write_string(self, r: int, c: int, string: str, fmt=None) -> None:
        self._calls.append(("write_string", (r, c, string, fmt), {}))
        if len(string) > MAX_PLAIN_TEXT or (string.startswith("<r>") and string.endswith("</r>")):
            self.renderable = False
        self.string_count += 1
        self._put(r, c, ("s", self.strings.setdefault(string, len(self.strings))), fmt)

    def write_number(self, r: int, c: int, number, fmt=None) -> None:
        self._calls.append(("write_number", (r, c, number, fmt), {}))
        if type(number) not in (int, float) or not math.isfinite(number):
            self.renderable = False
        self._put(r, c, ("n", number), fmt)

    def write_blank(self, r: int, c: int, blank=None, fmt=None) -> None:
        self._calls.append(("write_blank", (r, c, blank, fmt), {}))
        if fmt is None:
            return  # xlsxwriter ignores a blank cell without a format
        self._put(r, c, ("b",), fmt)

    def merge_range(self, r0: int, c0: int, r1: int, c1: int, data, fmt=None) -> None:
        self._calls.append(("merge_range", (r0, c0, r1, c1, data, fmt), {}))
        if data != "" or (r0, c0) == (r1, c1) or any(r0 <= m[2] and m[0] <= r1 and c0 <= m[3] and m[1] <= c1
                                                     for m in self.merges):
            self.renderable = False  # only what Sheet.merge does: an empty range, its value written after
        self.merges.append((r0, c0, r1, c1))
        for r in range(r0, r1 + 1):
            for c in range(c0, c1 + 1):
                self._put(r, c, ("b",), fmt)

    def set_row(self, r: int, height=None, fmt=None, options=None) -> None:
        self._calls.append(("set_row", (r, height, fmt, options), {}))
        if fmt is not None or options or height is None:
            self.renderable = False
            return
        self.heights[r] = int(height * 4.0 / 3.0 + 0.5)

    def set_footer(self, text: str = "", options=None) -> None:
        self._calls.append(("set_footer", (text, options), {}))
        self.setup.append(("set_footer", options))
        if "&[Picture]" in text or "&G" in text or len(text) > MAX_FOOTER // 2:
            self.renderable = False  # a picture in the footer, or one xlsxwriter may refuse as too long
        self.footer = text

    def first_use(self) -> list[int]:
        """Formats in the order xlsxwriter first meets them writing the cells (row by row)."""
        seen: dict[int, None] = {}
        for r in sorted(self.cells):
            for c in sorted(self.cells[r]):
                seen.setdefault(self.cells[r][c][-1].n, None)
        return list(seen)


class _Template:
    """The members of one shape's workbook as xlsxwriter wrote them, and its formats' style indices."""

    def __init__(self, members: list[tuple[zipfile.ZipInfo, bytes]], xf: dict[int, int]):
        self.members, self.xf = members, xf
        self.sheet_xml = dict((i.filename, d) for i, d in members)[SHEET_PART].decode("utf-8")
        fixed = io.BytesIO()  # the members every workbook of the shape shares, compressed once
        with zipfile.ZipFile(fixed, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for info, data in members:
                if info.filename not in OWN_PARTS:
                    z.writestr(info, data)
        self.fixed_zip = fixed.getvalue()

    @classmethod
    def made_from(cls, path: str, sheet: _RecordedSheet) -> _Template | None:
        """The template of the workbook xlsxwriter just wrote at `path` from `sheet`'s calls; None if rendering
        the same calls does not give back exactly what it wrote."""
        with zipfile.ZipFile(path) as z:
            members = [(info, z.read(info)) for info in z.infolist()]
        written = {info.filename: data for info, data in members}
        if SHEET_PART not in written or STRINGS_PART not in written or CORE_PART not in written:
            return None
        xf = _style_indices(written[SHEET_PART].decode("utf-8"), sheet)
        if xf is None:
            return None
        template = cls(members, xf)
        created = _created(written[CORE_PART])
        rendered = dict(template.parts(sheet, created))
        if any(rendered.get(name, data) != data for name, data in written.items()):
            log.info("sheet %r: rendering differs from xlsxwriter, written by xlsxwriter", sheet.name)
            return None
        return template

    def parts(self, sheet: _RecordedSheet, created: str) -> list[tuple[str, bytes]]:
        """The members this workbook renders itself."""
        core = dict((i.filename, d) for i, d in self.members)[CORE_PART].decode("utf-8")
        return [(SHEET_PART, self._sheet(sheet).encode("utf-8")),
                (STRINGS_PART, _shared_strings(sheet).encode("utf-8")),
                (CORE_PART, _CREATED.sub(lambda m: f"{m[1]}{created}{m[2]}", core).encode("utf-8"))]

    def write(self, path: str, sheet: _RecordedSheet) -> None:
        """The shared members as compressed once, then this workbook's own (member order is not seen by users;
        `[Content_Types].xml` stays first)."""
        buffer = io.BytesIO(self.fixed_zip)
        with zipfile.ZipFile(buffer, "a", compression=zipfile.ZIP_DEFLATED) as z:
            for name, data in self.parts(sheet, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")):
                z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        Path(path).write_bytes(buffer.getvalue())

    def _sheet(self, sheet: _RecordedSheet) -> str:
        xml = _DIMENSION.sub(lambda m: f'<dimension ref="{_dimension(sheet)}"/>', self.sheet_xml, count=1)
        xml = _CELLS.sub(lambda m: _sheet_data(sheet, self.xf), xml, count=1)
        merges = "".join(f'<mergeCell ref="{xl_rowcol_to_cell(r0, c0)}:{xl_rowcol_to_cell(r1, c1)}"/>'
                         for r0, c0, r1, c1 in sheet.merges)
        xml = _MERGES.sub(lambda m: f'<mergeCells count="{len(sheet.merges)}">{merges}</mergeCells>', xml, count=1)
        if sheet.footer is not None:
            xml = _FOOTER.sub(lambda m: f"<oddFooter>{_escape_controls(_escape(sheet.footer))}</oddFooter>", xml, count=1)
        return xml


def _style_indices(xml: str, sheet: _RecordedSheet) -> dict[int, int] | None:
    """Each recorded format's style index, read from the cells xlsxwriter wrote; None if a format has two."""
    xf: dict[int, int] = {}
    written = {m[1]: int(m[2]) for m in re.finditer(r'<c r="([A-Z]+\d+)" s="(\d+)"', xml)}
    for r, row in sheet.cells.items():
        for c, cell in row.items():
            index = written.get(xl_rowcol_to_cell(r, c))
            if index is None or xf.setdefault(cell[-1].n, index) != index:
                return None
    return xf


def _created(core: bytes) -> str:
    found = _CREATED.search(core.decode("utf-8"))
    return core.decode("utf-8")[found.end(1):found.start(2)] if found else ""


def _dimension(sheet: _RecordedSheet) -> str:
    rows = [r for r, row in sheet.cells.items() if row]
    if not rows:
        return "A1"
    cols = [c for row in sheet.cells.values() for c in row]
    first, last = xl_rowcol_to_cell(min(rows), min(cols)), xl_rowcol_to_cell(max(rows), max(cols))
    return first if first == last else f"{first}:{last}"


def _sheet_data(sheet: _RecordedSheet, xf: dict[int, int]) -> str:
    """`<sheetData>` as xlsxwriter writes it (not constant-memory): rows with cells, or a height, in order; spans
    per block of 16 rows."""
    rows = [r for r, row in sheet.cells.items() if row]
    if not rows:
        return "<sheetData/>"
    low, high = min(rows), max(rows)
    spans: dict[int, str] = {}
    for block in range(low // 16, high // 16 + 1):
        cols = [c for r in range(max(block * 16, low), min(block * 16 + 15, high) + 1) for c in sheet.cells.get(r, ())]
        if cols:
            spans[block] = f"{min(cols) + 1}:{max(cols) + 1}"
    out = ["<sheetData>"]
    for r in range(low, high + 1):
        row = sheet.cells.get(r)
        if not row and r not in sheet.heights:
            continue
        attrs = f' r="{r + 1}"' + (f' spans="{spans[r // 16]}"' if r // 16 in spans else "")
        px = sheet.heights.get(r, DEFAULT_ROW_PX)
        if px != DEFAULT_ROW_PX:
            attrs += f' ht="{px * 0.75:.16g}" customHeight="1"'
        if not row:
            out.append(f"<row{attrs}/>")
            continue
        out.append(f"<row{attrs}>")
        for c in sorted(row):
            cell, ref, style = row[c], xl_rowcol_to_cell(r, c), xf[row[c][-1].n]
            if cell[0] == "s":
                out.append(f'<c r="{ref}" s="{style}" t="s"><v>{cell[1]}</v></c>')
            elif cell[0] == "n":
                out.append(f'<c r="{ref}" s="{style}"><v>{cell[1]:.16G}</v></c>')
            else:
                out.append(f'<c r="{ref}" s="{style}"/>')
        out.append("</row>")
    out.append("</sheetData>")
    return "".join(out)


def _shared_strings(sheet: _RecordedSheet) -> str:
    items = []
    for string in sheet.strings:
        string = _escape_controls(string)
        space = ' xml:space="preserve"' if _SPACE_AT_ENDS.search(string) else ""
        items.append(f"<si><t{space}>{_escape(string)}</t></si>")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'count="{sheet.string_count}" uniqueCount="{len(sheet.strings)}">{"".join(items)}</sst>')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_controls(text: str) -> str:
    """Control characters as Excel's `_xHHHH_` escapes (and a literal escape protected), as xlsxwriter does."""
    text = _CONTROL_ESCAPED.sub(r"_x005F\1", text)
    text = _CONTROL.sub(lambda m: f"_x{ord(m[1]):04X}_", text)
    return text.replace("\ufffe", "_xFFFE_").replace("\uffff", "_xFFFF_")


def clear_templates() -> None:
    """Forget every template (tests)."""
    _templates.clear()
