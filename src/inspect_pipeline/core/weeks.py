"""Reporting weeks: named by the ISO week of their cutoff date (`2023-W47` closes Fri 2023-11-24 12:00).

`Week` is the value; the calendar (a week's cutoff, the week of a moment, whether a week is reported) is built from
the settings. The record and the folders hold a week as its canonical label (`Week.label`), which sorts as weeks do.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:  # the settings parse their week labels with Week: no import at run time
    from .settings import Settings

# 2023-W47, 2023W47, 2023-w9, 2023 W09, 2023年第47周, 2023年47周
_TEXT = re.compile(r"^\s*(\d{4})\s*(?:-?\s*[Ww]\s*(\d{1,2})|年\s*第?\s*(\d{1,2})\s*周)\s*$")


@dataclass(frozen=True, order=True, slots=True)
class Week:
    """An ISO week (year, number), ordered in time; written `2023-W47`."""

    year: int
    number: int

    def __post_init__(self) -> None:
        dt.date.fromisocalendar(self.year, self.number, 1)  # ValueError for week 53 of a 52-week year, or week 0

    @classmethod
    def parse(cls, text: str | Week) -> Week:
        """The week of `2023-W9`, `2023w09`, `2023-W09` or `2023年第9周`; ValueError for anything else."""
        if isinstance(text, Week):
            return text
        if not isinstance(text, str):
            raise ValueError(f"not a week: {text!r} (expected e.g. 2023-W47)")
        return _parsed(text) if len(text) <= 32 else _parsed.__wrapped__(text)  # a long text is not kept

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    def __str__(self) -> str:
        return self.label

    def shift(self, weeks: int) -> Week:
        iso = (dt.date.fromisocalendar(self.year, self.number, 1) + dt.timedelta(weeks=weeks)).isocalendar()
        return Week(iso.year, iso.week)


@functools.lru_cache(maxsize=4096)
def _parsed(text: str) -> Week:
    """The Week a text names (Week.parse; the record and the ledger name the same few weeks thousands of times)."""
    found = _TEXT.match(text)
    if found is None:
        raise ValueError(f"not a week: {text!r} (expected e.g. 2023-W47)")
    return Week(int(found[1]), int(found[2] or found[3]))


def week_label(year: int, week: int) -> str:
    return Week(year, week).label


def parse_label(label: str) -> tuple[int, int]:
    """(year, week) of a week as `Week.parse` reads it; ValueError if it is none."""
    week = Week.parse(label)
    return week.year, week.number


def canonical(label: str) -> str:
    """The label of a week written in any form `Week.parse` reads (`2023-W9` → `2023-W09`)."""
    return Week.parse(label).label


def is_valid_week(year: int, week: int) -> bool:
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return False
    return True


def shift(label: str, weeks: int) -> str:
    """The week `weeks` after (negative: before) `label`."""
    return Week.parse(label).shift(weeks).label


def is_reported(label: str, settings: Settings) -> bool:
    """Whether units are due in the week (not one of no_report_weeks)."""
    return canonical(label) not in settings.no_report_weeks


def cutoff(label: str, settings: Settings) -> dt.datetime:
    """The week's cutoff as an aware datetime in the configured time zone (a moved cutoff wins)."""
    label = canonical(label)
    override = settings.cutoff_overrides.get(label)
    if override is not None:
        return override if override.tzinfo else override.replace(tzinfo=settings.tz)
    year, week = parse_label(label)
    day = dt.date.fromisocalendar(year, week, settings.cutoff_weekday)
    return dt.datetime.combine(day, settings.cutoff_time, tzinfo=settings.tz)


def week_of(moment: dt.datetime, settings: Settings) -> str:
    """The week a moment belongs to: the one whose cutoff is the first strictly after it."""
    iso = moment.astimezone(settings.tz).date().isocalendar()
    here = week_label(iso.year, iso.week)
    candidates = [shift(here, k) for k in (-1, 0, 1, 2)]
    return min((w for w in candidates if cutoff(w, settings) > moment), key=lambda w: cutoff(w, settings))


def parse_moment(text: str, tz: dt.tzinfo) -> dt.datetime:
    """A run's clock given as ISO 8601 (`--now`); a time without offset is in `tz`. ConfigError if unreadable."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--now “{text}” 不是 ISO 8601 时间（例如 2023-11-23T10:00:00+08:00）") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def closed_week(moment: dt.datetime, settings: Settings) -> str:
    """The last week whose cutoff has passed at `moment` (the week a Friday-afternoon report is for)."""
    return shift(week_of(moment, settings), -1)


def compact(label: str) -> str:
    """`2023-W47` → `2023W47` (as used inside hazard numbers)."""
    return canonical(label).replace("-", "")


def chinese(label: str) -> str:
    """`2023-W47` as schools write it: `2023年第47周`."""
    year, number = parse_label(label)
    return f"{year}年第{number}周"


def spoken(label: str, settings: Settings) -> str:
    """The week as a reader says it, with the seven days that end on its cutoff day:
    `2023年第47周（11月18日—11月24日）`."""
    last = cutoff(label, settings).date()
    first = last - dt.timedelta(days=6)
    return f"{chinese(label)}（{first.month}月{first.day}日—{last.month}月{last.day}日）"
