"""The weekly figures (outputs.md §2, §6), computed once here and used by every workbook and the manifest.

Definitions, in short:
- a school's *counted* submission of a week is its accepted (latest accepted) file; a hazard's state at a week is
  its latest observation in counted submissions of that week or earlier;
- the 本周 set is the hazards first recorded in this week's counted submissions; the 累计 set those first recorded
  from the campaign's first week up to this one; found = rectified + in_progress + not_rectified over the set;
- reporting figures count due units (active at the cutoff; none in a no-report week), their counted submissions,
  and on-time by the school's first accepted file of the week.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..core.contracts import DONE, statuses
from ..core.errors import ConfigError
from ..core.settings import Settings
from ..core.weeks import Week, cutoff, is_reported, shift, week_of
from ..ledger.hazards import counted_history
from ..record.db import hazard_spans, hazard_state, hazards, observations, submissions
from ..record.bulk import id_set
from ..record.db import schools as schools_table
from ..schools.roster import Roster

FIGURE_KEYS = (
    "due", "received", "on_time", "late", "missing", "report_rate", "schools_checked", "checks",
    "check_person_times", "found", "found_general", "found_major", "rectified", "rectified_general",
    "rectified_major", "in_progress", "not_rectified", "overdue", "rectification_rate", "major_rectification_rate",
    "funds_wan", "closed_this_week",
)
STAGES = ("幼儿园", "小学", "初中", "高中", "中职", "特教")


@dataclass
class WeekFigures:
    """Everything the reports of one week show."""

    week: str
    cutoff: dt.datetime
    first_week: str
    totals: dict
    by_zone: list[dict]
    by_stage: list[dict]
    missing_units: list[dict]
    hazards: pd.DataFrame = field(repr=False)  # the 累计 set's open hazards (or all: compute_week's `full`) with
    #                                            their state at the cutoff, one row per hazard
    reporting: pd.DataFrame = field(repr=False)  # one row per due school and week: of the last two weeks (of
    #                                              every week of the campaign with compute_week's `full`)
    counts: pd.DataFrame = field(repr=False)  # the 累计 set's COUNTS per school (of the roster) and `new`
    as_of: dt.datetime | None = None  # files received after it were left out of the reporting figures

    @property
    def missing_ids(self) -> list[int]:
        """The school ids of `missing_units`, in the same order."""
        r = self.reporting[self.reporting["week"] == self.week]
        return [int(k) for k in r.loc[~r["received"], "school_id"]]


def rows_frame(rows, columns: list[str]) -> pd.DataFrame:
    """A frame from result rows (plain tuples: pandas probes Row objects slowly)."""
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def campaign_first_week(conn: Connection, settings: Settings) -> str | None:
    """The week holding the campaign start (config), else the earliest week any file was received for."""
    if settings.campaign_start is not None:
        moment = dt.datetime.combine(settings.campaign_start, dt.time(0), tzinfo=settings.tz)
        return week_of(moment, settings)
    return conn.execute(sa.select(sa.func.min(submissions.c.week))).scalar()


def refuse_before_campaign(conn: Connection, settings: Settings, week: str) -> None:
    """ConfigError for a week before the campaign's first (campaign_first_week): there is nothing to report,
    remind or pre-fill for it."""
    first = campaign_first_week(conn, settings)
    if first is not None and Week.parse(week) < Week.parse(first):
        how = "config.toml 的 campaign_start" if settings.campaign_start is not None else "收到的最早文件"
        raise ConfigError(f"{week} 早于本次排查的第一周 {first}（{how}），没有可报告的内容")


def weeks_between(first: str, last: str) -> list[str]:
    out, week = [], first
    while week <= last:
        out.append(week)
        week = shift(week, 1)
    return out


# ---------------------------------------------------------------- hazards


def _counted(week: str, *columns):
    """Counted observations (of accepted files) up to `week`, read along the state index."""
    o = observations.c
    return sa.select(o.hazard_id, o.week, *columns).where(o.counted.is_(True), o.week <= week)


STATE_COLUMNS = ["hazard_id", "school_id", "week", "first_week", "status", "before", "observation_id", "level",
                 "mode", "deadline", "funds_wan", "code", "found_date"]


def _with_facts(query, observation_id):
    """Add the facts of the hazard's state observation (level, mode, deadline, funds) and its number."""
    o = observations.c
    # dates as ISO text: parsed once per column by pandas, not once per row by the driver
    return (
        query.add_columns(o.id, o.level, o.mode, sa.cast(o.deadline, sa.String), o.funds_wan, hazards.c.code,
                          sa.cast(hazards.c.found_date, sa.String))
        .join(observations, o.id == observation_id)
        .join(hazards, hazards.c.id == o.hazard_id)
    )


def hazard_states(conn: Connection, week: str, first: str) -> pd.DataFrame:
    """Every hazard first recorded (in counted submissions) from `first` to `week`, with its state at the week's
    cutoff (its latest counted observation up to the week) and its status before the week.

    The ledger's current page (`hazard_state`) answers for every hazard not observed after the week; the few that
    were are read from their history."""
    s = hazard_state.c
    # the current page carries the facts too: one table read in index order, no lookups into the history
    query = sa.select(s.hazard_id, s.school_id, s.week, s.first_week, s.status, s.prev_status, s.observation_id,
                      s.level, s.mode, sa.cast(s.deadline, sa.String), s.funds_wan, s.code,
                      sa.cast(s.found_date, sa.String))
    current = rows_frame(conn.execute(query.where(s.first_week >= first, s.first_week <= week)), STATE_COLUMNS)
    later = current["week"] > week
    frame = pd.concat([current[~later], _states_at(conn, week, [int(i) for i in current.loc[later, "hazard_id"]])],
                      ignore_index=True)
    return _as_states(frame, week)


def _as_states(frame: pd.DataFrame, week: str) -> pd.DataFrame:
    seen_now = frame["week"] == week
    # the status before this week: the latest one if it is older, else the one before it
    return frame.assign(
        hazard_id=frame["hazard_id"].astype("int64"),
        observation_id=frame["observation_id"].astype("int64"),
        prev_status=frame["status"].where(~seen_now, frame["before"]),
        seen_this_week=seen_now,
        deadline=_day(frame["deadline"]),
        found_date=_day(frame["found_date"]),
    )


def settled_counts(conn: Connection, week: str, first: str, cutoff_date: dt.date) -> pd.DataFrame:
    """COUNTS per school and `new`, summed by the database over the hazards of the 累计 set whose state at the
    week's cutoff is their current one (not observed after the week: the ledger's current page answers), with the
    flags of `with_flags`. What `hazard_states` + `with_flags` + `flag_counts` give for the same hazards, without
    reading them."""
    s = hazard_state.c
    done = s.status.in_(statuses(*DONE))
    major = s.level == "重大"
    deadline = sa.case((s.mode == "立即整改", s.found_date), else_=s.deadline)
    closed_now = done & (s.week == week) & (s.prev_status.is_(None) | s.prev_status.not_in(statuses(*DONE)))

    def total(condition) -> sa.ColumnElement:
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    new = (s.first_week == week).label("new")
    query = (
        sa.select(
            s.school_id, new, sa.func.count().label("found"), total(major), total(done), total(done & major),
            total(s.status.in_(statuses("in_progress"))), total(s.status.in_(statuses("not_rectified"))),
            total(~done & (deadline < cutoff_date)), sa.func.coalesce(sa.func.sum(s.funds_wan), 0.0),
            total(closed_now), total(s.status.not_in(statuses("closed"))),
        )
        .where(s.first_week >= first, s.first_week <= week, s.week <= week)
        .group_by(s.school_id, new)
    )
    frame = rows_frame(conn.execute(query), ["school_id", "new", *COUNTS])
    ints = [k for k in COUNTS if k != "funds_wan"]
    return frame.astype({"school_id": "int64", "new": bool, **dict.fromkeys(ints, "int64"), "funds_wan": "float64"})


def open_and_later_states(conn: Connection, week: str, first: str) -> pd.DataFrame:
    """What `hazard_states` gives, for two kinds of hazards of the 累计 set only: those open at the cutoff whose
    state is their current one, and all those observed after the week (their state from their history; `later`)."""
    s = hazard_state.c
    query = sa.select(s.hazard_id, s.school_id, s.week, s.first_week, s.status, s.prev_status, s.observation_id,
                      s.level, s.mode, sa.cast(s.deadline, sa.String), s.funds_wan, s.code,
                      sa.cast(s.found_date, sa.String))
    in_set = sa.and_(s.first_week >= first, s.first_week <= week)
    current = rows_frame(conn.execute(query.where(in_set, s.week <= week, s.status.not_in(statuses(*DONE)))),
                         STATE_COLUMNS)
    later = [int(i) for i in conn.execute(sa.select(s.hazard_id).where(in_set, s.week > week)).scalars()]
    frame = pd.concat([current.assign(later=False), _states_at(conn, week, later).assign(later=True)],
                      ignore_index=True)
    return _as_states(frame, week)


def _day(text: pd.Series) -> pd.Series:
    """ISO date text → Timestamps (NaT where empty)."""
    return pd.to_datetime(text.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")


def _states_at(conn: Connection, week: str, ids: list[int]) -> pd.DataFrame:
    """The state at `week` of hazards observed after it, from their counted history."""
    o = observations.c
    by_hazard = {"partition_by": o.hazard_id, "order_by": o.week.desc()}
    with id_set(conn, ids, "later_hazards") as chosen:
        ranked = counted_history(
            chosen, o.hazard_id, o.id.label("observation_id"), o.week, o.status,
            sa.func.row_number().over(**by_hazard).label("rn"),
            sa.func.lead(o.status).over(**by_hazard).label("before"),
        ).where(o.week <= week).subquery()
        query = sa.select(ranked.c.hazard_id, hazards.c.school_id, ranked.c.week, ranked.c.first_week,
                          ranked.c.status, ranked.c.before)
        rows = conn.execute(_with_facts(query, ranked.c.observation_id).where(ranked.c.rn == 1)).all()
    return rows_frame(rows, STATE_COLUMNS)


def rate_points(conn: Connection, weeks: list[str], first: str, schools: set[int]) -> dict[str, tuple[int, int]]:
    """Week → (found, rectified) of the 累计 set at each of these weeks' cutoffs: the hazards of these schools
    first recorded from `first` on, and those standing 已整改/已销号 at the week. Counted by the database in one
    pass over the ledger's current page and one over its spans (hazard_spans), for every school it knows, less
    those of schools not among `schools` (rarely any)."""
    s, p = hazard_state.c, hazard_spans.c
    last = max(weeks)

    def sums(conditions) -> sa.Select:
        return sa.select(*(sa.func.coalesce(sa.func.sum(sa.case((c, 1), else_=0)), 0) for c in conditions))

    def tally(only: list[int] | None) -> tuple[list[int], list[int]]:
        found = conn.execute(
            sums(s.first_week <= w for w in weeks)
            .where(s.first_week >= first, s.first_week <= last, *(() if only is None else (s.school_id.in_(only),))))
        done = conn.execute(
            sums((p.week_from <= w) & (p.week_to.is_(None) | (p.week_to > w)) for w in weeks)
            .where(p.first_week >= first, p.status.in_(statuses(*DONE)), p.week_from <= last,
                   p.week_to.is_(None) | (p.week_to > min(weeks)),
                   *(() if only is None else (p.school_id.in_(only),))))
        return [int(n) for n in found.one()], [int(n) for n in done.one()]

    found, done = tally(None)
    known = set(conn.execute(sa.select(schools_table.c.id)).scalars())
    others = sorted(known - schools)
    for i in range(0, len(others), 500):  # hazards of schools the roster no longer lists are not counted
        less_found, less_done = tally(others[i : i + 500])
        found = [a - b for a, b in zip(found, less_found, strict=True)]
        done = [a - b for a, b in zip(done, less_done, strict=True)]
    return {w: (found[k], done[k]) for k, w in enumerate(weeks)}


def hazard_details(conn: Connection, observation_ids: list[int]) -> pd.DataFrame:
    """The text of listed hazards (部位, 描述, 五落实 …) from their latest counted observations."""
    o = observations.c
    cols = ["observation_id", "location", "description", "measures", "owner", "interim_control", "category"]
    with id_set(conn, observation_ids, "listed_observations") as ids:
        rows = conn.execute(
            sa.select(o.id, o.location, o.description, o.measures, o.owner, o.interim_control, o.category)
            .where(o.id.in_(ids))
        )
        return rows_frame(rows, cols)


def effective_deadline(h: pd.DataFrame) -> pd.Series:
    """Each hazard's 整改时限 as the figures count it: a 立即整改 hazard's deadline is its found date (NaT where
    there is none)."""
    return pd.to_datetime(h["deadline"].where(h["mode"] != "立即整改", h["found_date"]), errors="coerce")


def with_flags(h: pd.DataFrame, cutoff_date: dt.date) -> pd.DataFrame:
    """The hazards with `done`, `major`, `overdue` and `closed_now` (became 已整改/已销号 this week) columns."""
    done = h["status"].isin(statuses(*DONE))
    deadline = effective_deadline(h)
    return h.assign(
        done=done,
        major=h["level"] == "重大",
        overdue=~done & (deadline < pd.Timestamp(cutoff_date)),
        closed_now=done & h["seen_this_week"].astype(bool) & ~h["prev_status"].isin(statuses(*DONE)),
    )


COUNTS = ("found", "found_major", "rectified", "rectified_major", "in_progress", "not_rectified", "overdue",
          "funds_wan", "closed_now", "not_closed")  # per school: what the figures and the zone report's rows add up


def flag_counts(h: pd.DataFrame, week: str | None = None) -> pd.DataFrame:
    """COUNTS per school (and `new`: first recorded in `week`) over hazards with `with_flags` columns."""
    major, done = h["major"].astype(bool), h["done"].astype(bool)
    status = h["status"]
    frame = pd.DataFrame({
        "school_id": h["school_id"].astype("int64"),
        "new": (h["first_week"] == week) if week is not None else False,
        "found": 1,
        "found_major": major,
        "rectified": done,
        "rectified_major": done & major,
        "in_progress": status.isin(statuses("in_progress")),
        "not_rectified": status.isin(statuses("not_rectified")),
        "overdue": h["overdue"].astype(bool),
        "funds_wan": pd.to_numeric(h["funds_wan"], errors="coerce").fillna(0.0),
        "closed_now": h["closed_now"].astype(bool),
        "not_closed": ~status.isin(statuses("closed")),
    })
    ints = [k for k in COUNTS if k != "funds_wan"]
    return (frame.groupby(["school_id", "new"], as_index=False)[list(COUNTS)].sum()
            .astype({**dict.fromkeys(ints, "int64"), "funds_wan": "float64"}))


def hazard_figures(h: pd.DataFrame) -> dict:
    """Hazard figures over a set of hazards (with `with_flags` columns) at the cutoff, whatever their schools."""
    return counts_figures(flag_counts(h.assign(school_id=0, first_week=None)))


def counts_figures(c: pd.DataFrame) -> dict:
    """Hazard figures from per-school COUNTS (flag_counts, or the record's own sums: settled_counts)."""
    total = {k: (float(c[k].sum()) if k == "funds_wan" else int(c[k].sum())) for k in COUNTS}
    found, found_major = total["found"], total["found_major"]
    rectified, rectified_major = total["rectified"], total["rectified_major"]
    return {
        "found": found,
        "found_general": found - found_major,
        "found_major": found_major,
        "rectified": rectified,
        "rectified_general": rectified - rectified_major,
        "rectified_major": rectified_major,
        "in_progress": total["in_progress"],
        "not_rectified": total["not_rectified"],
        "overdue": total["overdue"],
        "rectification_rate": _rate(rectified, found),
        "major_rectification_rate": _rate(rectified_major, found_major),
        "funds_wan": round(total["funds_wan"], 4),
        "closed_this_week": total["closed_now"],
    }


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


# ---------------------------------------------------------------- reporting


def received_by(as_of: dt.datetime | None):
    """The condition "received at or before `as_of`" on submissions (always true without one)."""
    return sa.true() if as_of is None else submissions.c.received_epoch <= int(as_of.timestamp())


def reporting_frame(conn: Connection, roster: Roster, settings: Settings, weeks: list[str],
                    as_of: dt.datetime | None = None, only: set[int] | None = None) -> pd.DataFrame:
    """One row per (due school, week): received, on time (by its first accepted file), checks, person-times; as
    the record stood at `as_of` when given (files received later are not there yet). `only`: of these schools."""
    sub = submissions.c
    in_weeks = sa.and_(sub.week >= weeks[0], sub.week <= weeks[-1], sub.school_id.is_not(None), received_by(as_of),
                       sa.true() if only is None else sub.school_id.in_(sorted(only)))
    counted = rows_frame(
        conn.execute(sa.select(sub.school_id, sub.week, sub.checks, sub.check_person_times)
                     .where(in_weeks, sub.outcome == "accepted")).all(),
        ["school_id", "week", "checks", "check_person_times"],
    ).assign(received=True)
    first = rows_frame(
        conn.execute(sa.select(sub.school_id, sub.week, sa.func.min(sub.received_epoch))
                     .where(in_weeks, sub.outcome.in_(("accepted", "superseded")))
                     .group_by(sub.school_id, sub.week)).all(),
        ["school_id", "week", "received_epoch"],
    )
    cutoffs = {week: cutoff(week, settings) for week in weeks if is_reported(week, settings)}
    due = pd.DataFrame(
        [(school.id, week) for week, moment in cutoffs.items() for school in roster.due(moment.date())
         if only is None or school.id in only],
        columns=["school_id", "week"],
    )
    ids = {"school_id": "int64"}  # an empty result is an object column, which does not merge with ids
    frame = (due.astype(ids).merge(counted.astype(ids), on=["school_id", "week"], how="left")
             .merge(first.astype(ids), on=["school_id", "week"], how="left"))
    received = frame["received"].eq(True)
    week_cutoff = frame["week"].map({w: m.timestamp() for w, m in cutoffs.items()})
    on_time = received & (pd.to_numeric(frame["received_epoch"]) < week_cutoff)
    return pd.DataFrame({
        "school_id": frame["school_id"],
        "week": frame["week"],
        "received": received,
        "on_time": on_time,
        "checks": pd.to_numeric(frame["checks"].where(received), errors="coerce").fillna(0).astype(int),
        "check_person_times": pd.to_numeric(frame["check_person_times"].where(received),
                                            errors="coerce").fillna(0).astype(int),
    })


REPORTING = ("due", "received", "on_time", "checks", "check_person_times")  # per school: what reporting adds up


def reporting_sums(r: pd.DataFrame) -> pd.DataFrame:
    """REPORTING per school over (school, week) rows of `reporting_frame`."""
    return (r.assign(due=1).groupby("school_id", as_index=False)[list(REPORTING)].sum()
            .astype(dict.fromkeys(["school_id", *REPORTING], "int64")))


def reporting_totals(conn: Connection, roster: Roster, settings: Settings, weeks: list[str],
                     as_of: dt.datetime | None = None, full: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """REPORTING per school over the weeks, and the (school, week) rows of the last two weeks (every week with
    `full`). Weeks before those, for schools due in all of them, are summed by the database; the few schools
    opened or closed within them are counted from their rows."""
    if full or len(weeks) <= 2:
        r = reporting_frame(conn, roster, settings, weeks, as_of)
        return reporting_sums(r), r
    older = weeks[:-2]
    cutoffs = {w: cutoff(w, settings) for w in older if is_reported(w, settings)}
    partial = {s.id for s in roster.schools if not all(s.active_on(m.date()) for m in cutoffs.values())}
    recent = reporting_frame(conn, roster, settings, weeks[-2:], as_of)
    some = reporting_frame(conn, roster, settings, older, as_of, only=partial) if partial else recent.iloc[0:0]
    summed = _reporting_sums_in_database(conn, cutoffs, as_of)
    summed = summed[~summed["school_id"].isin(partial) & summed["school_id"].isin(roster.by_id)]
    always = pd.DataFrame({"school_id": sorted(set(roster.by_id) - partial)}, dtype="int64")
    older_sums = (always.merge(summed, on="school_id", how="left").fillna(0)
                  .assign(due=len(cutoffs)))  # every one of them was due in every older reported week
    totals = (pd.concat([reporting_sums(recent), reporting_sums(some), older_sums[["school_id", *REPORTING]]],
                        ignore_index=True)
              .groupby("school_id", as_index=False)[list(REPORTING)].sum()
              .astype(dict.fromkeys(["school_id", *REPORTING], "int64")))
    return totals[totals["due"] > 0], recent


def _reporting_sums_in_database(conn: Connection, cutoffs: dict[str, dt.datetime],
                                as_of: dt.datetime | None) -> pd.DataFrame:
    """received, on_time, checks, check_person_times per school over these weeks, as reporting_frame counts them
    (the database groups the files by school and week, then by school)."""
    if not cutoffs:
        return pd.DataFrame(columns=["school_id", *REPORTING[1:]], dtype="int64")
    sub = submissions.c
    accepted = sub.outcome == "accepted"

    def when_accepted(column) -> sa.ColumnElement:
        return sa.func.sum(sa.case((accepted, sa.func.coalesce(column, 0)), else_=0))

    per_week = (
        sa.select(sub.school_id, sub.week,
                  sa.func.max(sa.case((accepted, 1), else_=0)).label("received"),
                  sa.func.min(sub.received_epoch).label("first"),
                  when_accepted(sub.checks).label("checks"), when_accepted(sub.check_person_times).label("persons"))
        .where(sub.week.in_(sorted(cutoffs)), sub.school_id.is_not(None), received_by(as_of),
               sub.outcome.in_(("accepted", "superseded")))
        .group_by(sub.school_id, sub.week)
        .subquery()
    )
    w = per_week.c
    deadline = sa.case(*((w.week == week, int(moment.timestamp())) for week, moment in cutoffs.items()))
    rows = conn.execute(
        sa.select(w.school_id, sa.func.sum(w.received),
                  sa.func.sum(sa.case(((w.received == 1) & (w.first < deadline), 1), else_=0)),
                  sa.func.sum(sa.case((w.received == 1, w.checks), else_=0)),
                  sa.func.sum(sa.case((w.received == 1, w.persons), else_=0)))
        .group_by(w.school_id))
    return rows_frame(rows, ["school_id", *REPORTING[1:]]).astype("int64")


def reporting_figures(r: pd.DataFrame) -> dict:
    """Reporting figures from REPORTING per school (reporting_sums, reporting_totals)."""
    due, received = int(r["due"].sum()), int(r["received"].sum())
    on_time = int(r["on_time"].sum())
    return {
        "due": due,
        "received": received,
        "on_time": on_time,
        "late": received - on_time,
        "missing": due - received,
        "report_rate": _rate(received, due),
        "schools_checked": received,
        "checks": int(r["checks"].sum()),
        "check_person_times": int(r["check_person_times"].sum()),
    }


# ---------------------------------------------------------------- the week


def _block(c: pd.DataFrame, t: pd.DataFrame) -> dict:
    figures = {**reporting_figures(t), **counts_figures(c)}
    return {k: figures[k] for k in FIGURE_KEYS}


def _pair(c: pd.DataFrame, t: pd.DataFrame, r: pd.DataFrame, week: str) -> dict:
    """The 本周 and 累计 blocks from the hazards' COUNTS `c`, the reporting totals `t` and the week's rows in `r`;
    closed_this_week is counted over the 累计 set and shown in both."""
    week_block = _block(c[c["new"]], reporting_sums(r[r["week"] == week]))
    cumulative = _block(c, t)
    week_block["closed_this_week"] = cumulative["closed_this_week"]
    return {"week": week_block, "cumulative": cumulative}


def school_counts(conn: Connection, week: str, first: str, cutoff_date: dt.date,
                  full: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 累计 set's COUNTS per school and `new`, and its hazards with their state and flags: only the open ones,
    the rest summed by the database (settled_counts) — or, with `full`, every hazard read and summed here."""
    if full:
        h = with_flags(hazard_states(conn, week, first), cutoff_date)
        return flag_counts(h, week), h
    h = with_flags(open_and_later_states(conn, week, first), cutoff_date)
    keys = ["school_id", "new"]
    counts = (pd.concat([settled_counts(conn, week, first, cutoff_date), flag_counts(h[h["later"]], week)],
                        ignore_index=True)
              .groupby(keys, as_index=False)[list(COUNTS)].sum())
    return counts, h[~h["done"]].drop(columns="later")


def compute_week(conn: Connection, roster: Roster, settings: Settings, week: str,
                 as_of: dt.datetime | None = None, *, full: bool = False) -> WeekFigures:
    """All figures of a week. With `as_of` (status, reminders: who has sent what by then), the reporting figures
    leave out files received after it; the hazard figures are the record's. `hazards` holds the open hazards of
    the 累计 set (every one with `full`: the web page's 隐患台账, and the tests' full recomputation)."""
    week_cutoff = cutoff(week, settings)
    first = campaign_first_week(conn, settings) or week
    first = min(first, week)
    weeks = weeks_between(first, week)
    counts, h = school_counts(conn, week, first, week_cutoff.date(), full)
    t, r = reporting_totals(conn, roster, settings, weeks, as_of, full)
    schools = roster.by_id
    zone_of = {k: s.zone for k, s in schools.items()}
    stage_of = {k: s.stage for k, s in schools.items()}
    h = h[h["school_id"].isin(schools)]  # hazards of schools the roster still lists
    h = h.assign(
        zone=h["school_id"].map(zone_of),
        stage=h["school_id"].map(stage_of),
        school_name=h["school_id"].map({k: s.name for k, s in schools.items()}),
    )
    counts = counts[counts["school_id"].isin(schools)]
    counts = counts.assign(zone=counts["school_id"].map(zone_of), stage=counts["school_id"].map(stage_of))
    r = r.assign(zone=r["school_id"].map(zone_of), stage=r["school_id"].map(stage_of))
    t = t.assign(zone=t["school_id"].map(zone_of), stage=t["school_id"].map(stage_of))
    zones = list(dict.fromkeys(s.zone for s in roster.schools))
    leaders = {s.zone: s.zone_leader for s in roster.schools}

    def pair(column: str, value: str) -> dict:
        return _pair(counts[counts[column] == value], t[t[column] == value], r[r[column] == value], week)

    by_zone = [{"zone": z, "zone_leader": leaders[z], **pair("zone", z)} for z in zones]
    by_stage = [{"stage": s, **pair("stage", s)} for s in STAGES]
    this_week = r[r["week"] == week]
    missing = [  # in the order of WeekFigures.missing_ids
        {"school_code": schools[k].code, "school_name": schools[k].name, "zone": schools[k].zone,
         "section_owner": schools[k].section_owner}
        for k in this_week.loc[~this_week["received"], "school_id"]
    ]
    return WeekFigures(
        week=week,
        cutoff=week_cutoff,
        first_week=first,
        totals=_pair(counts, t, r, week),
        by_zone=by_zone,
        by_stage=by_stage,
        missing_units=missing,
        hazards=h,
        reporting=r,
        counts=counts,
        as_of=as_of,
    )
