"""The deadline warnings of a reminder round (整改到期预警, outputs.md §4a; computed by report.deadlines), written
beside the reminders in the round's staged folder: 整改到期预警_<week>.xlsx, warnings.md and warnings.json; and
their text in a mail to each 包校责任人 and in the group robots' messages (robot_rounds.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from .. import __version__
from ..core.publish import write_json_atomic
from ..report.deadlines import COUNT_KEYS, DeadlineWarnings, owner_entry
from ..report.workbooks import layout
from .mail import Mail
from .round_book import column_caps, notes_sheet, round_book, summary_rows


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


_CAPS = {"school_name": 14, "description": 30, "location": 12, "code": 14, "owners": 20}


def _window(w: DeadlineWarnings) -> str:
    last = w.today + dt.timedelta(days=w.days)
    return f"整改时限在 {w.today:%Y-%m-%d} 至 {last:%Y-%m-%d}（{w.days} 天内，含当天）"


def write_workbook(path: Path, info: dict, w: DeadlineWarnings) -> Path:
    """整改到期预警_<week>.xlsx: the hazards listed by 包校责任人 (即将到期, then 已逾期, 重大 first), a summary per
    包片领导, and 说明."""
    spec = layout()["deadline_warnings"]
    book = round_book(path, "deadline-warnings", info)
    cols = spec["columns"]
    ws = book.titled(spec["list_sheet"], f"{spec['title']}（{w.today:%Y-%m-%d}，{w.days} 天内到期及已逾期）", 1,
                     caps=column_caps(cols, _CAPS))
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
    ws = book.titled(spec["summary_sheet"], f"{spec['title']}——按包片领导汇总（{w.today:%Y-%m-%d}）", 1,
                     caps=column_caps(cols, _CAPS))
    ws.row(2, 0, [col["title"] for col in cols], "head")
    summary_rows(ws, 3, cols, w.leaders, COUNT_KEYS)

    notes_sheet(book, [
        ("报表", f"{spec['title']}（内部）"), ("填报单位", info["bureau"]), ("周次", info.get("spoken_week") or info["week"]),
        ("生成时间", f"{info['generated_at']:%Y-%m-%d %H:%M:%S}"),
        ("即将到期", f"未整改（含整改中）的隐患，{_window(w)}"),
        ("已逾期", f"未整改（含整改中）的隐患，整改时限早于 {w.today:%Y-%m-%d}"),
        ("整改时限", "立即整改的隐患以排查日期为整改时限（与周报的逾期未改口径一致）"),
        ("排序", "按包校责任人（名单顺序）；每人先列即将到期、后列已逾期，重大隐患在前，再按时限"),
        ("学校名单", f"SHA-256 {info['roster_sha256']}"), ("软件版本", f"inspect-pipeline {__version__}"),
    ])
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


# ---------------------------------------------------------------- the messages


def hazard_line(h: dict) -> str:
    """One hazard in a message: `【重大】学校 部位：描述（时限 2023-11-25，剩2天）`."""
    where = " ".join(x for x in (h["school_name"], h["location"]) if x)
    return (f"{'【重大】' if h['major'] else ''}{where}：{h['description'] or '（未写描述）'}"
            f"（时限 {h['deadline']:%Y-%m-%d}，{h['left_text']}）")


def owner_counts(o: dict) -> str:
    major = lambda n: f"（重大 {n}）" if n else ""  # noqa: E731
    return (f"即将到期 {o['due_count']} 项{major(o['due_major'])}，"
            f"已逾期 {o['overdue_count']} 项{major(o['overdue_major'])}")


def mails(info: dict, stamp: str, w: DeadlineWarnings, emails: dict[tuple[str, str], list[str]]) -> list[Mail]:
    """One warning per address of each 包校责任人 with hazards listed (keyed by the round: each round warns again)."""
    out = []
    for o in w.owners:
        subject = f"【整改到期预警】{info['week']} 您负责学校的隐患{owner_counts(o)}"
        key = f"warning:{info['week']}:{stamp}:{o['section']}/{o['section_owner']}"
        body = mail_body(info, w, o)
        out += [Mail("warning", key, info["week"], address, subject, body)
                for address in emails.get((o["section"], o["section_owner"]), [])]
    return out


def mail_body(info: dict, w: DeadlineWarnings, o: dict) -> str:
    lines = [f"{o['section_owner']}（{o['section']}）您好：", "",
             f"截至 {info['generated_at']:%Y-%m-%d %H:%M}，您负责学校的未整改隐患中{owner_counts(o)}。",
             f"即将到期指{_window(w)}。请督促学校按时整改并在下次周报中更新整改状态，重大隐患优先。"]
    for part, name in ((o["due"], "即将到期"), (o["overdue"], "已逾期")):
        if part:
            lines += ["", f"{name}（{len(part)} 项）："]
            lines += [f"  {n}. {hazard_line(h)}" + (f"　编号 {h['code']}" if h["code"] else "")
                      for n, h in enumerate(part, start=1)]
    lines += ["", info["bureau"], "（本邮件由学校安全隐患排查整治周报系统自动发送，请勿直接回复。）", ""]
    return "\n".join(lines)


def group_text(info: dict, w: DeadlineWarnings, owners: list[dict], place: str) -> str:
    """The markdown a group robot posts: the owners' hazards (already narrowed to the group's zone or school)."""
    lines = [f"### 整改到期预警 {info['week']} {place}", f"截至 {info['generated_at']:%Y-%m-%d %H:%M}，{_window(w)}。"]
    for o in owners:
        lines += ["", f"**{o['section']} {o['section_owner']}**：{owner_counts(o)}"]
        lines += [f"- {hazard_line(h)}" for h in (*o["due"], *o["overdue"])]
    return "\n".join(lines)


def narrowed(w: DeadlineWarnings, keep) -> list[dict]:
    """The owners with only the hazards `keep(h)` accepts, those left with none dropped."""
    out = [owner_entry(o["section"], o["section_owner"], [h for h in (*o["due"], *o["overdue"]) if keep(h)])
           for o in w.owners]
    return [o for o in out if o["due"] or o["overdue"]]
