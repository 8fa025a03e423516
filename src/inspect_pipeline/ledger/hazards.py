"""Hazards across weeks as the record holds them: each school's known hazards with their counted history
(matched to a file's rows by intake.match), first weeks in week order, and the ledger's current page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..record.db import hazard_spans, hazard_state, hazards, observations, submissions
from ..record.bulk import id_set


@dataclass(slots=True)
class Known:
    """A hazard of the school as the record knows it."""

    id: int
    code: str
    identity: str
    first_week: str
    found_date: dt.date
    # (week, status, description, submission id) of each counted observation, any order
    history: list[tuple[str, str, str, int]] = field(default_factory=list)
    first_submission_id: int | None = None  # set for hazards first recorded in this run (to be inserted)

    def state_before(self, week: str) -> tuple[str, str] | None:
        """(status, description) of the latest counted observation before `week`."""
        earlier = [h for h in self.history if h[0] < week]
        if not earlier:
            return None
        latest = max(earlier, key=lambda h: h[0])
        return latest[1], latest[2]


@dataclass(slots=True)
class SchoolLedger:
    """Every known hazard of one school."""

    by_code: dict[str, Known] = field(default_factory=dict)
    by_identity: dict[str, Known] = field(default_factory=dict)

    def add(self, known: Known) -> None:
        self.by_code[known.code] = known
        self.by_identity[known.identity] = known

    def record(self, rows: list[tuple[Known, dict]], week: str, submission_id: int) -> None:
        """Count an accepted file's rows (each with its hazard) as the hazards' latest state for its week."""
        for known, row in rows:
            known.history.append((week, row["status"], row["description"], submission_id))

    def forget(self, submission_id: int) -> None:
        """Stop counting a superseded file."""
        for known in self.by_code.values():
            known.history = [h for h in known.history if h[3] != submission_id]


def load_ledgers(conn: Connection, school_ids: set[int], since: str | None = None) -> dict[int, SchoolLedger]:
    """The known hazards of these schools, with the status of each counted observation — from week `since` on,
    and each hazard's latest one before it (all that `Known.state_before` needs for files of that week or
    later: a school's whole history is not held in memory)."""
    ledgers: dict[int, SchoolLedger] = {k: SchoolLedger() for k in school_ids}
    if not school_ids:
        return ledgers
    keys = sorted(school_ids)
    known: dict[int, Known] = {}
    for chunk in _chunks(keys, 500):
        rows = conn.execute(
            sa.select(
                hazards.c.id, hazards.c.school_id, hazards.c.code, hazards.c.identity, hazards.c.first_week,
                hazards.c.found_date,
            ).where(hazards.c.school_id.in_(chunk))
        )
        for hid, key, code, ident, first_week, found in rows:
            k = Known(hid, code, ident, first_week, found)
            known[hid] = k
            ledgers[key].add(k)
        for hid, week, status, description, sid in _counted_history(conn, chunk, since):
            known[hid].history.append((week, status, description, sid))
    return ledgers


def _counted_history(conn: Connection, school_ids: list[int], since: str | None):
    """(hazard id, week, status, description, submission id) of the counted observations of these schools' hazards:
    every one (no `since`), else those of `since` and later and each hazard's latest before it."""
    o, s = observations.c, submissions.c
    counted = sa.and_(s.outcome == "accepted", s.school_id.in_(school_ids))
    columns = (o.hazard_id, o.week, o.status, o.description, o.submission_id)
    query = sa.select(*columns).join(submissions, s.id == o.submission_id).where(counted)
    if since is None:
        return conn.execute(query).all()
    ranked = (
        sa.select(*columns, sa.func.row_number().over(partition_by=o.hazard_id, order_by=o.week.desc()).label("rn"))
        .join(submissions, s.id == o.submission_id)
        .where(counted, o.week < since)
        .subquery()
    )
    before = sa.select(*(ranked.c[c.name] for c in columns)).where(ranked.c.rn == 1)
    return [*conn.execute(before), *conn.execute(query.where(o.week >= since))]


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i : i + n]


# ---------------------------------------------------------------- first weeks


def recount_new(conn: Connection, hazard_ids: set[int]) -> None:
    """Make "new" mean new in week order for these hazards, whatever order their files arrived in: a hazard's
    first week is the earliest week of its counted observations; an observation is new when it is of that week;
    a file's `new` is the number of its new observations. A late file for an earlier week, or a replacement that
    drops a hazard, moves these for the later weeks' files too (their receipts, already sent, are not reissued)."""
    o = observations.c
    ids = sorted(hazard_ids)
    for chunk in _chunks(ids, 500):
        rows = conn.execute(
            sa.select(o.id, o.hazard_id, o.week, o.is_new, o.counted, o.submission_id).where(o.hazard_id.in_(chunk))
        ).all()
        first: dict[int, str] = {}
        for _, hid, week, _, counted, _ in rows:
            if counted and (hid not in first or week < first[hid]):
                first[hid] = week
        changed = [(oid, week == first[hid], sid) for oid, hid, week, is_new, _, sid in rows
                   if hid in first and (week == first[hid]) != bool(is_new)]
        for hid, week in first.items():
            conn.execute(hazards.update().where(hazards.c.id == hid, hazards.c.first_week != week)
                         .values(first_week=week))
        for flag in (True, False):
            oids = [oid for oid, new, _ in changed if new is flag]
            for part in _chunks(oids, 500):
                conn.execute(observations.update().where(o.id.in_(part)).values(is_new=flag))
        subs = sorted({sid for _, _, sid in changed})
        for part in _chunks(subs, 500):
            new_count = (sa.select(sa.func.count()).select_from(observations)
                         .where(o.submission_id == submissions.c.id, o.is_new.is_(True)).scalar_subquery())
            conn.execute(submissions.update().where(submissions.c.id.in_(part)).values(new=new_count))


# ---------------------------------------------------------------- the ledger's current page


def counted_history(ids, *columns) -> sa.Select:
    """`columns` of the counted observations, with each hazard's first counted week (`first_week`), of the hazards
    `ids` (a list, or a select of their ids; None: all); add conditions on the observations with `.where`, before
    the window."""
    o = observations.c
    query = sa.select(*columns, sa.func.min(o.week).over(partition_by=o.hazard_id).label("first_week"))
    query = query.where(o.counted == sa.true())
    return query if ids is None else query.where(o.hazard_id.in_(ids))


def _latest_select(ids):
    """Each hazard's latest counted observation (optionally of some hazards only: a list, or a select of their
    ids), ready to insert."""
    o = observations.c
    by_hazard = {"partition_by": o.hazard_id, "order_by": o.week.desc()}
    ranked = counted_history(
        ids,
        o.hazard_id,
        o.week,
        o.id.label("observation_id"),
        o.status,
        o.level,
        o.mode,
        o.deadline,
        o.funds_wan,
        sa.func.row_number().over(**by_hazard).label("rn"),
        sa.func.lead(o.status).over(**by_hazard).label("prev_status"),
    ).subquery()
    return sa.select(
        ranked.c.hazard_id, hazards.c.school_id, ranked.c.first_week, ranked.c.week, ranked.c.observation_id,
        ranked.c.status, ranked.c.prev_status, ranked.c.level, ranked.c.mode, ranked.c.deadline, ranked.c.funds_wan,
        hazards.c.code, hazards.c.found_date,
    ).join(hazards, hazards.c.id == ranked.c.hazard_id).where(ranked.c.rn == 1)


_STATE_COLUMNS = ["hazard_id", "school_id", "first_week", "week", "observation_id", "status", "prev_status", "level",
                  "mode", "deadline", "funds_wan", "code", "found_date"]


def _spans_select(ids):
    """Each hazard's spans (hazard_spans): its counted observations that changed its status (or are its first),
    each until the next one; optionally of some hazards only."""
    o = observations.c
    by_hazard = {"partition_by": o.hazard_id, "order_by": o.week}
    t = counted_history(ids, o.hazard_id, o.week, o.status,
                        sa.func.lag(o.status).over(**by_hazard).label("before")).subquery()
    return (
        sa.select(t.c.hazard_id, hazards.c.school_id, t.c.first_week, t.c.status, t.c.week,
                  sa.func.lead(t.c.week).over(partition_by=t.c.hazard_id, order_by=t.c.week))
        .join(hazards, hazards.c.id == t.c.hazard_id)
        .where(t.c.before.is_(None) | (t.c.before != t.c.status))
    )


_SPAN_COLUMNS = ["hazard_id", "school_id", "first_week", "status", "week_from", "week_to"]


def rebuild_state(conn: Connection) -> None:
    """Recompute the whole current page and the spans from the history (e.g. after a history was loaded
    directly)."""
    conn.execute(hazard_state.delete())
    conn.execute(hazard_state.insert().from_select(_STATE_COLUMNS, _latest_select(None)))
    conn.execute(hazard_spans.delete())
    conn.execute(hazard_spans.insert().from_select(_SPAN_COLUMNS, _spans_select(None)))


def refresh_state(conn: Connection, hazard_ids: set[int]) -> None:
    """Recompute the current state and the spans of these hazards (after new, superseded or late files touched
    them): four statements, however many hazards (`id_set`)."""
    if hazard_ids:
        with id_set(conn, sorted(hazard_ids), "touched_hazards") as ids:
            _refresh(conn, ids)


def _refresh(conn: Connection, ids) -> None:
    """Replace the state and the spans of the hazards `ids` (a list, or a select of their ids)."""
    conn.execute(hazard_state.delete().where(hazard_state.c.hazard_id.in_(ids)))
    conn.execute(hazard_state.insert().from_select(_STATE_COLUMNS, _latest_select(ids)))
    conn.execute(hazard_spans.delete().where(hazard_spans.c.hazard_id.in_(ids)))
    conn.execute(hazard_spans.insert().from_select(_SPAN_COLUMNS, _spans_select(ids)))

