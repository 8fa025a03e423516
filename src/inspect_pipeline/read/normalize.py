"""Cell values as schools type them → clean values: text folding, blank tokens, enums, dates, amounts.

Dates follow the spec's own formats (submission.md §Values); nothing here guesses beyond them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from ..core.contracts import EnumSpec, row_rules

# full-width ASCII (U+FF01-U+FF5E) → half-width; ideographic space, NBSP and line breaks → space
_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}
_FOLD.update({0x3000: 0x20, 0x00A0: 0x20, 0x2002: 0x20, 0x2003: 0x20, 0x2009: 0x20, 0x200B: None, 0xFEFF: None})
_FOLD.update({0x3001: 0x3001})  # keep the ideographic comma (it separates values)
_SPACES = re.compile(r"\s+")
_TRAILING_BRACKET = re.compile(r"\s*[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]\s*$")


@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Trimmed text with full-width forms folded, all white space collapsed to single spaces and a leading
    apostrophe dropped."""
    out = _SPACES.sub(" ", text.translate(_FOLD)).strip()
    while out.startswith("'"):  # every leading apostrophe, so that folding twice changes nothing ("''")
        out = out[1:].strip()
    return out


@lru_cache(maxsize=1 << 16)
def squash(text: str) -> str:
    """Folded text without any white space (for matching headers and hazard identity)."""
    return fold(text).replace(" ", "")


def strip_bracket_tail(text: str) -> tuple[str, str]:
    """(text without a trailing bracketed part, the bracketed part's inside)."""
    m = _TRAILING_BRACKET.search(text)
    if not m:
        return text, ""
    return text[: m.start()], m.group(0).strip()[1:-1]


def as_text(value: object) -> str | None:
    """A cell as folded text; None for empty cells and blank tokens (无, /, —, …)."""
    if value is None:
        return None
    if type(value) is str:
        return _text_of(value)
    if isinstance(value, float):
        if math.isnan(value):
            return None
        text = str(int(value)) if value.is_integer() else repr(value)
    elif isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    elif isinstance(value, dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return _text_of(text)


@lru_cache(maxsize=1 << 16)
def _text_of(text: str) -> str | None:
    """`as_text` of a string."""
    text = fold(text)
    if not text or text in _blank_tokens():
        return None
    return text


@cache
def _blank_tokens() -> frozenset[str]:
    return frozenset(fold(t) for t in row_rules()["blank_tokens"])


# ---------------------------------------------------------------- enums

_TRAILING_WORD = re.compile(r"(隐患|安全|问题)$")


def match_enum(text: str, spec: EnumSpec) -> str | None:
    """The canonical value named by a cell, or None. Tries the value/synonym, then without a trailing bracketed
    part or a trailing 隐患/安全/问题, then (categories) the two-letter code."""
    t = squash(text)
    candidates = [t]
    bare, _ = strip_bracket_tail(t)
    candidates.append(bare)
    for c in (t, bare):
        candidates.append(_TRAILING_WORD.sub("", c))
    for c in candidates:
        if c in spec.synonyms:
            return spec.synonyms[c]
    code = t.upper()
    return spec.codes.get(code)


# ---------------------------------------------------------------- dates

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MD = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass(frozen=True, slots=True)
class DateRead:
    """A parsed date cell: `value` is the date, or None when the cell is not a date (`ok` False)."""

    value: dt.date | None
    ok: bool
    ambiguous_as: str | None = None  # set when Excel turned `11.3` into a number: how we read it


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def resolve_year(month: int, day: int, ref: dt.date, direction: str) -> dt.date | None:
    """The date with the latest year on/before `ref` (direction "upto") or the earliest on/after it ("from")."""
    step = -1 if direction == "upto" else 1
    for k in range(9):  # nine years reach a 29 February in either direction
        candidate = _safe_date(ref.year + step * k, month, day)
        if candidate is not None and (candidate <= ref if direction == "upto" else candidate >= ref):
            return candidate
    return None


def parse_date(value: object, ref: dt.date, direction: str = "upto") -> DateRead:
    """Read a date cell. `ref` and `direction` settle a missing year: "upto" takes the latest year that puts the
    date on or before `ref` (排查日期, 完成日期: ref = the week's cutoff date); "from" the earliest on or after it
    (整改时限: ref = 排查日期)."""
    if value is None:
        return DateRead(None, True)
    if isinstance(value, dt.datetime):
        return DateRead(value.date(), True)
    if isinstance(value, dt.date):
        return DateRead(value, True)
    if isinstance(value, bool):
        return DateRead(None, False)
    if isinstance(value, int | float):
        return _date_from_number(value, ref, direction)
    text = as_text(value)
    if text is None:
        return DateRead(None, True)
    if m := _YMD.match(text) or _COMPACT.match(text):
        d = _safe_date(int(m[1]), int(m[2]), int(m[3]))
        return DateRead(d, d is not None)
    if m := _MD.match(text):
        d = resolve_year(int(m[1]), int(m[2]), ref, direction)
        return DateRead(d, d is not None)
    return DateRead(None, False)


def _date_from_number(value: float, ref: dt.date, direction: str) -> DateRead:
    if isinstance(value, float) and math.isnan(value):
        return DateRead(None, True)
    if float(value).is_integer():
        n = int(value)
        if 19000101 <= n <= 21001231:  # 20231124 typed as a number
            d = _safe_date(n // 10000, n // 100 % 100, n % 100)
            return DateRead(d, d is not None)
        if 20000 <= n <= 80000:  # an Excel serial (1954-2119)
            return DateRead(_EXCEL_EPOCH + dt.timedelta(days=n), True)
        return DateRead(None, False)
    # Excel made a number of `11.24` or `11.3`: month.day
    month_text, _, day_text = f"{value:.6f}".rstrip("0").partition(".")
    if len(day_text) > 2 or not month_text.isdigit():
        return DateRead(None, False)
    month, day = int(month_text), int(day_text)
    d = resolve_year(month, day, ref, direction)
    if d is None:
        return DateRead(None, False)
    # one digit after the point: Excel may have dropped a trailing zero (11.30 → 11.3), so say how we read it
    if len(day_text) == 1:
        return DateRead(d, True, ambiguous_as=f"{month}月{day}日")
    return DateRead(d, True)


# ---------------------------------------------------------------- numbers

_AMOUNT = re.compile(r"^(-?\d+(?:\.\d+)?)\s*(万元|万|元)?$")
_COUNT = re.compile(r"^(\d+)\s*(次|人次|人|个|处)?$")
MAX_COUNT = 1_000_000_000


def parse_amount(value: object, header_in_yuan: bool) -> tuple[float | None, bool]:
    """(amount in 万元, ok). A header or value in 元 is converted; negative or non-numeric → not ok."""
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            return None, True
        number, unit = float(value), None
    else:
        text = as_text(value)
        if text is None:
            return None, True
        m = _AMOUNT.match(text.replace(",", ""))
        if not m:
            return None, False
        number, unit = float(m[1]), m[2]
    if number < 0:
        return None, False
    in_yuan = unit == "元" or (unit is None and header_in_yuan)
    return (round(number / 10000, 6) if in_yuan else number), True


def parse_count(value: object) -> tuple[int | None, bool]:
    """(non-negative integer, ok) from `3`, `3.0` or `3次`. More than MAX_COUNT is a slip of the keyboard, not a
    count (and would not fit the record's integer)."""
    if isinstance(value, bool):
        return None, False
    if isinstance(value, int | float):
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            return None, False
        return (int(value), True) if 0 <= value <= MAX_COUNT else (None, False)
    text = as_text(value)
    if text is None:
        return None, True
    m = _COUNT.match(text)
    digits = (m[1].lstrip("0") or "0") if m else ""
    if not m or len(digits) > len(str(MAX_COUNT)) or int(digits) > MAX_COUNT:  # int() of 4,300+ digits raises
        return None, False
    return int(digits), True
