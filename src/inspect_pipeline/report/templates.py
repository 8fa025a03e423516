"""Templates for schools (outputs.md §5): the blank official template, and a pre-filled one per school with every
hazard not yet 已销号 and its 隐患编号, so the school only updates statuses and adds new rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.engine import Connection, Engine

from ..core.contracts import enums, statuses, submission_columns
from ..core.lock import run_lock
from ..core.parallel import pmap, worker_count
from ..core.paths import Paths, safe_name
from ..core.publish import staged_file
from ..core.settings import Settings
from ..core.weeks import chinese, cutoff
from ..record.db import hazard_state, hazards, migrate, observations, run_engine
from ..schools.identity import current_roster
from ..schools.roster import Roster, School
from ..write import kinds
from ..write.book import Footer
from ..write.measure import lines_needed, row_height
from ..write.paging import apply_xlsxwriter, plan
from .figures import refuse_before_campaign

TEMPLATE_ROWS = 200  # input rows carrying the drop-downs and date checks
GUIDE = [
    ("填报单位", "填写学校全称（与教育局名单一致），或填写 10 位学校标识码。"),
    ("周次", "本周周次，如“2023年第47周”，每周五 12:00 前报送。"),
    ("隐患编号", "系统生成的编号，请勿修改；新发现的隐患留空即可。"),
    ("排查日期", "发现隐患的日期，如 2023-11-20；不能晚于本周截止日。"),
    ("隐患类别 / 隐患等级 / 排查来源 / 整改方式 / 整改状态", "请从下拉列表中选择。隐患等级只填“一般”或“重大”，不要填风险等级。"),
    ("整改措施 / 整改时限", "未整改完成的隐患必须填写；立即整改的隐患可不填整改时限。"),
    ("临时管控措施", "未整改完成的重大隐患必须填写。"),
    ("完成日期", "状态为已整改或已销号时必须填写，不能早于排查日期。"),
    ("验收人", "状态为已销号时必须填写。"),
    ("整改资金", "单位：万元。"),
    ("本周无隐患", "本周没有发现隐患、也没有未销号的隐患时，在隐患描述中填写“本周无隐患”。"),
    ("每周报送", "请保留所有未销号的隐患并更新其整改状态；不要删除或隐藏行，不要改动表头。"),
]


def week_title(week: str) -> str:
    return chinese(week)


def write_template(path: Path, week: str, settings: Settings, school: School | None = None,
                   rows: list[dict] | None = None) -> Path:
    """The official template for `week` (blank, or pre-filled for one school), written atomically."""
    with staged_file(path) as tmp:
        _write(tmp, week, settings, school, rows or [])
    return path


def _write(path: Path, week: str, settings: Settings, school: School | None, rows: list[dict]) -> None:
    columns = submission_columns()
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                          "strings_to_numbers": False})
    book.set_properties({kinds.PROPERTY: "template-prefilled" if school else "template-blank"})
    base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
    f = {
        "title": book.add_format({"font_name": "黑体", "font_size": 15, "bold": True, "align": "center",
                                  "valign": "vcenter", "locked": True}),
        "label": book.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "locked": True}),
        "value": book.add_format({**base, "locked": False, "bg_color": "#FFFFF0"}),
        "head": book.add_format({**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#DDEBF7",
                                 "locked": True}),
        "cell": book.add_format({**base, "locked": False, "text_wrap": True}),
        "date": book.add_format({**base, "locked": False, "num_format": "yyyy-mm-dd"}),
        "id": book.add_format({**base, "locked": False, "font_color": "#7F7F7F"}),
    }
    ws = book.add_worksheet("隐患排查")
    last_col = len(columns) - 1
    ws.merge_range(0, LABEL_COLUMNS, 0, min(TITLE_SPAN + LABEL_COLUMNS, last_col),
                   f"学校安全隐患排查整治周报表（{week_title(week)}）", f["title"])
    ws.set_row(0, 26, book.add_format({"border": 0}))
    code = school.code if school and school.code else ""
    for r, (first_label, last_label), label, (first_value, last_value), value in _block(school.name if school else "",
                                                                                         code, week):
        _span(ws, r, first_label, last_label, label, f["label"])
        _span(ws, r, first_value, last_value, value, f["value"])
    header_row = 3
    for c, col in enumerate(columns):
        ws.write_string(header_row, c, col.header, f["head"])
        ws.set_column(c, c, _WIDTHS.get(col.id, 11), f["cell"])
    ws.set_row(header_row, 30)
    first, last = header_row + 1, header_row + max(TEMPLATE_ROWS, len(rows) + 50)
    for i, row in enumerate(rows):
        for c, col in enumerate(columns):
            value = row.get(col.id)
            if col.id == "seq":
                ws.write_number(first + i, c, i + 1, f["cell"])
            elif value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            elif col.type == "date":
                ws.write_datetime(first + i, c, dt.datetime.combine(value, dt.time()), f["date"])
            elif col.type == "decimal":
                ws.write_number(first + i, c, float(value), f["cell"])
            else:
                ws.write_string(first + i, c, str(value), f["id"] if col.id == "hazard_id" else f["cell"])
        lines = max(lines_needed(row.get(col.id) or "", _WIDTHS.get(col.id, 11)) for col in columns
                    if col.type not in ("date", "decimal") and col.id not in ("seq", "hazard_id"))
        if lines > 1:
            ws.set_row(first + i, row_height(lines))
    for c, col in enumerate(columns):
        if col.type == "enum":
            ws.data_validation(first, c, last, c, {
                "validate": "list", "source": list(enums()[col.enum].values),
                "error_title": "请从下拉列表中选择", "error_message": f"“{col.header}”只能填写下拉列表中的选项",
                "input_title": col.header, "input_message": "请从下拉列表中选择",
            })
        elif col.type == "date":
            ws.data_validation(first, c, last, c, {
                "validate": "date", "criteria": "between",
                "minimum": dt.date(2000, 1, 1), "maximum": dt.date(2099, 12, 31),
                "error_title": "日期格式不对", "error_message": "请填写日期，如 2023-11-24",
            })
            ws.set_column(c, c, _WIDTHS.get(col.id, 11), f["date"])
    ws.freeze_panes(header_row + 1, 2)
    widths = [_WIDTHS.get(col.id, 11) for col in columns]
    blocks = [(LABEL_COLUMNS, BLOCK_END), (BLOCK_END + 1, len(columns) - 1)]
    apply_xlsxwriter(ws, plan(widths, landscape=True, labels=LABEL_COLUMNS, blocks=blocks),
                     repeat_rows=(header_row, header_row), labels=LABEL_COLUMNS)
    ws.set_header("&L&A&R学校安全隐患排查整治周报表")
    ws.set_footer(Footer(school.name if school else "", week_title(week)).code())
    # the header block labels and the table header are locked; everything a school fills is not
    ws.protect("", {"format_cells": True, "format_columns": True, "format_rows": True, "insert_rows": True,
                    "delete_rows": True, "sort": True, "autofilter": True})
    guide = book.add_worksheet("填表说明")
    guide.set_column(0, 0, 16)
    guide.set_column(1, 1, 72)
    apply_xlsxwriter(guide, plan([16, 72], landscape=False), repeat_rows=None)
    guide.set_header("&L&A&R学校安全隐患排查整治周报表")
    guide.write_string(0, 0, "填表说明", f["title"])
    wrapped = book.add_format({**base, "text_wrap": True})
    label = book.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True})
    allowed = [(f"{col.header}可选", "、".join(enums()[col.enum].values)) for col in columns if col.type == "enum"]
    for r, (item, text) in enumerate([*GUIDE, ("", ""), *allowed], start=2):
        if item:
            guide.write_string(r, 0, item, label)
            guide.write_string(r, 1, text, wrapped)
            lines = max(lines_needed(item, 16), lines_needed(text, 72))
            guide.set_row(r, row_height(lines) if lines > 1 else None)
    book.close()


TITLE_SPAN = 6  # the title is centred over the first printed block, beside the repeated columns
LABEL_COLUMNS = 2  # 序号 and 隐患编号 repeat on every printed block
BLOCK_END = 9  # the first printed block ends after 整改措施 (the header block lies within it)


def _block(name: str, code: str, week: str) -> list[tuple]:
    """The header block: (row, label columns, label, value columns, value); labels never sit in the narrow 序号
    column alone."""
    return [
        (1, (0, 1), "填报单位", (2, 4), name), (1, (5, 5), "学校标识码", (6, 6), code),
        (1, (7, 7), "周次", (8, 9), week_title(week)),
        (2, (0, 1), "填报人", (2, 2), ""), (2, (3, 3), "联系电话", (4, 4), ""),
        (2, (5, 5), "本周排查次数", (6, 6), ""), (2, (7, 7), "检查人次", (8, 9), ""),
    ]


def _span(ws, r: int, first: int, last: int, value: str, fmt) -> None:
    if first == last:
        ws.write_string(r, first, value, fmt)
    else:
        ws.merge_range(r, first, r, last, value, fmt)


_WIDTHS = {"seq": 5, "hazard_id": 25, "location": 14, "description": 30, "measures": 22, "interim_control": 20,
           "remarks": 14, "category": 13}


def open_hazards(conn: Connection, school_id: str | None = None) -> dict[str, list[dict]]:
    """School key → its hazards not yet 已销号, as of their latest counted observation, oldest first."""
    o, s = observations.c, hazard_state.c
    query = (
        sa.select(s.school_id, hazards.c.code, hazards.c.found_date, o.source, o.location, o.category,
                  o.description, o.level, o.mode, o.measures, o.owner, o.deadline, o.funds_wan, o.interim_control,
                  o.status, o.done_date, o.verifier, o.remarks)
        .join(observations, o.id == s.observation_id)
        .join(hazards, hazards.c.id == s.hazard_id)
        .where(s.status.not_in(statuses("closed")))
        .order_by(s.school_id, hazards.c.found_date, hazards.c.code)
    )
    if school_id:
        query = query.where(s.school_id == school_id)
    out: dict[str, list[dict]] = {}
    for row in conn.execute(query).mappings():
        rec = dict(row)
        rec["hazard_id"] = rec.pop("code")
        out.setdefault(rec.pop("school_id"), []).append(rec)
    return out


def write_templates(paths: Paths, settings: Settings, week: str, school_code: str | None = None, *,
                    roster: Roster | None = None, engine: Engine | None = None) -> list[Path]:
    """templates/<week>/: the blank template and one pre-filled template per school (or for one school).
    `roster` (as read from its file) and `engine`: the run's own, when a job opened them."""
    engine = run_engine(paths.database_url, engine)
    migrate(engine)
    roster = current_roster(paths, settings, engine, register=False, loaded=roster)
    folder = paths.templates_root / week
    schools = roster.due(cutoff(week, settings).date())
    if school_code:
        schools = [s for s in schools if school_code in (s.code, s.name)]
        if not schools:
            from ..core.errors import ConfigError

            raise ConfigError(f"名单中没有学校 “{school_code}”（请填写学校标识码或全称）")
    with engine.connect() as conn:
        refuse_before_campaign(conn, settings, week)
        ledger = open_hazards(conn, schools[0].id if school_code else None)
    jobs = [] if school_code else [(folder / f"空白模板_{week}.xlsx", week, settings, None, None)]
    jobs += [(folder / safe_name(f"{school.folder}_{week}.xlsx"), week, settings, school, ledger.get(school.id, []))
             for school in schools]
    with run_lock(paths, settings, "另一个任务正在运行，请稍后再生成模板"):  # a killed run's debris is swept
        return pmap(_template_job, jobs, worker_count(settings.workers))


def _template_job(job: tuple) -> Path:
    return write_template(*job)
