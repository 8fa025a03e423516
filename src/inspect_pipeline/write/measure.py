"""Measuring text on the printed page: display width (a CJK or full-width character counts two units, as wide as
two digits), the column width a text needs, the lines a wrapped text takes, the row height those lines need, and
what a column width is in points. Widths are Excel's column-width units (one digit of the default font)."""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache

BASE_PT = 10.0  # the body text size of our workbooks
MIN_PT = 8.0  # no printed text smaller than this (outputs.md)
LINE_FACTOR = 1.45  # a line of text takes this many times its size in points, leading included (Noto Sans CJK: 1.45)
ROW_PADDING_PT = 3.0
HALF = 0.64  # width of a digit or Latin letter, in font sizes (DejaVu Sans, which LibreOffice prints 宋体's Latin
# text with, measures 0.62; Windows' 宋体 0.5)
CELL_PADDING_PT = 5.0  # room a cell keeps on its left and right


class _Wide(dict):
    """1 for a wide or full-width character (East Asian width W or F), else 0: looked up once per character."""

    def __missing__(self, ch: str) -> int:
        wide = int(unicodedata.east_asian_width(ch) in "WF")
        if len(self) < 1 << 16:  # a text of rare characters cannot grow it without bound
            self[ch] = wide
        return wide


_WIDE = _Wide()


def _wide_count(text: str) -> int:
    """How many characters of `text` are wide (a hazard description is measured once per row: kept cheap)."""
    return 0 if text.isascii() else sum(map(_WIDE.__getitem__, text))


def units(text: str) -> int:
    """Display width of one line in half-width units."""
    return len(text) + _wide_count(text)


@lru_cache(maxsize=1 << 16)  # a report measures the same zone, school and status texts thousands of times
def line_points(text: str, size: float = BASE_PT) -> float:
    """Printed width of one line: a CJK character is as wide as the font size, others a little over half."""
    return _points(text, size)


def _points(text: str, size: float) -> float:
    wide = _wide_count(text)
    return (wide + (len(text) - wide) * HALF) * size


def text_width(text: object, size: float = BASE_PT) -> float:
    """The column width (units) that shows the longest line of `text` at `size` points without wrapping."""
    return _text_width(str(text), size)


@lru_cache(maxsize=1 << 16)  # a report's list sheets measure the same few thousand texts for every row
def _text_width(text: str, size: float) -> float:
    if "\n" in text:
        longest = max(line_points(line, size) for line in text.split("\n"))
    else:  # most texts: one line, measured once (a list's descriptions are all different)
        longest = _points(text, size)
    return round((longest + CELL_PADDING_PT - 3.75) / 5.25 + 0.6, 1)


def lines_needed(text: object, width: float, size: float = BASE_PT) -> int:
    """Lines a wrapped `text` takes in a column `width` units wide."""
    return _lines_needed(str(text), width, size)


@lru_cache(maxsize=1 << 16)
def _lines_needed(text: str, width: float, size: float) -> int:
    room = max(width_points(width) - CELL_PADDING_PT, size)
    return sum(max(1, math.ceil(line_points(part, size) / room)) for part in text.split("\n"))


def row_height(lines: int, size: float = BASE_PT) -> float:
    """Row height (points) for `lines` lines of text at `size` points."""
    return round(lines * size * LINE_FACTOR + ROW_PADDING_PT, 1)


def width_points(width: float) -> float:
    """A column of `width` units in points (Excel: 7 px per unit plus 5 px padding, at 96 px per inch)."""
    return 0.75 * (7 * width + 5) if width > 0 else 0.0


def printed_points(width: float) -> float:
    """The printed width of a column of `width` units at 100 %: LibreOffice draws columns about 6 % wider than
    Excel's pixels (measured: 5.55 pt per unit plus 3.9 pt), so pages are planned with this, text room with
    `width_points`."""
    return 5.55 * width + 3.9 if width > 0 else 0.0
