"""The report workbooks (outputs.md §2-4), written with xlsxwriter from the week's figures and listings.

Layouts (sheet names, column titles and order) come from `schemas/reports.toml`. Every workbook: Chinese title
row, frozen header, column widths, number formats (rates `0.0%`), landscape print fitted to the page width with the
header rows repeated, a footer with 填报单位 / 制表时间 / 数据截止, and a `说明` sheet. Text is always written as
text: nothing a school typed can become a formula.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import xlsxwriter

from ..core.contracts import load_toml
from .figures import STAGES, WeekFigures
from .listings import fmt_day

RATE_KEYS = {"report_rate", "rectification_rate", "major_rectification_rate"}
BLOCKS = (("week", "本周"), ("cumulative", "累计"))


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
    files: list[dict]  # the week's received files: file, sha256, outcome

    @property
    def period(self) -> str:
        return f"{self.week}（截至 {self.cutoff:%Y-%m-%d %H:%M}）"


class Book:
    """An xlsxwriter workbook with the formats and page set-up every report uses."""

    def __init__(self, path: Path, meta: Meta):
        self.meta = meta
        self.wb = xlsxwriter.Workbook(
            str(path),
            {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
             "default_date_format": "yyyy-mm-dd"},
        )
        self.wb.set_properties({"title": "", "author": meta.bureau, "comments": f"inspect-pipeline {meta.software_version}"})
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
        self.f = {
            "title": self.wb.add_format({"font_name": "黑体", "font_size": 16, "bold": True, "align": "center",
                                         "valign": "vcenter"}),
            "sub": self.wb.add_format({"font_name": "宋体", "font_size": 10}),
            "head": self.wb.add_format({**base, "bold": True, "align": "center", "text_wrap": True,
                                        "bg_color": "#DDEBF7"}),
            "text": self.wb.add_format({**base, "text_wrap": True}),
            "int": self.wb.add_format({**base, "num_format": "0"}),
            "num": self.wb.add_format({**base, "num_format": "0.00"}),
            "pct": self.wb.add_format({**base, "num_format": "0.0%"}),
            "date": self.wb.add_format({**base, "num_format": "yyyy-mm-dd"}),
            "bold": self.wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2"}),
            "bold_int": self.wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "num_format": "0"}),
            "bold_num": self.wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "num_format": "0.00"}),
            "bold_pct": self.wb.add_format({**base, "bold": True, "bg_color": "#F2F2F2", "num_format": "0.0%"}),
        }

    def sheet(self, name: str, title: str, width: int, header_rows: int):
        """A sheet with its title (row 1), period line (row 2), print set-up; header starts at row 3."""
        ws = self.wb.add_worksheet(name)
        ws.merge_range(0, 0, 0, max(width - 1, 1), title, self.f["title"])
        ws.set_row(0, 28)
        ws.write_string(1, 0, f"填报单位：{self.meta.bureau}　统计周次：{self.meta.period}　第 {self.meta.revision} 版",
                        self.f["sub"])
        ws.freeze_panes(2 + header_rows, 0)
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(2, 1 + header_rows)
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_footer(
            f"&L填报单位：{_footer_text(self.meta.bureau)}&C制表时间：{self.meta.generated_at:%Y-%m-%d %H:%M}"
            f"&R数据截止：{self.meta.cutoff:%Y-%m-%d %H:%M}　第 &P 页，共 &N 页"
        )
        return ws

    def put(self, ws, r: int, c: int, value: object, kind: str = "text", bold: bool = False) -> None:
        """One cell: numbers as numbers, everything else as text (never a formula)."""
        fmt = self.f[("bold_" if bold else "") + kind] if bold and kind != "text" else self.f["bold" if bold else kind]
        if value is None or value == "":
            ws.write_blank(r, c, None, fmt)
        elif kind in ("int", "num", "pct") and isinstance(value, int | float) and not isinstance(value, bool):
            ws.write_number(r, c, value, fmt)
        elif kind == "date" and isinstance(value, dt.date):
            ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), fmt)
        else:
            ws.write_string(r, c, fmt_day(value) if isinstance(value, dt.date) else str(value), fmt)

    def table(self, ws, top: int, columns: list[dict], rows: list[dict], widths: dict[str, int] | None = None) -> int:
        """A flat list table (header row + rows) at `top`; returns the next free row."""
        for c, col in enumerate(columns):
            ws.write_string(top, c, col["title"], self.f["head"])
            ws.set_column(c, c, (widths or {}).get(col["key"], 12))
        for i, row in enumerate(rows, start=1):
            for c, col in enumerate(columns):
                value = row.get(col["key"])
                kind = "num" if col["key"] == "funds_wan" else "date" if col["key"] in ("deadline", "found_date") else (
                    "int" if isinstance(value, int) and not isinstance(value, bool) else "text")
                self.put(ws, top + i, c, value, kind)
        if not rows:
            ws.merge_range(top + 1, 0, top + 1, len(columns) - 1, "（无）", self.f["text"])
            return top + 2
        return top + 1 + len(rows)

    def figures_header(self, ws, top: int, left: int, columns: list[dict]) -> None:
        """Two header rows: a group title over grouped columns, single titles merged over both rows."""
        titles = layout()["figures"]
        c = 0
        while c < len(columns):
            col = columns[c]
            group = col.get("group")
            if group:
                span = 1
                while c + span < len(columns) and columns[c + span].get("group") == group:
                    span += 1
                ws.merge_range(top, left + c, top, left + c + span - 1, group, self.f["head"])
                for k in range(span):
                    sub = columns[c + k]
                    ws.write_string(top + 1, left + c + k, sub.get("title") or titles[sub["key"]], self.f["head"])
                c += span
            else:
                ws.merge_range(top, left + c, top + 1, left + c, col.get("title") or titles[col["key"]], self.f["head"])
                c += 1
            ws.set_column(left, left + len(columns) - 1, 9)

    def figures_row(self, ws, r: int, left: int, columns: list[dict], block: dict, bold: bool = False) -> None:
        for c, col in enumerate(columns):
            key = col["key"]
            kind = "pct" if key in RATE_KEYS else "num" if key == "funds_wan" else "int"
            self.put(ws, r, left + c, block[key], kind, bold=bold)

    def explain(self, purpose: str) -> None:
        """The `说明` sheet: what, which week and revision, when and from which input files, which software."""
        ws = self.wb.add_worksheet("说明")
        ws.set_column(0, 0, 16)
        ws.set_column(1, 1, 70)
        ws.set_column(2, 2, 12)
        m = self.meta
        accepted = sum(1 for f in m.files if f["outcome"] == "accepted")
        lines = [
            ("报表", purpose), ("填报单位", m.bureau), ("周次", m.week), ("截止时间", m.cutoff.isoformat()),
            ("版本", f"第 {m.revision} 版"), ("制表时间", m.generated_at.isoformat()),
            ("输入文件", f"本周共收到 {len(m.files)} 个文件，其中计入 {accepted} 个（SHA-256 见下表）"),
            ("软件版本", f"inspect-pipeline {m.software_version}"),
        ]
        for r, (k, v) in enumerate(lines):
            ws.write_string(r, 0, k, self.f["bold"])
            ws.write_string(r, 1, v, self.f["text"])
        top = len(lines) + 1
        for c, title in enumerate(("文件", "SHA-256", "结果")):
            ws.write_string(top, c, title, self.f["head"])
        outcome = {"accepted": "计入", "superseded": "被替换", "rejected": "退回", "duplicate": "重复"}
        for i, f in enumerate(m.files, start=1):
            ws.write_string(top + i, 0, f["file"], self.f["text"])
            ws.write_string(top + i, 1, f["sha256"], self.f["text"])
            ws.write_string(top + i, 2, outcome.get(f["outcome"], f["outcome"]), self.f["text"])

    def close(self) -> None:
        self.wb.close()


def _footer_text(text: str) -> str:
    return text.replace("&", "&&")


# ---------------------------------------------------------------- 区安委办


def write_safety_committee(path: Path, meta: Meta, wf: WeekFigures, majors: list[dict], missing: list[dict],
                           trend: list[dict]) -> Path:
    """教育系统安全隐患排查整治周报表 for the district Safety Committee Office."""
    spec = layout()["safety_committee"]
    cols = spec["columns"]
    book = Book(path, meta)
    # 汇总: one row per block
    ws = book.sheet(spec["summary_sheet"], f"{spec['title']}（{meta.week}）", len(cols) + 1, 2)
    ws.merge_range(2, 0, 3, 0, "统计口径", book.f["head"])
    ws.set_column(0, 0, 10)
    book.figures_header(ws, 2, 1, cols)
    for i, (key, title) in enumerate(BLOCKS):
        book.put(ws, 4 + i, 0, title, bold=True)
        book.figures_row(ws, 4 + i, 1, cols, wf.totals[key])
    # 分片区: one table per block, a row per zone and a 合计 row equal to 汇总
    ws = book.sheet(spec["zone_sheet"], f"{spec['title']}——分片区（{meta.week}）", len(cols) + 2, 2)
    ws.set_column(0, 1, 10)
    top, first_zone_row = 2, {}
    for key, title in BLOCKS:
        ws.merge_range(top, 0, top + 1, 0, f"片区（{title}）", book.f["head"])
        ws.merge_range(top, 1, top + 1, 1, "包片领导", book.f["head"])
        book.figures_header(ws, top, 2, cols)
        r = first_zone_row[key] = top + 2
        for zone in wf.by_zone:
            book.put(ws, r, 0, zone["zone"])
            book.put(ws, r, 1, zone["zone_leader"])
            book.figures_row(ws, r, 2, cols, zone[key])
            r += 1
        book.put(ws, r, 0, "合计", bold=True)
        book.put(ws, r, 1, "", bold=True)
        book.figures_row(ws, r, 2, cols, wf.totals[key], bold=True)
        top = r + 2
    _lists(book, spec, "重大隐患清单", majors, missing)
    _charts(book, spec, cols, wf, first_zone_row["cumulative"], trend)
    book.explain(f"{spec['title']}（报区安委办）")
    book.close()
    return path


def _lists(book: Book, spec: dict, hazards_title: str, hazards: list[dict], missing: list[dict]) -> None:
    """The hazard list sheet and the 未报单位 sheet, with the layouts of reports.toml."""
    for sheet, title, kind, rows in ((spec["major_sheet"], hazards_title, "hazard_list", hazards),
                                     (spec["missing_sheet"], "未报单位", "missing_list", missing)):
        columns = layout()[kind]["columns"]
        ws = book.sheet(sheet, f"{title}（{book.meta.week}）", len(columns), 1)
        book.table(ws, 2, columns, rows, _LIST_WIDTHS)


def _charts(book: Book, spec: dict, cols: list[dict], wf: WeekFigures, cumulative_first: int,
            trend: list[dict]) -> None:
    """Found vs rectified by 片区 (累计) and the rectification-rate trend of the last weeks, as native charts."""
    ws = book.sheet(spec["chart_sheet"], f"隐患整改情况图（{book.meta.week}）", 10, 1)
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
    ws.insert_chart(3, 0, bars, {"x_scale": 1.4, "y_scale": 1.2})
    # trend data table beside the charts, then the line chart over it
    ws.write_string(2, 12, "周次", book.f["head"])
    ws.write_string(2, 13, "累计整改率", book.f["head"])
    for i, point in enumerate(trend, start=3):
        book.put(ws, i, 12, point["week"])
        book.put(ws, i, 13, point["rate"], "pct")
    line = book.wb.add_chart({"type": "line"})
    if trend:
        line.add_series({
            "name": "累计整改率",
            "categories": [spec["chart_sheet"], 3, 12, 2 + len(trend), 12],
            "values": [spec["chart_sheet"], 3, 13, 2 + len(trend), 13],
            "marker": {"type": "circle"},
            "data_labels": {"value": True, "num_format": "0.0%"},
        })
    line.set_title({"name": f"近 {len(trend)} 周整改率趋势"})
    line.set_y_axis({"num_format": "0%", "min": 0, "max": 1})
    line.set_legend({"none": True})
    ws.insert_chart(22, 0, line, {"x_scale": 1.4, "y_scale": 1.0})


_LIST_WIDTHS = {"school_name": 24, "description": 30, "measures": 22, "interim_control": 20, "location": 14,
                "code": 24, "zone": 8, "section": 10, "section_owner": 10, "status": 10, "last_week": 10,
                "school_code": 12}


# ---------------------------------------------------------------- 市教育局


def write_city_bureau(path: Path, meta: Meta, wf: WeekFigures, hazards: list[dict], missing: list[dict]) -> Path:
    """学校安全隐患排查整治情况周报表 for the city Education Bureau (layout from reports.toml)."""
    spec = layout()["city_bureau"]
    cols = spec["columns"]
    book = Book(path, meta)
    ws = book.sheet(spec["stage_sheet"], f"{spec['title']}（{meta.week}）", 1 + 2 * len(cols), 2)
    ws.merge_range(2, 0, 3, 0, "学段", book.f["head"])
    ws.set_column(0, 0, 10)
    stages = {s["stage"]: s for s in wf.by_stage}
    for b, (key, title) in enumerate(BLOCKS):
        left = 1 + b * len(cols)
        grouped = [{**c, "group": title} for c in cols]
        book.figures_header(ws, 2, left, grouped)
        for i, stage in enumerate(STAGES):
            book.put(ws, 4 + i, 0, stage)
            book.figures_row(ws, 4 + i, left, cols, stages[stage][key])
        book.put(ws, 4 + len(STAGES), 0, spec["total_row"], bold=True)
        book.figures_row(ws, 4 + len(STAGES), left, cols, wf.totals[key], bold=True)
    _lists(book, spec, "重大及逾期隐患", hazards, missing)
    book.explain(f"{spec['title']}（报市教育局）")
    book.close()
    return path


# ---------------------------------------------------------------- 包片包校情况


SUM_KEYS = ("new", "new_major", "closed", "open", "overdue", "not_closed")


def write_zone_report(path: Path, meta: Meta, schools: list[dict], zones: list[dict], dropped: list[dict]) -> Path:
    """One sheet per 片区 (under its 包片领导), schools grouped by 包校科室/包校责任人 with subtotals, then the open
    hazards its schools did not list this week."""
    spec = layout()["zone_report"]
    cols = spec["columns"]
    book = Book(path, meta)
    for zone in zones:
        rows = [s for s in schools if s["zone"] == zone["zone"]]
        ws = book.sheet(_sheet_name(zone["zone"]),
                        f"{spec['title']}——{zone['zone']}（包片领导：{zone['zone_leader']}）", len(cols), 1)
        for c, col in enumerate(cols):
            ws.write_string(2, c, col["title"], book.f["head"])
            ws.set_column(c, c, 24 if col["key"] == "school_name" else 18 if col["key"] == "received_at" else 10)
        r = 3
        owners = list(dict.fromkeys((s["section"], s["section_owner"]) for s in rows))
        for section, owner in owners:
            mine = [s for s in rows if (s["section"], s["section_owner"]) == (section, owner)]
            for s in mine:
                for c, col in enumerate(cols):
                    book.put(ws, r, c, s[col["key"]], "int" if col["key"] in SUM_KEYS else "text")
                r += 1
            r = _subtotal(book, ws, r, cols, mine, f"小计（{section} {owner}）")
        r = _subtotal(book, ws, r, cols, rows, f"{zone['zone']}合计") + 1
        spec_dropped = layout()["dropped_list"]
        ws.write_string(r, 0, spec_dropped["title"], book.f["sub"])
        book.table(ws, r + 1, spec_dropped["columns"], [d for d in dropped if d["zone"] == zone["zone"]])
    book.explain(f"{spec['title']}（内部）")
    book.close()
    return path


def _subtotal(book: Book, ws, r: int, cols: list[dict], rows: list[dict], label: str) -> int:
    reported = sum(1 for s in rows if s["report_status"] in ("按时", "迟报"))
    for c, col in enumerate(cols):
        key = col["key"]
        if c == 0:
            book.put(ws, r, c, label, bold=True)
        elif key == "report_status":
            book.put(ws, r, c, f"已报 {reported}/{len(rows)}", bold=True)
        elif key in SUM_KEYS:
            book.put(ws, r, c, sum(s[key] for s in rows), "int", bold=True)
        else:
            book.put(ws, r, c, "", bold=True)
    return r + 1


def _sheet_name(name: str) -> str:
    for ch in "[]:*?/\\":
        name = name.replace(ch, "_")
    return name[:31] or "片区"
