"""The dates of a generated week: `WeekDates` (label, Monday, cutoff; `parse_week` reads `2023-W47`), whether a
school is due on a day (`is_active`), and a file's modification time within the week (before the cutoff, Friday
12:00 Asia/Shanghai, the default of settings.py).
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from dataclasses import dataclass
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
CUTOFF_WEEKDAY = 5  # Friday (the default of settings.py)
CUTOFF_TIME = dt.time(12, 0)


@dataclass(frozen=True)
class WeekDates:
    label: str
    year: int
    num: int
    monday: dt.date
    cutoff_date: dt.date
    cutoff: dt.datetime

    @property
    def last_day(self) -> dt.date:
        """Latest date used for found/done dates: the day before the cutoff date (files arrive before the cutoff)."""
        return self.cutoff_date - dt.timedelta(days=1)

    def cn(self) -> str:
        return f"{self.year}年第{self.num}周"

    def shifted(self, weeks: int) -> WeekDates:
        iso = (self.monday + dt.timedelta(weeks=weeks)).isocalendar()
        return parse_week(f"{iso.year}-W{iso.week:02d}")


def parse_week(label: str) -> WeekDates:
    m = re.fullmatch(r"(\d{4})-W(\d{1,2})", label.strip())
    if not m:
        raise ValueError(f"not a week label: {label!r} (expected e.g. 2023-W47)")
    year, num = int(m[1]), int(m[2])
    monday = dt.date.fromisocalendar(year, num, 1)
    cutoff_date = dt.date.fromisocalendar(year, num, CUTOFF_WEEKDAY)
    return WeekDates(f"{year}-W{num:02d}", year, num, monday, cutoff_date,
                     dt.datetime.combine(cutoff_date, CUTOFF_TIME, tzinfo=TZ))


def is_active(school: dict, day: dt.date) -> bool:
    f, t = school.get("active_from"), school.get("active_to")
    return (f is None or f <= day) and (t is None or t >= day)


def file_mtime(wk: WeekDates, path: str) -> float:
    """A plausible, deterministic modification time within the week, before the cutoff."""
    minutes = zlib.crc32(path.encode()) % (4 * 24 * 60)
    moment = dt.datetime.combine(wk.monday, dt.time(8, 0), tzinfo=TZ) + dt.timedelta(minutes=minutes)
    return min(moment, wk.cutoff - dt.timedelta(hours=1)).timestamp()
