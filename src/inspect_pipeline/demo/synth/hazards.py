"""Hazards: `Hazard` (one hazard as the school means it, the truth behind a row), a school's staff and phone
(`SchoolContext`, the same people every week), new hazards drawn from the vocabulary, a hazard a week later
(`advance`: statuses move forward, never back), and a school's hazards for a week (`fresh_ledger` the first time,
`week_ledger` when carried over).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass

from .vocabulary import (
    CATEGORY_WEIGHTS,
    HAZARDS_BY_CATEGORY,
    RECTIFIED,
    REMARKS,
    category_codes,
    fold_key,
    phone_number,
    unique_person,
)
from .week_dates import WeekDates


@dataclass
class Hazard:
    """One hazard as the school means it (the truth behind a row); fields are submission column ids."""

    found_date: dt.date
    source: str
    location: str
    category: str  # canonical (消防安全 …)
    description: str
    level: str  # 一般 | 重大
    mode: str | None  # 立即整改 | 限期整改
    measures: str | None
    owner: str
    deadline: dt.date | None
    funds_wan: float | None
    interim_control: str | None
    status: str
    done_date: dt.date | None
    verifier: str | None
    remarks: str | None

    @property
    def identity(self) -> str:
        """The spec's cross-week identity (found_date, location, description), as one string."""
        return f"{self.found_date.isoformat()}|{fold_key(self.location)}|{fold_key(self.description)}"

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("found_date", "deadline", "done_date"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    @classmethod
    def from_json(cls, d: dict) -> Hazard:
        d = dict(d)
        for k in ("found_date", "deadline", "done_date"):
            d[k] = dt.date.fromisoformat(d[k]) if d[k] else None
        return cls(**d)


@dataclass
class SchoolContext:
    school: dict
    staff: list[str]  # [principal, vice, 总务主任, 安全专干, teacher, teacher]
    phone: str

    @property
    def code(self) -> str:
        return self.school["school_code"]

    @property
    def name(self) -> str:
        return self.school["school_name"]


def school_context(school: dict) -> SchoolContext:
    rng = random.Random(f"staff:{school['school_code']}")  # the same people every week
    used: set[str] = set()
    staff = [unique_person(rng, used) for _ in range(6)]
    return SchoolContext(school, staff, phone_number(rng))


def _categories_for(stage: str) -> tuple[list[str], list[int]]:
    cats = [c for c in CATEGORY_WEIGHTS if not (c == "SY" and stage in ("幼儿园", "特教"))]
    return cats, [CATEGORY_WEIGHTS[c] for c in cats]


def new_hazard(rng: random.Random, sc: SchoolContext, wk: WeekDates, used: set[tuple[str, str]], *,
               found_from: dt.date, found_to: dt.date, older: bool = False, major_p: float = 0.05) -> Hazard:
    stage = sc.school["stage"]
    cats, weights = _categories_for(stage)
    canon = category_codes()
    major = rng.random() < major_p
    if major:  # 重大 hazards come from the categories that have them
        weights = [w if HAZARDS_BY_CATEGORY[c]["major"] else 0 for c, w in zip(cats, weights)]
    for attempt in range(60):
        code = rng.choices(cats, weights)[0]
        pool = HAZARDS_BY_CATEGORY[code]
        loc = rng.choice(pool["loc"])
        if major:
            desc, measures, interim = rng.choice(pool["major"])
        else:
            desc, measures = rng.choice(pool["items"])
            interim = None
        if attempt > 20:
            desc = f"{desc}（{rng.choice(['东侧', '西侧', '南侧', '北侧', '二层', '三层'])}{rng.randint(1, 9)}处）"
        if (loc, desc) not in used:
            used.add((loc, desc))
            break
    span = (found_to - found_from).days
    found = found_from + dt.timedelta(days=rng.randint(0, max(0, span)))
    owner = rng.choice(sc.staff[1:5])
    source = rng.choices(["学校自查", "包片包校督查", "上级督查", "专项检查", "联合检查", "群众举报"],
                         [80, 12, 4, 3, 1, 0.5])[0]
    if major:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改"], [40, 50, 10])[0]
        deadline = found + dt.timedelta(days=rng.choice([30, 45, 60, 90, 120]))
        funds = round(rng.uniform(2, 50), 2)
    elif older:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改"], [20, 50, 30])[0]
        deadline = found + dt.timedelta(days=rng.choice([7, 10, 14, 15, 20, 30, 45, 60]))
        funds = _small_funds(rng) if rng.random() < 0.6 else None
    elif rng.random() < 0.4:
        mode = "立即整改"
        status = rng.choices(["已整改", "已销号", "整改中"], [75, 15, 10])[0]
        deadline = None
        funds = round(max(0.01, _small_funds(rng) / 4), 2) if rng.random() < 0.4 else None
    else:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改", "已销号"], [25, 40, 28, 7])[0]
        deadline = found + dt.timedelta(days=rng.choice([3, 5, 7, 7, 10, 14, 15, 20, 30]))
        funds = _small_funds(rng) if rng.random() < 0.6 else None
    if code == "GL" and not major:
        funds = None
    done = None
    if status in RECTIFIED:
        latest = wk.last_day
        if mode == "立即整改":
            done = min(found + dt.timedelta(days=rng.choice([0, 0, 1])), latest)
        else:
            done = found + dt.timedelta(days=rng.randint(0, max(0, (latest - found).days)))
    verifier = sc.staff[0] if status == "已销号" else None
    remarks = rng.choice(REMARKS) if rng.random() < 0.12 else None
    return Hazard(found, source, loc, canon[code], desc, "重大" if major else "一般", mode, measures, owner,
                  deadline, funds, interim, status, done, verifier, remarks)


def _small_funds(rng: random.Random) -> float:
    """Funds of an ordinary hazard in 万元: mostly a few hundred yuan, sometimes a few ten thousand."""
    base = rng.choice([0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0])
    return max(0.01, round(base * rng.uniform(0.8, 1.25), 2))


def _advance(h: Hazard, rng: random.Random, sc: SchoolContext, wk: WeekDates) -> Hazard:
    """The same hazard a week later: its status moves on (never back)."""
    h = Hazard(**asdict(h))
    r = rng.random()
    if h.status == "未整改":
        h.status = "整改中" if r < 0.35 else "已整改" if r < 0.6 else "未整改"
    elif h.status == "整改中":
        h.status = "已整改" if r < 0.45 else "整改中"
    elif h.status == "已整改":
        if r < 0.55:
            h.status = "已销号"
            h.verifier = sc.staff[0]
    if h.status in RECTIFIED and h.done_date is None:
        start = max(h.found_date, wk.monday)
        h.done_date = start + dt.timedelta(days=rng.randint(0, max(0, (wk.last_day - start).days)))
    return h


def fresh_ledger(rng: random.Random, sc: SchoolContext, wk: WeekDates, n: int, *, old_hazard: bool) -> list[Hazard]:
    """A school's hazards the first time it is generated: this week's finds plus older open ones."""
    used: set[tuple[str, str]] = set()
    n_new = max(0, round(n * 0.6)) if n > 1 else n
    n_old = n - n_new
    out = [new_hazard(rng, sc, wk, used, found_from=wk.monday - dt.timedelta(weeks=8),
                      found_to=wk.monday - dt.timedelta(days=3), older=True) for _ in range(n_old)]
    if old_hazard:
        h = new_hazard(rng, sc, wk, used, found_from=wk.cutoff_date - dt.timedelta(days=520),
                       found_to=wk.cutoff_date - dt.timedelta(days=380), older=True)
        h.status, h.done_date, h.verifier = "未整改", None, None
        h.remarks = "需上级解决"
        out.append(h)
    out.sort(key=lambda h: h.found_date)
    new = [new_hazard(rng, sc, wk, used, found_from=wk.monday, found_to=wk.last_day) for _ in range(n_new)]
    new.sort(key=lambda h: h.found_date)
    return out + new


def week_ledger(rng: random.Random, sc: SchoolContext, wk: WeekDates, carried: list[Hazard], n: int) -> list[Hazard]:
    used = {(h.location, h.description) for h in carried}
    n_new = max(0, n - len(carried)) if len(carried) < n else rng.randint(0, max(1, n // 3))
    new = [new_hazard(rng, sc, wk, used, found_from=wk.monday, found_to=wk.last_day) for _ in range(n_new)]
    new.sort(key=lambda h: h.found_date)
    return [_advance(h, rng, sc, wk) for h in carried] + new


def share_location(rng: random.Random, hazards: list[Hazard], first_new: int) -> None:
    """Two adjacent hazards found this week at the same place (one 部位 cell merged over both)."""
    pairs = list(range(first_new, len(hazards) - 1))
    rng.shuffle(pairs)
    taken = {(h.location, h.description) for h in hazards}
    for i in pairs:
        a, b = hazards[i], hazards[i + 1]
        if a.location == b.location or (a.location, b.description) not in taken:
            taken.discard((b.location, b.description))
            b.location = a.location
            taken.add((b.location, b.description))
            return


def hazard_dict(h: Hazard) -> dict:
    return asdict(h)
