"""One received file → what the school submitted: the chosen sheet, header fields, week, and typed hazard rows.

This runs in worker processes: it needs only the file's bytes, its arrival week and the settings.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from ..core.contracts import enums, submission_columns
from ..core.issues import Issue, make_issue
from ..core.settings import Settings
from ..core.weeks import cutoff, is_valid_week, parse_label, shift, week_label
from ..read.books import read_workbook
from ..read.grid import FileRefused, Workbook
from ..read.normalize import (
    as_text,
    fold,
    match_enum,
    parse_amount,
    parse_count,
    parse_date,
    squash,
)
from .layout import Column, Located, SheetLayout, cell_address, read_layout

NOT_A_DATE = "__not_a_date__"


@dataclass(slots=True)
class ParsedFile:
    """What one file says, with every problem found so far (roster and cross-week checks come later)."""

    format: str | None = None
    sheet: str | None = None
    fields: dict[str, Located] = field(default_factory=dict)
    week: str = ""
    cutoff: dt.datetime | None = None
    columns: dict[str, Column] = field(default_factory=dict)
    header_cell: str | None = None
    records: list[dict] = field(default_factory=list)
    zero_statement: bool = False
    issues: list[Issue] = field(default_factory=list)
    readable: bool = True
    limit_hit: str | None = None  # the per-file limit that stopped its reading: "watchdog", "memory" or "crash"

    def cell_issue(self, code: str, rec: dict, column_id: str, **kw) -> Issue:
        """An issue at the cell of `column_id` in the row of `rec`, quoting the value as the school wrote it."""
        column = self.columns[column_id]
        return make_issue(
            code,
            sheet=self.sheet,
            cell=cell_address(rec["_row"] - 1, column.index),
            column=column.header,
            value=rec["_raw"].get(column_id),
            **kw,
        )

    def field_text(self, fid: str) -> str | None:
        loc = self.fields.get(fid)
        return None if loc is None else as_text(loc.value)


# ---------------------------------------------------------------- weeks named in the sheet

_WEEK_WITH_YEAR = re.compile(r"(\d{4})\s*年?\s*第\s*(\d{1,2})\s*周")
_WEEK_ISO = re.compile(r"(\d{4})\s*-?\s*W\s*(\d{1,2})", re.IGNORECASE)
_WEEK_BARE = re.compile(r"第\s*(\d{1,2})\s*周")
_DATE_RANGE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*(?:-|~|—|－|至|到)+\s*"
    r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
)


def named_week(text: str) -> tuple[str | None, int | None]:
    """(ISO week label, None) for a week with its year or a date range; (None, N) for a bare 第N周."""
    t = fold(text)
    if m := _DATE_RANGE.search(t):
        # an end without its year ends in the start's year, or the next one when it falls before the start
        # (周次：2023.12.30-1.5 ends on 2024-01-05)
        year = int(m[4]) if m[4] else int(m[1]) + ((int(m[5]), int(m[6])) < (int(m[2]), int(m[3])))
        try:
            end = dt.date(year, int(m[5]), int(m[6]))
        except ValueError:
            return None, None
        iso = end.isocalendar()
        return week_label(iso.year, iso.week), None
    for pattern in (_WEEK_WITH_YEAR, _WEEK_ISO):
        if (m := pattern.search(t)) and is_valid_week(int(m[1]), int(m[2])):
            return week_label(int(m[1]), int(m[2])), None
    if m := _WEEK_BARE.search(t):
        return None, int(m[1])
    return None, None


def _order(label: str) -> tuple[int, int]:
    return parse_label(label)


def decide_week(
    layout: SheetLayout | None, sheet_name: str | None, arrival: str, *, field_only: bool = False
) -> tuple[str, Issue | None]:
    """The submission's week (周次 field, else title, else sheet name, else arrival) and a wrong-week error.
    `field_only`: consider the 周次 field alone (how sheets are chosen)."""
    previous = shift(arrival, -1)
    sources: list[tuple[object, str | None]] = []
    if layout is not None:
        if (loc := layout.fields.get("week")) is not None:
            sources.append((loc.value, loc.cell))
        if not field_only:
            sources += [(loc.value, loc.cell) for kind, loc in layout.week_mentions if kind == "title"]
    if sheet_name and not field_only:
        sources.append((sheet_name, None))
    for value, cell in sources:
        if not isinstance(value, str):
            continue
        label, bare = named_week(value)
        if label is None and bare is not None:
            # a bare 第N周 counts only for the arrival week or the one before (else: a teaching week)
            label = next((w for w in (arrival, previous) if parse_label(w)[1] == bare), None)
        if label is None:
            continue
        if _order(label) > _order(arrival) or _order(label) < _order(previous):
            issue = make_issue(
                "wrong-week", sheet=sheet_name, cell=cell, value=value, detail=f"本周为 {arrival}"
            )
            return arrival, issue
        return label, None
    return arrival, None


# ---------------------------------------------------------------- sheet choice


def choose_sheet(layouts: list[SheetLayout], arrival: str) -> tuple[SheetLayout | None, Issue | None]:
    """The first visible sheet holding the hazard header row; several → the one whose name names the arrival week
    (or says 本周), else the one naming the week before (a late file); none or several that way → ambiguous-sheet
    (submission.md §Which sheet)."""
    with_table = [lay for lay in layouts if lay.has_table]
    if len(with_table) == 1:
        return with_table[0], None
    if not with_table:
        return None, None
    for wanted in (arrival, shift(arrival, -1)):
        naming = [lay for lay in with_table if _names_week(lay.name, wanted) or (wanted == arrival and "本周" in lay.name)]
        if len(naming) == 1:
            return naming[0], None
        if naming:
            break
    names = "、".join(f"“{lay.name}”" for lay in with_table)
    return None, make_issue("ambiguous-sheet", detail=names)


def _names_week(name: str, week: str) -> bool:
    """Whether a sheet's name names `week` (`第47周`, `47周`, `2023-W47`, a date range ending in it)."""
    label, bare = named_week(name)
    return label == week or (bare is not None and bare == parse_label(week)[1])


# ---------------------------------------------------------------- typed rows

_IMMEDIATE = {"立即", "立即整改", "即查即改", "立行立改", "当即整改", "现场整改"}
_STATUS_WITH_DATE = re.compile(r"^(.+?)\s*[(\[]?\s*((?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)\s*[)\]]?$")


def _enum_or_raw(value: object, enum: str) -> object:
    text = as_text(value)
    if text is None:
        return None
    return match_enum(text, enums()[enum]) or text


def _date_or_raw(value: object, ref: dt.date, direction: str, ctx: dict) -> object:
    read = parse_date(value, ref, direction)
    if not read.ok:
        return as_text(value) if as_text(value) is not None else value
    if read.ambiguous_as:
        ctx.setdefault("ambiguous", []).append(read.ambiguous_as)
    return read.value


def type_row(values: dict, columns: dict[str, Column], cutoff_date: dt.date) -> tuple[dict, dict]:
    """Typed values of one hazard row (unreadable values kept as written, for validation to flag) and notes:
    which cells were read with an ambiguity, and fields taken from another cell."""
    rec: dict = {}
    notes: dict = {"ambiguous": {}, "source": {}}
    for col in submission_columns():
        raw = values.get(col.id)
        if col.type == "text":
            rec[col.id] = as_text(raw)
        elif col.type == "enum":
            rec[col.id] = _enum_or_raw(raw, col.enum)
        elif col.type == "int":
            rec[col.id] = as_text(raw)
        elif col.type == "decimal":
            amount, ok = parse_amount(raw, columns[col.id].in_yuan if col.id in columns else False)
            rec[col.id] = amount if ok else as_text(raw)
    # 整改状态 with an embedded date: `已整改（11.24）`
    status_text = as_text(values.get("status"))
    if status_text:
        if (m := _STATUS_WITH_DATE.match(status_text)) and match_enum(m[1], enums()["status"]):
            rec["status"] = match_enum(m[1], enums()["status"])
            if as_text(values.get("done_date")) is None:
                values = {**values, "done_date": m[2]}
                notes["source"]["done_date"] = "status"
    for cid, ref, direction in (("found_date", cutoff_date, "upto"), ("done_date", cutoff_date, "upto")):
        ctx: dict = {}
        rec[cid] = _date_or_raw(values.get(cid), ref, direction, ctx)
        if ctx:
            notes["ambiguous"][cid] = ctx["ambiguous"][0]
    deadline_text = as_text(values.get("deadline"))
    if deadline_text and squash(deadline_text) in _IMMEDIATE:
        rec["deadline"] = None
        rec["mode"] = rec["mode"] or "立即整改"
    else:
        found = rec["found_date"] if isinstance(rec["found_date"], dt.date) else cutoff_date
        ctx = {}
        rec["deadline"] = _date_or_raw(values.get("deadline"), found, "from", ctx)
        if ctx:
            notes["ambiguous"]["deadline"] = ctx["ambiguous"][0]
    if rec["source"] is None:
        rec["source"] = "学校自查"
    return rec, notes


# ---------------------------------------------------------------- the whole file


def parse_file(data: bytes, file_name: str, arrival: str, settings: Settings) -> ParsedFile:
    """Read and understand one file. Never raises for anything a school could send."""
    parsed = ParsedFile(week=arrival)
    try:
        workbook = read_workbook(data, file_name, settings.limits)
    except FileRefused as refused:
        parsed.readable = False
        parsed.issues.append(make_issue(refused.code, detail=refused.detail))
        parsed.cutoff = cutoff(arrival, settings)
        return parsed
    return understand(workbook, arrival, settings)


def understand(workbook: Workbook, arrival: str, settings: Settings) -> ParsedFile:
    """The submission in a readable workbook."""
    parsed = ParsedFile(format=workbook.format, week=arrival)
    layouts = [read_layout(s) for s in workbook.sheets if s.visible]
    chosen, problem = choose_sheet(layouts, arrival)
    if problem is not None:
        parsed.issues.append(problem)
        parsed.cutoff = cutoff(arrival, settings)
        return parsed
    if chosen is None:
        # no header row anywhere: a zero report if a sheet names its school and says nothing was found
        chosen = next((lay for lay in layouts if lay.zero_statement and _names_unit(lay)), None)
        if chosen is None:
            parsed.issues.append(make_issue("no-header-row", sheet=layouts[0].name if layouts else None))
            if layouts:
                parsed.sheet, parsed.fields = layouts[0].name, layouts[0].fields
            parsed.cutoff = cutoff(arrival, settings)
            return parsed
    parsed.sheet = chosen.name
    parsed.fields = chosen.fields
    parsed.columns = chosen.columns
    parsed.header_cell = chosen.header_cell
    parsed.zero_statement = chosen.zero_statement
    parsed.issues.extend(chosen.issues)
    parsed.week, wrong = decide_week(chosen, chosen.name, arrival)
    if wrong is not None:
        parsed.issues.append(wrong)
    parsed.cutoff = cutoff(parsed.week, settings)
    cutoff_date = parsed.cutoff.date()
    if len(chosen.rows) > settings.limits.max_rows:  # before typing and validating them: bounded work per file
        detail = f"隐患行过多（{len(chosen.rows):,} 行，上限 {settings.limits.max_rows:,} 行）"
        parsed.issues.append(make_issue("unreadable-file", sheet=chosen.name, detail=detail))
        return parsed
    for excel_row, values in chosen.rows:
        rec, notes = type_row(values, chosen.columns, cutoff_date)
        rec["_row"] = excel_row
        rec["_raw"] = values
        rec["_notes"] = notes
        parsed.records.append(rec)
    for fid in ("checks", "check_person_times"):
        loc = parsed.fields.get(fid)
        if loc is not None and not parse_count(loc.value)[1]:
            parsed.issues.append(
                make_issue("bad-number", sheet=chosen.name, cell=loc.cell, column=fid_label(fid), value=loc.value)
            )
    return parsed


def fid_label(fid: str) -> str:
    from ..core.contracts import header_block_fields

    return header_block_fields()[fid]["label"]


def _names_unit(layout: SheetLayout) -> bool:
    return "unit_name" in layout.fields or "school_code" in layout.fields
