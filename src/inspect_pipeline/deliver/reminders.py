"""`remind --week W`: per 包校责任人, the units of the week not yet reported (未报) and those rejected and not yet
resubmitted (退回未重报, with the reason), written as one reminder round `reports/<week>/reminders/<stamp>/`
(workbook, markdown, JSON) that appears complete or not at all, and the reminder mails when mail is set.

"Not yet reported" is exactly what the week's figures count as missing (`figures.compute_week`): a unit due this
week (active at the cutoff; none in a no-report week) without an accepted file of the week in the record. The
record is read as intake left it; `now` only stamps the round and phrases the mail (before or after the cutoff).

The round also holds the deadline warnings (整改到期预警, report.deadlines: open hazards due within [warnings] days
of `now`'s local date, and overdue ones), written by deliver.deadline_warnings in the same staged folder.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from .. import __version__
from ..core.lock import run_lock
from ..core.paths import Paths
from ..core.publish import staged_dir, write_json_atomic
from ..core.settings import Settings
from ..core.weeks import is_reported, parse_label, spoken
from ..record.db import migrate, run_engine, submissions
from ..report.deadlines import DeadlineWarnings, deadline_warnings
from ..report.figures import compute_week, received_by, refuse_before_campaign
from ..report.listings import REPORT_STATUS, week_status
from ..report.workbooks import layout
from ..schools.identity import identify, week_roster
from . import deadline_warnings as warnings_files
from .round_book import column_caps, notes_sheet, round_book, summary_rows
from ..schools.roster import Roster, School, load_roster
from .mail import Mail
from .mailings import split_addresses

UNREPORTED, REJECTED = REPORT_STATUS["missing"], REPORT_STATUS["rejected"]  # 未报, 退回未重报
SHOWN_ERRORS = 3  # errors quoted per rejected file; the rest are counted
MESSAGE_CHARS = 40  # longest error message quoted before it is cut
_WEEKDAYS = "一二三四五六日"


@dataclass
class RemindResult:
    """One reminder round of a week."""

    week: str
    folder: Path  # reports/<week>/reminders/<stamp>/
    owners: list[dict]  # every 包校责任人 with units due this week: counts and the units listed (see _owners)
    mails: list[Mail] = field(default_factory=list)  # one per owner address with units listed, when mail is set
    warnings: DeadlineWarnings | None = None  # 整改到期预警 of the round (report.deadlines)
    info: dict = field(default_factory=dict)  # week, cutoff, generated_at, bureau … (as the round's files say)
    # (section, owner) → their 责任人手机 from the roster, for @-mentions in group robots; never written anywhere
    mobiles: dict[tuple[str, str], list[str]] = field(default_factory=dict, repr=False)

    @property
    def units(self) -> list[dict]:
        """Every unit listed, grouped by owner."""
        return [u for o in self.owners for u in o["units"]]

    @property
    def stamp(self) -> str:
        return self.folder.name


def build_reminders(paths: Paths, settings: Settings, week: str, now: dt.datetime, *, roster: Roster | None = None,
                    engine: Engine | None = None) -> RemindResult:
    """Write the week's reminder round (stamped with `now`, local minute) and plan its mails. `roster` (as read
    from its file) and `engine`: the run's own, when a job opened them.

    Returns:
        RemindResult; `owners` holds section, section_owner, zone, zone_leader, owner_email, emails, due,
        unreported, rejected, outstanding and units (school_name, school_code, zone, status, reason, errors,
        last_received_at, last_file …).
    """
    parse_label(week)
    loaded = roster if roster is not None else load_roster(paths.roster_file, settings)  # a bad roster stops here
    engine = run_engine(paths.database_url, engine)
    migrate(engine)
    with engine.connect() as conn:
        roster = identify(conn, loaded, register=False)
        refuse_before_campaign(conn, settings, week)
        wf = compute_week(conn, roster, settings, week, as_of=now)  # files received after `now` are not there
        status = week_status(wf, conn, week)
        keys = wf.missing_ids
        attempts = _latest_attempts(conn, week, keys, settings, now)
        warnings = _warnings(conn, paths, settings, week, now, roster, wf)
    due_keys = set(wf.reporting.loc[wf.reporting["week"] == week, "school_id"])  # none in a no-report week
    local_now = now.astimezone(settings.tz)
    stamp = local_now.strftime("%Y%m%d-%H%M")
    schools = roster.by_id
    units = [_unit(schools[k], status.get(k, UNREPORTED), attempts.get(k)) for k in keys]
    emails, mobiles = _contacts(roster)
    owners = _owners([s for s in roster.schools if s.id in due_keys], units, emails, roster)
    info = {
        "week": week,
        "cutoff": wf.cutoff,
        "generated_at": local_now,
        "bureau": settings.bureau_name,
        "spoken_week": spoken(week, settings),
        "no_report_week": not is_reported(week, settings),
        "roster_sha256": roster.sha256,
    }
    with run_lock(paths, settings, "另一个任务正在运行，请稍后再催报"):  # a killed run's debris is swept
        folder = _write(paths, week, stamp, info, owners, warnings)
    mails = []
    if settings.mail.enabled and settings.mail.reminders:
        mails = _mails(settings, week, stamp, info, owners) + warnings_files.mails(info, stamp, warnings, emails)
    return RemindResult(week, folder, owners, mails, warnings, info, mobiles)


def _contacts(roster: Roster) -> tuple[dict, dict]:
    """(包校科室, 包校责任人) → their distinct 责任人邮箱 addresses, and → their distinct 责任人手机 numbers."""
    mine: dict[tuple[str, str], list[School]] = {}
    for s in roster.schools:
        mine.setdefault((s.section, s.section_owner), []).append(s)
    emails = {o: _addresses(s.owner_email for s in schools) for o, schools in mine.items()}
    mobiles = {o: list(dict.fromkeys(s.owner_mobile for s in schools if s.owner_mobile)) for o, schools in mine.items()}
    return emails, {o: m for o, m in mobiles.items() if m}


def _warnings(conn: Connection, paths: Paths, settings: Settings, week: str, now: dt.datetime, roster: Roster,
              wf) -> DeadlineWarnings:
    """The round's deadline warnings: the week's hazards as the figures hold them, attributed by the roster the
    week is attributed by (its report's, once there is one), counted from the round's local date."""
    attributed = week_roster(conn, paths, settings, week, roster)
    hazards = wf.hazards if attributed is roster else compute_week(conn, attributed, settings, week, as_of=now).hazards
    return deadline_warnings(conn, hazards, attributed, now.astimezone(settings.tz).date(), settings.warnings.days)


# ---------------------------------------------------------------- the rows


def _latest_attempts(conn: Connection, week: str, keys: list[int], settings: Settings,
                     as_of: dt.datetime) -> dict[int, dict]:
    """School id → its latest file of the week received by `as_of` (time, name) and the errors of its latest
    rejected file."""
    s = submissions.c
    rows = []
    for i in range(0, len(keys), 500):
        rows += conn.execute(
            sa.select(s.school_id, s.id, s.received_at, s.file_name, s.outcome, s.issues)
            .where(s.week == week, s.school_id.in_(keys[i : i + 500]), received_by(as_of))
        ).all()
    out: dict[str, dict] = {}
    for key, _id, received_at, file_name, outcome, issues in sorted(rows, key=lambda r: (_moment(r[2]), r[1])):
        entry = out.setdefault(key, {"errors": []})
        entry["received_at"] = _moment(received_at).astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        entry["file_name"] = file_name
        if outcome == "rejected":
            entry["errors"] = [i for i in issues or [] if i.get("severity") == "error"]
    return out


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _unit(school: School, status: str, attempt: dict | None) -> dict:
    errors = attempt["errors"] if attempt and status == REJECTED else []
    return {
        **school.responsibility,
        "status": status,
        "reason": reason(errors) if status == REJECTED else "",
        "errors": len(errors),
        "last_received_at": attempt["received_at"] if attempt else "",
        "last_file": attempt["file_name"] if attempt else "",
    }


def reason(errors: list[dict]) -> str:
    """The reason of a rejection in one line: the first errors with their cells (cells with the same message named
    together), the rest counted (…；等N处错误)."""
    if not errors:
        return "报表被退回（详见回执中的问题清单）"
    groups: dict[tuple[str, str], list[str]] = {}  # (column, message) → cells, in the receipt's order
    for issue in errors:
        message = " ".join(str(issue.get("message") or issue.get("code") or "").split())
        column = issue.get("column") or ""
        groups.setdefault((column, message), []).append(issue.get("cell") or "")
    parts, shown = [], 0
    for (column, message), cells in list(groups.items())[:SHOWN_ERRORS]:
        named = [c for c in cells[:SHOWN_ERRORS] if c]
        shown += max(len(named), 1)
        where = "、".join(named)
        if column and f"“{column}”" not in message:  # the header, unless the message already quotes it
            where += f"（{column}）"
        if len(message) > MESSAGE_CHARS:
            message = message[: MESSAGE_CHARS - 1] + "…"
        parts.append(f"{where}：{message}" if where else message)
    text = "；".join(parts)
    return f"{text}；等{len(errors)}处错误" if len(errors) > shown else text


def _owners(due: list[School], units: list[dict], emails: dict[tuple[str, str], list[str]],
            roster: Roster) -> list[dict]:
    """Every owner (包校科室, 包校责任人) of units due this week, grouped by section in roster order, with counts and
    their listed units (roster order)."""
    sections = list(dict.fromkeys(s.section for s in due))
    order = list(dict.fromkeys((s.section, s.section_owner) for s in due))
    order.sort(key=lambda o: sections.index(o[0]))  # stable: owners keep roster order within a section
    position = {s.id: i for i, s in enumerate(roster.schools)}
    out = []
    for section, owner in order:
        mine = [s for s in due if (s.section, s.section_owner) == (section, owner)]
        listed = sorted((u for u in units if (u["section"], u["section_owner"]) == (section, owner)),
                        key=lambda u: position[u["school_id"]])
        unreported = sum(1 for u in listed if u["status"] == UNREPORTED)
        out.append({
            "section": section,
            "section_owner": owner,
            "zone": "、".join(dict.fromkeys(s.zone for s in mine)),
            "zone_leader": "、".join(dict.fromkeys(s.zone_leader for s in mine)),
            "owner_email": "; ".join(emails[(section, owner)]),
            "emails": emails[(section, owner)],
            "due": len(mine),
            "unreported": unreported,
            "rejected": len(listed) - unreported,
            "outstanding": len(listed),
            "units": listed,
        })
    return out


def _addresses(cells) -> list[str]:
    """Distinct addresses from the owner's 责任人邮箱 cells (a cell may hold several)."""
    found = (a.strip() for cell in cells if cell for a in split_addresses(str(cell)))
    return list(dict.fromkeys(a for a in found if "@" in a))


# ---------------------------------------------------------------- the round's folder


def _write(paths: Paths, week: str, stamp: str, info: dict, owners: list[dict], warnings: DeadlineWarnings) -> Path:
    """Build the round in a temporary folder, then move it into place: it appears complete or not at all."""
    final = paths.reminders_dir(week, stamp)
    with staged_dir(final, replace=True) as tmp:  # a round of the same minute is the same round run again
        spec = layout()["reminders"]
        write_workbook(tmp / spec["file"].format(week=week), info, owners)
        (tmp / spec["markdown_file"]).write_text(markdown(info, owners), encoding="utf-8", newline="\n")
        write_json_atomic(tmp / "reminders.json", {
            **{k: info[k] for k in ("week", "roster_sha256", "no_report_week")},
            "cutoff": info["cutoff"].isoformat(),
            "generated_at": info["generated_at"].isoformat(timespec="seconds"),
            "software_version": __version__,
            "owners": [{k: v for k, v in o.items() if k != "emails"} for o in owners],
        })
        warnings_files.write_all(tmp, info, warnings)
    return final


_CAPS = {"school_name": 14, "reason": 30, "last_file": 16, "owner_email": 20}
COUNT_KEYS = ("due", "unreported", "rejected", "outstanding")


def write_workbook(path: Path, info: dict, owners: list[dict]) -> Path:
    """催报提醒_<week>.xlsx: the units listed (grouped by 包校科室/包校责任人), counts per owner, and 说明."""
    spec = layout()["reminders"]
    book = round_book(path, "reminders", info)
    cols = spec["columns"]
    ws = book.titled(spec["list_sheet"], f"{spec['title']}——未报及退回未重报单位（{info['week']}）", 1,
                     caps=column_caps(cols, _CAPS))
    ws.row(2, 0, [col["title"] for col in cols], "head")
    units = [u for o in owners for u in o["units"]]
    for r, unit in enumerate(units, start=3):
        ws.row(r, 0, [unit[col["key"]] for col in cols])
    if units:
        ws.ws.autofilter(2, 0, 2 + len(units), len(cols) - 1)
    else:
        ws.merge(3, 0, 3, len(cols) - 1, _nothing_missing(info))

    cols = spec["summary_columns"]
    ws = book.titled(spec["summary_sheet"], f"{spec['title']}——按包校责任人汇总（{info['week']}）", 1,
                     caps=column_caps(cols, _CAPS))
    ws.row(2, 0, [col["title"] for col in cols], "head")
    summary_rows(ws, 3, cols, owners, COUNT_KEYS)

    notes_sheet(book, [
        ("报表", f"{spec['title']}（内部）"), ("填报单位", info["bureau"]), ("周次", info.get("spoken_week") or info["week"]),
        ("截止时间", f"{info['cutoff']:%Y-%m-%d %H:%M}"), ("生成时间", f"{info['generated_at']:%Y-%m-%d %H:%M:%S}"),
        ("未报", "本周应报（截止时在名单中启用）而尚未收到合格报表的单位"),
        ("退回未重报", "本周报送的报表被退回、且尚未重新报送合格报表的单位；退回原因为最近一次被退回文件的前几处错误"),
        ("学校名单", f"SHA-256 {info['roster_sha256']}"), ("软件版本", f"inspect-pipeline {__version__}"),
    ])
    book.close()
    return path


def _nothing_missing(info: dict) -> str:
    return f"{info['week']} 不需报送（寒暑假）" if info["no_report_week"] else "全部已报"


def _cutoff_text(cutoff: dt.datetime) -> str:
    return f"{cutoff:%Y-%m-%d %H:%M}（周{_WEEKDAYS[cutoff.isoweekday() - 1]}）"


MD_COLUMNS = ("school_name", "school_code", "zone", "status", "reason", "last_received_at", "last_file")


def markdown(info: dict, owners: list[dict]) -> str:
    """reminders.md: a heading per owner with units listed, and a table of them (same columns as the workbook)."""
    titles = {c["key"]: c["title"] for c in layout()["reminders"]["columns"]}
    listed = [o for o in owners if o["units"]]
    out = [
        f"# 催报提醒 {info['week']}",
        "",
        f"截止时间：{_cutoff_text(info['cutoff'])}　生成时间：{info['generated_at']:%Y-%m-%d %H:%M}",
        "",
    ]
    if not listed:
        return "\n".join([*out, _nothing_missing(info), ""])
    unreported = sum(o["unreported"] for o in owners)
    rejected = sum(o["rejected"] for o in owners)
    out += [f"未报 {unreported} 个单位，退回未重报 {rejected} 个单位，涉及包校责任人 {len(listed)} 位。", ""]
    for o in listed:
        out += [
            f"## {o['section']} {o['section_owner']}",
            "",
            (f"片区：{o['zone']}（包片领导：{o['zone_leader']}）　邮箱：{o['owner_email'] or '（名单中未填）'}　"
             f"应报 {o['due']}，未报 {o['unreported']}，退回未重报 {o['rejected']}"),
            "",
            "| " + " | ".join(titles[k] for k in MD_COLUMNS) + " |",
            "|" + "---|" * len(MD_COLUMNS),
            *("| " + " | ".join(_md_cell(u[k]) for k in MD_COLUMNS) + " |" for u in o["units"]),
            "",
        ]
    return "\n".join(out)


def _md_cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


# ---------------------------------------------------------------- the mails


def _mails(settings: Settings, week: str, stamp: str, info: dict, owners: list[dict]) -> list[Mail]:
    """One reminder per address of each owner with units listed. The body holds everything; nothing is attached."""
    out = []
    for o in owners:
        if not o["units"] or not o["emails"]:
            continue
        rejected = f"（其中{o['rejected']}所被退回待重报）" if o["rejected"] else ""
        subject = f"【催报提醒】{week} 您负责的{o['outstanding']}所学校尚未报送{rejected}"
        body = mail_body(info, o)
        key = f"reminder:{week}:{stamp}:{o['section']}/{o['section_owner']}"
        out += [Mail("reminder", key, week, address, subject, body) for address in o["emails"]]
    return out


def mail_body(info: dict, owner: dict) -> str:
    """The reminder's text: the units, the reasons of rejection, the cutoff and what to do."""
    cutoff, now = info["cutoff"], info["generated_at"]
    closed = now >= cutoff
    lines = [
        f"{owner['section_owner']}（{owner['section']}）您好：",
        "",
        (f"截至 {now:%Y-%m-%d %H:%M}，您负责的以下 {owner['outstanding']} 所学校尚未报送 {info['week']} "
         f"学校安全隐患排查整治周报表（本周应报 {owner['due']} 所）。"),
        (f"本周报送已于 {_cutoff_text(cutoff)} 截止，请督促尽快补报（将计为迟报）。" if closed
         else f"报送截止时间：{_cutoff_text(cutoff)}，请督促学校在截止前报送。"),
    ]
    for status, note in ((UNREPORTED, ""), (REJECTED, "，请按回执中的问题清单修改后重新报送")):
        units = [u for u in owner["units"] if u["status"] == status]
        if not units:
            continue
        lines += ["", f"{status}（{len(units)} 所{note}）："]
        for n, u in enumerate(units, start=1):
            code = f"{u['school_code']}，" if u["school_code"] else ""
            lines.append(f"  {n}. {u['school_name']}（{code}{u['zone']}）")
            if status == REJECTED:
                lines.append(f"     最近报送：{u['last_received_at']}《{u['last_file']}》")
                lines.append(f"     退回原因：{u['reason']}")
    lines += ["", info["bureau"], "（本邮件由学校安全隐患排查整治周报系统自动发送，请勿直接回复。）", ""]
    return "\n".join(lines)
