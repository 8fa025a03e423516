"""One school's file as a document: its file name, the canonical columns, the standard header block, title and
footer, the official layout of a valid file (`base_doc`), and a plausible misspelling of a school name
(`typo_name`).
"""

from __future__ import annotations

import random

from ...core.contracts import submission_columns
from .hazards import Hazard, SchoolContext
from .rendering import RowStyle, render_row
from .sheets import BlockEntry, SheetDoc, TableColumn
from .week_dates import WeekDates

_FILE_NAMES = [
    "{name}安全隐患周报.{ext}",
    "新建 Microsoft Excel 工作表.{ext}",
    "第{num}周隐患排查台账(1).{ext}",
    "{short}第{num}周安全隐患排查整治台账.{ext}",
    "{name}{m}.{d}隐患排查.{ext}",
    "安全隐患排查整治周报表（{name}）.{ext}",
    "周报.{ext}",
    "{name}-{year}年第{num}周.{ext}",
    "隐患排查台账.{ext}",
]


def file_name(rng: random.Random, sc: SchoolContext, wk: WeekDates, ext: str) -> str:
    short = (sc.school.get("aliases") or "").split("、")[0] or sc.name
    day = wk.last_day
    return rng.choice(_FILE_NAMES).format(name=sc.name, short=short, num=wk.num, year=wk.year, m=day.month,
                                          d=day.day, ext=ext)


def canonical_columns() -> list[TableColumn]:
    cols = []
    for c in submission_columns():
        header = "整改资金（万元）" if c.id == "funds_wan" else c.header
        cols.append(TableColumn(c.id, header))
    return cols


def _standard_block(sc: SchoolContext, wk: WeekDates, rng: random.Random, *, unit: str | None = None,
                    checks: int | None = None) -> list[list[BlockEntry]]:
    unit = sc.name if unit is None else unit
    checks = rng.randint(1, 5) if checks is None else checks
    return [
        [BlockEntry("unit_name", "填报单位", unit, "inline", width=6),
         BlockEntry("school_code", "学校标识码", sc.code, "pair", width=2),
         BlockEntry("week", "周次", wk.cn(), "inline", width=3)],
        [BlockEntry("reporter", "填报人", sc.staff[3], "pair"),
         BlockEntry("phone", "联系电话", sc.phone, "pair"),
         BlockEntry("checks", "本周排查次数", checks, "pair"),
         BlockEntry("check_person_times", "检查人次", checks * rng.randint(2, 6), "pair")],
    ]


def footer(sc: SchoolContext) -> tuple:
    return ("cells", {0: f"填报人：{sc.staff[3]}    审核人：{sc.staff[1]}    校长签字："}, True)


def sheet_title(unit: str, wk_text: str | None) -> str:
    return f"{unit}安全隐患排查整治台账" + (f"（{wk_text}）" if wk_text else "")


def base_doc(sc: SchoolContext, wk: WeekDates, rng: random.Random, hazards: list[Hazard], st: RowStyle,
             cols: list[TableColumn] | None = None) -> SheetDoc:
    cols = cols or canonical_columns()
    ids = {c.id for c in cols}
    rows = [render_row(h, i + 1, st, rng, wk, sc, ids) for i, h in enumerate(hazards)]
    return SheetDoc(
        sheet_name=rng.choice(["隐患排查", f"第{wk.num}周", "Sheet1", "隐患台账"]),
        title=sheet_title(sc.name, wk.cn()),
        block=_standard_block(sc, wk, rng),
        cols=cols,
        rows=rows,
        tail=[("blank",), footer(sc)],
    )


def typo_name(name: str) -> str:
    """A plausible wrong spelling of a school name that resolves to no school."""
    for old, new in (("小学", "完小"), ("幼儿园", "幼稚园"), ("中学", "中"), ("学校", "校"), ("中心", "中心校")):
        if name.endswith(old):
            return name[: -len(old)] + new
    return name + "分校"
