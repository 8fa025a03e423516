"""When `serve` runs the weekly report and the reminder rounds: placed relative to each week's own cutoff
(operations.md §Orchestration), so a moved cutoff (调休) moves them and a non-reporting week (寒暑假) has none.

Pure calendar arithmetic over the settings (no Prefect, no I/O). A reminder round is written as an offset in days
from the cutoff's day and a local time: `"-1d 15:00"` = the day before the cutoff day at 15:00, `"0d 09:00"` = the
cutoff day at 09:00. A round that would fall at or after its week's cutoff is dropped (nobody can still report on
time). The report fires `report_delay_minutes` after the cutoff.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .weeks import cutoff, is_reported, shift, week_of

if TYPE_CHECKING:  # the settings validate their rounds with parse_round: no import at run time
    from .settings import Settings

_ROUND = re.compile(r"^\s*([+-]?\d{1,2})\s*d\s+(\d{1,2}):(\d{2})\s*$")
KINDS = {"weekly-report": "周报", "reminders": "催报"}


def parse_round(text: str) -> tuple[int, dt.time]:
    """(days from the cutoff day, local time) of `"-1d 15:00"`; ValueError for anything else."""
    found = _ROUND.match(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not a reminder round: {text!r} (expected e.g. \"-1d 15:00\")")
    return int(found[1]), dt.time(int(found[2]), int(found[3]))


@dataclass(frozen=True, order=True, slots=True)
class Fire:
    """One planned run: when, which deployment (`weekly-report` or `reminders`) and for which week."""

    at: dt.datetime
    kind: str
    week: str

    @property
    def title(self) -> str:
        return KINDS.get(self.kind, self.kind)


def report_time(week: str, settings: Settings) -> dt.datetime | None:
    """When the week's report is built: its cutoff plus the delay; None in a non-reporting week."""
    if not is_reported(week, settings):
        return None
    return cutoff(week, settings) + dt.timedelta(minutes=settings.schedule.report_delay_minutes)


def reminder_times(week: str, settings: Settings) -> list[dt.datetime]:
    """The week's reminder rounds, in order: none in a non-reporting week, none at or after its cutoff."""
    if not is_reported(week, settings):
        return []
    closes = cutoff(week, settings)
    day = closes.astimezone(settings.tz).date()
    times = set()
    for text in settings.schedule.reminder_rounds:
        days, at = parse_round(text)
        moment = dt.datetime.combine(day + dt.timedelta(days=days), at, tzinfo=settings.tz)
        if moment < closes:
            times.add(moment)
    return sorted(times)


def fires(week: str, settings: Settings) -> list[Fire]:
    """Every planned run of one week."""
    planned = [Fire(at, "reminders", week) for at in reminder_times(week, settings)]
    report = report_time(week, settings)
    if report is not None:
        planned.append(Fire(report, "weekly-report", week))
    return sorted(planned)


def next_fires(settings: Settings, now: dt.datetime, weeks: int = 2) -> list[Fire]:
    """The runs planned strictly after `now`, for the week open at `now`, the one before it (its report may still
    be ahead) and the `weeks` - 1 after it; in time order."""
    here = week_of(now, settings)
    planned = [f for k in range(-1, weeks) for f in fires(shift(here, k), settings) if f.at > now]
    return sorted(planned)


def upcoming(settings: Settings, now: dt.datetime, count: int = 4) -> list[Fire]:
    """The next `count` planned runs after `now` (what `status` and the web page show), looking up to a term
    ahead so a holiday stretch does not hide the next run."""
    return next_fires(settings, now, weeks=30)[:count]


def report_due(settings: Settings, now: dt.datetime, built: set[str], horizon: int = 1) -> list[str]:
    """Weeks whose report fell due before `now` (within the last `horizon` weeks) and is not among `built`:
    what `serve` builds when it starts after the PC was off."""
    closed = shift(week_of(now, settings), -1)
    due = []
    for k in range(horizon - 1, -1, -1):
        week = shift(closed, -k)
        at = report_time(week, settings)
        if at is not None and at <= now and week not in built:
            due.append(week)
    return due


# ---------------------------------------------------------------- old crons (config_version 1)


def _cron_weekly(cron: str) -> tuple[int, dt.time] | None:
    """(ISO weekday, time) of a cron firing once a week at a fixed time (`30 12 * * 5`); None otherwise."""
    parts = cron.split()
    if len(parts) != 5 or parts[2:4] != ["*", "*"] or not all(p.isdigit() for p in (parts[0], parts[1], parts[4])):
        return None
    minute, hour, weekday = int(parts[0]), int(parts[1]), int(parts[4])
    if minute > 59 or hour > 23 or weekday > 7:
        return None
    return (weekday or 7), dt.time(hour, minute)


def cron_as_delay(cron: str, cutoff_weekday: int, cutoff_time: dt.time) -> int | None:
    """Minutes after the (default) cutoff at which an old weekly-report cron fired; None if it is not weekly."""
    found = _cron_weekly(cron)
    if found is None:
        return None
    weekday, at = found
    minutes = (weekday - cutoff_weekday) * 1440 + (at.hour * 60 + at.minute) - (cutoff_time.hour * 60
                                                                                + cutoff_time.minute)
    return minutes % (7 * 1440)


def cron_as_round(cron: str, cutoff_weekday: int) -> str | None:
    """An old reminder cron as a round relative to the cutoff day (`0 15 * * 4` → `-1d 15:00` for a Friday
    cutoff); None if it is not weekly."""
    found = _cron_weekly(cron)
    if found is None:
        return None
    weekday, at = found
    days = weekday - cutoff_weekday
    if days > 0:  # a cron after the cutoff weekday reminded of the next week
        days -= 7
    return f"{days}d {at:%H:%M}"


def upcoming_rows(settings: Settings, now: dt.datetime, count: int = 4) -> list[dict]:
    """The next planned runs as the CLI's `status` and the web page show them: {"at", "kind", "title" (周报/催报),
    "week", "text" (`11月23日（周四）15:00 催报 2023-W47`)}, in time order."""
    rows = []
    for fire in upcoming(settings, now, count):
        local = fire.at.astimezone(settings.tz)
        text = (f"{local.month}月{local.day}日（周{'一二三四五六日'[local.isoweekday() - 1]}）{local:%H:%M} "
                f"{fire.title} {fire.week}")
        rows.append({"at": local, "kind": fire.kind, "title": fire.title, "week": fire.week, "text": text})
    return rows
