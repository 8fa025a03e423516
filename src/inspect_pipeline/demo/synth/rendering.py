"""How a school writes each value of a hazard's row: `RowStyle` (date styles, synonyms, category forms, full-width
digits, blank tokens, funds in 元, padded text, its own 隐患编号), `render_row`, `render_date`, and the spec's year
rules for dates written without their year (`ambiguous_ok`: which dates Excel may take for a number like `11.3`).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from .hazards import Hazard, SchoolContext
from .sheets import TableRow
from .vocabulary import FULLWIDTH_DIGITS, OPEN, category_codes, enum_forms
from .week_dates import WeekDates
from .writers import EXCEL_EPOCH


@dataclass
class RowStyle:
    fmt: str = "xlsx"  # xlsx | csv | ods
    date_styles: tuple[str, ...] = ("date",)
    date_mix: float = 0.0  # chance a cell uses a random other style
    fullwidth: bool = False
    enum_syn: float = 0.0
    cat_forms: tuple[str, ...] = ("canonical",)
    blank_tokens: bool = False
    status_date: float = 0.0
    immediate_text: bool = False  # 立即 in 整改时限 for 立即整改 rows
    funds_yuan: bool = False
    pad_text: bool = False
    own_ids: bool = False


TEXT_DATE_STYLES = ("iso", "slash", "dot", "cn", "compact", "md_cn")


def _yearless_ok(d: dt.date, role: str, wk: WeekDates, found: dt.date | None) -> bool:
    """Whether a date written without its year reads back as itself (submission.md §Values)."""
    if (d.month, d.day) == (2, 29):
        return False
    if role in ("found_date", "done_date"):
        c = wk.cutoff_date
        year = c.year if (d.month, d.day) <= (c.month, c.day) else c.year - 1
    else:
        if found is None:
            return False
        year = found.year if (d.month, d.day) >= (found.month, found.day) else found.year + 1
    return year == d.year


def render_date(d: dt.date, style: str, role: str, wk: WeekDates, found: dt.date | None, fullwidth: bool) -> object:
    if style == "md_cn" and not _yearless_ok(d, role, wk, found):
        style = "cn"
    if style == "date":
        return d
    if style == "serial":
        return (d - EXCEL_EPOCH).days
    if style == "number8":
        return d.year * 10000 + d.month * 100 + d.day
    text = {
        "iso": f"{d.year}-{d.month:02d}-{d.day:02d}",
        "slash": f"{d.year}/{d.month}/{d.day}",
        "dot": f"{d.year}.{d.month}.{d.day}",
        "cn": f"{d.year}年{d.month}月{d.day}日",
        "compact": f"{d.year}{d.month:02d}{d.day:02d}",
        "md_cn": f"{d.month}月{d.day}日",
    }[style]
    return text.translate(FULLWIDTH_DIGITS) if fullwidth else text


def ambiguous_ok(d: dt.date, role: str, wk: WeekDates) -> bool:
    """A date typed as `m.d` with a one-digit day (`11.3`), which Excel stores as the number 11.3.

    Only one-digit days: `11.3` is read as November 3rd with a warning under any reading of the spec, while
    whether an unambiguous `11.23` also warns is a matter of reading (see the notes in synth/__init__.py).
    """
    return role in ("found_date", "done_date") and d.day < 10 and _yearless_ok(d, role, wk, None)


def render_row(h: Hazard, seq: int, st: RowStyle, rng: random.Random, wk: WeekDates, sc: SchoolContext,
               cols: set[str]) -> TableRow:
    """The cells a school writes for one hazard, in the file's style; marks warnings the spec implies."""
    v: dict[str, object] = {}
    marks: list[tuple[str, str]] = []
    v["seq"] = str(seq).translate(FULLWIDTH_DIGITS) if st.fullwidth and rng.random() < 0.5 else seq

    def date(d: dt.date | None, role: str) -> object:
        if d is None:
            return None
        style = st.date_styles[0] if len(st.date_styles) == 1 else rng.choice(st.date_styles)
        if st.date_mix and rng.random() < st.date_mix:
            style = rng.choice(TEXT_DATE_STYLES)
        if st.fmt == "csv" and style in ("date", "serial", "number8"):
            style = "iso" if style == "date" else "compact"
        return render_date(d, style, role, wk, h.found_date, st.fullwidth and rng.random() < 0.5)

    v["found_date"] = date(h.found_date, "found_date")
    if (wk.cutoff_date - h.found_date).days > 365:
        marks.append(("found_date", "old-hazard"))
    v["source"] = _enum_text("source", h.source, st, rng)
    v["location"] = _pad(h.location, st, rng)
    v["category"] = _category_text(h.category, st, rng)
    v["description"] = _pad(h.description, st, rng)
    v["level"] = _enum_text("level", h.level, st, rng)
    v["mode"] = _enum_text("mode", h.mode, st, rng) if h.mode else None
    v["measures"] = h.measures
    v["owner"] = h.owner
    if h.deadline is not None:
        v["deadline"] = date(h.deadline, "deadline")
    elif h.mode == "立即整改" and ("mode" not in cols or st.immediate_text):
        v["deadline"] = "立即"
    if h.funds_wan is not None:
        v["funds_wan"] = int(round(h.funds_wan * 10000)) if st.funds_yuan else h.funds_wan
        if st.fmt == "csv":
            v["funds_wan"] = str(v["funds_wan"])
    elif st.blank_tokens and rng.random() < 0.3:
        v["funds_wan"] = rng.choice(["/", "无", "—"])
    v["interim_control"] = h.interim_control
    if h.interim_control is None and st.blank_tokens and rng.random() < 0.3:
        v["interim_control"] = rng.choice(["无", "/"])
    status_text = _enum_text("status", h.status, st, rng)
    v["done_date"] = date(h.done_date, "done_date")
    if (h.status == "已整改" and h.done_date is not None and st.status_date and rng.random() < st.status_date
            and _yearless_ok(h.done_date, "done_date", wk, None)):
        status_text = f"已整改（{h.done_date.month}.{h.done_date.day}）"
        v["done_date"] = None
    v["status"] = status_text
    if v["done_date"] is None and h.status in OPEN and st.blank_tokens and rng.random() < 0.3:
        v["done_date"] = rng.choice(["—", "/"])
    v["verifier"] = h.verifier
    if h.verifier is None and st.blank_tokens and rng.random() < 0.3:
        v["verifier"] = "/"
    v["remarks"] = h.remarks
    if st.own_ids:
        v["hazard_id"] = f"ZC{wk.num:02d}-{seq:02d}"
    return TableRow(v, marks)


def _pad(text: str, st: RowStyle, rng: random.Random) -> str:
    if st.pad_text and rng.random() < 0.2:
        return rng.choice([" ", "\u3000", ""]) + text + rng.choice([" ", "  ", ""])
    return text


def _enum_text(enum: str, value: str | None, st: RowStyle, rng: random.Random) -> str | None:
    if value is None:
        return None
    if st.enum_syn and rng.random() < st.enum_syn:
        forms = enum_forms(enum)[value]
        if forms:
            return rng.choice(forms)
    return value


def _category_text(value: str, st: RowStyle, rng: random.Random) -> str:
    if st.enum_syn and rng.random() < st.enum_syn:
        form = rng.choice(st.cat_forms)
        code = {v: k for k, v in category_codes().items()}[value]
        if form == "synonym" and enum_forms("category")[value]:
            return rng.choice(enum_forms("category")[value])
        if form == "code":
            return code
        if form == "suffix":
            return value + "隐患"
    return value
