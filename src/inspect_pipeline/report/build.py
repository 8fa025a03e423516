"""`report --week W`: the week's workbooks and manifest, as a new revision folder that appears complete or not at
all (`reports/<week>/r<N>/`); an earlier revision is never overwritten."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field, replace
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from .. import __version__
from ..core.lock import run_lock
from ..core.collector import building
from ..core.parallel import Pool, worker_count
from ..core.paths import Paths, safe_name
from ..core.publish import staged_dir, write_json_atomic
from ..core.settings import Settings
from ..core.weeks import is_reported, parse_label, spoken
from ..intake.manifest import week_files
from ..intake.replay import record_as_of
from ..record.db import migrate, reports, run_engine, submissions
from ..record.inputs import snapshot_inputs
from ..schools.identity import identify, week_roster
from ..schools.roster import Roster, load_roster
from .figures import compute_week, received_by, refuse_before_campaign
from .listings import dropped_list, hazard_list, missing_list, rate_trend, school_rows
from .workbooks import (
    Meta,
    layout,
    write_city_bureau,
    write_safety_committee,
    write_zone_report,
)

log = logging.getLogger(__name__)

CONTENT_KEYS = ("week", "cutoff", "files", "totals", "by_zone", "by_stage", "missing_units")
META_FILE_KEYS = ("file", "school_name", "received_at", "outcome", "sha256")  # what the 输入文件 sheets show


@dataclass
class ReportResult:
    week: str
    revision: int
    folder: Path
    manifest: dict
    written: bool  # False: nothing changed since the latest revision, which is returned
    majors: list[dict] = field(default_factory=list)  # open 重大 hazards at the cutoff (for summaries)
    missing: list[dict] = field(default_factory=list)  # units not reported, with their status (未报/退回未重报)
    left_out: int = 0  # files of this week or earlier received after the report's moment (not counted)


def build_report(paths: Paths, settings: Settings, week: str, now: dt.datetime, *, roster_current: bool = False,
                 roster: Roster | None = None, engine: Engine | None = None) -> ReportResult | None:
    """Write the week's reports as a new revision, unless nothing changed since the latest one; None for a week in
    which no one reports (no_report_weeks). Schools are attributed by the roster the week was reported with
    (schools.week_roster), or by today's with `roster_current` (a correction). ConfigError for a week before the
    campaign's first. `roster` (as read from its file) and `engine`: the run's own, when a job opened them."""
    parse_label(week)
    if not is_reported(week, settings):
        return None
    with Pool(worker_count(settings.workers)) as pool, building():  # the pool starts while the record is read
        return _report(paths, settings, week, now, pool, roster_current=roster_current, roster=roster, engine=engine)


def _report(paths: Paths, settings: Settings, week: str, now: dt.datetime, pool: Pool, *, roster_current: bool,
            roster: Roster | None, engine: Engine | None) -> ReportResult:
    loaded = roster if roster is not None else load_roster(paths.roster_file, settings)  # a bad roster stops here
    with run_lock(paths, settings, "intake 正在运行，请稍后再生成报表"):
        engine = run_engine(paths.database_url, engine)
        migrate(engine)
        with engine.begin() as conn:
            today = identify(conn, loaded, register=True)
        with engine.connect() as conn:
            refuse_before_campaign(conn, settings, week)
            roster = today if roster_current else week_roster(conn, paths, settings, week, today)
            later = conn.execute(sa.select(sa.func.count()).select_from(submissions).where(
                submissions.c.week <= week, ~received_by(now))).scalar()
        if roster is today:
            snapshot_inputs(paths, today.source)  # kept, so that later revisions attribute by it
        if not later:
            result = _build(paths, settings, roster, week, now, engine, engine, pool)
        else:  # files came in after `now`: the week as the record stood then
            log.info("report %s as of %s: %d later file(s) left out, record replayed", week, now.isoformat(), later)
            with record_as_of(paths, settings, now) as then:
                with then.connect() as conn:
                    roster_then = identify(conn, load_roster(roster.source, settings), register=False)
                result = replace(_build(paths, settings, roster_then, week, now, engine, then, pool), left_out=later)
        return result


def _build(paths: Paths, settings: Settings, roster: Roster, week: str, now: dt.datetime, engine, source,
           pool: Pool) -> ReportResult:
    """The week's figures from the record `source` (the live one, or as it stood at `now`), and a new revision in
    the live record `engine` unless nothing changed (run under the lock). The city's hazard list is handed to a
    worker as soon as it is read; the other lists are read while that workbook is written."""
    with source.connect() as conn:
        wf = compute_week(conn, roster, settings, week)
        content = {
            "week": week,
            "cutoff": wf.cutoff.isoformat(),
            "files": week_files(conn, week),
            "totals": wf.totals,
            "by_zone": wf.by_zone,
            "by_stage": wf.by_stage,
            "missing_units": wf.missing_units,
        }
        majors = hazard_list(wf, conn, overdue_too=False)
        missing = missing_list(wf, roster, conn, settings)
        latest = _latest(paths, week)
        if latest is not None and _same(latest[1], content):
            return ReportResult(week, latest[1]["revision"], latest[0], latest[1], written=False, majors=majors,
                                missing=missing)
        last_id, revision = _next_revision(engine, week, now, latest)
        generated_at = now.astimezone(settings.tz)
        folder, manifest = _write(
            paths, settings, content, wf, revision, generated_at, pool,
            city=lambda: hazard_list(wf, conn, overdue_too=True),
            missing=missing,
            lists=lambda: {
                "majors": majors,
                "missing": missing,
                "schools": school_rows(wf, roster, conn),
                "dropped": dropped_list(wf, conn),
                "trend": rate_trend(conn, wf, roster),
            },
        )
    with engine.begin() as conn:
        conn.execute(reports.insert().values(
            week=week, revision=revision, generated_at=manifest["generated_at"],
            path=folder.relative_to(paths.root).as_posix(), last_submission_id=last_id, roster_sha256=roster.sha256,
        ))
    return ReportResult(week, revision, folder, manifest, written=True, majors=majors, missing=missing)


def _next_revision(engine, week: str, now: dt.datetime, latest: tuple[Path, dict] | None) -> tuple[int, int]:
    """(the last submission the report counts, the new revision's number) from the live record: later files (for
    this week or an earlier one) leave the revision stale; a number is never reused, neither a folder's nor one the
    record knows (a folder may have been moved away)."""
    with engine.connect() as conn:
        last_id = conn.execute(sa.select(sa.func.max(submissions.c.id)).where(received_by(now))).scalar() or 0
        recorded = conn.execute(sa.select(sa.func.max(reports.c.revision)).where(reports.c.week == week)).scalar()
    return last_id, max(latest[1]["revision"] if latest else 0, recorded or 0) + 1


def _zone_meta(meta: Meta, zone: str, schools: list[dict]) -> Meta:
    """The provenance of a zone extract: only the files of its zone's schools."""
    names = {s["school_name"] for s in schools if s["zone"] == zone}
    return replace(meta, files=[f for f in meta.files if f.get("school_name") in names])


def _of_zone(zone: str, rows: list[dict]) -> list[dict]:
    """The rows of a zone (schools, dropped hazards) for its extract: a writer is sent these, not the city's."""
    return [r for r in rows if r["zone"] == zone]


def _latest(paths: Paths, week: str) -> tuple[Path, dict] | None:
    folder = paths.reports_root / week
    revisions = sorted((int(p.name[1:]), p) for p in folder.glob("r*") if p.name[1:].isdigit()) if folder.is_dir() else []
    if not revisions:
        return None
    _, path = revisions[-1]
    manifest = path / "manifest.json"
    data = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {"revision": revisions[-1][0]}
    return path, data


def _same(previous: dict, content: dict) -> bool:
    normal = json.loads(json.dumps(content, ensure_ascii=False, default=str))
    return all(previous.get(k) == normal[k] for k in CONTENT_KEYS)


def _write(paths: Paths, settings: Settings, content: dict, wf, revision: int, generated_at: dt.datetime,
           pool: Pool, *, city: Callable[[], list[dict]], missing: list[dict], lists: Callable[[], dict]
           ) -> tuple[Path, dict]:
    """The revision folder: the 市教育局 workbook (the `city()` hazard list and `missing`) goes to a worker first,
    the others once `lists()` (majors, missing, schools, dropped, trend) are read; then the manifest."""
    week = content["week"]
    week_dir = paths.reports_root / week
    week_dir.mkdir(parents=True, exist_ok=True)
    final = week_dir / f"r{revision}"
    with staged_dir(final) as tmp:
        files = [{k: f.get(k) for k in META_FILE_KEYS} for f in content["files"]]  # what a writer is sent
        meta = Meta(settings.bureau_name, week, wf.cutoff, revision, generated_at, __version__, files,
                    spoken(week, settings), settings.signature.model_dump())
        spec = layout()
        names = {
            "safety_committee": spec["safety_committee"]["file"].format(week=week),
            "city_bureau": spec["city_bureau"]["file"].format(week=week),
            "zone_report": spec["zone_report"]["file"].format(week=week),
        }
        slim = replace(wf, hazards=wf.hazards.iloc[0:0], reporting=wf.reporting.iloc[0:0])  # what writers read
        extracts = {z["zone"]: safe_name(spec["zone_report"]["extract_file"].format(zone=z["zone"], week=week))
                    for z in wf.by_zone}
        written = [pool.submit(write_city_bureau, tmp / names["city_bureau"], meta, slim, city(), missing)]
        rest = lists()  # read while the largest workbook is written
        written += [
            pool.submit(write_safety_committee, tmp / names["safety_committee"], meta, slim, rest["majors"],
                        rest["missing"], rest["trend"]),
            pool.submit(write_zone_report, tmp / names["zone_report"], meta, rest["schools"], wf.by_zone,
                        rest["dropped"]),
            *(pool.submit(write_zone_report, tmp / extracts[z["zone"]], _zone_meta(meta, z["zone"], rest["schools"]),
                          _of_zone(z["zone"], rest["schools"]), [z], _of_zone(z["zone"], rest["dropped"]),
                          "zone-extract") for z in wf.by_zone),
        ]
        futures.wait(written)  # all finished before a failure removes the folder they write in
        for job in written:
            job.result()
        rel = lambda name: (final / name).relative_to(paths.root).as_posix()
        manifest = {
            "week": week,
            "cutoff": content["cutoff"],
            "revision": revision,
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "software_version": __version__,
            "outputs": {
                **{k: rel(v) for k, v in names.items()},
                "zone_extracts": {z: rel(n) for z, n in extracts.items()},
            },
            **{k: content[k] for k in ("files", "totals", "by_zone", "by_stage", "missing_units")},
        }
        write_json_atomic(tmp / "manifest.json", manifest)
    return final, manifest  # the revision appeared complete, or not at all
