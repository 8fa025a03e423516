"""One cell's value as it is written: missing values (None, NaN, NaT, pandas' NA, "") are empty cells, never text;
a date is written as a date only within 2000–2100 (outside it, as the text it was); finite numbers as numbers;
anything else as text that is safe in a cell (no control characters, within Excel's 32,767 characters)."""

from __future__ import annotations

import datetime as dt
import math
import re

_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_TEXT = 32_767


def is_blank(value: object) -> bool:
    """True for None, "", NaN, NaT and pandas' NA."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float):
        return math.isnan(value)
    if type(value).__name__ in ("NaTType", "NAType"):
        return True
    try:
        return bool(value != value)  # NaN-likes (numpy floats, Decimal NaN)
    except (TypeError, ValueError):
        return False


def text(value: object) -> str:
    """Any value as text safe for a cell."""
    return _ILLEGAL.sub("", "" if is_blank(value) else str(value))[:MAX_TEXT]


def classify(value: object) -> tuple[str, object]:
    """("blank" | "bool" | "number" | "date" | "datetime" | "text", the value to write)."""
    if type(value) is str:  # most cells of a report: the same as text(value), sooner
        return ("text", _ILLEGAL.sub("", value)[:MAX_TEXT]) if value else ("blank", None)
    if is_blank(value):
        return "blank", None
    if isinstance(value, bool):
        return "bool", value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ("number", value) if math.isfinite(value) and abs(value) < 1e15 else ("text", text(value))
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if FIRST_YEAR <= value.year <= LAST_YEAR:
            return "datetime", value.replace(tzinfo=None)
        return "text", value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return ("date", value) if FIRST_YEAR <= value.year <= LAST_YEAR else ("text", value.isoformat())
    return "text", text(value)
