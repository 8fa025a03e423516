"""Reporting weeks: named by the ISO week of their cutoff date (`2023-W47` closes Fri 2023-11-24 12:00)."""

from __future__ import annotations

import datetime as dt
import re

from .errors import ConfigError
from .settings import Settings

_LABEL = re.compile(r"^(\d{4})-W(\d{1,2})$")


def week_label(year: int, week: int) -> str:
    return f"{year}-W{week:02d}"


def parse_label(label: str) -> tuple[int, int]:
    """(year, week) of a label like `2023-W47`; ValueError if malformed."""
    m = _LABEL.match(label.strip())
    if not m:
        raise ValueError(f"not a week label: {label!r} (expected e.g. 2023-W47)")
    year, week = int(m[1]), int(m[2])
    dt.date.fromisocalendar(year, week, 1)  # raises for week 53 of a 52-week year
    return year, week


def is_valid_week(year: int, week: int) -> bool:
    try:
        dt.date.fromisocalendar(year, week, 1)
    except ValueError:
        return False
    return True


def shift(label: str, weeks: int) -> str:
    """The week `weeks` after (negative: before) `label`."""
    year, week = parse_label(label)
    monday = dt.date.fromisocalendar(year, week, 1) + dt.timedelta(weeks=weeks)
    iso = monday.isocalendar()
    return week_label(iso.year, iso.week)


def cutoff(label: str, settings: Settings) -> dt.datetime:
    """The week's cutoff as an aware datetime in the configured time zone (a moved cutoff wins)."""
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
    return label.replace("-", "")
