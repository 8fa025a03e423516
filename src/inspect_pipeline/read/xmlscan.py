"""Streaming, defused scans of the XML parts of xlsx/xlsm and ods files, run before calamine reads them.

Each part is fed in chunks from `zipfile.ZipFile.open` to an expat parser that refuses any DOCTYPE or entity
declaration (billion laughs, external entities) and resolves namespaces. Elements are matched by their local name in
any namespace, as calamine matches them: it ignores namespaces, so `<x:c>` (the main namespace bound to a prefix, legal
OOXML) and even `<c xmlns="urn:other">` are cells to it, and nothing calamine reads may escape the counts here.
Attributes are matched as calamine matches them: the unprefixed name for SpreadsheetML (`r`, `t`), the local name in
any namespace for ODF (calamine wants the literal `table:` prefix; any namespace is a superset of that).

The scans count what calamine would allocate and collect the little that calamine does not report (error values,
hidden rows, ODS merged ranges). What they collect is bounded by the caps of a `Tally` checked as they go: a count
over its cap raises `Exceeded` at once, so a hostile part stops early instead of filling memory. The caller
(workbook.py) turns `Exceeded` into the refusal the user reads.
"""

from __future__ import annotations

import re
import zipfile
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

CHUNK = 1 << 16
PROLOG_CHUNK = 4096
MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # Excel's grid: XFD1048576
MAX_CELL_TEXT = 32_767  # Excel's limit on the characters of one cell
DIGITS = "0123456789"


class Forbidden(ValueError):
    """A part declares a DOCTYPE or an entity: never found in a workbook part, and the way to an entity bomb."""


class Malformed(ValueError):
    """A part is not what calamine could read (a bad cell reference, a nested row): the file is damaged."""


class Exceeded(Exception):
    """A count went over its cap. `kind` names it: per sheet area, declared (xls DIMENSIONS), cells, beyond (Excel's
    grid), merge, merges, cell-text; per file text, file-area, file-merges; shared strings string, unique.
    `amount` is how much was found (at least), `limit` the cap, `where` the range, cell or string concerned."""

    def __init__(self, kind: str, amount: int, limit: int, where: str = ""):
        super().__init__(f"{kind}: {amount} > {limit} {where}".rstrip())
        self.kind, self.amount, self.limit, self.where = kind, amount, limit, where


@dataclass
class Tally:
    """The caps of one file and what its sheets have added up to so far: the text the cells expand to, and the
    sheets' areas and merged areas (all of a file's sheets are held in memory at once, so their sums are capped
    too, at max_cells)."""

    max_cells: int
    max_text: int
    text: int = 0
    area: int = 0
    merged: int = 0

    def add_text(self, chars: int) -> None:
        """Count `chars` more characters of expanded cell text; raise Exceeded past the cap."""
        self.text += chars
        if self.text > self.max_text:
            raise Exceeded("text", self.text, self.max_text)

    def add_sheet(self, area: int, merged: int) -> None:
        """Count a sheet's area and merged area; raise Exceeded when the file's sums go over max_cells."""
        self.area += area
        self.merged += merged
        if self.area > self.max_cells:
            raise Exceeded("file-area", self.area, self.max_cells)
        if self.merged > self.max_cells:
            raise Exceeded("file-merges", self.merged, self.max_cells)


# ---- the parser


def _forbid(*_args: object) -> None:
    """Refuse a DOCTYPE, entity declaration or external entity reference."""
    raise Forbidden("DOCTYPE or entity declaration in a workbook part")


def new_parser() -> expat.XMLParserType:
    """Return a namespace-resolving expat parser ("uri local" names) that raises Forbidden on any DOCTYPE or entity
    declaration, with text buffered into as few calls as possible."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    return parser


def feed(zf: zipfile.ZipFile, member: str, parser: expat.XMLParserType) -> None:
    """Parse the zip member to its end through `parser`, a chunk at a time (a small one at once); return nothing
    (the handlers collect)."""
    if zf.getinfo(member).file_size <= CHUNK:  # the size the zip directory declares: reading stops there
        parser.Parse(zf.read(member), True)
        return
    with zf.open(member) as stream:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


class _RootReached(Exception):
    """The prolog of a part is over."""


def _root_reached(*_args: object) -> None:
    raise _RootReached


def check_prolog(zf: zipfile.ZipFile, member: str) -> None:
    """Raise Forbidden if the member declares a DOCTYPE before its root element; read only up to the root element.
    A member that is not XML at all is left to whoever reads it."""
    parser = new_parser()
    parser.StartElementHandler = _root_reached
    try:
        with zf.open(member) as stream:
            while chunk := stream.read(PROLOG_CHUNK):
                parser.Parse(chunk, False)
    except (_RootReached, expat.ExpatError):
        pass


_LOCAL: dict[str, str] = {}


def local_name(name: str) -> str:
    """Return the local part of an expat "uri local" name (cached: a file uses few names)."""
    local = _LOCAL.get(name)
    if local is None:
        local = name.rpartition(" ")[2]
        if len(_LOCAL) < 10_000:
            _LOCAL[name] = local
    return local


def local_attrs(attrs: dict[str, str]) -> dict[str, str]:
    """Return attributes by local name in any namespace; of two with the same local name, the larger number wins
    (or the later value), so that repeat counts are never underestimated."""
    result: dict[str, str] = {}
    for name, value in attrs.items():
        key = name.rpartition(" ")[2]
        old = result.get(key)
        if old is None or not (old.isdigit() and value.isdigit() and _as_number(old) > _as_number(value)):
            result[key] = value
    return result


def _as_number(digits: str) -> tuple[int, str]:
    """Return a key ordering digit strings by their value, whatever their length."""
    digits = digits.lstrip("0")
    return len(digits), digits


# ---- cell references, as calamine reads them (letters in either case, then digits; no `$`)

_COLUMNS: dict[str, int] = {}


def column_index(letters: str) -> int:
    """Return the 0-based index of column letters (A → 0, aa → 26); raise Malformed if they are not letters, and
    return at least MAX_COLS for anything beyond three letters."""
    index = _COLUMNS.get(letters)
    if index is not None:
        return index
    if not (letters.isascii() and letters.isalpha()):
        raise Malformed(f"bad column {letters[:20]!r}")
    if len(letters) > 3:
        return MAX_COLS + len(letters)  # AAAA = 18,279 > XFD
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    if len(_COLUMNS) < 20_000:
        _COLUMNS[letters] = index - 1
    return index - 1


_PLAIN_REF = re.compile(r"([A-Z]{1,3})([1-9][0-9]{0,6})")
_plain_ref = _PLAIN_REF.fullmatch


def parse_ref(ref: str, need_column: bool = True) -> tuple[int, int]:
    """Return the 0-based (row, column) of a reference like "B7" (column -1 if absent and not needed); raise
    Malformed for anything calamine would reject. Rows beyond 10 digits come back as a large number."""
    plain = _PLAIN_REF.fullmatch(ref)  # the usual form, quickly
    if plain is not None:
        letters = plain[1]
        column = _COLUMNS.get(letters)
        return int(plain[2]) - 1, column_index(letters) if column is None else column
    if not need_column and ref.isascii() and ref.isdigit() and ref[0] != "0":
        return int(ref) - 1, -1
    letters = ref.rstrip(DIGITS)
    digits = ref[len(letters) :]
    if not digits or (not letters and need_column):
        raise Malformed(f"bad reference {ref[:20]!r}")
    column = column_index(letters) if letters else -1
    digits = digits.lstrip("0")
    row = int(digits or "0") - 1 if len(digits) <= 10 else 10**10
    if row < 0:
        raise Malformed(f"bad reference {ref[:20]!r}")
    return row, column


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """Return the 0-based (first row, first column, last row, last column) of "A1:C3" or "B2", in order."""
    parts = ref.split(":")
    if len(parts) > 2:
        raise Malformed(f"bad range {ref[:40]!r}")
    (r0, c0), (r1, c1) = parse_ref(parts[0]), parse_ref(parts[-1])
    return min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1)


def within_grid(row: int, column: int) -> bool:
    """Return whether a 0-based position lies within Excel's grid A1:XFD1048576."""
    return row < MAX_ROWS and column < MAX_COLS


def column_letters(index: int) -> str:
    """Return the letters of a 0-based column index (0 → A, 16383 → XFD)."""
    letters = ""
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_name(row: int, column: int) -> str:
    """Return the Excel name of a 0-based position ("A1")."""
    return f"{column_letters(column)}{row + 1}"


def area_name(n_rows: int, n_cols: int) -> str:
    """Return the range from A1 spanning n_rows x n_cols ("A1:C9")."""
    return f"A1:{cell_name(n_rows - 1, n_cols - 1)}"


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
    sharedStrings member (or None), and the structural members read to find them."""

    sheets: list[tuple[str, str | None]]
    shared_strings: str | None
    structure: set[str]


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
    return XlsxParts(sheets, lookup(folder + "sharedStrings.xml"), structure)


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
                raise Exceeded("beyond", 0, 0, cell_name(min(row, 10**10), min(col, 10**6)) if ref is None else ref[:20])
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
