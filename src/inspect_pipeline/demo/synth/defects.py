"""Invalid files: one or two deliberate defects (`DEFECTS`: row, header-block, table and sheet defects), each
marking the cell of submission.md §"Which cell an issue points at". `pick_defects` chooses a second defect that
cannot change how the first is read; `invalid_doc` applies them to a school's document, one small function per
defect.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from .documents import base_doc, canonical_columns, sheet_title, typo_name
from .hazards import Hazard, SchoolContext
from .rendering import RowStyle
from .sheets import SheetCells, SheetDoc, TableColumn, TableRow, lay_out
from .vocabulary import NICE_NAMES, OPEN, RECTIFIED, columns_by_id, fold_key
from .week_dates import WeekDates

ROW_DEFECTS = ("bad-enum", "bad-date", "required", "date-order", "future-date", "major-needs-control",
               "duplicate-hazard", "bad-number")
BLOCK_DEFECTS = ("unknown-school", "missing-unit", "wrong-week", "school-code-mismatch")
TABLE_DEFECTS = ("missing-column", "duplicate-column")
SHEET_DEFECTS = ("no-header-row", "ambiguous-sheet")
DEFECTS = ROW_DEFECTS + BLOCK_DEFECTS + TABLE_DEFECTS + SHEET_DEFECTS
_IDENTITY_BLOCK = {"unknown-school", "missing-unit", "school-code-mismatch"}


def pick_defects(rng: random.Random, first: str, fmt: str) -> list[str]:
    if first in SHEET_DEFECTS or rng.random() > 0.3:
        return [first]
    if first in TABLE_DEFECTS:
        pool = [d for d in BLOCK_DEFECTS]
    elif first in BLOCK_DEFECTS:
        pool = [d for d in ROW_DEFECTS + BLOCK_DEFECTS if d != first
                and not (first in _IDENTITY_BLOCK and d in _IDENTITY_BLOCK)]
    else:
        pool = [d for d in ROW_DEFECTS + BLOCK_DEFECTS if d != first]
    return [first, rng.choice(pool)]


@dataclass
class RosterFacts:
    roster: list[dict]
    names: frozenset[str]
    codes: frozenset[str]


def invalid_doc(sc: SchoolContext, wk: WeekDates, rng: random.Random, hazards: list[Hazard], fmt: str,
                defects: list[str], ictx: RosterFacts) -> tuple[SheetDoc, list[SheetCells]]:
    """A school's file with `defects` applied, in order, to its document (or as further sheets in `others`)."""
    st = RowStyle(fmt=fmt)
    if fmt == "csv":
        st.date_styles = ("iso",)
    cols = canonical_columns()
    if rng.random() < 0.3:  # some light mess: a few aliases, columns reordered
        for col in cols[1:]:
            if rng.random() < 0.3 and columns_by_id()[col.id].aliases:
                col.header = rng.choice(columns_by_id()[col.id].aliases)
        rest = cols[1:]
        if rng.random() < 0.5:
            rng.shuffle(rest)
        cols = cols[:1] + rest
    doc = base_doc(sc, wk, rng, hazards, st, cols)
    doc.merges_ok = fmt != "csv"
    others: list[SheetCells] = []
    used_rows: set[int] = set()
    target = _Target(doc, others, sc, wk, rng, hazards, used_rows, ictx, fmt)
    for d in defects:
        if d not in _APPLY:  # pragma: no cover
            raise ValueError(d)
        _APPLY[d](target)
    return doc, others


def _free_row(rng: random.Random, doc: SheetDoc, used: set[int], pred=lambda row: True) -> int | None:
    cands = [i for i, row in enumerate(doc.rows) if i not in used and not row.marks and pred(row)]
    if not cands:
        return None
    i = rng.choice(cands)
    used.add(i)
    return i


def _date_value(d: dt.date, fmt: str) -> object:
    return d.isoformat() if fmt == "csv" else d


@dataclass
class _Target:
    """What a defect is applied to: one school's document, its further sheets, and the rows already used."""

    doc: SheetDoc
    others: list[SheetCells]
    sc: SchoolContext
    wk: WeekDates
    rng: random.Random
    hazards: list[Hazard]
    used: set[int]  # rows that carry a defect already
    ictx: RosterFacts
    fmt: str


# Row defects: each takes a free row (no defect yet) and marks the cell the spec names.


def _bad_enum(t: _Target) -> None:
    rng, rows = t.rng, t.doc.rows
    i = _free_row(rng, t.doc, t.used)
    row, h = rows[i], t.hazards[i]
    which = rng.choice(["level", "level", "status", "category"])
    if which == "level":
        row.values["level"] = rng.choice(["较大", "较大", "较大隐患", "II级", "高"])
    elif which == "status":
        row.values["status"] = rng.choice(["待定", "跟进"])
    else:
        row.values["category"] = rng.choice(["消防、用电", "治安", "校舍/消防"])
    if which in ("level", "status"):
        # every conditional field filled, so no reading of the unknown value adds another issue
        _fill_all(row, h, t.fmt)
    row.marks.append((which, "bad-enum"))


def _bad_date(t: _Target) -> None:
    rng, rows = t.rng, t.doc.rows
    if rng.random() < 0.6:
        i = _free_row(rng, t.doc, t.used)
        rows[i].values["found_date"] = rng.choice(["本周内", "近期", "上周"])
        rows[i].marks.append(("found_date", "bad-date"))
    else:
        i = _free_row(rng, t.doc, t.used)
        row, h = rows[i], t.hazards[i]
        row.values.update(status="未整改", mode="限期整改", done_date=None, verifier=None,
                          deadline=rng.choice(["长期", "尽快", "本学期"]))
        if h.level == "重大" and not row.values.get("interim_control"):
            row.values["interim_control"] = "设置警戒线"
        if not row.values.get("measures"):
            row.values["measures"] = "安排维修"
        row.marks.append(("deadline", "bad-date"))


def _required(t: _Target) -> None:
    rng, rows = t.rng, t.doc.rows
    i = _free_row(rng, t.doc, t.used)
    row, h = rows[i], t.hazards[i]
    which = rng.choice(["owner", "owner", "location", "description", "done_date", "measures"])
    if which == "done_date":
        row.values.update(status="已整改", done_date=None)
    elif which == "measures":
        row.values.update(status=rng.choice(OPEN), done_date=None, verifier=None)
        if h.deadline is None:
            row.values["deadline"] = _date_value(h.found_date + dt.timedelta(days=7), t.fmt)
        if h.level == "重大" and not row.values.get("interim_control"):
            row.values["interim_control"] = "设置警戒线"
    row.values[which] = rng.choice([None, None, "无", "/"])
    row.marks.append((which, "required"))


def _date_order(t: _Target) -> None:
    rng, rows, fmt = t.rng, t.doc.rows, t.fmt
    i = _free_row(rng, t.doc, t.used, lambda row: isinstance(row.values.get("found_date"), (dt.date, str)))
    row, h = rows[i], t.hazards[i]
    row.values["found_date"] = _date_value(h.found_date, fmt)
    if h.status in RECTIFIED and rng.random() < 0.5:
        row.values["done_date"] = _date_value(h.found_date - dt.timedelta(days=rng.randint(1, 20)), fmt)
        row.marks.append(("done_date", "date-order"))
    else:
        row.values.update(status="整改中", mode="限期整改", done_date=None, verifier=None,
                          deadline=_date_value(h.found_date - dt.timedelta(days=rng.randint(1, 20)), fmt))
        if not row.values.get("measures"):
            row.values["measures"] = "安排维修"
        if h.level == "重大" and not row.values.get("interim_control"):
            row.values["interim_control"] = "设置警戒线"
        row.marks.append(("deadline", "date-order"))


def _future_date(t: _Target) -> None:
    rng, rows, fmt = t.rng, t.doc.rows, t.fmt
    i = _free_row(rng, t.doc, t.used)
    row, h = rows[i], t.hazards[i]
    found = t.wk.cutoff_date + dt.timedelta(days=rng.randint(1, 10))
    row.values.update(found_date=_date_value(found, fmt), status="未整改", mode="限期整改", done_date=None,
                      verifier=None, deadline=_date_value(found + dt.timedelta(days=14), fmt))
    if not row.values.get("measures"):
        row.values["measures"] = "安排维修"
    if h.level == "重大" and not row.values.get("interim_control"):
        row.values["interim_control"] = "设置警戒线"
    row.marks.append(("found_date", "future-date"))


def _major_needs_control(t: _Target) -> None:
    rng, rows = t.rng, t.doc.rows
    i = _free_row(rng, t.doc, t.used)
    row, h = rows[i], t.hazards[i]
    row.values.update(level="重大", status=rng.choice(OPEN), done_date=None, verifier=None, interim_control=None)
    if not row.values.get("measures"):
        row.values["measures"] = h.measures or "制定整改方案"
    if not row.values.get("deadline") or row.values.get("deadline") == "立即":
        row.values.update(mode="限期整改",
                          deadline=_date_value(h.found_date + dt.timedelta(days=30), t.fmt))
    row.marks.append(("interim_control", "major-needs-control"))


def _duplicate_hazard(t: _Target) -> None:
    rows, hazards, used = t.doc.rows, t.hazards, t.used
    i = _free_row(t.rng, t.doc, used)
    copy = TableRow(dict(rows[i].values), [("description", "duplicate-hazard")])
    rows.insert(i + 1, copy)
    hazards.insert(i + 1, hazards[i])
    used.clear()
    used.update(k for k, row in enumerate(rows) if row.marks or k == i)
    for k, row in enumerate(rows):
        row.values["seq"] = k + 1


def _bad_number(t: _Target) -> None:
    rows = t.doc.rows
    i = _free_row(t.rng, t.doc, t.used)
    rows[i].values["funds_wan"] = t.rng.choice(["待定", "约两千", "未定"])
    rows[i].marks.append(("funds_wan", "bad-number"))


# Header-block defects: the unit, the school code or the week.


def _unknown_school(t: _Target) -> None:
    rng, doc, sc = t.rng, t.doc, t.sc
    unit_e = doc.block[0][0]
    if rng.random() < 0.7:
        name = typo_name(sc.name) if rng.random() < 0.6 else f"{sc.name[:3]}{rng.choice(NICE_NAMES)}培训学校"
        if fold_key(name) in t.ictx.names:
            name = f"{sc.name}（筹）培训部"
        unit_e.value = name
        unit_e.mark = "unknown-school"
        doc.block[0] = [e for e in doc.block[0] if e.field != "school_code"]
        doc.title = sheet_title(name, t.wk.cn())
    else:
        code_e = next(e for e in doc.block[0] if e.field == "school_code")
        while True:
            code = f"{sc.code[:4]}{rng.randint(100000, 999999)}"
            if code not in t.ictx.codes:
                break
        code_e.value = code
        code_e.mark = "unknown-school"


def _missing_unit(t: _Target) -> None:
    doc = t.doc
    # no unit and no code: either the label left empty (alone on its row, so that no neighbouring cell
    # can be taken for its value) or the unit line deleted
    rest = [e for e in doc.block[0][1:] if e.field != "school_code"]
    if t.rng.random() < 0.5:
        doc.block[0][0].value = None
        doc.block[0:1] = [[doc.block[0][0]], rest]
    else:
        doc.block[0] = rest
    doc.title = f"学校安全隐患排查整治台账（{t.wk.cn()}）"


def _wrong_week(t: _Target) -> None:
    rng, doc = t.rng, t.doc
    other = t.wk.shifted(rng.choice([-7, -3, -2, 1]))
    e = next(e for row in doc.block for e in row if e.field == "week")
    e.value = rng.choice([other.cn(), other.label])
    e.mark = "wrong-week"
    doc.title = sheet_title(t.sc.name, other.cn())


def _school_code_mismatch(t: _Target) -> None:
    code_e = next(e for e in t.doc.block[0] if e.field == "school_code")
    other = t.rng.choice([s for s in t.ictx.roster if s["school_code"] != t.sc.code])
    code_e.value = other["school_code"]
    code_e.mark = "school-code-mismatch"


# Table and sheet defects: columns, the header row, the sheet to read.


def _missing_column(t: _Target) -> None:
    rng, doc = t.rng, t.doc
    rectified = [k for k, h in enumerate(t.hazards) if h.status in RECTIFIED]
    if rectified and rng.random() < 0.3:
        drop = "done_date"
    else:
        drop = rng.choice(["category", "category", "location", "owner"])
    doc.cols = [c for c in doc.cols if c.id != drop]
    doc.header_marks.append("missing-column")


def _duplicate_column(t: _Target) -> None:
    rng, doc = t.rng, t.doc
    cid = rng.choice(["remarks", "owner", "description"])
    pos = next(k for k, c in enumerate(doc.cols) if c.id == cid)
    header = doc.cols[pos].header
    where = rng.choice([pos + 1, len(doc.cols)])
    doc.cols.insert(where, TableColumn(cid, header, mark="duplicate-column"))


def _no_header_row(t: _Target) -> None:
    own = [("seq", "序号"), ("found_date", "时间"), ("location", "地点"), ("description", "问题"),
           ("status", "处理结果"), ("owner", "经办人"), ("remarks", "备注")]
    t.doc.cols = [TableColumn(cid, head) for cid, head in own]
    for row in t.doc.rows:
        row.marks.clear()


def _ambiguous_sheet(t: _Target) -> None:
    rng, hazards = t.rng, t.hazards
    t.doc.sheet_name = "Sheet1"
    second = base_doc(t.sc, t.wk, rng, hazards[: max(1, len(hazards) // 2)], RowStyle(fmt=t.fmt))
    second.sheet_name = rng.choice(["Sheet2", "隐患台账", "11月"])
    g, _ = lay_out(second)
    t.others.append(g)


_APPLY = {
    "bad-enum": _bad_enum, "bad-date": _bad_date, "required": _required, "date-order": _date_order,
    "future-date": _future_date, "major-needs-control": _major_needs_control,
    "duplicate-hazard": _duplicate_hazard, "bad-number": _bad_number,
    "unknown-school": _unknown_school, "missing-unit": _missing_unit, "wrong-week": _wrong_week,
    "school-code-mismatch": _school_code_mismatch,
    "missing-column": _missing_column, "duplicate-column": _duplicate_column,
    "no-header-row": _no_header_row, "ambiguous-sheet": _ambiguous_sheet,
}


def _fill_all(row: TableRow, h: Hazard, fmt: str) -> None:
    v = row.values
    if not v.get("measures"):
        v["measures"] = h.measures or "安排维修"
    if not v.get("deadline"):
        v["deadline"] = _date_value(h.found_date + dt.timedelta(days=7), fmt)
        v["mode"] = "限期整改"
    if not v.get("interim_control") or v["interim_control"] in ("无", "/"):
        v["interim_control"] = "设置警示标志，专人看护"
    if not v.get("done_date") or v["done_date"] in ("—", "/"):
        v["done_date"] = _date_value(h.found_date, fmt)
    if not v.get("verifier") or v["verifier"] == "/":
        v["verifier"] = "校长"
