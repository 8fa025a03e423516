"""A run's world, opened once and handed down to every step: the data root's settings (calendar, limits, mail)
and paths, the run's clock, and — read at first use, then shared by the steps — today's roster as read from its
file and the record's engine. How a job runs its steps is the caller's: plain calls for the CLI, Prefect tasks
for the flows (`Steps`); what it tells of its progress goes to the caller's `Progress` (the CLI draws bars, the
flows pass none)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import Engine

from ..core.paths import Paths
from ..core.settings import Settings
from ..core.weeks import parse_moment
from ..intake.run import Progress
from ..record.db import make_engine
from ..schools.roster import Roster, load_roster
from .setup import open_data_root

T = TypeVar("T")


@dataclass
class Run:
    """One run over a data root at the moment `now` (in the settings' time zone)."""

    paths: Paths
    settings: Settings
    now: dt.datetime

    @cached_property
    def roster(self) -> Roster:
        """Today's roster.xlsx, read once (RosterError naming every problem if the clerk's edit is wrong)."""
        return load_roster(self.paths.roster_file, self.settings)

    @cached_property
    def engine(self) -> Engine:
        """The record's engine (each step checks the schema is current under its own lock)."""
        return make_engine(self.paths.database_url)


def clock(now: str | dt.datetime | None, settings: Settings) -> dt.datetime:
    """The run's time: `now` (ISO 8601 text or a moment) when given, else the real clock, in the settings' zone."""
    if now is None:
        moment = dt.datetime.now(settings.tz)
    else:
        moment = parse_moment(now, settings.tz) if isinstance(now, str) else now
    return moment.astimezone(settings.tz)


def open_run(data_root: str | Path, now: str | dt.datetime | None = None) -> Run:
    """The run over an existing data root (DataRootError or ConfigError, one line, if it cannot be)."""
    settings, paths = open_data_root(Path(data_root))
    return Run(paths, settings, clock(now, settings))


class Steps(Protocol):
    """How a job runs one of its steps: `steps(name, fn, *args)` returns `fn(*args)`."""

    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any) -> T: ...


def direct(name: str, fn: Callable[..., T], /, *args: Any) -> T:
    """Steps as plain calls (the CLI)."""
    return fn(*args)


# Progress (intake.run): `progress(stage, done, total)` — `done` of the stage's `total` items are finished; total 0
# means the stage has begun and how much it holds is not known (a step told only at its start and end: `staged`)


def no_progress(stage: str, done: int, total: int) -> None:
    """Progress told to no one (the flows; a caller that passes none)."""


def staged(progress: Progress | None, stage: str, steps: Steps, name: str, fn: Callable[..., T], /, *args: Any) -> T:
    """`steps(name, fn, *args)`, its start and its end told as the stage `stage` (0 of an unknown total, then 1 of
    1), for a step that says nothing of its progress itself."""
    tell = no_progress if progress is None else progress
    tell(stage, 0, 0)
    result = steps(name, fn, *args)
    tell(stage, 1, 1)
    return result
