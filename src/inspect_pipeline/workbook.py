"""Reading a received file into a grid of cells with true Excel coordinates: `read_workbook(data, name, limits)`
returns a `Workbook` or raises `FileRefused(code, detail)` for files that cannot be read as a workbook."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import posixpath
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import PurePath
from xml.etree.ElementTree import Element, ParseError, iterparse

import olefile
import python_calamine

from . import sniff
from .grid import DAMAGED, CellValue, FileRefused, Sheet, Workbook
from .settings import Limits

# what a damaged file makes calamine, zipfile, olefile and our own parsing raise (KeyError: a missing zip member;
# RuntimeError: a zip member flagged encrypted)
DAMAGED_FILE_ERRORS = (
    python_calamine.CalamineError, zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, IndexError,
    OverflowError, RuntimeError, struct.error, zlib.error, ParseError, NotImplementedError,
)


@dataclass
class _SheetExtras:
    """What calamine does not report about a sheet, found by reading the file ourselves."""

    errors: dict[tuple[int, int], str] = field(default_factory=dict)  # calamine reads "#DIV/0!" as empty
    hidden_rows: set[int] = field(default_factory=set)
    merged: list[tuple[int, int, int, int]] | None = None  # None: take calamine's (xlsx, xls)


def read_workbook(data: bytes, file_name: str, limits: Limits) -> Workbook:
    """Return every sheet of the file; raise FileRefused if it cannot be read as a workbook."""
    fmt = sniff.detect_format(data, file_name, limits)
    if fmt == "csv":
        return Workbook(fmt, [_read_csv(data, file_name, limits)])
    try:
        # before calamine: it aborts the process (not an exception) on a sheet spanning A1:XFD1048576
        extras = {"xlsx": _xlsx_extras, "xlsm": _xlsx_extras, "ods": _ods_extras, "xls": _xls_extras}[fmt](data, limits)
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [
            _read_sheet(book, index, meta, extras.get(meta.name, _SheetExtras()), limits)
            for index, meta in enumerate(book.sheets_metadata)
        ]
    except python_calamine.PasswordError:
        raise FileRefused("password-protected", "设置了密码的表格") from None
    except DAMAGED_FILE_ERRORS:
        raise FileRefused("unreadable-file", DAMAGED) from None
    except BaseException as exc:
        # a calamine panic on a malformed file is a pyo3 PanicException, which derives from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        raise FileRefused("unreadable-file", DAMAGED) from None
    return Workbook(fmt, sheets)


def _read_sheet(
    book: python_calamine.CalamineWorkbook,
    index: int,
    meta: python_calamine.SheetMetadata,
    extras: _SheetExtras,
    limits: Limits,
) -> Sheet:
    """Return one calamine sheet with Excel coordinates, our error values, hidden rows and merged ranges."""
    sheet = book.get_sheet_by_index(index)
    if sheet.end is not None:
        _check_area(meta.name, sheet.end[0] + 1, sheet.end[1] + 1, limits)
    rows = [
        [None if value == "" else _from_timedelta(value) if type(value) is dt.timedelta else value for value in row]
        for row in sheet.to_python(skip_empty_area=False)
    ]
    for (r, c), text in extras.errors.items():
        _put(rows, r, c, text)
    merged = extras.merged
    if merged is None:
        merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []]
    return Sheet(
        name=meta.name,
        visible=meta.visible == python_calamine.SheetVisibleEnum.Visible,
        rows=rows,
        merged=_clip(merged, len(rows), max(map(len, rows), default=0)),
        # rows hidden below the last value are empty: nothing to warn about
        hidden_rows=frozenset(r for r in extras.hidden_rows if r < len(rows)),
    )


def _clip(merged: list[tuple[int, int, int, int]], n_rows: int, n_cols: int) -> list[tuple[int, int, int, int]]:
    """Return the merged ranges cut to the grid, sorted: a range merged down to row 1048576 must not be filled."""
    clipped = {(r0, c0, min(r1, n_rows - 1), min(c1, n_cols - 1)) for r0, c0, r1, c1 in merged}
    return sorted((r0, c0, r1, c1) for r0, c0, r1, c1 in clipped if r0 <= r1 and c0 <= c1 and (r0, c0) != (r1, c1))


def _check_area(sheet_name: str, n_rows: int, n_cols: int, limits: Limits) -> None:
    """Raise FileRefused if a sheet spans more cells than limits.max_cells."""
    if n_rows * n_cols > limits.max_cells:
        raise FileRefused("unreadable-file", f"工作表“{sheet_name}”范围过大（超过 {limits.max_cells} 个单元格）")


def _from_timedelta(value: dt.timedelta) -> dt.time | str:
    """Return a duration cell ([h]:mm:ss) as a time of day if under a day, else as Excel shows it ("36:00:00")."""
    if dt.timedelta(0) <= value < dt.timedelta(days=1):
        return (dt.datetime.min + value).time()
    seconds = round(abs(value.total_seconds()))
    return f"{'-' if value < dt.timedelta(0) else ''}{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"


def _put(rows: list[list[CellValue]], r: int, c: int, value: CellValue) -> None:
    """Set rows[r][c], growing the grid if needed."""
    rows.extend([] for _ in range(r + 1 - len(rows)))
    row = rows[r]
    row.extend([None] * (c + 1 - len(row)))
    row[c] = value


# ---- csv


def _read_csv(data: bytes, file_name: str, limits: Limits) -> Sheet:
    """Return a CSV file as one visible sheet of strings named after the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("gb18030")
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)  # ties go to the comma
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = [[cell or None for cell in row] for row in reader]
    except csv.Error:  # e.g. a field over csv's size limit
        raise FileRefused("unreadable-file", DAMAGED) from None
    while rows and not any(rows[-1]):
        rows.pop()
    name = PurePath(file_name).stem
    _check_area(name, len(rows), max(map(len, rows), default=0), limits)
    return Sheet(name=name, visible=True, rows=rows)


# ---- xlsx / xlsm: the sheet XML, by regular expressions on bytes (fast; Excel, WPS and LibreOffice put r= first)

XML_ATTR = re.compile(rb'([\w:.-]+)\s*=\s*"([^"]*)"')
XLSX_SHEET = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
XLSX_REL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)>")
# a cell with a value (calamine skips cells with only a style or a formula without cached value)
XLSX_VALUE_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?<(?:v>[^<]|is>)')
XLSX_ERROR_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?\bt="e"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?<v>([^<]+)</v>'
)
XLSX_HIDDEN_ROW = re.compile(rb'<row r="([0-9]+)"[^>]*?\bhidden="(?:1|true)"')


def _xlsx_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the error values and hidden rows of each sheet of an xlsx/xlsm by name; refuse oversized sheets."""
    result = {}
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names, targets = set(zf.namelist()), {}
        for attrs in XLSX_REL.findall(zf.read("xl/_rels/workbook.xml.rels")):
            rel = _attrs(attrs)
            target = rel.get("Target", "")
            targets[rel.get("Id")] = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
        for attrs in XLSX_SHEET.findall(zf.read("xl/workbook.xml")):
            sheet = _attrs(attrs)
            part = targets.get(sheet.get("id"))
            if sheet.get("name") is None or part not in names:
                continue
            result[sheet["name"]] = _xlsx_sheet_extras(sheet["name"], zf.read(part), limits)
    return result


def _xlsx_sheet_extras(name: str, xml: bytes, limits: Limits) -> _SheetExtras:
    """Return what calamine misses from one worksheet's XML; refuse it if its values span too many cells."""
    if cells := XLSX_VALUE_CELL.findall(xml):
        n_cols = max(map(_column_index, {col for col, _ in cells})) + 1
        _check_area(name, max(int(row) for _, row in cells), n_cols, limits)
    errors = {}
    if b't="e"' in xml:
        errors = {(int(row) - 1, _column_index(col)): text.decode() for col, row, text in XLSX_ERROR_CELL.findall(xml)}
    hidden = {int(row) - 1 for row in XLSX_HIDDEN_ROW.findall(xml)}
    return _SheetExtras(errors=errors, hidden_rows=hidden)


def _attrs(attrs: bytes) -> dict[str, str]:
    """Return a tag's attributes by local name (r:id → id), unescaped."""
    return {key.rpartition(b":")[2].decode(): html.unescape(value.decode()) for key, value in XML_ATTR.findall(attrs)}


def _column_index(letters: bytes) -> int:
    """Return the 0-based index of a column name (A → 0, AA → 26)."""
    index = 0
    for letter in letters:
        index = index * 26 + letter - 64
    return index - 1


# ---- ods: content.xml, for what calamine does not give (merged ranges, hidden rows, error values)

TABLE_NS = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
TABLE, ROW = TABLE_NS + "table", TABLE_NS + "table-row"
CELLS = (TABLE_NS + "table-cell", TABLE_NS + "covered-table-cell")
VALUE_TYPE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}value-type"
CALC_VALUE_TYPE = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}value-type"
TEXT_P = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}p"


def _ods_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the merged ranges, hidden rows and error values of each table of an ods by name; refuse oversized ones."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        content = zf.read("content.xml")
    # content.xml has no DTD, and without one no entity can be declared: plain ElementTree is then safe
    # (and a third faster than defusedxml)
    if b"<!DOCTYPE" in content:
        raise FileRefused("unreadable-file", DAMAGED)
    result, table = {}, _OdsTable("")
    for event, elem in iterparse(io.BytesIO(content), events=("start", "end")):
        tag = elem.tag
        if event == "start":
            if tag == TABLE:
                table = _OdsTable(elem.get(TABLE_NS + "name"))
            elif tag == ROW:
                table.start_row(elem)
        elif tag in CELLS:
            table.add_cell(elem)
            elem.clear()
        elif tag == ROW:
            table.row += table.row_repeat
            elem.clear()
        elif tag == TABLE:
            result[table.name] = table.extras(limits)
            elem.clear()
    return result


class _OdsTable:
    """Position and findings while walking one table:table; repeats are kept compressed until the area is checked."""

    def __init__(self, name: str):
        self.name = name
        self.row = self.col = self.row_repeat = self.n_rows = self.n_cols = 0
        self.spans: list[tuple[int, int, int, int, int]] = []  # row, col, row repeat, rows spanned, cols spanned
        self.hidden: list[tuple[int, int]] = []  # row, row repeat
        self.errors: list[tuple[int, int, int, int, str]] = []  # row, col, row repeat, col repeat, text

    def start_row(self, elem: Element) -> None:
        """Enter a table-row."""
        self.col, self.row_repeat = 0, _count(elem, "number-rows-repeated")
        if elem.get(TABLE_NS + "visibility", "visible") != "visible":  # collapse, or filter
            self.hidden.append((self.row, self.row_repeat))

    def add_cell(self, elem: Element) -> None:
        """Account for a table-cell or covered-table-cell (covered cells hold values too)."""
        repeat = _count(elem, "number-columns-repeated")
        error = elem.get(CALC_VALUE_TYPE) == "error"  # LibreOffice: string-value "" and the error in text:p
        if error or elem.get(VALUE_TYPE) or len(elem):
            self.n_rows, self.n_cols = max(self.n_rows, self.row + self.row_repeat), max(self.n_cols, self.col + repeat)
        if error:
            self.errors.append((self.row, self.col, self.row_repeat, repeat, elem.findtext(TEXT_P) or ""))
        row_span, col_span = _count(elem, "number-rows-spanned"), _count(elem, "number-columns-spanned")
        if row_span > 1 or col_span > 1:
            self.spans.append((self.row, self.col, self.row_repeat, row_span, col_span))
        self.col += repeat

    def extras(self, limits: Limits) -> _SheetExtras:
        """Return the table's findings, repeats expanded within the area holding values; refuse it if too large."""
        _check_area(self.name, self.n_rows, self.n_cols, limits)
        height = self.n_rows
        return _SheetExtras(
            merged=[(r + k, c, r + k + rs - 1, c + cs - 1) for r, c, rep, rs, cs in self.spans
                    for k in range(min(rep, max(height - r, 1)))],
            hidden_rows={r + k for r, rep in self.hidden for k in range(min(rep, height - r))},
            errors={(r + i, c + j): text for r, c, rows, cols, text in self.errors
                    for i in range(rows) for j in range(cols)},
        )


def _count(elem: Element, attribute: str) -> int:
    """Return a table: repeat or span count of an element (at least 1)."""
    return max(1, int(elem.get(TABLE_NS + attribute, 1)))


# ---- xls: the BIFF records of each worksheet (calamine gives neither error values nor hidden rows)

BOF, BOUNDSHEET, DIMENSIONS, ROW_RECORD = 0x0809, 0x0085, 0x0200, 0x0208
FORMULA, BOOLERR, MULRK = 0x0006, 0x0205, 0x00BD
VALUE_RECORDS = {0x0203, 0x027E, 0x00FD, 0x0204, 0x00D6, FORMULA, BOOLERR}  # NUMBER RK LABELSST LABEL RSTRING
XLS_ERRORS = {
    0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A"
}


def _xls_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the error values and hidden rows of each worksheet of an xls by name; refuse damaged or huge ones."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
    records = sniff.biff_records(stream)
    kind, bof = next(records, (None, b""))
    biff8 = kind == BOF and struct.unpack_from("<H", bof)[0] == 0x0600  # else BIFF5 (Excel 95)
    sheets = []
    for kind, body in records:
        if kind == BOUNDSHEET:
            if biff8:
                n_chars, wide = body[6], body[7] & 1
                name = bytes(body[8 : 8 + n_chars * (1 + wide)]).decode("utf-16-le" if wide else "latin-1")
            else:  # a byte string in the file's code page; GBK on Chinese Windows
                name = bytes(body[7 : 7 + body[6]]).decode("gbk", "replace")
            sheets.append((name, struct.unpack_from("<I", body)[0]))
    return {name: _xls_sheet_extras(name, stream, start, limits) for name, start in sheets}


def _xls_sheet_extras(name: str, stream: bytes, start: int, limits: Limits) -> _SheetExtras:
    """Return what calamine misses from one sheet substream."""
    extras, n_rows, n_cols = _SheetExtras(), 0, 0
    for kind, body in sniff.biff_records(stream, start):
        if kind in VALUE_RECORDS or kind == MULRK:
            r, c = struct.unpack_from("<HH", body)
            if kind == MULRK:
                c = struct.unpack_from("<H", body, len(body) - 2)[0]
            n_rows, n_cols = max(n_rows, r + 1), max(n_cols, c + 1)
            if kind == BOOLERR and body[7]:
                extras.errors[r, c] = XLS_ERRORS.get(body[6], "#N/A")
            elif kind == FORMULA and body[12:14] == b"\xff\xff" and body[6] == 2:  # cached result is an error
                extras.errors[r, c] = XLS_ERRORS.get(body[8], "#N/A")
        elif kind == ROW_RECORD and struct.unpack_from("<H", body, 12)[0] & 0x20:  # fDyZero: row hidden
            extras.hidden_rows.add(struct.unpack_from("<H", body)[0])
        elif kind == DIMENSIONS:
            # calamine reserves rows x columns from this record (ends exclusive); an inverted or out-of-range one
            # (a damaged file) makes it request terabytes and abort the process
            first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH" if len(body) >= 14 else "<HHHH", body)
            inverted = end_row and end_col and (first_row >= end_row or first_col >= end_col)
            if inverted or end_row > 65536 or end_col > 256:
                raise FileRefused("unreadable-file", DAMAGED)
    _check_area(name, n_rows, n_cols, limits)
    return extras
