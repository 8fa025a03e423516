"""An XML part of an OOXML package edited in place: its elements of interest with their byte positions (parsed by
the hardened expat parser of xmlsafe.py), and splices (insertions, replacements, rewritten start tags) made on its
bytes, so that everything else in the part stays byte for byte as it was. Used by intake/receipt_patched.py.

`Unpatchable` is raised where positions would not be those of the text we splice (a part in another encoding than
UTF-8, an element of interest behind a namespace prefix when unprefixed elements are to be inserted among them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from . import xmlsafe

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_TAG = re.compile(rb"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
_NAME = re.compile(rb"[^\s/>]+")
_ATTR = re.compile(r"""\s*([^\s=/>]+)\s*=\s*("[^"]*"|'[^']*')""")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([^"']*)["']""")


class Unpatchable(Exception):
    """The part (or the workbook) cannot be edited in place; the message says why, for the log."""


@dataclass
class Element:
    """One element of a part: its local name, attributes, where its start tag is (`start` to `open_end`), where
    its end tag is (`close` to `end`; for an empty element the start tag again), and its depth (root: 0)."""

    name: str
    attrs: dict[str, str]
    start: int
    open_end: int
    depth: int
    empty: bool
    close: int = -1
    end: int = -1


@dataclass
class Part:
    """A UTF-8 XML part and its elements of interest in document order, with the splices to make in it."""

    data: bytes
    elements: list[Element]
    edits: list[tuple[int, int, bytes]] = field(default_factory=list)

    @classmethod
    def parse(cls, data: bytes, wanted: Iterable[str] | None = None, namespace: str = MAIN, *,
              plain: bool = True) -> Part:
        """Parse `data` (hardened expat); keep the elements named in `wanted` (None: all) of `namespace` and the
        root. Raise Unpatchable where byte positions would not be those of UTF-8 text, or (`plain`) where a kept
        element carries a prefix (what we insert among them is unprefixed)."""
        declared = _DECLARED_ENCODING.match(data[:200])
        if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (declared and declared.group(1).lower() not in (b"utf-8", b"utf8")):
            raise Unpatchable("a part is not UTF-8")
        wanted = None if wanted is None else frozenset(wanted)
        elements: list[Element] = []
        stack: list[Element | None] = []
        parser = xmlsafe.new_parser()
        parser.buffer_text = False

        def start(qname: str, attrs: dict[str, str]) -> None:
            uri, _, local = qname.rpartition(" ")
            if (uri == namespace and (wanted is None or local in wanted)) or not stack:
                pos = parser.CurrentByteIndex
                if plain and not _NAME.match(data, pos + 1).group() == local.encode():
                    raise Unpatchable(f"prefixed element {local}")
                end = _tag_end(data, pos)
                element = Element(local, attrs, pos, end, len(stack), data[end - 2 : end] == b"/>")
                elements.append(element)
                stack.append(element)
            else:
                stack.append(None)

        def finish(qname: str) -> None:
            element = stack.pop()
            if element is not None:
                if element.empty:
                    element.close, element.end = element.start, element.open_end
                else:
                    element.close = parser.CurrentByteIndex
                    element.end = _tag_end(data, element.close)

        parser.StartElementHandler, parser.EndElementHandler = start, finish
        parser.Parse(data, True)
        return cls(data, elements)

    def find(self, name: str, depth: int | None = None) -> list[Element]:
        return [e for e in self.elements if e.name == name and (depth is None or e.depth == depth)]

    def root(self) -> Element:
        return self.elements[0]

    def insert(self, at: int, text: bytes | str) -> None:
        self.edits.append((at, at, text.encode() if isinstance(text, str) else text))

    def replace(self, start: int, end: int, text: bytes | str) -> None:
        self.edits.append((start, end, text.encode() if isinstance(text, str) else text))

    def set_attrs(self, element: Element, **values: str | None) -> None:
        """Rewrite the element's start tag with these attributes set (None: removed)."""
        self.replace(element.start, element.open_end, with_attrs(self.data[element.start : element.open_end], values))

    def append_child(self, element: Element, xml: str) -> None:
        """Add `xml` as the element's last child (an empty element is opened and closed)."""
        if element.empty:
            tag = self.data[element.start : element.open_end - 2].rstrip()
            self.replace(element.start, element.open_end, tag + b">" + xml.encode() + f"</{qname(self, element)}>".encode())
        else:
            self.insert(element.close, xml)

    def result(self) -> bytes:
        """The part with every splice made (splices at one position kept in the order made)."""
        out, at = [], 0
        for start, end, text in sorted(self.edits, key=lambda e: (e[0], e[1])):
            if start < at:
                raise Unpatchable("overlapping edits")
            out += [self.data[at:start], text]
            at = end
        out.append(self.data[at:])
        data = b"".join(out)
        Part.parse(data, (), plain=False)  # well-formed, still UTF-8
        return data


def _tag_end(data: bytes, start: int) -> int:
    """The position after the `>` closing the tag that begins at `start` (quoted attribute values skipped)."""
    found = _TAG.match(data, start)
    if found is None:
        raise Unpatchable("unterminated tag")
    return found.end()


def qname(part: Part, element: Element) -> str:
    """The element's name as written in the part (with its prefix, if any)."""
    return _NAME.match(part.data, element.start + 1).group().decode()


def with_attrs(tag: bytes, values: dict[str, str | None]) -> bytes:
    """A start tag with attributes set or removed (None), the others kept in order."""
    text = tag.decode()
    closing = "/>" if text.endswith("/>") else ">"
    body = text[: -len(closing)]
    name_end = next((i for i, ch in enumerate(body) if i and (ch.isspace() or ch in "/>")), len(body))
    kept, at = [], name_end
    while (m := _ATTR.match(body, at)) is not None:
        if m.group(1) not in values:
            kept.append(f" {m.group(1)}={m.group(2)}")
        at = m.end()
    if body[at:].strip():
        raise Unpatchable("unreadable start tag")
    added = [f" {k}={quoteattr(v)}" for k, v in values.items() if v is not None]
    return (body[:name_end] + "".join(kept) + "".join(added) + closing).encode()
