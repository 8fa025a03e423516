"""The rows behind the report workbooks' lists, derived from the week's figures (figures.py): per-school status
for the zone report, the open major / overdue hazard lists, and the units that did not report."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..core.settings import Settings
from ..core.weeks import shift
from ..record.db import submissions
from ..schools.roster import Roster
from .figures import WeekFigures, hazard_details, rate_points, received_by
from .workbooks import layout

REPORT_STATUS = {"on_time": "按时", "late": "迟报", "missing": "未报", "rejected": "退回未重报", "not_due": "不需报送"}


def week_status(wf: WeekFigures, conn: Connection, week: str) -> dict[str, str]:
    """School key → 按时 / 迟报 / 未报 / 退回未重报 for a week of the campaign (due schools only)."""
    r = wf.reporting[wf.reporting["week"] == week]
    rejected = {
        k for (k,) in conn.execute(
            sa.select(submissions.c.school_id).where(submissions.c.week == week, submissions.c.outcome == "rejected",
                                                     received_by(wf.as_of))
        )
    }
    out = {}
    for key, received, on_time in zip(r["school_id"], r["received"], r["on_time"], strict=True):
        if received:
            out[key] = REPORT_STATUS["on_time" if on_time else "late"]
        else:
            out[key] = REPORT_STATUS["rejected" if key in rejected else "missing"]
    return out


def first_received(conn: Connection, week: str) -> dict[int, str]:
    """School id → received time (as recorded) of its first accepted file of the week."""
    rows = conn.execute(
        sa.select(submissions.c.school_id, submissions.c.received_epoch, submissions.c.received_at)
        .where(submissions.c.week == week, submissions.c.outcome.in_(("accepted", "superseded")),
               submissions.c.school_id.is_not(None))
    )
    return {k: text for k, _, text in sorted(rows, key=lambda r: r[1], reverse=True)}


COUNT_KEYS = ("new", "new_major", "closed", "open", "overdue", "not_closed")


def school_rows(wf: WeekFigures, roster: Roster, conn: Connection) -> list[dict]:
    """One row per school due this week, in roster order: status, time and its hazard counts."""
    status = week_status(wf, conn, wf.week)
    times = first_received(conn, wf.week)
    c = wf.counts
    new = c["new"]
    counts = (
        pd.DataFrame({
            "school_id": c["school_id"], "new": c["found"].where(new, 0),
            "new_major": c["found_major"].where(new, 0), "closed": c["closed_now"],
            "open": c["found"] - c["rectified"], "overdue": c["overdue"], "not_closed": c["not_closed"],
        })
        .groupby("school_id")[list(COUNT_KEYS)].sum()
        .to_dict("index")
    )
    zero = dict.fromkeys(COUNT_KEYS, 0)
    return [
        {
            "school_id": school.id,
            "school_name": school.name,
            "stage": school.stage,
            "zone": school.zone,
            "zone_leader": school.zone_leader,
            "section": school.section,
            "section_owner": school.section_owner,
            "report_status": status.get(school.id, REPORT_STATUS["not_due"]),
            "received_at": times.get(school.id, "")[:16].replace("T", " "),
            **{k: int(v) for k, v in counts.get(school.id, zero).items()},
        }
        for school in roster.due(wf.cutoff.date())
    ]


def hazard_list(wf: WeekFigures, conn: Connection, *, overdue_too: bool) -> list[dict]:
    """Open 重大 hazards (and, for the city bureau, open overdue ones), by zone, school and found date: the columns
    of the hazard list (reports.toml) and the zone."""
    h = wf.hazards
    if h.empty:
        return []
    keep = ~h["done"] & (h["major"] | (h["overdue"] if overdue_too else False))
    chosen = h[keep]
    chosen = chosen.merge(hazard_details(conn, [int(i) for i in chosen["observation_id"]]), on="observation_id")
    chosen = chosen.sort_values(["zone", "school_name", "found_date", "code"])
    chosen = chosen.assign(overdue=chosen["overdue"].map({True: "是", False: "否"}),
                           age_days=_age_days(chosen["found_date"], wf))
    return _records(chosen, _listed("hazard_list"))


def ledger_rows(wf: WeekFigures, roster: Roster, conn: Connection) -> list[dict]:
    """Every hazard of the 累计 set with its state at the week's cutoff and its text (the web page's 隐患台账), by
    zone, school and found date: 包校责任人 from the roster, 逾期 and 已整改 as flags."""
    h = wf.hazards
    if h.empty:
        return []
    schools = roster.by_id
    frame = (h.merge(hazard_details(conn, [int(i) for i in h["observation_id"]]), on="observation_id")
             .sort_values(["zone", "school_name", "found_date", "code"]))
    rows = _records(frame.assign(age_days=_age_days(frame["found_date"], wf)), list(frame.columns) + ["age_days"])
    for row in rows:
        row["section_owner"] = schools[row["school_id"]].section_owner
    return rows


def dropped_list(wf: WeekFigures, conn: Connection) -> list[dict]:
    """Open hazards of schools that reported this week but did not list them (hazard-dropped): still open in the
    ledger, listed for the zone leader (the columns of the dropped list, and the zone)."""
    h = wf.hazards
    r = wf.reporting
    reported = set(r.loc[(r["week"] == wf.week) & r["received"], "school_id"])
    dropped = h[~h["done"] & (h["week"] < wf.week) & h["school_id"].isin(reported)]
    if dropped.empty:
        return []
    dropped = dropped.merge(hazard_details(conn, [int(i) for i in dropped["observation_id"]]), on="observation_id")
    dropped = dropped.sort_values(["zone", "school_name", "found_date", "code"])
    return _records(dropped.assign(age_days=_age_days(dropped["found_date"], wf)), _listed("dropped_list"))


def _listed(kind: str) -> list[str]:
    """The keys a list's rows carry: its columns in reports.toml, and the zone (extracts, summaries)."""
    return list(dict.fromkeys([*(c["key"] for c in layout()[kind]["columns"]), "zone"]))


def _records(frame: pd.DataFrame, keys: list[str]) -> list[dict]:
    """The frame's rows as dicts of `keys`, with plain values (None where missing, dates as dates), made column by
    column: a province's lists have ~275,000 rows, and pandas' to_dict boxes each cell on its own."""
    columns = [_plain(frame[k]) for k in keys]
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns, strict=True)]


def _plain(column: pd.Series) -> list:
    if pd.api.types.is_datetime64_any_dtype(column):
        column = column.dt.date
    return column.astype(object).where(column.notna(), None).tolist()


def _age_days(found: pd.Series, wf: WeekFigures) -> pd.Series:
    """Days from each hazard's found date to the week's cutoff (missing where the date is)."""
    days = (pd.Timestamp(wf.cutoff.date()) - pd.to_datetime(found).dt.normalize()).dt.days
    return days.astype("Int64")


def missing_list(wf: WeekFigures, roster: Roster, conn: Connection, settings: Settings) -> list[dict]:
    """Units due and not received, with their status this week and last week."""
    now = week_status(wf, conn, wf.week)
    last_week = shift(wf.week, -1)
    before = week_status(wf, conn, last_week) if last_week >= wf.first_week else {}
    schools = roster.by_id
    rows = []
    for unit, key in zip(wf.missing_units, wf.missing_ids, strict=True):
        school = schools[key]
        rows.append(
            {
                **unit,
                "section": school.section,
                "status": now.get(key, REPORT_STATUS["missing"]),
                "last_week": before.get(key, REPORT_STATUS["not_due"] if before else "—"),
            }
        )
    return rows


def rate_trend(conn: Connection, wf: WeekFigures, roster: Roster, weeks: int = 8) -> list[dict]:
    """The cumulative rectification rate at each of the last `weeks` cutoffs (campaign weeks only), over the
    hazards of the roster's schools."""
    chosen = [w for w in (shift(wf.week, -k) for k in range(weeks - 1, -1, -1)) if w >= wf.first_week]
    points = rate_points(conn, chosen, wf.first_week, set(roster.by_id))
    return [
        {"week": w, "found": found, "rectified": rectified, "rate": rectified / found if found else None}
        for w, (found, rectified) in points.items()
    ]


def fmt_day(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
