"""The deadline warnings of a reminder round (整改到期预警, outputs.md §4a; computed by report.deadlines), written
beside the reminders in the round's staged folder: 整改到期预警_<week>.xlsx, warnings.md and warnings.json."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import __version__
from ..core.publish import write_json_atomic
from ..report.deadlines import COUNT_KEYS, DeadlineWarnings
from ..report.workbooks import Meta, ReportBook, layout


def write_all(folder: Path, info: dict, w: DeadlineWarnings) -> None:
    """The workbook, markdown and JSON into `folder` (the round's staged folder)."""
    spec = layout()["deadline_warnings"]
    write_workbook(folder / spec["file"].format(week=info["week"]), info, w)
    (folder / spec["markdown_file"]).write_text(markdown(info, w), encoding="utf-8", newline="\n")
    write_json_atomic(folder / spec["json_file"], as_json(info, w))


def as_json(info: dict, w: DeadlineWarnings) -> dict:
    def plain(h: dict) -> dict:
        return {**h, "deadline": h["deadline"].isoformat()}

    return {
        "week": info["week"],
        "generated_at": info["generated_at"].isoformat(timespec="seconds"),
        "today": w.today.isoformat(),
        "days": w.days,
        "roster_sha256": info["roster_sha256"],
        "software_version": __version__,
        "counts": w.counts,
        "owners": [{**o, "due": [plain(h) for h in o["due"]], "overdue": [plain(h) for h in o["overdue"]]}
                   for o in w.owners],
        "zone_leaders": w.leaders,
    }


class _WarningBook(ReportBook):
    def subtitle(self) -> str:
        m = self.meta
        return f"填报单位：{m.bureau}　周次：{m.period}　生成时间：{m.generated_at:%Y-%m-%d %H:%M}"


_CAPS = {"school_name": 14, "description": 30, "location": 12, "code": 14, "owners": 20}


def _window(w: DeadlineWarnings) -> str:
    last = w.today + dt.timedelta(days=w.days)
    return f"整改时限在 {w.today:%Y-%m-%d} 至 {last:%Y-%m-%d}（{w.days} 天内，含当天）"


def write_workbook(path: Path, info: dict, w: DeadlineWarnings) -> Path:
    """整改到期预警_<week>.xlsx: the hazards listed by 包校责任人 (即将到期, then 已逾期, 重大 first), a summary per
    包片领导, and 说明."""
    spec = layout()["deadline_warnings"]
    meta = Meta(info["bureau"], info["week"], info["cutoff"], 0, info["generated_at"], __version__, [],
                info.get("spoken_week", ""))
    book = _WarningBook(path, "deadline-warnings", meta)
    cols = spec["columns"]
    caps = {c: _CAPS[col["key"]] for c, col in enumerate(cols) if col["key"] in _CAPS}
    ws = book.titled(spec["list_sheet"], f"{spec['title']}（{w.today:%Y-%m-%d}，{w.days} 天内到期及已逾期）", 1,
                     caps=caps)
    ws.row(2, 0, [col["title"] for col in cols], "head")
    rows = w.hazards
    for r, h in enumerate(rows, start=3):
        for c, col in enumerate(cols):
            ws.put(r, c, h[col["key"]], "date" if col["key"] == "deadline" else "text",
                   bold=h["major"] and col["key"] in ("level", "warning"))
    if rows:
        ws.ws.autofilter(2, 0, 2 + len(rows), len(cols) - 1)
    else:
        ws.merge(3, 0, 3, len(cols) - 1, "没有即将到期或已逾期的未整改隐患")

    cols = spec["summary_columns"]
    caps = {c: _CAPS[col["key"]] for c, col in enumerate(cols) if col["key"] in _CAPS}
    ws = book.titled(spec["summary_sheet"], f"{spec['title']}——按包片领导汇总（{w.today:%Y-%m-%d}）", 1, caps=caps)
    ws.row(2, 0, [col["title"] for col in cols], "head")
    r = 3
    for leader in w.leaders:
        for c, col in enumerate(cols):
            ws.put(r, c, leader[col["key"]], "int" if col["key"] in COUNT_KEYS else "text")
        r += 1
    for c, col in enumerate(cols):
        total = sum(x[col["key"]] for x in w.leaders) if col["key"] in COUNT_KEYS else ("合计" if c == 0 else "")
        ws.put(r, c, total, "int" if col["key"] in COUNT_KEYS else "label", bold=True)

    ws = book.sheet("说明", landscape=False, widths={0: 14, 1: 72})
    lines = [
        ("报表", f"{spec['title']}（内部）"), ("填报单位", info["bureau"]), ("周次", info.get("spoken_week") or info["week"]),
        ("生成时间", f"{info['generated_at']:%Y-%m-%d %H:%M:%S}"),
        ("即将到期", f"未整改（含整改中）的隐患，{_window(w)}"),
        ("已逾期", f"未整改（含整改中）的隐患，整改时限早于 {w.today:%Y-%m-%d}"),
        ("整改时限", "立即整改的隐患以排查日期为整改时限（与周报的逾期未改口径一致）"),
        ("排序", "按包校责任人（名单顺序）；每人先列即将到期、后列已逾期，重大隐患在前，再按时限"),
        ("学校名单", f"SHA-256 {info['roster_sha256']}"), ("软件版本", f"inspect-pipeline {__version__}"),
    ]
    for r, (k, v) in enumerate(lines):
        ws.put(r, 0, k, "label")
        ws.put(r, 1, v)
    book.close()
    return path


MD_COLUMNS = ("school_name", "code", "location", "description", "level", "status", "deadline", "left_text")


def markdown(info: dict, w: DeadlineWarnings) -> str:
    """warnings.md: the counts, a table per 包片领导, and per 包校责任人 their hazards (即将到期, then 已逾期)."""
    titles = {c["key"]: c["title"] for c in layout()["deadline_warnings"]["columns"]}
    n = w.counts
    out = [f"# 整改到期预警 {info['week']}", "", f"生成时间：{info['generated_at']:%Y-%m-%d %H:%M}　{_window(w)}", ""]
    if not w.owners:
        return "\n".join([*out, "没有即将到期或已逾期的未整改隐患。", ""])
    out += [(f"即将到期 {n['due_count']} 项（其中重大 {n['due_major']} 项），已逾期 {n['overdue_count']} 项"
             f"（其中重大 {n['overdue_major']} 项），涉及包校责任人 {n['owners']} 位。"), "",
            "| 片区 | 包片领导 | 包校责任人 | 即将到期 | 其中重大 | 已逾期 | 其中重大 |", "|---|---|---|---|---|---|---|",
            *(f"| {x['zone']} | {x['zone_leader']} | {x['owners']} | {x['due_count']} | {x['due_major']} | "
              f"{x['overdue_count']} | {x['overdue_major']} |" for x in w.leaders), ""]
    for o in w.owners:
        out += [f"## {o['section']} {o['section_owner']}", "",
                f"片区：{o['zone']}（包片领导：{o['zone_leader']}）　即将到期 {o['due_count']}，已逾期 {o['overdue_count']}", ""]
        for part, name in ((o["due"], "即将到期"), (o["overdue"], "已逾期")):
            if not part:
                continue
            out += [f"### {name}（{len(part)}）", "",
                    "| " + " | ".join(titles[k] for k in MD_COLUMNS) + " |", "|" + "---|" * len(MD_COLUMNS),
                    *("| " + " | ".join(_cell(h[k]) for k in MD_COLUMNS) + " |" for h in part), ""]
    return "\n".join(out)


def _cell(value: object) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return " ".join(text.split()).replace("|", "\\|")
