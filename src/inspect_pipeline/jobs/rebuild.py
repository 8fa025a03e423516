"""`rebuild --week W`: replay every archived file through intake into a fresh database (intake.replay) and compare
the week's figures with the record's."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass

from ..core.paths import Paths
from ..core.publish import temp_dir_for
from ..core.settings import Settings
from ..intake.replay import received, replay, run_inputs, watchdog_stops
from ..record.db import make_engine
from ..report.figures import compute_week
from ..schools.identity import current_roster, identify, week_roster
from ..schools.roster import load_roster
from .context import Progress, no_progress

FIGURE_PARTS = ("totals", "by_zone", "by_stage", "missing_units")


@dataclass
class RebuildResult:
    week: str
    files: int
    runs: int
    rebuilt: dict  # the week's figures from the replay
    recorded: dict  # the same from the live record

    @property
    def same(self) -> bool:
        return self.rebuilt == self.recorded


def figures_of(conn, roster, settings: Settings, week: str) -> dict:
    wf = compute_week(conn, roster, settings, week)
    return json.loads(json.dumps({k: getattr(wf, k) for k in FIGURE_PARTS}, default=str))


def rebuild_week(paths: Paths, settings: Settings, week: str, progress: Progress | None = None) -> RebuildResult:
    """Replay the archive into a fresh database under a temporary data root; the week's figures from both, each
    attributing schools by the roster the week's report used (schools.week_roster). The replay's runs are told to
    `progress` (stage `replay`), then the comparison (stage `compare`)."""
    tell = no_progress if progress is None else progress
    drops = received(paths)
    stops = watchdog_stops(paths)
    inputs = run_inputs(paths)
    live = make_engine(paths.database_url)
    with live.connect() as conn:
        roster = week_roster(conn, paths, settings, week, current_roster(paths, settings, live, register=False))
        recorded = figures_of(conn, roster, settings, week)
    live.dispose()
    work = temp_dir_for(paths.state_dir / "rebuild")
    work.mkdir(parents=True)
    try:
        runs = replay(paths, settings, drops, work, None, stops, inputs, tell)
        tell("compare", 0, 0)
        fresh = make_engine(Paths.at(work, settings.model_copy(update={"database_url": None})).database_url)
        with fresh.connect() as conn:
            rebuilt = figures_of(conn, identify(conn, load_roster(roster.source, settings), register=False),
                                 settings, week)
        fresh.dispose()
        tell("compare", 1, 1)
        return RebuildResult(week, len(drops), runs, rebuilt, recorded)
    finally:
        shutil.rmtree(work, ignore_errors=True)
