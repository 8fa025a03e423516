"""What each configured group robot is sent (operations.md §Delivery): each 片区's group its zone's reminder list
with the 包校责任人 @-mentioned by mobile, each school group its own school's line, the reports group a notice that a
report (revision) is ready with the web page's link and the headline figures. Planners build the record's `Mail`s
(robots.messages); `send_robot_messages` delivers them and then what failed in earlier runs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from ..core.settings import Settings
from .mail import DeliveryResult, Mail
from .mailings import _cumulative_line, _rate, _when
from . import deadline_warnings as warnings_text
from .reminders import REJECTED, UNREPORTED, RemindResult, _cutoff_text
from .robots import deliver_robots, list_payloads, mention_payloads, messages, resend_failed_robots


def reminder_messages(settings: Settings, result: RemindResult) -> list[Mail]:
    """The reminder round to every zone and school group with something to say."""
    info, week = result.info, result.week
    out: list[Mail] = []
    for group, robot in settings.robots.items():
        if robot.purpose == "zone":
            owners = [{**o, "units": [u for u in o["units"] if u["zone"] == robot.zone]} for o in result.owners]
            owners = [o for o in owners if o["units"]]
            if not owners:
                continue
            title = f"催报提醒 {week} {robot.zone}"
            text = _zone_text(info, robot.zone, owners)
            payloads = list_payloads(robot, title, text)
            mobiles = [m for o in owners for m in result.mobiles.get((o["section"], o["section_owner"]), [])]
            names = "、".join(o["section_owner"] for o in owners)
            payloads += mention_payloads(
                robot, f"请{names}督促所包学校尽快报送 {week} 周报（名单见上条）。", mobiles)
        elif robot.purpose == "school":
            units = [u for u in result.units if robot.school in (u["school_code"], u["school_name"])]
            if not units:
                continue
            title = f"催报提醒 {week} {units[0]['school_name']}"
            payloads = list_payloads(robot, title, _school_text(info, units[0]))
        else:
            continue
        out += messages("reminder", f"robot-reminder:{week}:{result.stamp}:{group}", week, group, title, payloads)
    return out


def warning_messages(settings: Settings, result: RemindResult) -> list[Mail]:
    """The round's deadline warnings (整改到期预警) to every zone group (its zone's hazards, the 包校责任人 concerned
    @-mentioned) and school group (its school's hazards) with something listed; keyed by the round."""
    w, week = result.warnings, result.week
    out: list[Mail] = []
    for group, robot in settings.robots.items():
        if w is None or robot.purpose == "reports":
            continue
        if robot.purpose == "zone":
            owners, place = warnings_text.narrowed(w, lambda h: h["zone"] == robot.zone), robot.zone
        else:
            owners = warnings_text.narrowed(w, lambda h: robot.school in (h["school_code"], h["school_name"]))
            place = next((h["school_name"] for o in owners for h in (*o["due"], *o["overdue"])), "")
        if not owners:
            continue
        title = f"整改到期预警 {week} {place}"
        payloads = list_payloads(robot, title, warnings_text.group_text(result.info, w, owners, place))
        if robot.purpose == "zone":
            mobiles = [m for o in owners for m in result.mobiles.get((o["section"], o["section_owner"]), [])]
            names = "、".join(o["section_owner"] for o in owners)
            payloads += mention_payloads(robot, f"请{names}督促学校按时整改到期隐患（清单见上条），重大隐患优先。", mobiles)
        out += messages("warning", f"robot-warning:{week}:{result.stamp}:{group}", week, group, title, payloads)
    return out


def _zone_text(info: dict, zone: str, owners: list[dict]) -> str:
    closed = info["generated_at"] >= info["cutoff"]
    count = sum(len(o["units"]) for o in owners)
    lines = [
        f"### 催报提醒 {info['week']} {zone}",
        f"截至 {info['generated_at']:%Y-%m-%d %H:%M}，本片区 {count} 所学校尚未报送（含退回未重报）。",
        (f"本周已于 {_cutoff_text(info['cutoff'])} 截止，请尽快补报（计为迟报）。" if closed
         else f"截止时间：{_cutoff_text(info['cutoff'])}。"),
    ]
    for o in owners:
        lines += ["", f"**{o['section']} {o['section_owner']}**（{len(o['units'])} 所）"]
        for u in o["units"]:
            lines.append(f"- {u['school_name']}：{u['status']}" + (f"（{u['reason']}）" if u["status"] == REJECTED else ""))
    return "\n".join(lines)


def _school_text(info: dict, unit: dict) -> str:
    lines = [f"### 催报提醒 {info['week']}", f"{unit['school_name']}：本周报表{unit['status']}。"]
    if unit["status"] == UNREPORTED:
        lines.append(f"请于 {_cutoff_text(info['cutoff'])} 前报送。")
    else:
        lines.append(f"退回原因：{unit['reason']}。请按回执中的问题清单修改后重新报送。")
    return "\n".join(lines)


def report_messages(settings: Settings, manifest: dict) -> list[Mail]:
    """The report-ready notice to every reports group: one per revision (a new revision is announced again)."""
    week, revision = manifest["week"], manifest["revision"]
    out: list[Mail] = []
    for group, robot in settings.robots.items():
        if robot.purpose != "reports":
            continue
        title = f"{week} 安全隐患周报已生成（第{revision}版）"
        out += messages("report", f"robot-report:{week}:r{revision}:{group}", week, group, title,
                        list_payloads(robot, title, report_text(settings, manifest)))
    return out


def report_text(settings: Settings, manifest: dict) -> str:
    week, total = manifest["totals"]["week"], manifest["totals"]["cumulative"]
    link = f"{settings.web.url}/?week={manifest['week']}"
    lines = [
        f"### {settings.bureau_name} {manifest['week']} 安全隐患周报已生成（第{manifest['revision']}版）",
        f"- 报送：应报 {week['due']}，已报 {week['received']}（迟报 {week['late']}），未报 {week['missing']}，"
        f"报送率 {_rate(week['report_rate'])}",
        f"- 本周新发现隐患 {week['found']} 处（重大 {week['found_major']}），已整改 {week['rectified']} 处",
        f"- {_cumulative_line(total)}",
        f"- 数据截止 {_when(manifest['cutoff'])}，制表 {_when(manifest['generated_at'])}",
    ]
    if manifest["revision"] > 1:
        lines.append(f"- 本版替代此前各版，请以第{manifest['revision']}版为准")
    lines += ["", f"[在工作台查看与下载]({link})"]
    return "\n".join(lines)


def send_robot_messages(engine, settings: Settings, mails: list[Mail], now: dt.datetime,
                        **kwargs: Callable | object) -> DeliveryResult:
    """Send `mails`, then resend robot messages that failed in earlier runs; one result. Nothing without robots."""
    if not settings.robots:
        return DeliveryResult()
    current = deliver_robots(engine, settings, mails, now, **kwargs)
    earlier = resend_failed_robots(engine, settings, now, skip=frozenset((m.key, m.to) for m in mails), **kwargs)
    sent = earlier.sent + current.sent
    done = {(m.key, m.to) for m in sent}
    failed = {(m.key, m.to): (m, e) for m, e in earlier.failed + current.failed}
    return DeliveryResult(sent, current.already_sent, tuple(f for k, f in failed.items() if k not in done))
