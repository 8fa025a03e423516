"""Deadline warnings (整改到期预警, outputs.md §4a): per 包校责任人, the open hazards of their schools whose 整改时限
falls within the next N calendar days from a moment (inclusive: 0 days left is due today) and those already
overdue, 重大 first; and a summary per 包片领导.

The hazards are the week's figures' (`figures.compute_week`: the 累计 set with its state, `done`, `major`); the
deadline is the one the figures count (`figures.effective_deadline`: a 立即整改 hazard's deadline is its found
date). Only the reference day differs from the figures' 逾期: the local date of the moment (the round's), not the
week's cutoff. Each hazard is listed once, under the 包校责任人 the given roster names for its school.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Connection

from ..schools.roster import Roster
from .figures import effective_deadline, hazard_details

DUE, OVERDUE = "即将到期", "已逾期"


@dataclass
class DeadlineWarnings:
    today: dt.date  # the local date the days are counted from
    days: int  # the window: due within `days` calendar days from `today`, inclusive
    owners: list[dict]  # per 包校责任人 with anything listed: section, section_owner, zone, zone_leader, counts,
    #                     due (hazards due soon) and overdue (hazards overdue), each 重大 first
    leaders: list[dict]  # per 包片领导 (zone): counts over their owners

    @property
    def hazards(self) -> list[dict]:
        """Every hazard listed, owner by owner (due, then overdue)."""
        return [h for o in self.owners for h in (*o["due"], *o["overdue"])]

    @property
    def counts(self) -> dict:
        return {"days": self.days, **{k: sum(o[k] for o in self.owners) for k in COUNT_KEYS},
                "owners": len(self.owners)}


COUNT_KEYS = ("due_count", "due_major", "overdue_count", "overdue_major")


def days_left(h: pd.DataFrame, today: dt.date) -> pd.Series:
    """Calendar days from `today` to each hazard's deadline (negative: overdue by that many; NaN: no deadline)."""
    return (effective_deadline(h) - pd.Timestamp(today)).dt.days


def flag_deadlines(h: pd.DataFrame, today: dt.date, days: int) -> pd.DataFrame:
    """The hazards (with `done`) with `days_left` and `warning`: 即将到期 for open ones due within `days` days
    (inclusive), 已逾期 for open ones past their deadline, None otherwise."""
    due_date = effective_deadline(h)
    left = (due_date - pd.Timestamp(today)).dt.days
    open_ = ~h["done"].astype(bool)
    warning = pd.Series(None, index=h.index, dtype=object)
    warning[open_ & (left >= 0) & (left <= days)] = DUE
    warning[open_ & (left < 0)] = OVERDUE
    return h.assign(due_date=due_date, days_left=left, warning=warning)


def left_text(days_left: int) -> str:
    if days_left < 0:
        return f"逾期{-days_left}天"
    return "今天到期" if days_left == 0 else f"剩{days_left}天"


def deadline_warnings(conn: Connection, hazards: pd.DataFrame, roster: Roster, today: dt.date,
                      days: int) -> DeadlineWarnings:
    """The warnings over the week's hazards (`WeekFigures.hazards`), attributed by `roster` (the week's)."""
    schools = roster.by_id
    listed = pd.DataFrame()
    if not hazards.empty:
        flagged = flag_deadlines(hazards, today, days)
        listed = flagged[flagged["warning"].notna() & flagged["school_id"].isin(schools)]
    rows: list[dict] = []
    if not listed.empty:
        listed = listed.merge(hazard_details(conn, [int(i) for i in listed["observation_id"]]), on="observation_id")
        for r in listed.to_dict("records"):
            school = schools[int(r["school_id"])]
            left = int(r["days_left"])
            rows.append({
                "hazard_id": int(r["hazard_id"]),
                "code": r["code"] or "",
                **school.responsibility,
                "location": _text(r.get("location")),
                "description": _text(r.get("description")),
                "level": r["level"] or "",
                "major": bool(r["major"]),
                "status": r["status"] or "",
                "mode": r["mode"] or "",
                "deadline": r["due_date"].date(),
                "days_left": left,
                "left_text": left_text(left),
                "warning": r["warning"],
            })
    position = {s.id: i for i, s in enumerate(roster.schools)}
    rows.sort(key=lambda h: (not h["major"], h["days_left"], position[h["school_id"]], h["code"]))
    owners = _owners(roster, rows)
    return DeadlineWarnings(today, days, owners, _leaders(owners))


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else " ".join(str(value).split())


def _owners(roster: Roster, rows: list[dict]) -> list[dict]:
    """Owners (包校科室, 包校责任人) with hazards listed, in roster order."""
    mine: dict[tuple[str, str], list[dict]] = {(s.section, s.section_owner): [] for s in roster.schools}
    for h in rows:
        mine[(h["section"], h["section_owner"])].append(h)
    return [owner_entry(section, owner, hazards) for (section, owner), hazards in mine.items() if hazards]


def owner_entry(section: str, owner: str, hazards: list[dict]) -> dict:
    """One 包校责任人's entry over their listed hazards (in order): zones, counts, due and overdue."""
    due = [h for h in hazards if h["warning"] == DUE]
    overdue = [h for h in hazards if h["warning"] == OVERDUE]
    return {
        "section": section,
        "section_owner": owner,
        "zone": "、".join(dict.fromkeys(h["zone"] for h in hazards)),
        "zone_leader": "、".join(dict.fromkeys(h["zone_leader"] for h in hazards)),
        "due_count": len(due),
        "due_major": sum(h["major"] for h in due),
        "overdue_count": len(overdue),
        "overdue_major": sum(h["major"] for h in overdue),
        "due": due,
        "overdue": overdue,
    }


def _leaders(owners: list[dict]) -> list[dict]:
    """Per 片区 and 包片领导: the counts of its hazards listed and the owners concerned."""
    out: dict[tuple[str, str], dict] = {}
    for o in owners:
        for h in (*o["due"], *o["overdue"]):
            entry = out.setdefault((h["zone"], h["zone_leader"]), {
                "zone": h["zone"], "zone_leader": h["zone_leader"], "owners": [],
                **{k: 0 for k in COUNT_KEYS}})
            if o["section_owner"] not in entry["owners"]:
                entry["owners"].append(o["section_owner"])
            prefix = "due" if h["warning"] == DUE else "overdue"
            entry[f"{prefix}_count"] += 1
            entry[f"{prefix}_major"] += int(h["major"])
    return [{**e, "owners": "、".join(e["owners"])} for e in out.values()]
