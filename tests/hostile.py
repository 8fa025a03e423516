"""Builders of hostile (and a few unusual-but-legal) workbook files, each returning the file's bytes.

Every hostile file is a few KB on disk and would make a naive reader allocate gigabytes: far-away cells, merged
ranges to XFD1048576, repeated ODS cells and spaces, shared strings referenced many times, entity bombs. The legal
variants (namespace prefixes, cells without `r`, a huge `<dimension>`) read like their plain counterparts. The
control `legit_big_xlsx()` is a real 1,000,000-row sheet that must be accepted.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import olefile
import xlsxwriter
from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_MAIN = "http://purl.oclc.org/ooxml/spreadsheetml/main"
DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
FIXTURES = Path(__file__).parent / "fixtures"

# the values every small table below holds, row by row from A1 (None: no cell)
TABLE = [["序号", "隐患部位", "隐患描述"], [1, "教学楼", "消防栓水压不足"], [2, "食堂", None]]


# ---- xlsx: a package around worksheet XML


def xlsx_package(sheets: dict[str, str], shared_strings: str | None = None) -> bytes:
    """Return an xlsx whose worksheets (by name, in order) are the given XML texts; `shared_strings` is the whole
    xl/sharedStrings.xml text, if any."""
    rels = [f'<Relationship Id="rId{i}" Type="{DOC_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in range(1, len(sheets) + 1)]
    if shared_strings is not None:
        rels.append(f'<Relationship Id="rIdS" Type="{DOC_REL}/sharedStrings" Target="sharedStrings.xml"/>')
    sheet_list = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>' for i, name in enumerate(sheets, 1))
    parts = {
        "[Content_Types].xml": XML_DECL + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>'
        ),
        "_rels/.rels": XML_DECL + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
        f'Type="{DOC_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": XML_DECL + f'<workbook xmlns="{MAIN}" xmlns:r="{DOC_REL}"><sheets>{sheet_list}</sheets>'
        "</workbook>",
        "xl/_rels/workbook.xml.rels": XML_DECL + f'<Relationships xmlns="{PKG_REL}">{"".join(rels)}</Relationships>',
    }
    parts |= {f"xl/worksheets/sheet{i}.xml": xml for i, xml in enumerate(sheets.values(), 1)}
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    return _zip(parts)


def worksheet(sheet_data: str, after: str = "", before: str = "", prefix: str = "", ns: str = MAIN) -> str:
    """Return worksheet XML around the given sheetData content; `prefix` binds the main namespace to a prefix."""
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns{":" + prefix if prefix else ""}="{ns}"'
    return (XML_DECL + f'<{p}worksheet {xmlns} xmlns:r="{DOC_REL}">{before}<{p}sheetData>{sheet_data}'
            f"</{p}sheetData>{after}</{p}worksheet>")


def table_rows(prefix: str = "", first_attr: str = "r") -> str:
    """Return the sheetData rows of TABLE with inline strings; `first_attr` "t" writes t= before r=."""
    p = f"{prefix}:" if prefix else ""
    rows = []
    for i, values in enumerate(TABLE, 1):
        cells = []
        for j, value in enumerate(values):
            if value is None:
                continue
            ref = f"{'ABC'[j]}{i}"
            if isinstance(value, str):
                attrs = f't="inlineStr" r="{ref}"' if first_attr == "t" else f'r="{ref}" t="inlineStr"'
                cells.append(f"<{p}c {attrs}><{p}is><{p}t>{value}</{p}t></{p}is></{p}c>")
            else:
                attrs = f's="0" r="{ref}"' if first_attr == "t" else f'r="{ref}" s="0"'
                cells.append(f"<{p}c {attrs}><{p}v>{value}</{p}v></{p}c>")
        rows.append(f'<{p}row r="{i}">{"".join(cells)}</{p}row>')
    return "".join(rows)


def xlsx_table(prefix: str = "", first_attr: str = "r", ns: str = MAIN) -> bytes:
    """Return a legal xlsx holding TABLE, with the main namespace bound to `prefix` (or default) and `ns`."""
    return xlsx_package({"隐患排查": worksheet(table_rows(prefix, first_attr), prefix=prefix, ns=ns)})


def xlsx_merge_to_xfd() -> bytes:
    """Return an xlsx whose one merged range A30:XFD1048576 spans 17 billion cells (openpyxl makes a MergedCell
    for each)."""
    merge = '<mergeCells count="1"><mergeCell ref="A30:XFD1048576"/></mergeCells>'
    return xlsx_package({"隐患排查": worksheet(table_rows(), after=merge)})


def xlsx_many_merges(n: int = 400, rows: int = 10_000) -> bytes:
    """Return an xlsx with `n` merged ranges of `rows` x 1 cells each: each is small, their sum is not."""
    merges = "".join(f'<mergeCell ref="{get_column_letter(j + 1)}1:{get_column_letter(j + 1)}{rows}"/>'
                     for j in range(n))
    return xlsx_package({"隐患排查": worksheet(table_rows(), after=f"<mergeCells>{merges}</mergeCells>")})


def xlsx_cell_far_away(attr_order: str = "t-first") -> bytes:
    """Return an xlsx with one value at CV600000 (60 million cells from A1), its `r` not the first attribute
    (`attr_order` "t-first" or "s-first"; "r-first" is the plain form)."""
    attrs = {"t-first": 't="n" r="CV600000"', "s-first": 's="0" t="n" r="CV600000"', "r-first": 'r="CV600000"'}
    far = f'<row r="600000"><c {attrs[attr_order]}><v>1</v></c></row>'
    return xlsx_package({"隐患排查": worksheet(table_rows() + far)})


def xlsx_prefixed(far: bool = True, prefix: str = "x") -> bytes:
    """Return an xlsx whose sheet uses `prefix`: for the main namespace (legal OOXML); with `far`, it also holds a
    value at CV600000. `prefix=""` gives the same sheet unprefixed."""
    p = f"{prefix}:" if prefix else ""
    far_row = f'<{p}row r="600000"><{p}c r="CV600000"><{p}v>1</{p}v></{p}c></{p}row>' if far else ""
    return xlsx_package({"隐患排查": worksheet(table_rows(prefix) + far_row, prefix=prefix)})


def xlsx_foreign_namespace_far() -> bytes:
    """Return an xlsx whose far cell is in a namespace that is not SpreadsheetML's (calamine matches local names
    only, so it is still a cell to calamine)."""
    far = '<row r="600000"><o:c xmlns:o="urn:example:other" r="CV600000"><o:v>1</o:v></o:c></row>'
    return xlsx_package({"隐患排查": worksheet(table_rows() + far)})


def xlsx_column_zzzz() -> bytes:
    """Return an xlsx with a value in column ZZZZ (475,254; Excel stops at XFD, 16,384)."""
    far = '<row r="4"><c r="ZZZZ4"><v>1</v></c></row>'
    return xlsx_package({"隐患排查": worksheet(table_rows() + far)})


def xlsx_row_beyond_excel() -> bytes:
    """Return an xlsx with a value in row 5,000,000 (Excel stops at 1,048,576)."""
    return xlsx_package({"隐患排查": worksheet(table_rows() + '<row r="5000000"><c r="A5000000"><v>1</v></c></row>')})


def xlsx_implicit_far() -> bytes:
    """Return an xlsx whose cells have no `r`: a row at 600000 whose 100th implied cell holds a value (CV600000)."""
    cells = "<c/>" * 99 + "<c><v>1</v></c>"
    return xlsx_package({"隐患排查": worksheet(table_rows() + f'<row r="600000">{cells}</row>')})


def xlsx_implicit_positions() -> bytes:
    """Return a legal xlsx holding TABLE with no `r` on rows or cells (positions implied, as Excel allows)."""
    rows = []
    for values in TABLE:
        cells = "".join(
            "<c/>" if value is None
            else f'<c t="inlineStr"><is><t>{value}</t></is></c>' if isinstance(value, str)
            else f"<c><v>{value}</v></c>"
            for value in values
        )
        rows.append(f"<row>{cells}</row>")
    return xlsx_package({"隐患排查": worksheet("".join(rows))})


def xlsx_dimension_huge() -> bytes:
    """Return an xlsx declaring `<dimension ref="A1:XFD1048576"/>` around a few cells."""
    return xlsx_package({"隐患排查": worksheet(table_rows(), before='<dimension ref="A1:XFD1048576"/>')})


def xlsx_shared_string_bomb(length: int = 32_000, cells: int = 3_200, nested: bool = False) -> bytes:
    """Return an xlsx whose one shared string of `length` characters is referenced by `cells` cells
    (32,000 x 3,200 = 102 million characters once expanded). `nested` hides the long text in an si inside the
    first: calamine ends string 0 at the first </si>, so string 0 is the long one."""
    text = f'<t>{"隐" * length}</t>'
    strings = f"<si><t>a</t><si>{text}</si></si>" if nested else f"<si>{text}</si>"
    shared = XML_DECL + f'<sst xmlns="{MAIN}" count="{cells}" uniqueCount="1">{strings}</sst>'
    rows = "".join(f'<row r="{i}"><c r="A{i}" t="s"><v>0</v></c></row>' for i in range(1, cells + 1))
    return xlsx_package({"隐患排查": worksheet(rows)}, shared)


def xlsx_shared_string_too_long(length: int = 40_000) -> bytes:
    """Return an xlsx whose one shared string has `length` characters (Excel's cell limit is 32,767)."""
    shared = XML_DECL + f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>{"隐" * length}</t></si></sst>'
    return xlsx_package({"隐患排查": worksheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')}, shared)


def xlsx_unique_count_huge() -> bytes:
    """Return an xlsx whose sharedStrings claims uniqueCount="4000000000" (calamine reserves that many strings)."""
    shared = XML_DECL + f'<sst xmlns="{MAIN}" count="1" uniqueCount="4000000000"><si><t>隐患</t></si></sst>'
    return xlsx_package({"隐患排查": worksheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')}, shared)


def xlsx_doctype_entities(part: str = "sheet") -> bytes:
    """Return an xlsx whose sheet (or sharedStrings, `part="shared"`) carries a billion-laughs DTD."""
    dtd = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ) + "]>\n"
    shared = None
    if part == "shared":
        shared = XML_DECL + dtd + f'<sst xmlns="{MAIN}" count="1" uniqueCount="1"><si><t>&lol9;</t></si></sst>'
        sheet = worksheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>')
    else:
        sheet = XML_DECL + dtd + worksheet('<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>')[
            len(XML_DECL):]
    return xlsx_package({"隐患排查": sheet}, shared)


def xlsx_many_sheets_at_limit(sheets: int = 6) -> bytes:
    """Return an xlsx of `sheets` sheets, each with values at A1 and B1000000 (2,000,000 cells each: at the
    per-sheet limit, 12 million together)."""
    sheet = worksheet('<row r="1"><c r="A1"><v>1</v></c></row><row r="1000000"><c r="B1000000"><v>2</v></c></row>')
    return xlsx_package({f"表{i}": sheet for i in range(1, sheets + 1)})


def xlsx_duplicate_cells(cells: int = 3_000) -> bytes:
    """Return an xlsx whose cell A1 is written `cells` times (calamine keeps every copy until it builds the grid)."""
    return xlsx_package({"隐患排查": worksheet('<row r="1">' + '<c r="A1"><v>1</v></c>' * cells + "</row>")})


def xlsx_case_mismatched_target() -> bytes:
    """Return an xlsx whose relationship names "worksheets/SHEET1.xml" for the member xl/worksheets/sheet1.xml
    (calamine finds members without regard to case), the sheet holding a value at CV600000."""
    data = xlsx_prefixed(far=True, prefix="")
    return _rewrite(data, "xl/_rels/workbook.xml.rels", lambda xml: xml.replace("sheet1.xml", "SHEET1.xml"))


def xlsx_relocated_workbook() -> bytes:
    """Return an xlsx whose _rels/.rels points calamine to doc/workbook.xml, whose sheet holds a value at CV600000,
    while xl/workbook.xml (what a naive reader opens) and its sheet are harmless."""
    decoy = zipfile.ZipFile(io.BytesIO(xlsx_table()))
    real = zipfile.ZipFile(io.BytesIO(xlsx_prefixed(far=True, prefix="")))
    parts = {name: decoy.read(name) for name in decoy.namelist()}
    parts |= {"doc/" + name.removeprefix("xl/"): real.read(name) for name in real.namelist() if name.startswith("xl/")}
    parts["_rels/.rels"] = parts["_rels/.rels"].replace(b"xl/workbook.xml", b"doc/workbook.xml")
    return _zip(parts)


def xlsx_doctype_in_styles() -> bytes:
    """Return a harmless xlsx plus an xl/styles.xml carrying a billion-laughs DTD (calamine reads styles.xml, and
    openpyxl too when it annotates the file)."""
    dtd = '<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    return with_members(xlsx_table(), {"xl/styles.xml": XML_DECL + dtd + f'<styleSheet xmlns="{MAIN}">&b;</styleSheet>'})


def with_members(data: bytes, members: dict[str, str | bytes]) -> bytes:
    """Return the zip `data` with members added (or replaced)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    return _zip({name: source.read(name) for name in source.namelist()} | members)


def legit_big_xlsx(rows: int = 1_000_000) -> bytes:
    """Return a real xlsx (xlsxwriter, constant_memory) of `rows` rows x 2 columns: a number and a short text."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("隐患排查")
    for r in range(rows):
        sheet.write_number(r, 0, r + 1)
        sheet.write_string(r, 1, "隐患")
    book.close()
    return buffer.getvalue()


# ---- ods

ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
)


def ods_package(table_body: str, name: str = "隐患排查", prolog: str = "") -> bytes:
    """Return an ods whose one table holds `table_body` (table-row elements)."""
    content = (
        XML_DECL + prolog + f'<office:document-content {ODS_NS} office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="{name}">{table_body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = XML_DECL + (
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    return _zip({"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "META-INF/manifest.xml": manifest,
                 "content.xml": content}, stored_first=True)


def ods_cell(text: str, attrs: str = "") -> str:
    """Return a string table-cell holding `text` (its XML content, e.g. with text:s)."""
    return f'<table:table-cell office:value-type="string" {attrs}><text:p>{text}</text:p></table:table-cell>'


def ods_header_row() -> str:
    """Return the first row of TABLE as an ods table-row."""
    return "<table:table-row>" + "".join(ods_cell(v) for v in TABLE[0]) + "</table:table-row>"


def ods_space_bomb(count: int = 1_500_000_000) -> bytes:
    """Return an ods with one cell holding `<text:s text:c="1500000000"/>` (1.5 billion spaces once expanded)."""
    cell = ods_cell(f'a<text:s text:c="{count}"/>b')
    return ods_package(ods_header_row() + f"<table:table-row>{cell}</table:table-row>")


def ods_repeated_rows_with_values() -> bytes:
    """Return an ods whose one row of values is repeated 1,000,000 times across 100 repeated columns (100 million
    cells)."""
    cell = ods_cell("隐患", 'table:number-columns-repeated="100"')
    row = f'<table:table-row table:number-rows-repeated="1000000">{cell}</table:table-row>'
    return ods_package(ods_header_row() + row)


def ods_repeated_text() -> bytes:
    """Return an ods whose cell of 30,000 characters is repeated over 20 columns x 200 rows (120 million characters,
    only 4,000 cells)."""
    cell = ods_cell("隐" * 30_000, 'table:number-columns-repeated="20"')
    row = f'<table:table-row table:number-rows-repeated="200">{cell}</table:table-row>'
    return ods_package(ods_header_row() + row)


def ods_cell_text_too_long() -> bytes:
    """Return an ods with one cell of 40,000 characters (Excel's cell limit is 32,767)."""
    return ods_package(ods_header_row() + f"<table:table-row>{ods_cell('隐' * 40_000)}</table:table-row>")


def ods_formula_repeat_bomb() -> bytes:
    """Return an ods whose empty cell carrying a 20,000-character formula is repeated 1,000 x 1,000 times (calamine
    keeps a copy of each formula: 20 billion characters)."""
    formula = "of:=" + "+".join(["[.A1]"] * 3_999)
    row = (f'<table:table-row table:number-rows-repeated="1000"><table:table-cell table:formula="{formula}" '
           f'table:number-columns-repeated="1000"/></table:table-row>')
    return ods_package(ods_header_row() + row)


def ods_span_bomb() -> bytes:
    """Return an ods whose merged cell spans 1,000,000 rows x 1,000 columns."""
    span = ('<table:table-row>' + ods_cell("标题", 'table:number-rows-spanned="1000000" '
                                                 'table:number-columns-spanned="1000"') + "</table:table-row>")
    return ods_package(span + ods_header_row())


def ods_repeated_spans() -> bytes:
    """Return an ods whose row with a 2 x 100-cell merge is repeated 100,000 times (small spans, huge sum)."""
    row = ('<table:table-row table:number-rows-repeated="100000">'
           + ods_cell("x", 'table:number-rows-spanned="2" table:number-columns-spanned="100"') + "</table:table-row>")
    return ods_package(ods_header_row() + row)


def ods_doctype_entities() -> bytes:
    """Return an ods whose content.xml carries a billion-laughs DTD."""
    dtd = '<!DOCTYPE lolz [<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    ) + "]>\n"
    return ods_package(f"<table:table-row>{ods_cell('&lol9;')}</table:table-row>", prolog=dtd)


# ---- xls: a LibreOffice-written file, patched in place


def xls_merged_huge() -> bytes:
    """Return tests/fixtures/formats/merged_lo.xls with its first merged range widened to A1:IV65536 (16.7 million
    cells; BIFF8's whole grid)."""
    data = bytearray((FIXTURES / "formats" / "merged_lo.xls").read_bytes())
    at = _biff_record(data, 0x00E5)
    struct.pack_into("<HHHH", data, at + 6, 0, 65535, 0, 255)
    return bytes(data)


def xls_merged_many() -> bytes:
    """Return merged_lo.xls with its two merged ranges made 2,000 x 256 and 65,536 x 30 cells: each under the
    limit, the sum over it."""
    data = bytearray((FIXTURES / "formats" / "merged_lo.xls").read_bytes())
    at = _biff_record(data, 0x00E5)
    assert struct.unpack_from("<H", data, at + 4)[0] >= 2
    struct.pack_into("<HHHH", data, at + 6, 0, 1999, 0, 255)
    struct.pack_into("<HHHH", data, at + 14, 0, 65535, 0, 29)
    return bytes(data)


def xls_dimensions_huge() -> bytes:
    """Return merged_lo.xls whose first sheet's DIMENSIONS record declares A1:IV65536 (calamine reserves room for
    every cell of it)."""
    data = bytearray((FIXTURES / "formats" / "merged_lo.xls").read_bytes())
    at = _biff_record(data, 0x0200)
    struct.pack_into("<IIHH", data, at + 4, 0, 65536, 0, 256)
    return bytes(data)


def _biff_record(data: bytearray, kind: int) -> int:
    """Return the offset in the file of the first BIFF record of `kind` in the workbook stream (found through
    olefile: the stream must be contiguous in the file, which LibreOffice's small files are)."""
    with olefile.OleFileIO(bytes(data)) as ole:
        stream = ole.openstream("Workbook").read()
    pos = 0
    while pos + 4 <= len(stream):
        record, size = struct.unpack_from("<HH", stream, pos)
        if record == kind:
            at = data.find(stream[pos : pos + 4 + size])
            assert at >= 0 and data.find(stream[pos : pos + 4 + size], at + 1) < 0, "record not unique in file"
            return at
        pos += 4 + size
    raise LookupError(f"no BIFF record {kind:#06x}")


# ---- helpers


def _rewrite(data: bytes, member: str, change) -> bytes:
    """Return the zip `data` with one text member changed by `change(text) -> text`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    return with_members(data, {member: change(source.read(member).decode("utf-8"))})


def _zip(parts: dict[str, str | bytes], stored_first: bool = False) -> bytes:
    """Return a deflated zip of the parts (the first stored, as ods wants its mimetype)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, (name, data) in enumerate(parts.items()):
            zf.writestr(name, data, zipfile.ZIP_STORED if stored_first and k == 0 else zipfile.ZIP_DEFLATED, 9)
    return buffer.getvalue()


# Every hostile file above with the extension a school might give it: (builder, extension). Each is refused within
# the per-file limits (or read within them where it is legal); tests/test_hostile_inbox.py and bench/hostile.py
# drop them all into one inbox.
CATALOGUE = [
    ("xlsx_merge_to_xfd", ".xlsx"),
    ("xlsx_many_merges", ".xlsx"),
    ("xlsx_cell_far_away", ".xlsx"),
    ("xlsx_prefixed", ".xlsx"),
    ("xlsx_foreign_namespace_far", ".xlsx"),
    ("xlsx_column_zzzz", ".xlsx"),
    ("xlsx_row_beyond_excel", ".xlsx"),
    ("xlsx_implicit_far", ".xlsx"),
    ("xlsx_dimension_huge", ".xlsx"),
    ("xlsx_shared_string_bomb", ".xlsx"),
    ("xlsx_shared_string_too_long", ".xlsx"),
    ("xlsx_unique_count_huge", ".xlsx"),
    ("xlsx_doctype_entities", ".xlsx"),
    ("xlsx_many_sheets_at_limit", ".xlsx"),
    ("xlsx_duplicate_cells", ".xlsx"),
    ("xlsx_case_mismatched_target", ".xlsx"),
    ("xlsx_relocated_workbook", ".xlsx"),
    ("xlsx_doctype_in_styles", ".xlsx"),
    ("ods_space_bomb", ".ods"),
    ("ods_repeated_rows_with_values", ".ods"),
    ("ods_repeated_text", ".ods"),
    ("ods_cell_text_too_long", ".ods"),
    ("ods_formula_repeat_bomb", ".ods"),
    ("ods_span_bomb", ".ods"),
    ("ods_repeated_spans", ".ods"),
    ("ods_doctype_entities", ".ods"),
    ("xls_merged_huge", ".xls"),
    ("xls_merged_many", ".xls"),
    ("xls_dimensions_huge", ".xls"),
]
