"""`status --week W`: who has reported, per zone, which report revisions are stale, which mails are unsent, and
what is still in the inbox."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..core.paths import Paths
from ..core.settings import Settings
from ..intake.take import walk_inbox
from ..record.db import deliveries, make_engine, migrate, reports, submissions
from ..schools.identity import current_roster
from ..schools.roster import Roster
from .figures import WeekFigures, compute_week, received_by
from .listings import REPORT_STATUS, first_received, ledger_rows, week_status


@dataclass
class Board:
    """A week's reporting as of a moment, computed once: the figures, each due school's status, why each school
    rejected and not resubmitted was returned, and the zone table (`rows`, plus 合计)."""

    week: str
    figures: WeekFigures
    roster: Roster
    status: dict[int, str]  # school id → 按时 / 迟报 / 未报 / 退回未重报 (due schools only)
    reasons: dict[int, str]  # school id → the problems of its latest returned file (退回未重报 only)
    received_at: dict[int, str]  # school id → when its first accepted file of the week came (as recorded)
    rows: list[dict]
    ledger: list[dict] | None = None  # listings.ledger_rows, when asked for


def week_board(paths: Paths, settings: Settings, week: str, as_of=None, *, ledger: bool = False) -> Board:
    """The week's status per zone and per school (status, the web page), as of `as_of` when given (files received
    later are not counted); with `ledger`, every hazard of the 累计 set too (listings.ledger_rows)."""
    engine = make_engine(paths.database_url)
    migrate(engine)
    roster = current_roster(paths, settings, engine, register=False)
    with engine.connect() as conn:
        wf = compute_week(conn, roster, settings, week, as_of=as_of, full=ledger)
        status = week_status(wf, conn, week)
        returned = sorted(k for k, s in status.items() if s == REPORT_STATUS["rejected"])
        reasons = _returned_reasons(conn, week, returned, wf.as_of)
        received_at = first_received(conn, week)
        hazards = ledger_rows(wf, roster, conn) if ledger else None
    engine.dispose()
    schools = roster.by_id
    rows = []
    for zone in [*(z["zone"] for z in wf.by_zone), None]:
        mine = [s for k, s in status.items() if zone is None or schools[k].zone == zone]
        block = wf.totals["week"] if zone is None else next(z["week"] for z in wf.by_zone if z["zone"] == zone)
        rows.append({
            "zone": zone or "合计",
            "due": block["due"],
            "received": block["received"],
            "on_time": block["on_time"],
            "late": block["late"],
            "missing": block["missing"],
            "rejected": sum(1 for s in mine if s == REPORT_STATUS["rejected"]),
            "report_rate": block["report_rate"],
        })
    return Board(week, wf, roster, status, reasons, received_at, rows, hazards)


def _returned_reasons(conn, week: str, school_ids: list[int], as_of) -> dict[int, str]:
    """School id → the errors of its latest rejected file of the week, as one line."""
    s = submissions.c
    out: dict[int, str] = {}
    for i in range(0, len(school_ids), 500):
        rows = conn.execute(
            sa.select(s.school_id, s.issues, s.note)
            .where(s.week == week, s.outcome == "rejected", s.school_id.in_(school_ids[i : i + 500]),
                   received_by(as_of))
            .order_by(s.received_epoch, s.id)
        ).all()
        for key, issues, note in rows:  # the latest one wins
            errors = [i["message"] for i in issues if i.get("severity") == "error"]
            text = "；".join(dict.fromkeys(errors[:3])) or (note or "")
            out[key] = text + (f"（共 {len(errors)} 处错误）" if len(errors) > 3 else "")
    return out


def week_status_by_zone(paths: Paths, settings: Settings, week: str, as_of=None) -> list[dict]:
    """Per zone: due, received, on time, late, missing, rejected and not resubmitted (plus a 合计 row), as of
    `as_of` when given (files received later are not counted)."""
    return [{k: v for k, v in row.items() if k != "report_rate"} for row in week_board(paths, settings, week,
                                                                                       as_of).rows]


def stale_reports(paths: Paths, settings: Settings) -> list[dict]:
    """Weeks whose latest report revision predates a file received since for that week or an earlier one."""
    engine = make_engine(paths.database_url)
    migrate(engine)
    out = []
    with engine.connect() as conn:
        latest = conn.execute(
            sa.select(reports.c.week, sa.func.max(reports.c.revision)).group_by(reports.c.week)
        ).all()
        for week, revision in latest:
            last_id = conn.execute(
                sa.select(reports.c.last_submission_id).where(reports.c.week == week, reports.c.revision == revision)
            ).scalar()
            newer = conn.execute(
                sa.select(sa.func.count()).select_from(submissions)
                .where(submissions.c.week <= week, submissions.c.id > last_id)
            ).scalar()
            if newer:
                out.append({"week": week, "revision": revision, "newer_files": newer})
    engine.dispose()
    return out


def unsent_mail(paths: Paths) -> list[dict]:
    """Mails and group robot messages recorded as failed (any week), oldest first: recipient (an address or
    robot:<group>), `to` as people read it (the address, or 群机器人 <group>), subject, attempts, last error."""
    engine = make_engine(paths.database_url)
    migrate(engine)
    d = deliveries.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(d.recipient, d.subject, d.attempts, d.last_tried_at, d.error)
            .where(d.status == "failed").order_by(d.id)
        ).mappings().all()
    engine.dispose()
    return [{**r, "to": _reader_recipient(r["recipient"])} for r in rows]


def _reader_recipient(recipient: str) -> str:
    return f"群机器人 {recipient.removeprefix('robot:')}" if recipient.startswith("robot:") else recipient


WAITING = "尚未收件：下次收件时处理（若一直留在这里，请检查文件是否仍在复制中）"


def inbox_left(paths: Paths) -> list[dict]:
    """Every file still below the inbox, with why: ignored (Office lock files, hidden files) or waiting for the
    next intake run (a file still being copied is left until it is quiet)."""
    return [{"path": f.rel, "reason": reason or WAITING} for f, reason in walk_inbox(paths.inbox)]
