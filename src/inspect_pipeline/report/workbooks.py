"""The report workbooks (outputs.md §2-4), written through the one workbook layer (write/book.py) from the week's
figures and listings.

Layouts (sheet names, column titles and order) come from `schemas/reports.toml`. Every workbook: Chinese title
row, frozen header, measured column widths, number formats (rates `0.0%`), A4 print set-up that keeps text at
8 pt or more with the header rows repeated, a footer with 填报单位 / 制表时间 / 数据截止, a one-page `说明` sheet
(with the 口径说明) and an `输入文件` sheet. Text is always written as text: nothing a school typed can become a
formula; a missing value is an empty cell.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..core.contracts import load_toml
from ..write.book import Book, Footer, Sheet
from .figures import STAGES, WeekFigures

RATE_KEYS = {"report_rate", "rectification_rate", "major_rectification_rate"}
BLOCKS = (("week", "本周"), ("cumulative", "累计"))
OUTCOME = {"accepted": "计入", "superseded": "被替换", "rejected": "退回", "duplicate": "重复"}
TITLE_PT = 28.0
# what a leader may misread (outputs.md, first paragraph): shown on every 说明 sheet
GLOSSARY = (
    ("本周", "本周截止时间前后收到并计入的报表；隐患为本周报表中首次出现的隐患（无论其排查日期）。"),
    ("累计", "自活动开始周至本周。应报单位、已报、按时、迟报、未报、检查学校数为各周之和（单位·周），"
             "故可能大于学校总数；隐患为这些周首次报送的全部隐患，每条隐患只计一次。"),
    ("按时/迟报", "以学校本周第一份合格报表的收到时间对照截止时间；之后的更正不改变按时与否。"),
    ("已整改", "状态为“已整改”或“已销号”的隐患；整改率 = 已整改 ÷ 发现隐患。"),
    ("本周完成整改", "累计隐患中本周变为“已整改/已销号”的条数（可包括以前各周发现的隐患），"
                   "因此可以大于本周发现的隐患数。"),
    ("逾期未改", "截止日期已过仍未整改的隐患；“立即整改”的隐患以发现日期为时限。"),
)


@cache
def layout() -> dict:
    return load_toml("reports.toml")


@dataclass(frozen=True)
class Meta:
    """Provenance shown on every workbook."""

    bureau: str
    week: str
    cutoff: dt.datetime
    revision: int
    generated_at: dt.datetime
    software_version: str
    files: list[dict]  # the week's received files: file, sha256, outcome, received_at, school_name
    spoken_week: str = ""  # `2023年第47周（11月18日—11月24日）`
    signature: dict = field(default_factory=dict)  # preparer, reviewer, phone, stamp (settings.signature)

    @property
    def period(self) -> str:
        return f"{self.spoken_week or self.week}（截至 {self.cutoff:%Y-%m-%d %H:%M}）"

    def footer(self) -> Footer:
        return Footer(f"填报单位：{self.bureau}", f"制表：{self.generated_at:%Y-%m-%d %H:%M}",
                      f"截止：{self.cutoff:%Y-%m-%d %H:%M}")


class ReportBook(Book):
    """A report workbook: title and period rows on each sheet, the 说明 and 输入文件 sheets."""

    def __init__(self, path: Path, kind: str, meta: Meta):
        super().__init__(path, kind, footer=meta.footer(), author=meta.bureau)
        self.meta = meta

    def titled(self, name: str, title: str, header_rows: int, **kwargs) -> Sheet:
        """A sheet with its title (row 1) and period line (row 2) over its first printed block; its header starts
        at row 3."""
        sheet = self.sheet(name, repeat_rows=(2, 1 + header_rows), freeze=(2 + header_rows, 0), **kwargs)
        sheet.banner([(title, "title"), (self.subtitle(), "subtitle")])
        sheet.height(0, TITLE_PT)
        return sheet

    def subtitle(self) -> str:
        m = self.meta
        return f"填报单位：{m.bureau}　统计周次：{m.period}　第 {m.revision} 版"

    def table(self, sheet: Sheet, top: int, columns: list[dict], rows: list[dict]) -> int:
        """A flat list table (header row + rows) at `top`; returns the next free row."""
        for c, col in enumerate(columns):
            sheet.put(top, c, col["title"], "head")
        keys = [col["key"] for col in columns]
        sheet.rows(top + 1, ([row.get(k) for k in keys] for row in rows), lambda c, value: _list_kind(keys[c], value))
        if not rows:
            sheet.merge(top + 1, 0, top + 1, len(columns) - 1, "（无）")
            return top + 2
        return top + 1 + len(rows)

    def figures_header(self, sheet: Sheet, top: int, left: int, columns: list[dict]) -> None:
        """Two header rows: a group title over grouped columns, single titles merged over both rows."""
        titles = layout()["figures"]
        c = 0
        while c < len(columns):
            group = columns[c].get("group")
            span = 1
            while group and c + span < len(columns) and columns[c + span].get("group") == group:
                span += 1
            if group:
                sheet.merge(top, left + c, top, left + c + span - 1, group, "head")
                for k in range(span):
                    sub = columns[c + k]
                    sheet.put(top + 1, left + c + k, sub.get("title") or titles[sub["key"]], "head")
            else:
                col = columns[c]
                sheet.merge(top, left + c, top + 1, left + c, col.get("title") or titles[col["key"]], "head")
            c += span

    def figures_row(self, sheet: Sheet, r: int, left: int, columns: list[dict], block: dict,
                    bold: bool = False) -> None:
        for c, col in enumerate(columns):
            key = col["key"]
            kind = "pct" if key in RATE_KEYS else "num" if key == "funds_wan" else "int"
            sheet.put(r, left + c, block[key], kind, bold=bold)

    def signature(self, sheet: Sheet, r: int, width: int) -> None:
        """填表人 / 审核人 / 联系电话 and the stamp line, as configured (a blank name is a line to sign on)."""
        s = self.meta.signature
        if not s:
            return
        line = "　　".join(f"{label}：{s.get(key) or '__________'}"
                          for key, label in (("preparer", "填表人"), ("reviewer", "审核人"), ("phone", "联系电话")))
        sheet.merge(r, 0, r, width - 1, line, "note")
        if s.get("stamp", True):
            sheet.merge(r + 1, 0, r + 1, width - 1, f"{self.meta.bureau}（盖章）　　　　年　　月　　日", "note")
        sheet.height(r, 24)
        sheet.height(r + 1, 24)

    def explain(self, purpose: str) -> None:
        """`说明` (one page: what, which week and revision, when, from which inputs, which software, 口径说明) and
        `输入文件` (every received file of the week: file, school, received time, result, SHA-256)."""
        m = self.meta
        sheet = self.sheet("说明", landscape=False, widths={0: 14, 1: 72})  # one page by its length
        accepted = sum(1 for f in m.files if f["outcome"] == "accepted")
        digest = hashlib.sha256("".join(sorted(f["sha256"] for f in m.files)).encode("ascii")).hexdigest()
        lines = [
            ("报表", purpose), ("填报单位", m.bureau), ("周次", m.spoken_week or m.week),
            ("截止时间", f"{m.cutoff:%Y-%m-%d %H:%M}"), ("版本", f"第 {m.revision} 版"),
            ("制表时间", f"{m.generated_at:%Y-%m-%d %H:%M:%S}"),
            ("输入文件", f"本周共收到 {len(m.files)} 个文件，其中计入 {accepted} 个（清单见“输入文件”表）"),
            ("输入校验值", f"SHA-256（各文件 SHA-256 排序后）：{digest}"),
            ("软件版本", f"inspect-pipeline {m.software_version}"),
        ]
        sheet.merge(0, 0, 0, 1, f"说明（{m.week}）", "title")
        sheet.height(0, TITLE_PT)
        r = 1
        for k, v in lines:
            sheet.put(r, 0, k, "label")
            sheet.put(r, 1, v)
            r += 1
        sheet.merge(r + 1, 0, r + 1, 1, "口径说明", "label")
        for k, v in GLOSSARY:
            sheet.put(r + 2, 0, k, "label")
            sheet.put(r + 2, 1, v)
            r += 1
        files = self.sheet("输入文件", repeat_rows=(0, 0), freeze=(1, 0), caps={0: 30, 1: 20})
        files.row(0, 0, ("文件", "学校", "收到时间", "结果", "SHA-256"), "head")
        for i, f in enumerate(m.files, start=1):
            files.row(i, 0, (f["file"], f.get("school_name") or "（未识别）", _when(f.get("received_at")),
                             OUTCOME.get(f["outcome"], f["outcome"]), _two_lines(f["sha256"])))
        if not m.files:
            files.merge(1, 0, 1, 4, "（本周未收到文件）")


def _two_lines(digest: str) -> str:
    """A SHA-256 in two lines of 32 hex digits: an unbreakable 64-digit word would widen the sheet past A4."""
    return f"{digest[:32]}\n{digest[32:]}"


def _when(text: object) -> str:
    return str(text)[:19].replace("T", " ") if text else ""


def _list_kind(key: str, value: object) -> str:
    if key == "funds_wan":
        return "num"
    if key in ("deadline", "found_date"):
        return "date"
    return "int" if isinstance(value, int) and not isinstance(value, bool) else "text"


def _figure_blocks(columns: list[dict], left: int) -> list[tuple[int, int]]:
    """Column spans that print together: a group (发现隐患 合计/一般/重大) is never split."""
    spans, c = [], 0
    while c < len(columns):
        group, span = columns[c].get("group"), 1
        while group and c + span < len(columns) and columns[c + span].get("group") == group:
            span += 1
        spans.append((left + c, left + c + span - 1))
        c += span
    return spans


# ---------------------------------------------------------------- 区安委办


def write_safety_committee(path: Path, meta: Meta, wf: WeekFigures, majors: list[dict], missing: list[dict],
                           trend: list[dict]) -> Path:
    """教育系统安全隐患排查整治周报表 for the district Safety Committee Office."""
    spec = layout()["safety_committee"]
    cols = spec["columns"]
    book = ReportBook(path, "safety-committee", meta)
    # 汇总: one row per block
    ws = book.titled(spec["summary_sheet"], f"{spec['title']}（{meta.week}）", 2, labels=1,
                     blocks=_figure_blocks(cols, 1))
    ws.merge(2, 0, 3, 0, "统计口径", "head")
    book.figures_header(ws, 2, 1, cols)
    for i, (key, title) in enumerate(BLOCKS):
        ws.put(4 + i, 0, title, "label")
        book.figures_row(ws, 4 + i, 1, cols, wf.totals[key])
    ws.merge(6, 0, 6, len(cols), "注：累计的报送数为各周之和（单位·周）；本周完成整改含以前各周发现的隐患。详见“说明”表。",
             "note")
    book.signature(ws, 8, len(cols) + 1)
    # 分片区: one table per block, a row per zone and a 合计 row equal to 汇总
    ws = book.titled(spec["zone_sheet"], f"{spec['title']}——分片区（{meta.week}）", 2, labels=2,
                     blocks=_figure_blocks(cols, 2))
    top, first_zone_row = 2, {}
    for key, title in BLOCKS:
        ws.merge(top, 0, top + 1, 0, f"片区（{title}）", "head")
        ws.merge(top, 1, top + 1, 1, "包片领导", "head")
        book.figures_header(ws, top, 2, cols)
        r = first_zone_row[key] = top + 2
        for zone in wf.by_zone:
            ws.put(r, 0, zone["zone"])
            ws.put(r, 1, zone["zone_leader"])
            book.figures_row(ws, r, 2, cols, zone[key])
            r += 1
        ws.put(r, 0, "合计", "label")
        ws.put(r, 1, "", "label")
        book.figures_row(ws, r, 2, cols, wf.totals[key], bold=True)
        top = r + 2
    _lists(book, spec, "重大隐患清单", majors, missing)
    _charts(book, spec, cols, wf, first_zone_row["cumulative"], trend)
    book.explain(f"{spec['title']}（报区安委办）")
    book.close()
    return path


def _lists(book: ReportBook, spec: dict, hazards_title: str, hazards: list[dict], missing: list[dict]) -> None:
    """The hazard list sheet and the 未报单位 sheet, with the layouts of reports.toml."""
    for sheet, title, kind, rows in ((spec["major_sheet"], hazards_title, "hazard_list", hazards),
                                     (spec["missing_sheet"], "未报单位", "missing_list", missing)):
        columns = layout()[kind]["columns"]
        ws = book.titled(sheet, f"{title}（{book.meta.week}）", 1, caps=_caps(columns))
        book.table(ws, 2, columns, rows)


def _caps(columns: list[dict]) -> dict[int, float]:
    return {c: _LIST_CAPS[col["key"]] for c, col in enumerate(columns) if col["key"] in _LIST_CAPS}


_LIST_CAPS = {"school_name": 10, "description": 14, "measures": 10, "interim_control": 10, "location": 8,
              "code": 10, "owner": 7, "section": 8}


def _charts(book: ReportBook, spec: dict, cols: list[dict], wf: WeekFigures, cumulative_first: int,
            trend: list[dict]) -> None:
    """Found vs rectified by 片区 (累计) and the rectification-rate trend of the last weeks, as native charts on
    one page; the trend's figures in a small table under them (not repeated as a print title)."""
    ws = book.sheet(spec["chart_sheet"], landscape=False, widths={c: 11 for c in range(9)})  # one page by layout
    ws.merge(0, 0, 0, 8, f"隐患整改情况图（{book.meta.week}）", "title")
    ws.height(0, TITLE_PT)
    sheet = spec["zone_sheet"]
    keys = [c["key"] for c in cols]
    n = len(wf.by_zone)
    first, last = cumulative_first, cumulative_first + n - 1
    bars = book.wb.add_chart({"type": "column"})
    for key, name in (("found", "发现隐患"), ("rectified", "已整改")):
        col = 2 + keys.index(key)
        bars.add_series({
            "name": name,
            "categories": [sheet, first, 0, last, 0],
            "values": [sheet, first, col, last, col],
            "data_labels": {"value": True},
        })
    bars.set_title({"name": "各片区发现与整改隐患（累计）"})
    bars.set_legend({"position": "bottom"})
    ws.ws.insert_chart(2, 0, bars, {"x_scale": 1.05, "y_scale": 0.9})
    line = book.wb.add_chart({"type": "line"})
    top = 33  # the trend's figures, under both charts, on the same page
    ws.put(top, 0, "周次", "head")
    ws.put(top, 1, "累计整改率", "head")
    for i, point in enumerate(trend, start=top + 1):
        ws.put(i, 0, point["week"])
        ws.put(i, 1, point["rate"], "pct")
    if trend:
        line.add_series({
            "name": "累计整改率",
            "categories": [spec["chart_sheet"], top + 1, 0, top + len(trend), 0],
            "values": [spec["chart_sheet"], top + 1, 1, top + len(trend), 1],
            "marker": {"type": "circle"},
            "data_labels": {"value": True, "num_format": "0.0%"},
        })
    line.set_title({"name": f"近 {len(trend)} 周整改率趋势"})
    line.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    line.set_legend({"none": True})
    ws.ws.insert_chart(17, 0, line, {"x_scale": 1.05, "y_scale": 0.9})


# ---------------------------------------------------------------- 市教育局


def write_city_bureau(path: Path, meta: Meta, wf: WeekFigures, hazards: list[dict], missing: list[dict]) -> Path:
    """学校安全隐患排查整治情况周报表 for the city Education Bureau (layout from reports.toml)."""
    spec = layout()["city_bureau"]
    cols = spec["columns"]
    book = ReportBook(path, "city-bureau", meta)
    width = 1 + 2 * len(cols)
    ws = book.titled(spec["stage_sheet"], f"{spec['title']}（{meta.week}）", 2, labels=1,
                     blocks=[(1, len(cols)), (1 + len(cols), 2 * len(cols))])
    ws.merge(2, 0, 3, 0, "学段", "head")
    stages = {s["stage"]: s for s in wf.by_stage}
    for b, (key, title) in enumerate(BLOCKS):
        left = 1 + b * len(cols)
        book.figures_header(ws, 2, left, [{**c, "group": title} for c in cols])
        for i, stage in enumerate(STAGES):
            ws.put(4 + i, 0, stage)
            book.figures_row(ws, 4 + i, left, cols, stages[stage][key])
        ws.put(4 + len(STAGES), 0, spec["total_row"], "label")
        book.figures_row(ws, 4 + len(STAGES), left, cols, wf.totals[key], bold=True)
    book.signature(ws, 6 + len(STAGES), width)
    _lists(book, spec, "重大及逾期隐患", hazards, missing)
    book.explain(f"{spec['title']}（报市教育局）")
    book.close()
    return path


# ---------------------------------------------------------------- 包片包校情况


SUM_KEYS = ("new", "new_major", "closed", "open", "overdue", "not_closed")


def write_zone_report(path: Path, meta: Meta, schools: list[dict], zones: list[dict], dropped: list[dict],
                      kind: str = "zone-report") -> Path:
    """One sheet per 片区 (under its 包片领导), schools grouped by 包校科室/包校责任人 with subtotals, then the open
    hazards its schools did not list this week. A zone extract (`kind` zone-extract) lists only its zone's files."""
    spec = layout()["zone_report"]
    cols = spec["columns"]
    book = ReportBook(path, kind, meta)
    caps = {c: 20 for c, col in enumerate(cols) if col["key"] == "school_name"}
    for zone in zones:
        rows = [s for s in schools if s["zone"] == zone["zone"]]
        ws = book.titled(_sheet_name(zone["zone"]),
                         f"{spec['title']}——{zone['zone']}（包片领导：{zone['zone_leader']}）", 1, caps=caps)
        ws.row(2, 0, [col["title"] for col in cols], "head")
        r = 3
        owners = list(dict.fromkeys((s["section"], s["section_owner"]) for s in rows))
        for section, owner in owners:
            mine = [s for s in rows if (s["section"], s["section_owner"]) == (section, owner)]
            for s in mine:
                for c, col in enumerate(cols):
                    ws.put(r, c, s[col["key"]], "int" if col["key"] in SUM_KEYS else "text")
                r += 1
            r = _subtotal(ws, r, cols, mine, f"小计（{section} {owner}）")
        r = _subtotal(ws, r, cols, rows, f"{zone['zone']}合计") + 1
        spec_dropped = layout()["dropped_list"]
        ws.merge(r, 0, r, len(cols) - 1, spec_dropped["title"], "note")
        book.table(ws, r + 1, spec_dropped["columns"], [d for d in dropped if d["zone"] == zone["zone"]])
    book.explain(f"{spec['title']}（内部）")
    book.close()
    return path


def _subtotal(ws: Sheet, r: int, cols: list[dict], rows: list[dict], label: str) -> int:
    reported = sum(1 for s in rows if s["report_status"] in ("按时", "迟报"))
    for c, col in enumerate(cols):
        key = col["key"]
        if c == 0:
            ws.put(r, c, label, "label")
        elif key == "report_status":
            ws.put(r, c, f"已报 {reported}/{len(rows)}", "label")
        elif key in SUM_KEYS:
            ws.put(r, c, sum(s[key] for s in rows), "int", bold=True)
        else:
            ws.put(r, c, "", "label")
    return r + 1


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:31] or "片区"
