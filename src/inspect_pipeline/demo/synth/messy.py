"""Messy files: accepted files written the way schools write them. `messy_features` draws what a file does (the
features and their probabilities below); `messy_doc` builds its document from them: its style, columns and
headers, rows (Excel's numbers, merged and hidden rows), header block, the rows after the table and further sheets,
dropping a feature it cannot apply.
"""

from __future__ import annotations

import datetime as dt
import random
import re

from ...core.contracts import submission_columns
from .documents import base_doc, footer, sheet_title, typo_name
from .hazards import Hazard, SchoolContext
from .rendering import TEXT_DATE_STYLES, RowStyle, ambiguous_ok, render_date, render_row
from .sheets import BlockEntry, SheetCells, SheetDoc, TableColumn, TableRow, lay_out, text_sheet
from .vocabulary import FOOTER_NOTES, RECTIFIED, columns_by_id, extra_headers, fold_key, norm_header
from .week_dates import WeekDates


def _needed(col_id: str, h: Hazard, has_mode: bool = True) -> bool:
    """Whether a conditionally required column is needed by this hazard (schemas/submission.toml `when`)."""
    if col_id == "measures":
        return h.status not in RECTIFIED
    if col_id == "deadline":
        return h.status not in RECTIFIED and not (has_mode and h.mode == "立即整改")
    if col_id == "interim_control":
        return h.level == "重大" and h.status not in RECTIFIED
    if col_id == "done_date":
        return h.status in RECTIFIED
    if col_id == "verifier":
        return h.status == "已销号"
    return False


_GROUP_5 = ("measures", "owner", "funds_wan", "deadline", "interim_control")
_GROUP_STATUS = ("status", "done_date", "verifier")


def messy_doc(sc: SchoolContext, wk: WeekDates, rng: random.Random, hazards: list[Hazard], fmt: str,
              features: list[str], taken: frozenset[str]) -> tuple[SheetDoc, list[SheetCells]]:
    """A valid file written the way schools really write them; `features` names what was done.

    `taken` holds the folded names and aliases of the roster (a misspelt unit name must resolve to no school).
    """
    f = set(features)
    st = _messy_style(rng, f, fmt)
    ids = _messy_column_ids(rng, f, st, hazards)
    cols, two_row = _messy_columns(rng, f, st, ids)
    rows = _messy_rows(rng, f, st, sc, wk, hazards, cols, fmt)
    block, unit, unit_mark = _messy_block(rng, f, sc, wk, fmt, taken)
    tail = _messy_tail(rng, f, st, sc, cols, hazards, len(rows))

    title_week = wk.cn() if rng.random() < 0.7 else f"第{wk.num}周"
    doc = SheetDoc(
        sheet_name=(f"第{wk.num}周" if "multi_sheet" in f else
                    rng.choice(["隐患排查", "Sheet1", "隐患台账", f"第{wk.num}周", "安全隐患排查整治台账", "本周"])),
        title=sheet_title(unit if unit_mark is None else sc.name, title_week) if rng.random() < 0.9 else None,
        block=block, cols=cols, rows=rows, tail=tail, two_row=two_row, merges_ok=fmt != "csv",
    )
    if "multi_sheet" in f and doc.title is None:
        doc.title = sheet_title(sc.name, wk.cn())
    features[:] = sorted(f)
    return doc, _messy_other_sheets(rng, f, sc, wk, hazards)


def _messy_style(rng: random.Random, f: set[str], fmt: str) -> RowStyle:
    """How the school writes its values (dates, enums, blanks, funds, padding)."""
    st = RowStyle(fmt=fmt)
    if "text_dates" in f or fmt == "csv":
        st.date_styles = tuple(rng.sample(TEXT_DATE_STYLES, rng.randint(1, 3)))
        st.date_mix = 0.1
    elif fmt == "xlsx" and rng.random() < 0.3:
        st.date_styles = ("date", rng.choice(["serial", "number8"]))
    st.fullwidth = "fullwidth" in f
    if "enum_synonyms" in f:
        st.enum_syn = 0.6
        st.cat_forms = tuple(rng.sample(["synonym", "code", "suffix", "synonym"], 2))
    st.blank_tokens = "blank_tokens" in f
    st.status_date = 0.5 if "status_date" in f else 0.0
    st.funds_yuan = "funds_yuan" in f
    st.pad_text = "padded_text" in f
    st.own_ids = "own_ids" in f
    st.immediate_text = rng.random() < 0.3
    return st


def _messy_column_ids(rng: random.Random, f: set[str], st: RowStyle, hazards: list[Hazard]) -> list[str]:
    """The submission columns the file has: optional ones dropped, the school's own 隐患编号 added."""
    ids = [c.id for c in submission_columns()]
    if "drop_optional" in f:
        droppable = ["hazard_id", "source", "mode", "remarks", "funds_wan", "seq"]
        if st.own_ids:
            droppable.remove("hazard_id")
        if "template_rows" in f or "total_row" in f:
            droppable.remove("seq")
        if st.funds_yuan or "total_row" in f:
            droppable.remove("funds_wan")
        for cid in ("deadline", "interim_control", "done_date", "verifier"):
            # a conditional column may go when no row needs it (even read without a 整改方式 column)
            if not any(_needed(cid, h, has_mode=False) for h in hazards):
                droppable.append(cid)
        for cid in rng.sample(droppable, min(len(droppable), rng.randint(1, 3))):
            ids.remove(cid)
    if "own_ids" in f and "hazard_id" not in ids:
        ids.insert(1, "hazard_id")
    return ids


def _messy_columns(rng: random.Random, f: set[str], st: RowStyle, ids: list[str]
                   ) -> tuple[list[TableColumn], bool]:
    """The table's columns in the file's order with the school's headers; whether the header takes two rows."""
    two_row = "two_row_header" in f
    headers = {cid: _messy_header(cid, f, st, rng, ids) for cid in ids}

    # order: 序号 first; the 五落实 group contiguous in a two-row header
    blocks: list[list[str]] = []
    group5 = [c for c in _GROUP_5 if c in ids]
    group_status = [c for c in _GROUP_STATUS if c in ids] if two_row and rng.random() < 0.35 else []
    if two_row and len(group5) < 2:
        two_row = False
        f.discard("two_row_header")
    if two_row and len(group_status) < 2:
        group_status = []
    groups = ([group5] if two_row else []) + ([group_status] if group_status else [])
    grouped = {cid for g in groups for cid in g}
    for cid in ids:
        if cid not in grouped:
            blocks.append([cid])
        for g in groups:
            if cid == g[0]:
                blocks.append(g)
    if "reordered" in f:
        head = [b for b in blocks if b == ["seq"]]
        rest = [b for b in blocks if b != ["seq"]]
        rng.shuffle(rest)
        blocks = head + rest
    cols: list[TableColumn] = []
    for b in blocks:
        for cid in b:
            group = None
            if two_row and cid in group5:
                group = "五落实"
            elif cid in group_status:
                group = "整改情况"
            cols.append(TableColumn(cid, headers[cid], group))
    if group_status:  # 整改情况 is the group above: the status column must not say 整改情况 too
        for col in cols:
            if col.id == "status" and norm_header(col.header) == "整改情况":
                col.header = "整改状态"
    if "extra_column" in f and not two_row:
        for name in rng.sample(extra_headers(), rng.randint(1, 2)):
            pos = rng.randint(1, len(cols))
            cols.insert(pos, TableColumn(f"x:{name}", name, mark="extra-column"))
    return cols, two_row


def _messy_rows(rng: random.Random, f: set[str], st: RowStyle, sc: SchoolContext, wk: WeekDates,
                hazards: list[Hazard], cols: list[TableColumn], fmt: str) -> list[TableRow]:
    """The rows as the school writes them, with extra columns' values, Excel's numbers, merged and hidden rows."""
    col_ids = {c.id for c in cols}
    rows = [render_row(h, i + 1, st, rng, wk, sc, col_ids) for i, h in enumerate(hazards)]
    for c in cols:
        if c.id.startswith("x:"):
            for row in rows:
                row.values[c.id] = _extra_value(c.header, rng, sc)
    # ambiguous dates: a few found/done cells Excel made numbers of (m.dd)
    if "ambiguous_date" in f and fmt == "xlsx":
        cands = [(i, cid) for i, h in enumerate(hazards) for cid in ("found_date", "done_date")
                 if cid in col_ids and getattr(h, cid) and isinstance(rows[i].values.get(cid), (dt.date, str, int))
                 and ambiguous_ok(getattr(h, cid), cid, wk)]
        if cands:
            i, cid = rng.choice(cands)
            d = getattr(hazards[i], cid)
            rows[i].values[cid] = float(f"{d.month}.{d.day}")
            rows[i].marks.append((cid, "ambiguous-date"))
        else:
            f.discard("ambiguous_date")
    if "merged_cells" in f:
        _merge_cells(rng, f, hazards, rows, col_ids)
    if "hidden_row" in f:
        free = [i for i in range(len(rows)) if not rows[i].merge_down and not (i and rows[i - 1].merge_down)]
        if free:
            rows[rng.choice(free)].hidden = True
        else:
            f.discard("hidden_row")
    return rows


def _merge_cells(rng: random.Random, f: set[str], hazards: list[Hazard], rows: list[TableRow],
                 col_ids: set[str]) -> None:
    # vertically merged cells (部位 over two hazards with the same location, or 责任人)
    pairs = [i for i in range(len(hazards) - 1)
             if hazards[i].location == hazards[i + 1].location and "location" in col_ids]
    owner_pairs = [i for i in range(len(hazards) - 1)
                   if hazards[i].owner == hazards[i + 1].owner and "owner" in col_ids]
    if pairs:
        i = rng.choice(pairs)
        rows[i].merge_down = ("location",)
    elif owner_pairs:
        i = rng.choice(owner_pairs)
        rows[i].merge_down = ("owner",)
    else:
        f.discard("merged_cells")


def _messy_unit(f: set[str], sc: SchoolContext, taken: frozenset[str]) -> tuple[str, str | None]:
    """The 填报单位 the school writes (its name, 简称 or a misspelling) and the issue it implies."""
    unit = sc.name
    unit_mark = None
    if "unit_alias" in f:
        if sc.school.get("aliases"):
            unit = sc.school["aliases"].split("、")[0]
        else:
            f.discard("unit_alias")
    if "unit_name_mismatch" in f:
        if fold_key(typo_name(sc.name)) in taken:
            f.discard("unit_name_mismatch")
        else:
            unit = typo_name(sc.name)
            unit_mark = "unit-name-mismatch"
            f.discard("unit_alias")
    return unit, unit_mark


def _messy_block(rng: random.Random, f: set[str], sc: SchoolContext, wk: WeekDates, fmt: str,
                 taken: frozenset[str]) -> tuple[list[list[BlockEntry]], str, str | None]:
    """The header block's rows, the unit it names and the issue the unit implies."""
    unit, unit_mark = _messy_unit(f, sc, taken)
    colon = "：" if rng.random() < 0.7 else ":"
    pair = "block_pairs" in f
    unit_label = rng.choice(["填报单位", "填报单位", "单位名称", "学校名称"]) if "block_labels" in f else "填报单位"
    code_value: object = sc.code
    if "code_as_number" in f and fmt != "csv":
        code_value = int(sc.code)
    week_value = wk.cn()
    if "week_forms" in f:
        start = wk.cutoff_date - dt.timedelta(days=6)
        week_value = rng.choice([wk.label, f"第{wk.num}周",
                                 f"{start.year}.{start.month}.{start.day}-{wk.cutoff_date.year}."
                                 f"{wk.cutoff_date.month}.{wk.cutoff_date.day}"])
    checks = rng.randint(1, 5)
    first = [BlockEntry("unit_name", unit_label, unit, "pair" if pair else "inline", colon, 3 if pair else 5,
                        unit_mark)]
    second = []
    if "multi_sheet" not in f:
        week_label = rng.choice(["周次", "周次", "统计周期"]) if "block_labels" in f else "周次"
        if week_label == "统计周期" and not re.search(r"\d+\.\d+\.\d+-", str(week_value)):
            week_label = "周次"
        (second if rng.random() < 0.4 else first).append(
            BlockEntry("week", week_label, week_value, "pair" if pair else "inline", colon, 2))
    first.insert(1, BlockEntry("school_code", rng.choice(["学校标识码", "学校代码"]) if "block_labels" in f
                               else "学校标识码", code_value, "pair" if rng.random() < 0.7 else "inline", colon, 2))
    checks_value: object = f"{checks}次" if rng.random() < 0.3 else checks
    people = [BlockEntry("reporter", "填报人", sc.staff[3], "pair" if pair else "inline", colon),
              BlockEntry("phone", "联系电话", sc.phone, "pair" if pair else "inline", colon, 2),
              BlockEntry("checks", "本周排查次数", checks_value, "pair" if pair else "inline", colon),
              BlockEntry("check_person_times", "检查人次", checks * rng.randint(2, 6), "pair" if pair else "inline",
                         colon)]
    if rng.random() < 0.4:
        people.append(BlockEntry("report_date", "填报日期",
                                 render_date(wk.last_day, "cn", "found_date", wk, None, False),
                                 "pair" if pair else "inline", colon, 2))
    block = [first] + ([second + people] if second else [people])
    if rng.random() < 0.3:
        block = [first, second, people] if second else [first, people[:2], people[2:]]
    return [b for b in block if b], unit, unit_mark


def _messy_tail(rng: random.Random, f: set[str], st: RowStyle, sc: SchoolContext, cols: list[TableColumn],
                hazards: list[Hazard], n: int) -> list[tuple]:
    """The rows after the table: 以下空白, template rows, 合计, notes and signatures."""
    tail: list[tuple] = []
    seq_c = next((i for i, c in enumerate(cols) if c.id == "seq"), None)
    if "end_marker" in f:
        tail.append(("cells", {0: rng.choice(["以下空白", "以下无内容"])}, True))
    if "template_rows" in f and seq_c is not None:
        tail.append(("template", seq_c, n + 1, max(3, 20 - n), st.fullwidth))
    if "total_row" in f:
        cells: dict[int, object] = {0: rng.choice(["合计", "合 计", "小计"])}
        fc = next((i for i, c in enumerate(cols) if c.id == "funds_wan"), None)
        if fc is not None and fc != 0:
            total = sum(h.funds_wan or 0 for h in hazards)
            cells[fc] = int(round(total * 10000)) if st.funds_yuan else round(total, 2)
        dc = next((i for i, c in enumerate(cols) if c.id == "description"), None)
        if dc is not None and dc != 0:
            cells[dc] = f"共{n}项"
        tail.append(("cells", cells, False))
    tail.append(("blank",))
    if rng.random() < 0.3:
        tail.append(("cells", {0: rng.choice(FOOTER_NOTES)}, True))
    if rng.random() < 0.5:
        tail.append(footer(sc))
    else:
        tail.append(("cells", {0: f"填报人：{sc.staff[3]}", 4: f"审核人：{sc.staff[1]}",
                               min(9, max(5, len(cols) - 3)): "校长签字："}, False))
    return tail


def _messy_other_sheets(rng: random.Random, f: set[str], sc: SchoolContext, wk: WeekDates,
                        hazards: list[Hazard]) -> list[SheetCells]:
    """Sheets besides the table's: an instructions sheet, a hidden old sheet."""
    others: list[SheetCells] = []
    if "instructions_sheet" in f:
        others.append(text_sheet("填表说明", [
            "1. 本表每周五12时前报送教育局安法科。",
            "2. 隐患等级填写一般或重大，重大隐患须填写临时管控措施。",
            "3. 整改状态填写未整改、整改中、已整改、已销号。",
            "4. 日期格式如2023-11-24。",
        ]))
    if "hidden_sheet" in f:
        old, _ = lay_out(base_doc(sc, wk.shifted(-1), rng, hazards[: max(1, len(hazards) // 2)], RowStyle()))
        old.name, old.hidden = "旧表", True
        others.append(old)
    return others


def _messy_header(cid: str, f: set[str], st: RowStyle, rng: random.Random, ids: list[str]) -> str:
    spec = columns_by_id()[cid]
    header = spec.header
    if "alias_headers" in f and rng.random() < 0.6:
        aliases = list(spec.aliases)
        if cid == "seq" and "hazard_id" not in ids:
            aliases.append("编号")
        if cid == "funds_wan":
            aliases = ["资金", "整改资金"]
        if aliases:
            header = rng.choice(aliases)
    if cid == "funds_wan":
        header = (header.rstrip("（万元）(万元)") or "整改资金") + (
            "（元）" if st.funds_yuan else rng.choice(["（万元）", "(万元)", "（万元）"]))
    if "header_breaks" in f and rng.random() < 0.5:
        if cid == "level":
            header = header + "\n（一般/重大）"
        elif cid == "status" and header == "整改状态":
            header = "整改状态\n（未整改/整改中/已整改/已销号）"
        elif cid == "category" and rng.random() < 0.5:
            header = header + "（填写类别）"
        elif len(header) >= 4:
            k = len(header) // 2
            header = header[:k] + rng.choice(["\n", "\u3000", " ", "\n"]) + header[k:]
        else:
            header = " " + header + " "
    return header


def _extra_value(header: str, rng: random.Random, sc: SchoolContext) -> object:
    if header in ("检查人员",):
        return "、".join(rng.sample(sc.staff, 2))
    if header in ("是否上报",):
        return rng.choice(["是", "否"])
    if header in ("联系方式",):
        return sc.phone
    if header in ("督办情况",):
        return rng.choice(["", "已督办"])
    return rng.choice(["见附件", ""])


_MESSY_FEATURES = {  # feature → probability in a messy file
    "alias_headers": 0.5, "reordered": 0.4, "two_row_header": 0.25, "header_breaks": 0.4, "enum_synonyms": 0.5,
    "text_dates": 0.5, "fullwidth": 0.2, "unit_alias": 0.3, "block_pairs": 0.4, "block_labels": 0.3,
    "template_rows": 0.3, "total_row": 0.2, "end_marker": 0.2, "funds_yuan": 0.2, "merged_cells": 0.25,
    "extra_column": 0.15, "drop_optional": 0.3, "blank_tokens": 0.3, "status_date": 0.15, "padded_text": 0.2,
    "hidden_row": 0.05, "ambiguous_date": 0.06, "unit_name_mismatch": 0.04, "multi_sheet": 0.05,
    "hidden_sheet": 0.05, "instructions_sheet": 0.08, "code_as_number": 0.2, "week_forms": 0.25,
    "own_ids": 0.1, "old_hazard": 0.06,
}
_XLSX_ONLY = {"two_row_header", "merged_cells", "hidden_row", "ambiguous_date", "multi_sheet", "hidden_sheet",
              "instructions_sheet"}


def messy_features(rng: random.Random, fmt: str) -> list[str]:
    while True:
        f = [k for k, p in _MESSY_FEATURES.items() if rng.random() < p]
        if fmt != "xlsx":
            f = [k for k in f if k not in _XLSX_ONLY]
        if len([k for k in f if k != "old_hazard"]) >= 2:
            return f
