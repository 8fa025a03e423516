"""Who gets which mail (operations.md §Delivery): the week's report workbooks to their recipient lists, and each
receipt to its school. Planners only build `Mail`s; `mail.deliver` sends them and skips what was sent before.

Keys name what is sent so that a re-run sends nothing twice but a new report revision is mailed again:
`report:<week>:r<revision>:<what>` and `receipt:<submission id>`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.paths import Paths
from ..core.settings import Settings
from ..core.weeks import cutoff
from ..record.db import submissions
from ..schools.roster import Roster
from .mail import Mail

SUBJECT_TAG = "【安全隐患周报】"
RECEIPT_TAG = "【安全隐患周报回执】"
FOOTER = "本邮件由安全隐患周报系统自动发送，请勿直接回复。"
REPORTS = (  # manifest output, what the subject calls it, the recipients' field in [mail]
    ("safety_committee", "区安委办报表", "safety_committee"),
    ("city_bureau", "市教育局报表", "city_bureau"),
    ("zone_report", "包片包校情况", "zone_report"),
)
RECEIPT_VERDICT = {"accepted": "已受理", "superseded": "已受理", "duplicate": "重复报送", "rejected": "退回重报"}
_ADDRESS_SPLIT = re.compile(r"[\s,;，；、]+")


# ---------------------------------------------------------------------------------------------------- reports


def report_mails(paths: Paths, settings: Settings, roster: Roster, manifest: dict) -> list[Mail]:
    """The mails of one report revision: each workbook to its recipient list, each zone extract to the addresses
    given for its 片区 or its 包片领导 in [mail.zone_leaders]."""
    week, revision, outputs = manifest["week"], manifest["revision"], manifest["outputs"]
    mails = []
    for what, title, field in REPORTS:
        body = _report_body(settings, manifest, title, Path(outputs[what]).name, manifest["totals"])
        mails += _to_each(
            getattr(settings.mail, field), kind="report", key=f"report:{week}:r{revision}:{what}", week=week,
            subject=_report_subject(week, title, revision), body=body, attachment=paths.root / outputs[what],
        )
    leaders = {s.zone: s.zone_leader for s in roster.schools}
    leaders |= {z["zone"]: z["zone_leader"] for z in manifest["by_zone"]}  # the leader the report names
    figures = {z["zone"]: {"week": z["week"], "cumulative": z["cumulative"]} for z in manifest["by_zone"]}
    for zone, rel in outputs["zone_extracts"].items():
        leader = leaders.get(zone)
        title = f"包片包校情况（{zone}）"
        scope = f"{zone}（包片领导：{leader}）" if leader else zone
        mails += _to_each(
            [*settings.mail.zone_leaders.get(zone, []), *settings.mail.zone_leaders.get(leader or "", [])],
            kind="zone_extract", key=f"report:{week}:r{revision}:zone:{zone}", week=week,
            subject=_report_subject(week, title, revision),
            body=_report_body(settings, manifest, title, Path(rel).name, figures.get(zone), scope=scope),
            attachment=paths.root / rel,
        )
    return mails


def _report_subject(week: str, title: str, revision: int) -> str:
    return f"{SUBJECT_TAG}{week} {title}（第{revision}版）"


def _report_body(settings: Settings, manifest: dict, title: str, file_name: str, figures: dict | None, *,
                 scope: str = "全部单位") -> str:
    """A short letter: what is attached, the headline figures (of `scope`), the report time."""
    lines = [
        "各位领导：",
        "",
        f"附件是{settings.bureau_name} {manifest['week']} 学校安全隐患排查整治周报之{title}（第{manifest['revision']}版）：",
        f"《{file_name}》。",
        "",
    ]
    if figures:
        lines += [f"{scope}主要数字：", _week_line(figures["week"]), _cumulative_line(figures["cumulative"]), ""]
    if manifest["revision"] > 1:
        lines += [f"本版因截止后收到迟报或更正的文件而重新生成，替代此前各版，请以第{manifest['revision']}版为准。", ""]
    lines += [
        f"数据截止：{_when(manifest['cutoff'])}；制表时间：{_when(manifest['generated_at'])}。",
        "",
        FOOTER,
    ]
    return "\n".join(lines) + "\n"


def _week_line(f: dict) -> str:
    return (f"本周：应报 {f['due']} 个单位，已报 {f['received']} 个（按时 {f['on_time']}，迟报 {f['late']}），"
            f"未报 {f['missing']} 个，报送率 {_rate(f['report_rate'])}；新发现隐患 {f['found']} 处"
            f"（其中重大 {f['found_major']} 处），已整改 {f['rectified']} 处，整改率 {_rate(f['rectification_rate'])}。")


def _cumulative_line(f: dict) -> str:
    return (f"累计：发现隐患 {f['found']} 处（其中重大 {f['found_major']} 处），已整改 {f['rectified']} 处，"
            f"整改率 {_rate(f['rectification_rate'])}；仍未整改 {f['in_progress'] + f['not_rectified']} 处，"
            f"其中逾期 {f['overdue']} 处。")


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _when(iso: str) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M")


# ---------------------------------------------------------------------------------------------------- receipts


def receipt_mails(
    paths: Paths,
    settings: Settings,
    roster: Roster,
    conn_or_engine: Connection | Engine,
    *,
    weeks: Iterable[str] | None = None,
) -> list[Mail]:
    """Each written receipt to its school's 学校邮箱 (roster), when [mail] receipts is on. `weeks` limits the
    plan to those weeks (e.g. the weeks an intake run touched), so that turning mail on does not mail a school
    every receipt of the past."""
    if not settings.mail.receipts:
        return []
    mails = []
    for row in _receipt_rows(conn_or_engine, weeks):
        school = roster.by_id.get(row["school_id"])
        if school is None or not school.school_email:
            continue
        mails += _to_each(
            split_addresses(school.school_email), kind="receipt", key=f"receipt:{row['id']}", week=row["week"],
            subject=_receipt_subject(row), body=_receipt_body(row, settings),
            attachment=paths.root / row["receipt_path"],
        )
    return mails


def _receipt_rows(conn_or_engine: Connection | Engine, weeks: Iterable[str] | None) -> list[dict]:
    query = (
        sa.select(submissions.c.id, submissions.c.week, submissions.c.school_id, submissions.c.school_name,
                  submissions.c.file_name, submissions.c.outcome, submissions.c.received_at, submissions.c.note,
                  submissions.c.rows, submissions.c.major, submissions.c.new, submissions.c.open,
                  submissions.c.rectified, submissions.c.issues, submissions.c.receipt_path)
        .where(submissions.c.receipt_written.is_(True), submissions.c.receipt_path.is_not(None),
               submissions.c.school_id.is_not(None))
        .order_by(submissions.c.id)
    )
    if weeks is not None:
        query = query.where(submissions.c.week.in_(sorted(set(weeks))))
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]
    return [dict(r) for r in conn_or_engine.execute(query).mappings()]


def _receipt_subject(row: dict) -> str:
    verdict = RECEIPT_VERDICT.get(row["outcome"], row["outcome"])
    return f"{RECEIPT_TAG}{verdict}：{row['school_name']} {row['week']}《{row['file_name']}》"


def _receipt_body(row: dict, settings: Settings) -> str:
    """What happened to the file and what the school has to do now."""
    received = dt.datetime.fromisoformat(row["received_at"]).strftime("%Y-%m-%d %H:%M")
    lines = [f"{row['school_name']}：", "",
             f"贵单位 {received} 报送的 {row['week']} 安全隐患排查整治周报表《{row['file_name']}》"]
    if row["outcome"] == "rejected":
        errors = sum(1 for i in row["issues"] if i.get("severity") == "error")
        deadline = cutoff(row["week"], settings).strftime("%Y-%m-%d %H:%M")
        lines += [
            f"未予受理，请修改后重新报送。表中共有 {errors} 处错误。" if errors else "未予受理，请修改后重新报送。",
            "",
            "附件是本文件的回执：第一个工作表“问题清单”逐条列出问题和修改方法，表中有问题的单元格已标红并附批注。",
            f"请按清单修改后，按原方式重新报送整张表。本周截止时间为 {deadline}，截止后重新报送的按迟报统计。",
        ]
    elif row["outcome"] == "duplicate":
        lines += ["与此前已收到的文件完全相同，未重复计入，无需处理。回执见附件。"]
    else:
        warnings = sum(1 for i in row["issues"] if i.get("severity") == "warning")
        lines += [
            (f"已受理：共 {row['rows']} 条隐患，其中重大 {row['major']} 条，本周新增 {row['new']} 条，"
             f"仍未整改 {row['open']} 条，已整改 {row['rectified']} 条。"),
            f"回执见附件，其中有 {warnings} 条提示，请核对并在今后的报表中完善。" if warnings else "回执见附件，请核对。",
        ]
        if row["outcome"] == "superseded":
            lines += ["此后本周又收到贵单位的新文件，本文件已被替代，本周以最新受理的文件为准。"]
    if row["note"]:
        lines += ["", row["note"]]
    lines += ["", FOOTER]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- shared


def split_addresses(text: str | None) -> list[str]:
    """The addresses in a roster cell: separated by commas, semicolons (also full-width), 、 or spaces."""
    return [a for a in _ADDRESS_SPLIT.split(text or "") if a]


def _to_each(addresses: Iterable[str], *, kind: str, key: str, week: str, subject: str, body: str,
             attachment: Path) -> list[Mail]:
    """One Mail per distinct address (order kept)."""
    unique = dict.fromkeys(a.strip() for a in addresses if a and a.strip())
    return [Mail(kind=kind, key=key, week=week, to=to, subject=subject, body=body, attachments=(attachment,))
            for to in unique]
