"""Replaying the archive: every archived file taken again through intake, in the order and at the times it was
first received, each run with the roster and config it used — into a fresh database (`rebuild`), the data root's
own (`restore`), or a scratch one holding the record as it stood at a moment (a report as of then).

A file whose reading the live run stopped at the watchdog is not read again: how long it takes depends on the
machine's load, so the replay takes the recorded outcome (`run_intake(known_stops=…)`). Memory and crash stops
follow from the file's content alone and are simply read again."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..core.paths import Paths
from ..core.publish import temp_dir_for
from ..core.settings import Settings, load_settings
from ..record.db import make_engine, migrate, runs, submissions
from ..record.inputs import input_snapshot
from .run import Progress, run_intake


def received(paths: Paths) -> list[tuple[dt.datetime, str, dict, Path]]:
    """Every archived drop: (first received time, path below the inbox, sidecar, archived copy), oldest first."""
    drops = []
    for folder in paths.archive_root.iterdir() if paths.archive_root.is_dir() else []:
        if not folder.is_dir() or folder.name.startswith("_"):
            continue
        files = list(folder.iterdir())  # listed once per week: a glob per sidecar is quadratic at city scale
        copies = {p.name.split(".", 1)[0]: p for p in files if p.suffix != ".json"}
        for sidecar in (p for p in files if p.suffix == ".json"):
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            drops.append((dt.datetime.fromisoformat(meta["received_at"]), meta["inbox_path"], meta,
                          copies[meta["sha256"]]))
    return sorted(drops, key=lambda d: (d[0], d[1]))


def run_inputs(paths: Paths) -> dict[dt.datetime, tuple[str | None, str | None]]:
    """Each recorded run's moment → the SHA-256 of the roster and config it used (None where not recorded)."""
    live = make_engine(paths.database_url)
    try:
        with live.connect() as conn:
            rows = conn.execute(sa.select(runs.c.now, runs.c.roster_sha256, runs.c.config_sha256)).all()
    finally:
        live.dispose()
    return {dt.datetime.fromisoformat(now): (roster, config) for now, roster, config in rows}


def watchdog_stops(paths: Paths) -> dict[str, str]:
    """sha256 → "watchdog" of every file whose reading the live record says was stopped at the watchdog."""
    live = make_engine(paths.database_url)
    try:
        migrate(live)  # the record is checked (and brought to the current schema) like every command's
        with live.connect() as conn:
            shas = conn.execute(
                sa.select(submissions.c.sha256).where(submissions.c.limit_hit == "watchdog").distinct()
            ).scalars()
            return {sha: "watchdog" for sha in shas}
    finally:
        live.dispose()


def replay(paths: Paths, settings: Settings, drops: list, work: Path, database_url: str | None,
           stops: dict[str, str], inputs: dict | None = None, progress: Progress | None = None) -> int:
    """Take every archived drop again, at its first received time, through intake into `database_url` (None: a
    fresh SQLite file under `work`), from an inbox under `work`, each run with the roster and config the original
    run used (`inputs`, run_inputs: kept in archive/_inputs; today's where unknown or gone); returns the number of
    intake runs. Each run replayed is told to `progress` as the stage `replay` (runs done of all)."""
    runs = 0
    moments = sorted({d[0] for d in drops})
    if progress is not None:
        progress("replay", 0, len(moments))
    for moment in moments:
        for when, rel, meta, copy in drops:
            if when == moment:
                _put_back(work / "inbox" / rel, meta, copy)
        replay_settings = _settings_of_run(paths, settings, _inputs_at(moment, drops, inputs or {})).model_copy(
            update={"database_url": database_url, "inbox_dir": None})
        shadow = Paths.at(work, replay_settings)
        run_intake(shadow, replay_settings, moment, receipts=False, settle=False, known_stops=stops)
        runs += 1
        if progress is not None:
            progress("replay", runs, len(moments))
    return runs


def _inputs_at(moment: dt.datetime, drops: list, recorded: dict) -> tuple[str | None, str | None]:
    """(roster, config) SHA-256 of the run at `moment`: as its drops' sidecars name them, else as the record's
    runs table does (runs before sidecars named them), else unknown."""
    named = next((d[2]["inputs"] for d in drops if d[0] == moment and isinstance(d[2].get("inputs"), dict)), None)
    if named is not None:
        return named.get("roster"), named.get("config")
    return recorded.get(moment, (None, None))


def _settings_of_run(paths: Paths, settings: Settings, shas: tuple[str | None, str | None]) -> Settings:
    """The settings a recorded run used: its config snapshot read through today's model (limits, calendar), with
    its roster snapshot; today's where a snapshot is not recorded or not kept."""
    roster_sha, config_sha = shas
    config = input_snapshot(paths, "config", config_sha) if config_sha else None
    chosen = load_settings(paths.root, config) if config is not None else settings
    roster = input_snapshot(paths, "roster", roster_sha) if roster_sha else None
    return chosen.model_copy(update={"roster_file": roster or paths.roster_file})


def _put_back(target: Path, meta: dict, copy: Path) -> None:
    """The drop as it lay in the inbox: the file, or the link it was (its target text, never followed)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if "link" in meta:
        os.symlink(meta["link"], target)  # Windows: needs the right to create links (developer mode)
    else:
        shutil.copyfile(copy, target)
    if "link" not in meta:
        os.utime(target, ns=(meta["mtime_ns"], meta["mtime_ns"]))
    elif os.utime in os.supports_follow_symlinks:  # the link's own time (Windows cannot set it: not needed there)
        os.utime(target, ns=(meta["mtime_ns"], meta["mtime_ns"]), follow_symlinks=False)


@contextmanager
def record_as_of(paths: Paths, settings: Settings, moment: dt.datetime) -> Iterator[Engine]:
    """The record as it stood at `moment`: every archived file received by then replayed, each run with its roster
    and config, into a scratch database (removed after). For a report as of a moment after which files came in
    that the live record has counted since (one clock: files received after a run's moment do not exist for it)."""
    drops = [d for d in received(paths) if d[0] <= moment]
    stops, inputs = watchdog_stops(paths), run_inputs(paths)
    work = temp_dir_for(paths.state_dir / "as-of")
    work.mkdir(parents=True)
    try:
        replay(paths, settings, drops, work, None, stops, inputs)
        engine = make_engine(Paths.at(work, settings.model_copy(update={"database_url": None})).database_url)
        try:
            migrate(engine, create=True)  # nothing received by then: an empty record
            yield engine
        finally:
            engine.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
