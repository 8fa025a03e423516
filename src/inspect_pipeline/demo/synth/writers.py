"""The writers: a minimal SpreadsheetML (xlsx), OpenDocument (ods) and CSV writer of `SheetCells`,
byte-reproducible (fixed zip times, no clock) and independent of the libraries the pipeline reads with.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from .sheets import COLUMN_LETTERS, SheetCells, cell_address

EXCEL_EPOCH = dt.date(1899, 12, 30)
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_HIDDEN_STATE = ' state="hidden"'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    "</fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="center" wrapText="1"/></xf>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _zip(parts: list[tuple[str, str | bytes]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, (name, data) in enumerate(parts):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = 0o644 << 16
            if stored_first and k == 0:
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, data)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def xlsx_bytes(sheets: list[SheetCells]) -> bytes:
    sst: dict[str, int] = {}
    sheet_xml = []
    active = next((i for i, g in enumerate(sheets) if not g.hidden), 0)
    for i, g in enumerate(sheets):
        sheet_xml.append(_sheet_xml(g, sst, i == active))
    n = len(sheets)
    ctypes = (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  for i in range(n))
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    rels = (
        _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheets_el = "".join(
        f'<sheet name="{g.name.translate(_ESC)}" sheetId="{i + 1}"{_HIDDEN_STATE if g.hidden else ""} '
        f'r:id="rId{i + 1}"/>' for i, g in enumerate(sheets)
    )
    workbook = (
        _XML + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="{active}"/></bookViews><sheets>{sheets_el}</sheets></workbook>'
    )
    wb_rels = (
        _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i + 1}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                  for i in range(n))
        + f'<Relationship Id="rId{n + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{_NS_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    strings = "".join(f'<si><t xml:space="preserve">{s.translate(_ESC)}</t></si>' for s in sst)
    shared = _XML + f'<sst xmlns="{_NS_MAIN}" count="{len(sst)}" uniqueCount="{len(sst)}">{strings}</sst>'
    parts: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", ctypes), ("_rels/.rels", rels), ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/styles.xml", _STYLES), ("xl/sharedStrings.xml", shared),
    ]
    parts += [(f"xl/worksheets/sheet{i + 1}.xml", x) for i, x in enumerate(sheet_xml)]
    return _zip(parts)


def _sheet_xml(g: SheetCells, sst: dict[str, int], selected: bool) -> str:
    out = [_XML, f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">']
    rows = sorted(set(g.cells) | g.hidden_rows)
    if g.cells:
        maxc = max(max(r) for r in g.cells.values())
        out.append(f'<dimension ref="A1:{cell_address(max(rows), maxc)}"/>')
    selected_attr = ' tabSelected="1"' if selected else ""
    out.append(f'<sheetViews><sheetView workbookViewId="0"{selected_attr}/></sheetViews>')
    out.append('<sheetFormatPr defaultRowHeight="15"/>')
    if g.widths:
        out.append("<cols>" + "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>'
                                      for c, w in sorted(g.widths.items())) + "</cols>")
    out.append("<sheetData>")
    for r in rows:
        cells = g.cells.get(r, {})
        header = r in g.header_rows
        parts = []
        for c in sorted(cells):
            v = cells[c]
            ref = f"{COLUMN_LETTERS[c]}{r + 1}"
            if isinstance(v, str):
                idx = sst.get(v)
                if idx is None:
                    idx = sst[v] = len(sst)
                style = ' s="2"' if header else (' s="3"' if "\n" in v else "")
                parts.append(f'<c r="{ref}" t="s"{style}><v>{idx}</v></c>')
            elif isinstance(v, bool):  # pragma: no cover - never generated
                parts.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                parts.append(f'<c r="{ref}"><v>{v!r}</v></c>')
            elif isinstance(v, dt.date):
                parts.append(f'<c r="{ref}" s="1"><v>{(v - EXCEL_EPOCH).days}</v></c>')
            else:  # pragma: no cover
                raise TypeError(type(v))
        hidden = ' hidden="1"' if r in g.hidden_rows else ""
        height = ' ht="30" customHeight="1"' if header else ""
        out.append(f'<row r="{r + 1}"{hidden}{height}>{"".join(parts)}</row>')
    out.append("</sheetData>")
    if g.merges:
        out.append(f'<mergeCells count="{len(g.merges)}">'
                   + "".join(f'<mergeCell ref="{cell_address(r1, c1)}:{cell_address(r2, c2)}"/>'
                             for r1, c1, r2, c2 in g.merges)
                   + "</mergeCells>")
    out.append("</worksheet>")
    return "".join(out)


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
)


def ods_bytes(sheets: list[SheetCells]) -> bytes:
    body = []
    for g in sheets:
        style = ' table:style-name="hidden"' if g.hidden else ""
        body.append(f'<table:table table:name="{g.name.translate(_ESC)}"{style}>')
        values = g.values()
        ncols = max((len(r) for r in values), default=1)
        body.append(f'<table:table-column table:number-columns-repeated="{ncols}"/>')
        span: dict[tuple[int, int], tuple[int, int]] = {}
        covered: set[tuple[int, int]] = set()
        for r1, c1, r2, c2 in g.merges:
            span[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1)
            covered.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if (r, c) != (r1, c1))
        for r, row in enumerate(values):
            vis = ' table:visibility="collapse"' if r in g.hidden_rows else ""
            cells = []
            for c in range(ncols):
                v = row[c] if c < len(row) else None
                if (r, c) in covered:
                    cells.append("<table:covered-table-cell/>")
                    continue
                attrs = ""
                if (r, c) in span:
                    rs, cs = span[(r, c)]
                    attrs = f' table:number-rows-spanned="{rs}" table:number-columns-spanned="{cs}"'
                if v is None:
                    cells.append(f"<table:table-cell{attrs}/>")
                elif isinstance(v, str):
                    paras = "".join(f"<text:p>{p.translate(_ESC)}</text:p>" for p in v.split("\n"))
                    cells.append(f'<table:table-cell office:value-type="string"{attrs}>{paras}</table:table-cell>')
                elif isinstance(v, dt.date):
                    cells.append(f'<table:table-cell office:value-type="date" office:date-value="{v.isoformat()}"'
                                 f"{attrs}><text:p>{v.isoformat()}</text:p></table:table-cell>")
                else:
                    cells.append(f'<table:table-cell office:value-type="float" office:value="{v!r}"{attrs}>'
                                 f"<text:p>{v!r}</text:p></table:table-cell>")
            body.append(f"<table:table-row{vis}>{''.join(cells)}</table:table-row>")
        body.append("</table:table>")
    content = (
        _XML.replace(' standalone="yes"', "") + f'<office:document-content {_ODS_NS} office:version="1.2">'
        '<office:automatic-styles><style:style style:name="hidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
        f"<office:body><office:spreadsheet>{''.join(body)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return _zip([("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
                 ("META-INF/manifest.xml", manifest), ("content.xml", content)], stored_first=True)


def csv_bytes(g: SheetCells, encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in g.values():
        w.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return buf.getvalue().encode(encoding)
