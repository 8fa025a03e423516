"""The receipt of a rejected .xlsx written by editing the school's own file part by part: every part is copied as
it is except what the receipt adds, so nothing of the school's workbook is lost (pictures, validations, formats that
openpyxl would drop) and it costs a few milliseconds instead of openpyxl's load and save.

What changes: styles.xml gains our fills, fonts and cell formats (a marked cell keeps its own format with our
fill); each sheet with problems gains the fills on its cells (cells and rows added where the file has none) and a
comments part with its VML drawing; a new first sheet `问题清单` (cells as inline strings, linked to the problem cells)
is added to workbook.xml, its relationships and [Content_Types].xml; the other sheets lose `tabSelected`; the
document properties name the kind of workbook. Sheet-scoped defined names move up one sheet.

A file this cannot handle raises `Unpatchable` (receipts.py then annotates it with openpyxl): a sheet that already
has comments or a VML drawing (a school's notes, or our receipt sent back), a part in another encoding than UTF-8 or
with the main namespace behind a prefix, an .xlsm's package, a missing styles part. Every part written
is parsed again before the receipt is kept.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import escape, quoteattr

from ..core.issues import Issue
from ..read import xlsxscan
from ..read.cellrefs import cell_name, column_letters, parse_range, parse_ref
from ..read.xmlparts import MAIN, Element, Part, Unpatchable, qname, with_attrs
from ..write.book import BODY_FONT, TITLE_FONT
from ..write.paging import MARGIN_IN, plan
from .receipt_content import (
    AUTHOR,
    ISSUE_HEADERS,
    ISSUE_SHEET,
    WIDTHS,
    ReceiptInfo,
    _issue_rows,
    _text,
    anchor,
    footer,
    issue_sheet_lines,
    line_height,
    mark_comment,
    mark_fill,
    row_height,
)

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
CORE = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
SHEET_TYPE = REL + "/worksheet"
COMMENTS_TYPE = REL + "/comments"
VML_TYPE = REL + "/vmlDrawing"
SHEET_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
COMMENTS_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
VML_CONTENT = "application/vnd.openxmlformats-officedocument.vmlDrawing"
CORE_TYPE = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
CORE_CONTENT = "application/vnd.openxmlformats-package.core-properties+xml"
WORKBOOK_CONTENT = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
HEADER = "&L&A&R回执（退回的原表）"
HEADER_FILL = "FFDDEBF7"
LINK_RGB = "FF0563C1"
# children of <worksheet> that come after <legacyDrawing>, and of <workbook> after <definedNames> (ECMA-376 order)
AFTER_LEGACY_DRAWING = frozenset({"legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                                  "webPublishItems", "tableParts", "extLst"})
AFTER_DEFINED_NAMES = frozenset({"calcPr", "oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr",
                                 "smartTagTypes", "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst"})
# the 问题清单's cell formats: font (name, size, bold, rgb, underline) and fill
ISSUE_STYLES = {
    "title": ((TITLE_FONT, 16, True, None, False), None),
    "facts": ((BODY_FONT, 10, False, None, False), None),
    "verdict": ((BODY_FONT, 10, True, "FFC00000", False), None),
    "head": ((BODY_FONT, 10, True, None, False), HEADER_FILL),
    "body": ((BODY_FONT, 10, False, None, False), None),
    "link": ((BODY_FONT, 10, False, LINK_RGB, True), None),
}


def patched_copy(info: ReceiptInfo, issues: list[Issue], original: bytes) -> bytes:
    """The receipt of a rejected .xlsx (`issues` in their receipt order): the original's bytes with every problem
    cell filled and commented (merged ranges: their top-left cell) and a first sheet `问题清单`. Raises Unpatchable,
    or what a damaged file makes zipfile or expat raise."""
    with zipfile.ZipFile(io.BytesIO(original)) as zin:
        return _Patch(zin).build(info, issues)


# ---------------------------------------------------------------------------------------------------- XML parts


def _xml(text: object) -> str:
    return escape(_text(text))


def _xml(text: object) -> str:
    return escape(_text(text))


# ---------------------------------------------------------------------------------------------------- the patch


class _Patch:
    """The parts of one workbook being patched."""

    def __init__(self, zin: zipfile.ZipFile):
        self.zin = zin
        names = [i.filename for i in zin.infolist()]
        if len({n.lower() for n in names}) != len(names):
            raise Unpatchable("duplicate member names")
        self.lookup = xlsxscan.zip_lookup(zin)
        self.names = {n.lower() for n in names}
        self.changed: dict[str, bytes] = {}  # member name -> new bytes
        self.added: dict[str, bytes] = {}

    def part(self, member: str, wanted: Iterable[str] | None = None, namespace: str = MAIN, *,
             plain: bool = True) -> Part:
        return Part.parse(self.zin.read(member), wanted, namespace, plain=plain)

    def new_name(self, pattern: str, first: str = "") -> str:
        """A member name not in the zip: `first` if given and free, else `pattern` with {n} = 1, 2, ..."""
        n, name = 1, first
        while not name or name.lower() in self.names:
            name = pattern.format(n=n)
            n += 1
        self.names.add(name.lower())
        return name

    def build(self, info: ReceiptInfo, issues: list[Issue]) -> bytes:
        parts = xlsxscan.xlsx_parts(self.zin)
        types_member = self.lookup("[Content_Types].xml")
        if types_member is None or parts.workbook is None:
            raise Unpatchable("no content types or workbook")
        types = self.part(types_member, ("Override", "Default"),
                          "http://schemas.openxmlformats.org/package/2006/content-types")
        wb_override = [e for e in types.find("Override") if e.attrs.get("PartName", "").lower() == "/" + parts.workbook.lower()]
        if not wb_override or wb_override[0].attrs.get("ContentType") != WORKBOOK_CONTENT:
            raise Unpatchable("not a plain .xlsx package")
        sheet_names = [name for name, _ in parts.sheets]
        if ISSUE_SHEET.casefold() in {n.casefold() for n in sheet_names}:
            raise Unpatchable("our 问题清单 is already there")
        folder = parts.workbook[: parts.workbook.rfind("/") + 1]
        wb_rels = self.part(parts.workbook_rels, ("Relationship",), PKG_REL)
        styles_target = next((e.attrs.get("Target") for e in wb_rels.find("Relationship")
                              if e.attrs.get("Type") == REL + "/styles"), None)
        styles_member = self.lookup(_resolve(folder, styles_target)) if styles_target else None
        if styles_member is None:
            raise Unpatchable("no styles part")
        styles = _Styles(self.part(styles_member, ("fonts", "fills", "cellXfs", "font", "fill", "xf")))

        members = dict(parts.sheets)
        notes = self._notes(issues, members)
        content: list[str] = []
        marked: set[str] = set()
        for name, member in parts.sheets:
            if member is None or member in self.changed:
                continue
            data = self.zin.read(member)
            if name in notes and name not in marked:  # of two sheets of one name, the first (as openpyxl's path)
                marked.add(name)
                self._mark_sheet(member, data, notes[name], styles, content)
            elif b"tabSelected" in data:
                sheet = Part.parse(data, ("sheetView",))
                for view in sheet.find("sheetView"):
                    sheet.set_attrs(view, tabSelected=None)
                self.changed[member] = sheet.result()

        issue_member = self.new_name(folder + "worksheets/sheet{n}.xml")
        rid = _new_id({e.attrs.get("Id", "") for e in wb_rels.find("Relationship")})
        wb_rels.append_child(wb_rels.root(), f'<Relationship Id="{rid}" Type="{SHEET_TYPE}" '
                                             f'Target={quoteattr(issue_member[len(folder):])}/>')
        self.changed[parts.workbook_rels] = wb_rels.result()
        head, sheet_xml = _issue_sheet(info, issues, {n for n, m in parts.sheets if m is not None}, styles)
        self.added[issue_member] = sheet_xml
        content.append(f'<Override PartName={quoteattr("/" + issue_member)} ContentType="{SHEET_CONTENT}"/>')
        self._add_to_workbook(parts.workbook, rid, head, len(issues))
        self.changed[styles_member] = styles.result()
        self._core_properties(content)
        if not any(e.attrs.get("Extension", "").lower() == "vml" for e in types.find("Default")) and notes:
            content.insert(0, f'<Default Extension="vml" ContentType="{VML_CONTENT}"/>')
        types.append_child(types.root(), "".join(content))
        self.changed[types_member] = types.result()
        return self._zip()

    # ---- the problem cells

    def _notes(self, issues: list[Issue], members: dict[str, str | None]) -> dict[str, dict[tuple[int, int], list[Issue]]]:
        """Issues by sheet and (row, col), 1-based, of the sheets the file has (merged anchors resolved later)."""
        notes: dict[str, dict[tuple[int, int], list[Issue]]] = {}
        for i in issues:
            rc = i.position
            if i.sheet in members and members[i.sheet] is not None and rc is not None:
                notes.setdefault(i.sheet, {}).setdefault(rc, []).append(i)
        return notes

    def _mark_sheet(self, member: str, data: bytes, found: dict[tuple[int, int], list[Issue]], styles: _Styles,
                    content: list[str]) -> None:
        """Fill and comment the cells of one sheet; add its comments and VML parts and relationships."""
        folder, _, base = member.rpartition("/")
        rels_member = self.lookup(f"{folder}/_rels/{base}.rels")
        rels = self.part(rels_member, ("Relationship",), PKG_REL) if rels_member else None
        if rels is not None and any(e.attrs.get("Type") in (COMMENTS_TYPE, VML_TYPE) for e in rels.find("Relationship")):
            raise Unpatchable("the sheet has comments or a VML drawing")
        sheet = Part.parse(data, ("sheetData", "row", "c", "mergeCell", "sheetView", "legacyDrawing",
                                   *AFTER_LEGACY_DRAWING))
        if sheet.find("legacyDrawing"):
            raise Unpatchable("the sheet has a VML drawing")
        for view in sheet.find("sheetView"):
            sheet.set_attrs(view, tabSelected=None)
        merged = [parse_range(e.attrs["ref"]) for e in sheet.find("mergeCell") if "ref" in e.attrs]
        cells: dict[tuple[int, int], list[Issue]] = {}
        for (row, col), issues in found.items():
            cells.setdefault(anchor(merged, row - 1, col - 1), []).extend(issues)
        _fill_cells(sheet, styles, {rc: mark_fill(f) for rc, f in cells.items()})

        comments_member = self.new_name(f"{folder.rpartition('/')[0]}/comments{{n}}.xml".lstrip("/"))
        vml_member = self.new_name(f"{folder.rpartition('/')[0]}/drawings/vmlDrawing{{n}}.vml".lstrip("/"))
        k = len([n for n in self.added if n.endswith(".vml")]) + 1
        self.added[comments_member] = _comments_xml(cells)
        self.added[vml_member] = _vml(cells, k)
        content.append(f'<Override PartName={quoteattr("/" + comments_member)} ContentType="{COMMENTS_CONTENT}"/>')
        used = {e.attrs.get("Id", "") for e in rels.find("Relationship")} if rels else set()
        vml_id = _new_id(used)
        comments_id = _new_id(used | {vml_id})
        links = (f'<Relationship Id="{comments_id}" Type="{COMMENTS_TYPE}" Target={quoteattr(_relative(folder, comments_member))}/>'
                 f'<Relationship Id="{vml_id}" Type="{VML_TYPE}" Target={quoteattr(_relative(folder, vml_member))}/>')
        if rels is None:
            self.added[f"{folder}/_rels/{base}.rels"] = (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                f"{links}</Relationships>").encode()
        else:
            rels.append_child(rels.root(), links)
            self.changed[rels_member] = rels.result()
        drawing = f'<legacyDrawing xmlns:r="{REL}" r:id="{vml_id}"/>'
        later = [e for e in sheet.elements if e.depth == 1 and e.name in AFTER_LEGACY_DRAWING]
        if later:
            sheet.insert(later[0].start, drawing)
        else:
            sheet.append_child(sheet.root(), drawing)
        self.changed[member] = sheet.result()

    # ---- workbook.xml, properties

    def _add_to_workbook(self, member: str, rid: str, head: int, n_issues: int) -> None:
        book = self.part(member, ("sheets", "sheet", "definedNames", "definedName", "workbookView",
                                  *AFTER_DEFINED_NAMES))
        sheets = book.find("sheets", 1)
        if not sheets:
            raise Unpatchable("no sheets element")
        ids = [int(e.attrs["sheetId"]) for e in book.find("sheet") if e.attrs.get("sheetId", "").isdigit()]
        entry = (f'<sheet xmlns:r="{REL}" name="{ISSUE_SHEET}" sheetId="{max(ids, default=0) + 1}" r:id="{rid}"/>')
        if sheets[0].empty:
            book.append_child(sheets[0], entry)
        else:
            book.insert(sheets[0].open_end, entry)
        for name in book.find("definedName"):
            local = name.attrs.get("localSheetId")
            if local is not None and local.isdigit():
                book.set_attrs(name, localSheetId=str(int(local) + 1))
        quoted = f"'{ISSUE_SHEET}'"
        last = head + max(n_issues, 0)
        ours = (f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
                f"{quoted}!$A${head}:${column_letters(len(ISSUE_HEADERS) - 1)}${last}</definedName>"
                f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{quoted}!${head}:${head}</definedName>')
        names = book.find("definedNames", 1)
        if names:
            book.append_child(names[0], ours)
        else:
            later = [e for e in book.elements if e.depth == 1 and e.name in AFTER_DEFINED_NAMES]
            at = later[0].start if later else book.root().close
            book.insert(at, f"<definedNames>{ours}</definedNames>")
        for view in book.find("workbookView"):
            book.set_attrs(view, activeTab=None, firstSheet=None)
        self.changed[member] = book.result()

    def _core_properties(self, content: list[str]) -> None:
        """docProps/core.xml naming the kind of workbook (category); made, with its relationship and content type,
        where the package has none."""
        rels_member = self.lookup("_rels/.rels")
        package = self.part(rels_member, ("Relationship",), PKG_REL)
        target = next((e.attrs.get("Target") for e in package.find("Relationship")
                       if e.attrs.get("Type", "").endswith("/metadata/core-properties")), None)
        member = self.lookup(_resolve("", target)) if target else None
        if member is None:  # where office programs (and openpyxl, which looks nowhere else) expect it
            name = self.new_name("docProps/core{n}.xml", first="docProps/core.xml")
            self.added[name] = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<cp:coreProperties '
                                f'xmlns:cp="{CORE}"><cp:category>receipt-returned</cp:category></cp:coreProperties>'
                                ).encode()
            rid = _new_id({e.attrs.get("Id", "") for e in package.find("Relationship")})
            package.append_child(package.root(), f'<Relationship Id="{rid}" Type="{CORE_TYPE}" Target="/{name}"/>')
            self.changed[rels_member] = package.result()
            content.append(f'<Override PartName="/{name}" ContentType="{CORE_CONTENT}"/>')
            return
        core = self.part(member, ("category",), CORE, plain=False)
        category = core.find("category", 1)
        if category:
            name = qname(core, category[0])
            core.replace(category[0].start, category[0].end, f"<{name}>receipt-returned</{name}>")
        else:
            core.append_child(core.root(), f'<category xmlns="{CORE}">receipt-returned</category>')
        self.changed[member] = core.result()

    def _zip(self) -> bytes:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for item in self.zin.infolist():
                data = self.changed.get(item.filename)
                if data is None:
                    data = self.zin.read(item)
                zout.writestr(_fresh_info(item.filename, item.date_time), data)
            for name, data in self.added.items():
                zout.writestr(_fresh_info(name, (1980, 1, 1, 0, 0, 0)), data)
        return out.getvalue()


def _fresh_info(name: str, when: tuple) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, when if when[0] >= 1980 else (1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _resolve(folder: str, target: str) -> str:
    """A relationship target as a member path (absolute from the package root, or relative to `folder`)."""
    if target.startswith("/"):
        return target[1:]
    parts: list[str] = [p for p in folder.split("/") if p]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _relative(folder: str, member: str) -> str:
    """The target of `member` from a part in `folder` (a sibling folder's part: through ..)."""
    up = folder.rpartition("/")[0]
    return "../" + member[len(up) + 1 :] if up and member.startswith(up + "/") else "/" + member


def _new_id(used: set[str]) -> str:
    n = len(used) + 1
    while f"rId{n}" in used:
        n += 1
    return f"rId{n}"


# ---------------------------------------------------------------------------------------------------- styles


class _Styles:
    """styles.xml and what the receipt adds to it: fills, fonts, and cell formats (a marked cell's own format
    with our fill; the 问题清单's formats), each added once."""

    def __init__(self, part: Part):
        self.part = part
        self.lists = {name: (found[0] if (found := part.find(name, 1)) else None) for name in ("fonts", "fills", "cellXfs")}
        if any(v is None for v in self.lists.values()):
            raise Unpatchable("styles without fonts, fills or cell formats")
        self.counts = {name: len([e for e in part.find(child, 2) if e.start > self.lists[name].start
                                  and e.end <= self.lists[name].end])
                       for name, child in (("fonts", "font"), ("fills", "fill"), ("cellXfs", "xf"))}
        self.xfs = [e for e in part.find("xf", 2) if self.lists["cellXfs"].start < e.start < self.lists["cellXfs"].end]
        self.new: dict[str, list[str]] = {"fonts": [], "fills": [], "cellXfs": []}
        self.made: dict[tuple, int] = {}

    def _add(self, kind: str, key: tuple, xml: str) -> int:
        if (kind, key) not in self.made:
            self.made[(kind, key)] = self.counts[kind] + len(self.new[kind])
            self.new[kind].append(xml)
        return self.made[(kind, key)]

    def fill(self, rgb: str) -> int:
        return self._add("fills", (rgb,), f'<fill><patternFill patternType="solid"><fgColor rgb="{rgb}"/>'
                                          f'<bgColor rgb="{rgb}"/></patternFill></fill>')

    def marked(self, original: int, rgb: str) -> int:
        """The cell format `original` with our fill `rgb`."""
        fill = self.fill(rgb)
        if not 0 <= original < len(self.xfs):
            original = 0
        if not self.xfs:
            return self._add("cellXfs", ("mark", -1, rgb), f'<xf numFmtId="0" fontId="0" fillId="{fill}" borderId="0" '
                                                           f'xfId="0" applyFill="1"/>')
        xf = self.xfs[original]
        tag = with_attrs(self.part.data[xf.start : xf.open_end], {"fillId": str(fill), "applyFill": "1"}).decode()
        body = self.part.data[xf.open_end : xf.close].decode() if not xf.empty else ""
        return self._add("cellXfs", ("mark", original, rgb), tag + (body + "</xf>" if not xf.empty else ""))

    def issue_style(self, role: str) -> int:
        (name, size, bold, rgb, underline), fill_rgb = ISSUE_STYLES[role]
        font = self._add("fonts", (name, size, bold, rgb, underline),
                         "<font>" + ("<b/>" if bold else "") + ('<u/>' if underline else "") + f'<sz val="{size}"/>'
                         + (f'<color rgb="{rgb}"/>' if rgb else "") + f"<name val={quoteattr(name)}/>"
                         + '<charset val="134"/></font>')
        fill = self.fill(fill_rgb) if fill_rgb else 0
        return self._add("cellXfs", ("issue", role),
                         f'<xf numFmtId="0" fontId="{font}" fillId="{fill}" borderId="0" xfId="0" applyFont="1" '
                         f'applyFill="1" applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf>')

    def result(self) -> bytes:
        for kind, added in self.new.items():
            element = self.lists[kind]
            if added:
                self.part.set_attrs(element, count=str(self.counts[kind] + len(added)))
                self.part.append_child(element, "".join(added))
        return self.part.result()


def _fill_cells(sheet: Part, styles: _Styles, rgb_of: dict[tuple[int, int], str]) -> None:
    """Give each (row, col) (0-based) of `rgb_of` its cell format with our fill, adding cells and rows the sheet
    lacks. Every row and cell on the way must carry its reference (else Unpatchable: positions would be guesses)."""
    data_elements = sheet.find("sheetData", 1)
    if not data_elements:
        raise Unpatchable("no sheetData")
    sheet_data = data_elements[0]
    rows: dict[int, Element] = {}
    cells: dict[int, dict[int, Element]] = {}
    for e in sheet.elements:
        if e.depth == 2 and e.name == "row":
            ref = e.attrs.get("r", "")
            if not ref.isdigit():
                raise Unpatchable("a row without its number")
            rows[int(ref) - 1] = e
        elif e.depth == 3 and e.name == "c":
            ref = e.attrs.get("r")
            if ref is None:
                raise Unpatchable("a cell without its reference")
            r, c = parse_ref(ref)
            cells.setdefault(r, {})[c] = e
    wanted: dict[int, dict[int, str]] = {}
    for (r, c), rgb in rgb_of.items():
        wanted.setdefault(r, {})[c] = rgb
    for r, cols in sorted(wanted.items()):
        row = rows.get(r)
        new_cells = []
        for c, rgb in sorted(cols.items()):
            cell = cells.get(r, {}).get(c)
            if cell is not None:
                own = cell.attrs.get("s", "0")
                sheet.set_attrs(cell, s=str(styles.marked(int(own) if own.isdigit() else 0, rgb)))
            else:
                new_cells.append((c, f'<c r="{cell_name(r, c)}" s="{styles.marked(0, rgb)}"/>'))
        if not new_cells:
            continue
        if row is None:
            later = [e for k, e in rows.items() if k > r]
            xml = f'<row r="{r + 1}">' + "".join(x for _, x in new_cells) + "</row>"
            if later:
                sheet.insert(min(later, key=lambda e: e.start).start, xml)
            else:
                sheet.append_child(sheet_data, xml)
            continue
        for c, xml in new_cells:
            after = [e for k, e in cells.get(r, {}).items() if k > c]
            if after:
                sheet.insert(min(after, key=lambda e: e.start).start, xml)
            else:
                sheet.append_child(row, xml)


# ---------------------------------------------------------------------------------------------------- new parts


def _comments_xml(cells: dict[tuple[int, int], list[Issue]]) -> bytes:
    body = "".join(f'<comment ref="{cell_name(r, c)}" authorId="0"><text><t xml:space="preserve">'
                   f"{escape(mark_comment(found)[0])}</t></text></comment>"
                   for (r, c), found in sorted(cells.items()))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<comments xmlns="{MAIN}"><authors>'
            f"<author>{escape(AUTHOR)}</author></authors><commentList>{body}</commentList></comments>").encode()


def _vml(cells: dict[tuple[int, int], list[Issue]], k: int) -> bytes:
    """The VML shapes office programs draw comments with (as Excel writes them: hidden until pointed at)."""
    shapes = []
    for n, ((r, c), found) in enumerate(sorted(cells.items()), 1):
        _, height, width = mark_comment(found)
        shapes.append(
            f'<v:shape id="_x0000_s{1024 * k + n}" type="#_x0000_t202" style="position:absolute;margin-left:59.25pt;'
            f'margin-top:1.5pt;width:{width}px;height:{height}px;z-index:{n};visibility:hidden" fillcolor="#ffffe1" '
            'o:insetmode="auto"><v:fill color2="#ffffe1"/><v:shadow color="black" obscured="t"/>'
            '<v:path o:connecttype="none"/><v:textbox style="mso-direction-alt:auto"><div style="text-align:left"/>'
            '</v:textbox><x:ClientData ObjectType="Note"><x:MoveWithCells/><x:SizeWithCells/>'
            f"<x:AutoFill>False</x:AutoFill><x:Row>{r}</x:Row><x:Column>{c}</x:Column></x:ClientData></v:shape>")
    return ('<xml xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office" '
            'xmlns:x="urn:schemas-microsoft-com:office:excel">'
            f'<o:shapelayout v:ext="edit"><o:idmap v:ext="edit" data="{k}"/></o:shapelayout>'
            '<v:shapetype id="_x0000_t202" coordsize="21600,21600" o:spt="202" path="m,l,21600r21600,l21600,xe">'
            '<v:stroke joinstyle="miter"/><v:path gradientshapeok="t" o:connecttype="rect"/></v:shapetype>'
            + "".join(shapes) + "</xml>").encode()


def _issue_sheet(info: ReceiptInfo, issues: list[Issue], targets: set[str], styles: _Styles) -> tuple[int, bytes]:
    """The 问题清单 worksheet part (as `receipt_annotated._add_issue_sheet` lays it out); the 1-based number of its
    header row and the part's bytes."""
    last = len(WIDTHS)
    rows, merges, links = [], [], []

    def cell(r: int, c: int, value: object, role: str) -> str:
        ref, s = f"{column_letters(c - 1)}{r}", styles.issue_style(role)
        if isinstance(value, int) and not isinstance(value, bool):
            return f'<c r="{ref}" s="{s}"><v>{value}</v></c>'
        return f'<c r="{ref}" s="{s}" t="inlineStr"><is><t xml:space="preserve">{_xml(value)}</t></is></c>'

    lines = issue_sheet_lines(info, issues)
    for r, (line, role, size) in enumerate(lines, 1):
        height = line_height(line, size)
        rows.append(f'<row r="{r}" ht="{height}" customHeight="1">{cell(r, 1, line, role)}</row>')
        merges.append(f'<mergeCell ref="A{r}:{column_letters(last - 1)}{r}"/>')
    head = len(lines) + 2
    rows.append(f'<row r="{head}" ht="{row_height(ISSUE_HEADERS, WIDTHS)}" customHeight="1">'
                + "".join(cell(head, c, h, "head") for c, h in enumerate(ISSUE_HEADERS, 1)) + "</row>")
    for r, (issue, row) in enumerate(zip(issues, _issue_rows(issues)), head + 1):
        rc = issue.position
        linked = issue.sheet in targets and rc is not None
        rows.append(f'<row r="{r}" ht="{row_height(row, WIDTHS)}" customHeight="1">'
                    + "".join(cell(r, c, v, "link" if c == 3 and linked else "body") for c, v in enumerate(row, 1))
                    + "</row>")
        if linked:
            target = "'" + issue.sheet.replace("'", "''") + f"'!{column_letters(rc[1] - 1)}{rc[0]}"
            links.append(f'<hyperlink ref="C{r}" location={quoteattr(_text(target))} display={quoteattr(_text(issue.cell))}/>')
    page = plan(list(WIDTHS))
    end = head + len(issues)
    fit = page.fit_width or page.one_page
    setup = (f'<pageSetup paperSize="9" orientation="{"landscape" if page.landscape else "portrait"}"'
             + (f' fitToWidth="1" fitToHeight="{1 if page.one_page else 0}"/>' if fit else f' scale="{page.scale}"/>'))
    breaks = (f'<colBreaks count="{len(page.breaks)}" manualBreakCount="{len(page.breaks)}">'
              + "".join(f'<brk id="{b}" max="1048575" man="1"/>' for b in page.breaks) + "</colBreaks>"
              if page.breaks and not fit else "")
    foot = footer(info).code()
    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        + ('<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if fit else "")
        + f'<dimension ref="A1:{column_letters(last - 1)}{max(end, head)}"/>'
        + f'<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="{head}" topLeftCell="A{head + 1}" '
          f'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A{head + 1}" '
          f'sqref="A{head + 1}"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>'
        + "".join(f'<col min="{c}" max="{c}" width="{w}" customWidth="1"/>' for c, w in enumerate(WIDTHS, 1))
        + "</cols><sheetData>" + "".join(rows) + "</sheetData>"
        + f'<autoFilter ref="A{head}:{column_letters(len(ISSUE_HEADERS) - 1)}{max(end, head)}"/>'
        + f'<mergeCells count="{len(merges)}">' + "".join(merges) + "</mergeCells>"
        + ("<hyperlinks>" + "".join(links) + "</hyperlinks>" if links else "")
        + "<pageMargins " + " ".join(f'{k}="{v}"' for k, v in MARGIN_IN.items()) + "/>"
        + setup + f"<headerFooter><oddHeader>{escape(HEADER)}</oddHeader><oddFooter>{_xml(foot)}</oddFooter></headerFooter>"
        + breaks + "</worksheet>")
    return head, xml.encode()
