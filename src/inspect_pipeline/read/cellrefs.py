"""Cell references and Excel's grid, as calamine reads them: column letters and indexes, "B7" and "A1:C3" parsed
to 0-based positions (Malformed for what calamine would reject), and positions named back ("A1", "A1:C9").
"""

from __future__ import annotations

import re

from .xmlsafe import Malformed

MAX_ROWS, MAX_COLS = 1_048_576, 16_384  # Excel's grid: XFD1048576
DIGITS = "0123456789"


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
