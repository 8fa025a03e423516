"""The hardened XML parsing under the scans of xlsx/xlsm and ods parts (xlsxscan.py, odsscan.py), run before calamine
reads them: the parser, feeding it a zip member, the prolog check, local names, and the caps the scans count against.

Each part is fed in chunks from `zipfile.ZipFile.open` to an expat parser that refuses any DOCTYPE or entity
declaration (billion laughs, external entities) and resolves namespaces. Elements are matched by their local name in
any namespace, as calamine matches them: it ignores namespaces, so `<x:c>` (the main namespace bound to a prefix, legal
OOXML) and even `<c xmlns="urn:other">` are cells to it, and nothing calamine reads may escape the counts here.

The scans count what calamine would allocate and collect the little that calamine does not report (error values,
hidden rows, ODS merged ranges). What they collect is bounded by the caps of a `Tally` checked as they go: a count
over its cap raises `Exceeded` at once, so a hostile part stops early instead of filling memory. The caller
(books.py) turns `Exceeded` into the refusal the user reads.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from xml.parsers import expat

CHUNK = 1 << 16
PROLOG_CHUNK = 4096
MAX_CELL_TEXT = 32_767  # Excel's limit on the characters of one cell


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
    bounded: bool = False  # some counts are upper bounds (xlsxscan.quick_sheet_scan), not exact

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
