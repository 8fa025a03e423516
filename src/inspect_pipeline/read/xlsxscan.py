"""The streaming scans of an xlsx/xlsm's XML parts (on the parser of xmlsafe.py): where calamine finds the parts
(`xlsx_parts`), the shared strings' lengths (`scan_shared_strings`), and one worksheet part (`XlsxSheetScan`).

Attributes are matched as calamine matches them: the unprefixed name for SpreadsheetML (`r`, `t`).
"""

from __future__ import annotations

import re
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field

from .cellrefs import (
    _COLUMNS,
    DIGITS,
    MAX_COLS,
    MAX_ROWS,
    _plain_ref,
    area_name,
    cell_name,
    column_index,
    parse_range,
    parse_ref,
    within_grid,
)
from .xmlsafe import (
    _LOCAL,
    MAX_CELL_TEXT,
    Exceeded,
    Malformed,
    Tally,
    feed,
    local_name,
    new_parser,
)

# ---- xlsx: where calamine finds the parts


def zip_lookup(zf: zipfile.ZipFile) -> Callable[[str], str | None]:
    """Return a function giving the member calamine opens for a path: matched without regard to case, with
    backslashes in member names read as slashes (calamine's path cache), or None if there is none."""
    names = set(zf.namelist())
    cache = {name.replace("\\", "/").lower(): name for name in zf.namelist()}

    def lookup(path: str) -> str | None:
        member = cache.get(path.lower(), path)
        return member if member in names else None

    return lookup


def _scan_elements(zf: zipfile.ZipFile, member: str, wanted: str) -> list[dict[str, str]]:
    """Return the attributes of every element of local name `wanted` in a (small) part, in order."""
    found: list[dict[str, str]] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == wanted:
            found.append(attrs)

    parser = new_parser()
    parser.StartElementHandler = start
    feed(zf, member, parser)
    return found


@dataclass
class XlsxParts:
    """Where calamine finds an xlsx's parts: the worksheets [(sheet name, member or None)] in order, the
    sharedStrings member (or None), and the structural members read to find them (among them the workbook part,
    None if there is none, and its relationships)."""

    sheets: list[tuple[str, str | None]]
    shared_strings: str | None
    structure: set[str]
    workbook: str | None = None
    workbook_rels: str = ""


def xlsx_parts(zf: zipfile.ZipFile) -> XlsxParts:
    """Return the parts as calamine finds them: the workbook's folder from _rels/.rels, then its workbook.xml and
    _rels/workbook.xml.rels. Raise Malformed where calamine would fail to open the workbook."""
    lookup = zip_lookup(zf)
    package_rels = lookup("_rels/.rels")
    if package_rels is None:
        raise Malformed("no _rels/.rels")
    document = None
    for rel in _scan_elements(zf, package_rels, "Relationship"):
        if rel.get("Type", "").endswith("/relationships/officeDocument") and "Target" in rel:
            document = rel["Target"]
    if document is None:
        raise Malformed("no officeDocument relationship")
    folder = document[: document.rfind("/") + 1].removeprefix("/")
    workbook_rels = lookup(folder + "_rels/workbook.xml.rels")
    if workbook_rels is None:
        raise Malformed("no workbook relationships")
    targets = {rel["Id"]: rel.get("Target", "") for rel in _scan_elements(zf, workbook_rels, "Relationship")
               if "Id" in rel}
    sheets = []
    workbook = lookup(folder + "workbook.xml")
    for sheet in _scan_elements(zf, workbook, "sheet") if workbook else []:
        ids = [value for key, value in sheet.items() if key.rpartition(" ")[2] == "id"]
        target = targets.get(ids[-1] if ids else "")
        if target is None:
            raise Malformed("sheet without relationship")
        path = target[1:] if target.startswith("/") else folder + target
        sheets.append((sheet.get("name", ""), lookup(path)))
    structure = {package_rels, workbook_rels} | ({workbook} if workbook else set())
    return XlsxParts(sheets, lookup(folder + "sharedStrings.xml"), structure, workbook, workbook_rels)


# ---- xlsx: sharedStrings.xml


@dataclass
class SharedStrings:
    """The length of each shared string, and for each index the longest string any of its digit prefixes names."""

    lengths: array = field(default_factory=lambda: array("q"))
    longest_prefix: array = field(default_factory=lambda: array("q"))

    @classmethod
    def from_lengths(cls, lengths: array) -> SharedStrings:
        """Return the table for strings of these lengths (index k's digit prefixes are k // 10, k // 100, ...)."""
        longest = array("q", lengths[:10])
        for index in range(10, len(lengths)):
            longest.append(max(lengths[index], longest[index // 10]))
        return cls(lengths, longest)

    def chars(self, index_text: str) -> int:
        """Return the characters a cell of type s with this `<v>` text may expand to. calamine takes the text up
        to the first character reference or comment (expat joins them), and reads what is not a number as 0: so
        the longest string of any digit prefix of the text, and string 0 where the text is not plain digits."""
        if not self.lengths:
            return 0
        digits = index_text[: len(index_text) - len(index_text.lstrip(DIGITS))]
        chars = 0 if digits == index_text and not digits.startswith("0") else self.lengths[0]
        if digits:
            index = int(digits[:19])
            while index >= len(self.lengths):
                index //= 10
            chars = max(chars, self.longest_prefix[index])
        return chars


def scan_shared_strings(zf: zipfile.ZipFile, member: str, max_cells: int) -> SharedStrings:
    """Return the shared strings' lengths (text of `t` elements outside phonetic runs, as calamine joins them);
    raise Exceeded for a string over 32,767 characters or a uniqueCount (which calamine reserves room for)
    beyond both the strings present and max_cells."""
    lengths = array("q")
    # length: of the open string (-1 between strings); in_rph: calamine's flag, cleared by the first end of an rPh
    state = {"in_t": 0, "in_rph": False, "length": -1, "unique": 0}

    def start(name: str, attrs: dict[str, str]) -> None:
        local = local_name(name)
        if local == "t":
            state["in_t"] += 1
        elif local == "si":  # an si inside an si belongs to it: calamine ends the string at the first </si>
            state["length"] = max(state["length"], 0)
        elif local == "rPh":
            state["in_rph"] = True
        elif local == "sst" and not state["unique"]:
            count = attrs.get("uniqueCount", "").removeprefix("+")
            state["unique"] = int(count[:30]) if count.isascii() and count.isdigit() else -1

    def end(name: str) -> None:
        local = local_name(name)
        if local == "t":
            state["in_t"] -= 1
        elif local == "rPh":
            state["in_rph"] = False
        elif local == "si":
            _close()

    def text(data: str) -> None:
        if state["in_t"] and not state["in_rph"] and state["length"] >= 0:
            state["length"] += len(data)
            if state["length"] > MAX_CELL_TEXT:
                raise Exceeded("string", state["length"], MAX_CELL_TEXT, f"第 {len(lengths) + 1} 条")

    def _close() -> None:
        if state["length"] >= 0:
            lengths.append(state["length"])
            state["length"] = -1

    parser = new_parser()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    feed(zf, member, parser)
    _close()
    if state["unique"] > max(len(lengths), max_cells):
        raise Exceeded("unique", state["unique"], max(len(lengths), max_cells))
    return SharedStrings.from_lengths(lengths)


# ---- xlsx: one worksheet part

_IDLE, _COUNT, _INDEX, _ERROR = 0, 1, 2, 3
_UNCOUNTED_TYPES = frozenset({None, "n", "b", "s", "e", "inlineStr", "is"})
_CELL_ELEMENTS = frozenset({"c", "row", "v", "is"})


class XlsxSheetScan:
    """One pass over a worksheet part, placing cells as calamine does: a cell's `r`, else the column after the
    previous cell and the row from `row/@r` (or one past the previous row). Found: the area from A1 of the cells
    holding a value (a `v` or `is` child) and their number, merged ranges, error values (t="e") and hidden rows;
    the text the cells expand to goes to the file's Tally."""

    def __init__(self, tally: Tally, shared: SharedStrings):
        self.tally, self.shared = tally, shared
        self.n_rows = self.n_cols = self.value_cells = self.merged_area = 0
        self.errors: dict[tuple[int, int], str] = {}
        self.hidden_rows: set[int] = set()
        self._row = self._col = 0  # calamine's position for the next cell without `r`
        self._cell = (0, 0)
        self._type: str | None = None
        self._counted = True
        self._mode, self._chars, self._parts = _IDLE, 0, []

    def scan(self, zf: zipfile.ZipFile, member: str) -> XlsxSheetScan:
        """Scan the part; return self, or raise Exceeded, Malformed, Forbidden or expat.ExpatError."""
        parser = new_parser()
        parser.StartElementHandler, parser.EndElementHandler = self._start, self._end
        parser.CharacterDataHandler = self._text
        feed(zf, member, parser)
        if self._mode != _IDLE:
            self._close_value()
        self.hidden_rows = {row for row in self.hidden_rows if row < self.n_rows}  # below the values: nothing to say
        area = self.n_rows * self.n_cols
        if area > self.tally.max_cells:
            raise Exceeded("area", area, self.tally.max_cells, area_name(self.n_rows, self.n_cols))
        self.tally.add_sheet(area, self.merged_area)
        return self

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        local = _LOCAL.get(name) or local_name(name)
        if self._mode and local in _CELL_ELEMENTS:
            self._close_value()  # a value left open by a hostile part: count what it held
        if local == "c":
            ref = attrs.get("r")
            if ref is None:
                row, col = self._row, self._col
            elif (plain := _plain_ref(ref)) is not None and (col := _COLUMNS.get(plain[1])) is not None:
                row = int(plain[2]) - 1  # the usual form, quickly
            else:
                row, col = parse_ref(ref)
            if row >= MAX_ROWS or col >= MAX_COLS:
                raise Exceeded("beyond", 0, 0,
                               cell_name(min(row, 10**10), min(col, 10**6)) if ref is None else ref[:20])
            self._col = col + 1
            self._cell, self._type, self._counted = (row, col), attrs.get("t"), False
        elif local == "v" or local == "is":
            if not self._counted:
                self._counted = True
                self.value_cells += 1
                if self.value_cells > self.tally.max_cells:
                    raise Exceeded("cells", self.value_cells, self.tally.max_cells)
                row, col = self._cell
                if row >= self.n_rows:
                    self.n_rows = row + 1
                if col >= self.n_cols:
                    self.n_cols = col + 1
            kind = self._type
            if local == "is" or kind not in _UNCOUNTED_TYPES:
                self._mode, self._chars = _COUNT, 0
            elif kind == "s" or kind == "e":
                self._mode, self._parts = (_INDEX if kind == "s" else _ERROR), []
        elif local == "row":
            ref = attrs.get("r")
            if ref is not None:
                plain_row = ref.isdigit() and ref.isascii() and ref[0] != "0"
                self._row = int(ref) - 1 if plain_row else parse_ref(ref, need_column=False)[0]
                if self._row >= MAX_ROWS:
                    raise Exceeded("beyond", 0, 0, f"第 {ref[:20]} 行")
            hidden = attrs.get("hidden")
            if (hidden == "1" or hidden == "true") and self._row < MAX_ROWS:
                self.hidden_rows.add(self._row)
        elif local == "mergeCell" and "ref" in attrs:
            self._merge(attrs["ref"])

    def _end(self, name: str) -> None:
        if not self._mode:
            if name[-1] == "w" and (_LOCAL.get(name) or local_name(name)) == "row":
                self._row += 1
                self._col = 0
            return
        local = _LOCAL.get(name) or local_name(name)
        if local == "v" or local == "is":
            self._close_value()
        elif local == "row":
            self._row += 1
            self._col = 0

    def _text(self, data: str) -> None:
        mode = self._mode
        if mode == _COUNT:
            self._chars += len(data)
            if self._chars > MAX_CELL_TEXT:
                raise Exceeded("cell-text", self._chars, MAX_CELL_TEXT, cell_name(*self._cell))
        elif mode != _IDLE and len(self._parts) < 64:
            self._parts.append(data)

    def _close_value(self) -> None:
        """Account for the text of the `v` or `is` element that ends."""
        mode, self._mode = self._mode, _IDLE
        if mode == _COUNT:
            self.tally.add_text(self._chars)
        elif mode == _INDEX:
            self.tally.add_text(self.shared.chars("".join(self._parts)))
        elif self._parts:
            self.errors[self._cell] = "".join(self._parts)[:64]

    def _merge(self, ref: str) -> None:
        """Count one merged range: itself, and the sum of the sheet's, are capped at max_cells."""
        r0, c0, r1, c1 = parse_range(ref)
        area = (r1 - r0 + 1) * (c1 - c0 + 1)
        if not within_grid(r1, c1) or area > self.tally.max_cells:
            raise Exceeded("merge", area, self.tally.max_cells, ref[:40])
        self.merged_area += area
        if self.merged_area > self.tally.max_cells:
            raise Exceeded("merges", self.merged_area, self.tally.max_cells)


# ---- xlsx: the quick look at a plainly written part far within the limits
#
# Most files are written by office software in one plain form: every cell and row carries its plain `r` first,
# attributes in double quotes, no DOCTYPE, comment or CDATA, no prefixed SpreadsheetML element. For such a part the
# counts above have bounds that regular expressions find at C speed: no cell lies beyond the largest `r`, there are
# no more value cells than cells, a shared-string cell expands to no more than the longest `si` in bytes and any
# other value to no more than its bytes. When every bound is within the limits and the part has no error value and no hidden row,
# the full scan would find nothing to report: the part is parsed once by the hardened parser with no handlers (a
# malformed part fails as it would there) and the bounds are counted in the file's Tally. Anything else returns
# None, and the caller scans the part in full (books._xlsx_extras redoes the whole file so if a later sheet goes
# over a file limit that the bounds may have overstated).

QUICK_MAX_BYTES = 1 << 20
_PREFIXED = re.compile(rb":(?:c|row|v|is|mergeCell|sst|si|t|rPh)[\s/>]")  # an element of ours under a prefix
_HIDDEN = re.compile(rb"hidden\s*=\s*[\"'](?!false[\"']|0[\"'])")
_ANY_CELL = re.compile(rb"<c[\s/>]")
_PLAIN_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([1-9][0-9]{0,6})"(?: s="[0-9]{1,9}")?(?: t="([a-zA-Z]{1,9})")?'
    rb'(?: (?!t=)[a-zA-Z0-9:]{1,30}="[^"<>]{0,200}")*\s*/?>'
)
_ANY_ROW = re.compile(rb"<row[\s/>]")
_PLAIN_ROW = re.compile(rb'<row r="([1-9][0-9]{0,6})"[\s/>]')
_ANY_MERGE = re.compile(rb"<mergeCell[\s/>]")
_PLAIN_MERGE = re.compile(rb'<mergeCell ref="([A-Z]{1,3}[1-9][0-9]{0,6}(?::[A-Z]{1,3}[1-9][0-9]{0,6})?)"\s*/>')
_ANY_VALUE = re.compile(rb"<(?:v|is)[\s/>]")
_PLAIN_VALUE = re.compile(rb"<(v|is)>(.*?)</\1>", re.DOTALL)
_PLAIN_TYPES = frozenset({b"", b"s", b"n", b"b", b"str", b"inlineStr"})
_SI = re.compile(rb"<si>(.*?)</si>", re.DOTALL)
_UNIQUE = re.compile(rb"uniqueCount\s*=\s*\"\+?([0-9]{1,30})\"")


def _plain_part(zf: zipfile.ZipFile, member: str) -> bytes | None:
    """The part's bytes if it is small and plainly written and parses (raising as the full scan would if it does
    not); None: scan it in full."""
    if zf.getinfo(member).file_size > QUICK_MAX_BYTES:
        return None
    data = zf.read(member)
    if b"<!" in data or _PREFIXED.search(data) or (b"hidden" in data and _HIDDEN.search(data)):
        return None
    new_parser().Parse(data, True)
    return data


def quick_longest_shared(zf: zipfile.ZipFile, member: str, max_cells: int) -> int | None:
    """An upper bound on the characters of any shared string, for a plain table whose strings and declared count are
    within the limits; None: scan it in full."""
    data = _plain_part(zf, member)
    if data is None:
        return None
    strings = _SI.findall(data)
    counts = _UNIQUE.findall(data)
    if data.count(b"<si") != len(strings) or data.count(b"uniqueCount") != len(counts):
        return None
    if any(int(count) > max_cells for count in counts):
        return None
    longest = max(map(len, strings), default=0)  # UTF-8 bytes and markup: never fewer than the characters
    return longest if longest <= MAX_CELL_TEXT else None


def quick_sheet_scan(zf: zipfile.ZipFile, member: str, tally: Tally, longest_shared: int) -> XlsxSheetScan | None:
    """The scan of a plain worksheet part that has no error value or hidden row and whose bounds are within the
    limits (counted in `tally`); None, with `tally` untouched: scan it in full."""
    data = _plain_part(zf, member)
    if data is None:
        return None
    cells = _PLAIN_CELL.findall(data)
    rows = _PLAIN_ROW.findall(data)
    merges = _PLAIN_MERGE.findall(data)
    values = _PLAIN_VALUE.findall(data)
    if (len(cells) != len(_ANY_CELL.findall(data)) or len(rows) != len(_ANY_ROW.findall(data))
            or len(merges) != len(_ANY_MERGE.findall(data)) or len(values) != len(_ANY_VALUE.findall(data))):
        return None
    types = {kind for _, _, kind in cells}
    if not types <= _PLAIN_TYPES or len(cells) > tally.max_cells:
        return None
    written = [len(text) for _, text in values]  # in UTF-8 bytes, with any markup: never fewer than characters
    if max(written, default=0) > MAX_CELL_TEXT:
        return None
    n_rows = max((int(row) for _, row, _ in cells), default=0)
    n_cols = max((column_index(letters.decode()) for letters in {letters for letters, _, _ in cells}), default=-1) + 1
    if max((int(row) for row in rows), default=0) > MAX_ROWS or n_rows > MAX_ROWS or n_cols > MAX_COLS:
        return None
    merged_area = 0
    for ref in merges:
        r0, c0, r1, c1 = parse_range(ref.decode())
        if not within_grid(r1, c1):
            return None
        merged_area += (r1 - r0 + 1) * (c1 - c0 + 1)
    area = n_rows * n_cols
    text = sum(1 for _, _, kind in cells if kind == b"s") * longest_shared + sum(written)
    if (area > tally.max_cells or merged_area > tally.max_cells or tally.area + area > tally.max_cells
            or tally.merged + merged_area > tally.max_cells or tally.text + text > tally.max_text):
        return None
    tally.bounded = True
    tally.add_text(text)
    tally.add_sheet(area, merged_area)
    scan = XlsxSheetScan(tally, SharedStrings())
    scan.n_rows, scan.n_cols, scan.merged_area = n_rows, n_cols, merged_area
    return scan
