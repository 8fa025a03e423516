"""Reading a received file into a grid of cells with true Excel coordinates: `read_workbook(data, name, limits)`
returns a `Workbook` or raises `FileRefused(code, detail)` for files that cannot be read as a workbook.

Files are untrusted. Before calamine (or anything) allocates, the file's own content is measured against the
limits, so the same file gets the same outcome on any machine: xlsx/xlsm and ods parts through streaming, defused XML
scans (xmlsafe.py, xlsxscan.py, odsscan.py), xls through its BIFF records. Per sheet: the area from A1 of the cells
holding values (calamine builds a dense grid from A1), each merged range and their sum; per file: the sums of those
areas and the text the cells expand to (shared strings referenced many times, repeated ODS cells, runs of spaces).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TypeVar
from xml.parsers import expat

import olefile
import python_calamine

from ..core.settings import Limits
from . import cellrefs, odsscan, sniff, xlsxscan, xmlsafe
from .grid import DAMAGED, CellValue, FileRefused, Sheet, Workbook

# what a damaged file makes calamine, zipfile, olefile and our own parsing raise (KeyError: a missing zip member;
# RuntimeError: a zip member flagged encrypted; ValueError covers xmlsafe.Forbidden and xmlsafe.Malformed)
DAMAGED_FILE_ERRORS = (
    python_calamine.CalamineError, zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, IndexError,
    OverflowError, RuntimeError, struct.error, zlib.error, expat.ExpatError, NotImplementedError,
)
T = TypeVar("T")


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
        # before calamine: it aborts the process (not an exception) when an allocation fails, e.g. for a sheet
        # spanning A1:XFD1048576, and what it allocates is not bounded by the file's size
        extras = {"xlsx": _xlsx_extras, "xlsm": _xlsx_extras, "ods": _ods_extras, "xls": _xls_extras}[fmt](data, limits)
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = [
            _read_sheet(book, index, meta, extras.get(meta.name, _SheetExtras()), limits)
            for index, meta in enumerate(book.sheets_metadata)
        ]
    except python_calamine.PasswordError:
        raise FileRefused("password-protected", "设置了密码的表格") from None
    except xmlsafe.Exceeded as exc:  # each is turned into its refusal where the sheet is known; this is a backstop
        raise _refused("", exc) from None
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
    """Raise FileRefused if a sheet spans more cells from A1 than limits.max_cells."""
    if n_rows * n_cols > limits.max_cells:
        area = cellrefs.area_name(n_rows, n_cols)
        raise _refused(sheet_name, xmlsafe.Exceeded("area", n_rows * n_cols, limits.max_cells, area))


def _refused(sheet_name: str, exc: xmlsafe.Exceeded) -> FileRefused:
    """Return the refusal of a file whose sheet (or shared string table, for an empty name) went over a limit: the
    Chinese detail names the sheet, what exceeded and the limit."""
    sheet = f"工作表“{sheet_name}”的" if sheet_name else ""
    n, limit, where = f"{exc.amount:,}", f"{exc.limit:,}", exc.where
    detail = {
        "area": f"{sheet}数据范围过大（{where} 共 {n} 格，上限 {limit} 格）",
        "declared": f"{sheet}声明范围过大（{where} 共 {n} 格，上限 {limit} 格）",
        "cells": f"{sheet}有值单元格过多（至少 {n} 个，上限 {limit} 个）",
        "beyond": f"{sheet}单元格位置超出 Excel 的范围（{where}，最大为 XFD1048576）",
        "merge": f"{sheet}合并单元格过大（{where} 共 {n} 格，上限 {limit} 格）",
        "merges": f"{sheet}合并单元格合计过大（至少 {n} 格，上限 {limit} 格）",
        "cell-text": f"{sheet}单元格文字过长（{where} 至少 {n} 字，上限 {limit} 字）",
        "text": (f"单元格文字展开后过多（{f'读到工作表“{sheet_name}”时' if sheet_name else ''}"
                 f"已达 {n} 字，上限 {limit} 字）"),
        "string": f"共享字符串表中的文字过长（{where}至少 {n} 字，上限 {limit} 字）",
        "unique": f"共享字符串表声明的条目数过大（{n} 条，上限 {limit} 条）",
        "file-area": f"全部工作表的数据范围合计过大（共 {n} 格，上限 {limit} 格）",
        "file-merges": f"全部工作表的合并单元格合计过大（共 {n} 格，上限 {limit} 格）",
    }[exc.kind]
    return FileRefused("unreadable-file", detail)


def _measured(sheet_name: str, measure: Callable[..., T], *args: object) -> T:
    """Return measure(*args); a limit it reports exceeded becomes the file's refusal naming the sheet."""
    try:
        return measure(*args)
    except xmlsafe.Exceeded as exc:
        raise _refused(sheet_name, exc) from None


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


# ---- xlsx / xlsm: the parts calamine reads, scanned by xlsxscan

XML_MEMBER_SUFFIXES = (".xml", ".rels", ".vml")


def _check_prologs(zf: zipfile.ZipFile, scanned: set[str | None]) -> None:
    """Raise xmlsafe.Forbidden if an XML member of the zip not `scanned` already declares a DOCTYPE (each is read up
    to its root element only): calamine skips DTDs, but what reads the file later (openpyxl) may not."""
    for name in zf.namelist():
        if name not in scanned and name.lower().endswith(XML_MEMBER_SUFFIXES):
            xmlsafe.check_prolog(zf, name)


def _xlsx_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the error values and hidden rows of each sheet of an xlsx/xlsm by name; refuse a file whose sheets,
    merged ranges or text go over the limits."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        tally = xmlsafe.Tally(limits.max_cells, limits.max_text_chars)
        try:
            return _xlsx_scans(zf, limits, tally, quick=True)
        except (xmlsafe.Exceeded, FileRefused):
            if not tally.bounded:
                raise
        # a plain part's bounds may have overstated a total of the file: count every part exactly
        return _xlsx_scans(zf, limits, xmlsafe.Tally(limits.max_cells, limits.max_text_chars), quick=False)


def _xlsx_scans(zf: zipfile.ZipFile, limits: Limits, tally: xmlsafe.Tally, *, quick: bool) -> dict[str, _SheetExtras]:
    """The sheets' findings: plain parts by their bounds (`quick`: xlsxscan.quick_sheet_scan), the others in full."""
    result = {}
    parts = xlsxscan.xlsx_parts(zf)

    @functools.cache
    def exact_shared() -> xlsxscan.SharedStrings:
        """The shared strings' exact lengths: scanned once, and only if a part needs them."""
        if parts.shared_strings is None:
            return xlsxscan.SharedStrings()
        return _measured("", xlsxscan.scan_shared_strings, zf, parts.shared_strings, limits.max_cells)

    longest = None
    if quick and parts.shared_strings is not None:
        longest = xlsxscan.quick_longest_shared(zf, parts.shared_strings, limits.max_cells)
    if longest is None:
        longest = max(exact_shared().lengths, default=0)
    for name, member in parts.sheets:
        if member is None:  # calamine will not find it either
            continue
        scan = xlsxscan.quick_sheet_scan(zf, member, tally, longest) if quick else None
        if scan is None:
            scan = _measured(name, xlsxscan.XlsxSheetScan(tally, exact_shared()).scan, zf, member)
        result[name] = _SheetExtras(errors=scan.errors, hidden_rows=scan.hidden_rows)
    _check_prologs(zf, parts.structure | {parts.shared_strings} | {member for _, member in parts.sheets})
    return result


# ---- ods: content.xml, for what calamine does not give (merged ranges, hidden rows, error values)


def _ods_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the merged ranges, hidden rows and error values of each table of an ods by name; refuse a file whose
    tables, merged spans or text go over the limits (counted with their repeats, before any is expanded)."""
    scan = odsscan.OdsScan(xmlsafe.Tally(limits.max_cells, limits.max_text_chars))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            scan.scan(zf)
        except xmlsafe.Exceeded as exc:
            raise _refused(scan.current_table, exc) from None
        _check_prologs(zf, {"content.xml"})
    return {table.name: _ods_sheet_extras(table) for table in scan.tables}


def _ods_sheet_extras(table: odsscan.OdsTable) -> _SheetExtras:
    """Return a table's findings with repeats expanded only within its area holding values (already checked
    against the limits: the expansion is bounded by them)."""
    height, width = table.n_rows, table.n_cols

    def within(start: int, count: int, end: int) -> range:
        return range(min(count, max(end - start, 0)))

    return _SheetExtras(
        merged=[(r + i, c + j, r + i + rs - 1, c + j + cs - 1) for r, c, rows, cols, rs, cs in table.spans
                for i in within(r, rows, height) for j in within(c, cols, width)],
        hidden_rows={r + k for r, count in table.hidden for k in within(r, count, height)},
        errors={(r + i, c + j): text for r, c, rows, cols, text in table.errors
                for i in within(r, rows, height) for j in within(c, cols, width)},
    )


# ---- xls: the BIFF records of each worksheet (calamine gives neither error values nor hidden rows)

BOF, BOUNDSHEET, DIMENSIONS, ROW_RECORD = 0x0809, 0x0085, 0x0200, 0x0208
FORMULA, BOOLERR, MULRK, MERGEDCELLS = 0x0006, 0x0205, 0x00BD, 0x00E5
SST, CONTINUE, LABELSST, LABEL, RSTRING, STRING = 0x00FC, 0x003C, 0x00FD, 0x0204, 0x00D6, 0x0207
VALUE_RECORDS = {0x0203, 0x027E, LABELSST, LABEL, RSTRING, FORMULA, BOOLERR}  # NUMBER RK LABELSST LABEL RSTRING
XLS_ERRORS = {
    0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?", 0x24: "#NUM!", 0x2A: "#N/A"
}


def _xls_extras(data: bytes, limits: Limits) -> dict[str, _SheetExtras]:
    """Return the error values and hidden rows of each worksheet of an xls by name; refuse damaged files and files
    whose sheets, declared dimensions, merged ranges or text go over the limits."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        stream = ole.openstream("Workbook" if ole.exists("Workbook") else "Book").read()
    records = sniff.biff_records(stream)
    kind, bof = next(records, (None, b""))
    biff8 = kind == BOF and struct.unpack_from("<H", bof)[0] == 0x0600  # else BIFF5 (Excel 95)
    sheets, sst, strings = [], None, []  # sst: the SST record and its CONTINUE records while they come
    for kind, body in records:
        if sst is not None and kind != CONTINUE:
            strings, sst = _sst_lengths(sst), None  # calamine keeps the last SST
        if kind == BOUNDSHEET:
            if biff8:
                n_chars, wide = body[6], body[7] & 1
                name = bytes(body[8 : 8 + n_chars * (1 + wide)]).decode("utf-16-le" if wide else "latin-1")
            else:  # a byte string in the file's code page; GBK on Chinese Windows
                name = bytes(body[7 : 7 + body[6]]).decode("gbk", "replace")
            sheets.append((name, struct.unpack_from("<I", body)[0]))
        elif kind == SST:
            sst = [body]
        elif kind == CONTINUE and sst is not None:
            sst.append(body)
    if sst is not None:
        strings = _sst_lengths(sst)
    tally = xmlsafe.Tally(limits.max_cells, limits.max_text_chars)
    return {name: _measured(name, _xls_sheet_extras, stream, start, strings, tally) for name, start in sheets}


def _xls_sheet_extras(stream: bytes, start: int, strings: list[int], tally: xmlsafe.Tally) -> _SheetExtras:
    """Return what calamine misses from one sheet substream (embedded chart substreams skipped, as calamine does);
    raise xmlsafe.Exceeded for a sheet over the limits."""
    extras, n_rows, n_cols, merged_area, cap = _SheetExtras(), 0, 0, 0, tally.max_cells
    for kind, body in sniff.biff_substream(stream, start):
        if kind in VALUE_RECORDS or kind == MULRK:
            r, c = struct.unpack_from("<HH", body)
            if kind == MULRK:
                c = struct.unpack_from("<H", body, len(body) - 2)[0]
            n_rows, n_cols = max(n_rows, r + 1), max(n_cols, c + 1)
            if kind == BOOLERR and body[7]:
                extras.errors[r, c] = XLS_ERRORS.get(body[6], "#N/A")
            elif kind == FORMULA and body[12:14] == b"\xff\xff" and body[6] == 2:  # cached result is an error
                extras.errors[r, c] = XLS_ERRORS.get(body[8], "#N/A")
            elif kind == LABELSST:  # calamine copies the shared string into each cell
                index = struct.unpack_from("<I", body, 6)[0]
                tally.add_text(strings[index] if index < len(strings) else 0)
            elif kind in (LABEL, RSTRING):
                tally.add_text(struct.unpack_from("<H", body, 6)[0])
        elif kind == STRING:
            tally.add_text(struct.unpack_from("<H", body)[0])
        elif kind == ROW_RECORD and struct.unpack_from("<H", body, 12)[0] & 0x20:  # fDyZero: row hidden
            extras.hidden_rows.add(struct.unpack_from("<H", body)[0])
        elif kind == DIMENSIONS:
            _check_dimensions(body, cap)
        elif kind == MERGEDCELLS:
            for r0, r1, c0, c1 in _merged_ranges(body):
                area = (abs(r1 - r0) + 1) * (abs(c1 - c0) + 1)
                where = (f"{cellrefs.cell_name(min(r0, r1), min(c0, c1))}:"
                         f"{cellrefs.cell_name(max(r0, r1), max(c0, c1))}")
                if area > cap:
                    raise xmlsafe.Exceeded("merge", area, cap, where)
                merged_area += area
                if merged_area > cap:
                    raise xmlsafe.Exceeded("merges", merged_area, cap)
    if n_rows * n_cols > cap:
        raise xmlsafe.Exceeded("area", n_rows * n_cols, cap, cellrefs.area_name(n_rows, n_cols))
    tally.add_sheet(n_rows * n_cols, merged_area)
    return extras


def _check_dimensions(body: memoryview, cap: int) -> None:
    """Refuse a DIMENSIONS record calamine would reserve too much for: it reserves room for every cell of the
    declared range (ends exclusive); an inverted or out-of-range one (a damaged file) makes it request terabytes."""
    first_row, end_row, first_col, end_col = struct.unpack_from("<IIHH" if len(body) >= 14 else "<HHHH", body)
    inverted = end_row and end_col and (first_row >= end_row or first_col >= end_col)
    if inverted or end_row > 65536 or end_col > 256:
        raise FileRefused("unreadable-file", DAMAGED)
    area = (end_row - first_row) * (end_col - first_col)
    if area > cap:
        where = f"{cellrefs.cell_name(first_row, first_col)}:{cellrefs.cell_name(end_row - 1, end_col - 1)}"
        raise xmlsafe.Exceeded("declared", area, cap, where)


def _merged_ranges(body: memoryview) -> Iterable[tuple[int, int, int, int]]:
    """Yield (first row, last row, first column, last column) of each range of a MERGEDCELLS record; raise
    struct.error if the record is shorter than its count says (calamine would fail on it)."""
    count = struct.unpack_from("<H", body)[0]
    for k in range(count):
        yield struct.unpack_from("<HHHH", body, 2 + 8 * k)


def _sst_lengths(chunks: list[memoryview]) -> list[int]:
    """Return the length in characters of each string of an SST record and its CONTINUE records, walked as calamine
    walks them (a string's characters may go on in the next record, after a byte giving their width)."""
    chunks = [chunks[0][8:], *chunks[1:]]  # after cstTotal and cstUnique
    at, data, lengths = 0, chunks[0], []

    def next_chunk() -> memoryview:
        nonlocal at
        at += 1
        if at >= len(chunks):
            raise EOFError("SST string goes past its records")
        return chunks[at]

    while data or at + 1 < len(chunks):
        if not data:
            data = next_chunk()
        if not data:
            lengths.append(0)
            continue
        n_chars, flags = struct.unpack_from("<HB", data)
        data, wide = data[3:], flags & 1
        n_runs = struct.unpack_from("<H", data)[0] if flags & 8 else 0
        data = data[2:] if flags & 8 else data
        ext = struct.unpack_from("<i", data)[0] if flags & 4 else 0
        data = data[4:] if flags & 4 else data
        if ext < 0:
            raise ValueError("negative ExtRst size")
        left = n_chars
        while True:
            taken = min(len(data) // 2 if wide else len(data), left)
            data, left = data[taken * (2 if wide else 1) :], left - taken
            if not left:
                break
            data = next_chunk()
            wide, data = data[0] & 1, data[1:]
        skip = 4 * n_runs + ext
        while skip:
            if not data:
                data = next_chunk()
            taken = min(skip, len(data))
            data, skip = data[taken:], skip - taken
        lengths.append(n_chars)
    return lengths
