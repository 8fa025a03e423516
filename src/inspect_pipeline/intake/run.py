"""One intake run: take the inbox, archive, read, validate, record (one transaction), receipts, manifests.

Crash safety: files are archived before they are read; the record is one transaction; inbox files are removed
only after it commits; receipts and manifests are written after it and redone by the next run if missing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import sqlalchemy as sa

from ..core.bounded import Bounds, Stopped, bounded_map
from ..core.collector import building, built
from ..core.contracts import DONE, OPEN, statuses
from ..core.issues import Issue
from ..core.lock import run_lock
from ..core.parallel import warm_up, worker_count
from ..core.paths import Paths
from ..core.settings import Settings
from ..core.weeks import cutoff, week_of
from ..ledger.hazards import load_ledgers, recount_new, refresh_state
from ..read.normalize import parse_count, parse_date
from ..record.bulk import insert_rows
from ..record.db import (
    as_stored,
    hazards,
    migrate,
    observations,
    run_engine,
    runs,
    storable_text,
    submissions,
)
from ..record.inputs import snapshot_inputs
from ..schools.identity import identify
from ..schools.roster import Roster, School, load_roster, resolve_unit
from .decide import Credited, Decision, WeekState, decide
from .manifest import write_intake_manifest
from .reading import link_parsed, read_files
from .receipt_jobs import EarlyReceipts, plain_receipt, receipt_job_with
from .take import (
    Archived,
    archive_file,
    flush_in_background,
    flush_to_disk,
    remove_from_inbox,
    scan_inbox,
    settle,
)
from .understand import ParsedFile
from .validate import structure_issues, validate_rows

# `progress(stage, done, total)`: `done` of the stage's `total` items are finished (stages archive, read, receipts
# here); total 0: the stage has begun and its size is not known. The CLI draws bars from it (cli._stage_bar).
Progress = Callable[[str, int, int], None]


@dataclass
class IntakeResult:
    """What a run did: per outcome counts, the weeks it touched, files left for the next run."""

    run_id: int | None
    outcomes: dict[str, int] = field(default_factory=dict)
    weeks: list[str] = field(default_factory=list)
    left_for_next_run: int = 0
    recovered: int = 0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def files(self) -> int:
        return sum(self.outcomes.values())


def run_intake(
    paths: Paths,
    settings: Settings,
    now: dt.datetime,
    progress: Progress | None = None,
    *,
    receipts: bool = True,
    settle: bool = True,
    known_stops: dict[str, str] | None = None,
    roster: Roster | None = None,
    engine: sa.Engine | None = None,
) -> IntakeResult:
    """Process the inbox once. Raises PipelineError subclasses only for failures of the run itself.
    `receipts=False` (rebuilds) records everything but writes no receipts; `settle=False` (callers that wrote the
    inbox themselves and read no live one: demo, rebuild, tests) takes files without waiting for them to be quiet.
    `known_stops` (sha256 → "watchdog" | "memory" | "crash"; rebuild) answers those files as stopped by that limit
    without reading them again, so a replay under other load judges them as the record did. `roster` (as read from
    its file) and `engine` are the run's own when a job opened them (jobs.context)."""
    if roster is None:
        roster = load_roster(paths.roster_file, settings)  # a bad roster stops the run before anything is touched
    with run_lock(paths, settings, "另一个 intake 正在运行，请稍后再试"):
        engine = run_engine(paths.database_url, engine)
        migrate(engine)
        with engine.begin() as conn:
            roster = identify(conn, roster, register=True)  # a merge or split of known schools stops the run here
        run = _Run(paths, settings, roster, engine, now.astimezone(settings.tz), progress,
                   receipts=receipts, settle=settle, known_stops=known_stops or {})
        return run.execute()


class _Run:
    def __init__(self, paths, settings, roster: Roster, engine, now: dt.datetime, progress: Progress | None, *,
                 receipts: bool, settle: bool, known_stops: dict[str, str]):
        self.paths, self.settings, self.roster, self.engine, self.now = paths, settings, roster, engine, now
        self.progress = progress if progress is not None else (lambda stage, done, total: None)
        self.workers = worker_count(settings.workers)
        self.timings: dict[str, float] = {}
        self.receipts, self.settle, self.known_stops = receipts, settle, known_stops
        self.superseded: set[int] = set()
        self.inputs: dict[str, str] = {}
        self.early: EarlyReceipts | None = None  # this run's receipts, written beside its record

    def _timed(self, stage: str, started: float) -> float:
        now = time.perf_counter()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - started
        return now

    def execute(self) -> IntakeResult:
        with building():  # no collection walks the files read (a city's are millions of objects, none garbage)
            return self._execute()

    def _execute(self) -> IntakeResult:
        t = time.perf_counter()
        found = scan_inbox(self.paths.inbox)
        incoming = settle(found, self.settings.quiet_seconds) if self.settle else found
        t = self._timed("scan", t)
        committed = self._committed_drops([f.rel for f in incoming])
        archived, leftovers = [], []
        arrival = week_of(self.now, self.settings)
        if incoming:  # the roster and config this run uses, kept before any file is archived under them
            self.inputs = snapshot_inputs(self.paths, self.roster.source)
            warm_up()  # the readers' fork server starts while the files are archived
        for i, f in enumerate(incoming):
            a = archive_file(f, self.paths, arrival, self.now, self.inputs)
            if a is None:
                continue
            if (storable_text(f.rel), f.size, f.mtime_ns, a.sha256) in committed:
                leftovers.append(a)  # recorded by a run that crashed before clearing the inbox
            else:
                archived.append(a)
            self.progress("archive", i + 1, len(incoming))
        t = self._timed("archive", t)
        flushing = flush_in_background([a.path for a in archived]) if archived else None
        jobs = [(str(a.path), a.incoming.name, week_of(a.received_at, self.settings), self.settings)
                for a in archived if a.incoming.link is None]  # a link is never read, nor what it points at
        if archived:  # the reading is one batch: its bar shows it has begun, and how long it has taken
            self.progress("read", 0, len(archived))
        read = iter(read_files(jobs, self.workers, self.paths, self.known_stops))
        parsed = [next(read) if a.incoming.link is None else link_parsed(a, self.settings) for a in archived]
        self.progress("read", len(parsed), len(parsed))
        built()
        t = self._timed("read", t)
        try:
            decided, run_id = self._decide_and_record(archived, parsed)
        except BaseException:
            if self.early is not None:
                self.early.abandon()
            raise
        t = self._timed("validate+record", t)
        taken = [*archived, *leftovers]
        if flushing is not None:
            flushing.join()
        if taken:
            flush_to_disk([a.path for a in taken])  # the archive is durable before the inbox copies go
        for a in taken:
            remove_from_inbox(a.incoming)
        t = self._timed("clear-inbox", t)
        weeks = self._write_receipts() if self.receipts else set()
        t = self._timed("receipts", t)
        weeks |= {d.parsed.week for d in decided}
        with self.engine.connect() as conn:
            for week in sorted(weeks):
                write_intake_manifest(conn, self.paths, self.settings, week)
        self._timed("manifest", t)
        outcomes: dict[str, int] = {}
        for d in decided:  # as recorded: a file accepted and then replaced in the same run is superseded
            outcome = "superseded" if d.submission_id in self.superseded else d.outcome
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return IntakeResult(
            run_id=run_id,
            outcomes=outcomes,
            weeks=sorted(weeks),
            left_for_next_run=len(found) - len(archived) - len(leftovers),
            recovered=len(leftovers),
            timings=self.timings,
        )

    # ------------------------------------------------------------ state from the record

    def _committed_drops(self, rels: list[str]) -> set[tuple[str, int, int, str]]:
        out = set()
        if not rels:
            return out
        with self.engine.connect() as conn:
            for i in range(0, len(rels), 500):
                chunk = rels[i : i + 500]
                rows = conn.execute(
                    sa.select(
                        submissions.c.inbox_path, submissions.c.size, submissions.c.mtime_ns, submissions.c.sha256
                    ).where(submissions.c.inbox_path.in_([storable_text(rel) for rel in chunk]))
                )
                out |= {tuple(r) for r in rows}
        return out

    # ------------------------------------------------------------ deciding

    def _decide_and_record(self, archived: list[Archived], parsed: list[ParsedFile]) -> tuple[list[Decision], int | None]:
        if not archived:
            return [], None
        resolved = [self._credit(a, p) for a, p in zip(archived, parsed, strict=True)]
        row_issues = validate_rows(parsed)
        with self.engine.begin() as conn:
            run_id = conn.execute(
                runs.insert().values(
                    started_at=dt.datetime.now(self.settings.tz).isoformat(timespec="seconds"),
                    now=self.now.isoformat(timespec="seconds"),
                    files=len(archived),
                    roster_sha256=self.roster.sha256,
                    config_sha256=self.inputs.get("config"),
                )
            ).inserted_primary_key[0]
            next_submission = _next_id(conn, submissions)
            next_hazard = _counter(_next_id(conn, hazards))
            ids = {s.id for s, _ in resolved if s is not None}
            state = _week_state(conn, ids, {p.week for p in parsed})
            files = [Credited(a, p, school, [*p.issues, *unit_issues, *structure_issues(p), *rows])
                     for a, p, (school, unit_issues), rows in zip(archived, parsed, resolved, row_issues, strict=True)]
            weeks = sorted(p.week for p in parsed if p.week)
            ledgers = load_ledgers(conn, ids, since=weeks[0] if weeks else None)
            decided = decide(files, ledgers, state, next_submission, next_hazard)
            used_receipts: set[Path] = set()
            sub_rows = [self._submission_row(d, run_id, used_receipts) for d in decided]
            if self.receipts:  # written by the workers while the record is; published once it has committed
                self._write_early(sub_rows, state.superseded)
            self._insert(conn, sub_rows, decided, state)
        self.superseded = state.superseded
        return decided, run_id

    def _credit(self, a: Archived, p: ParsedFile) -> tuple[School | None, list[Issue]]:
        """The school a file is credited to, with the issues of its header block: the one the sheet names, else
        the one its first folder below the inbox names when the file names none (submission.md §File formats)."""
        school, issues = resolve_unit(self.roster, p.fields, p.sheet) if p.readable and not _fatal(p) else (None, [])
        if school is None and not any(i.code in NAMES_A_SCHOOL for i in issues):
            school = self.roster.named(a.incoming.rel.split("/")[0]) if "/" in a.incoming.rel else None
        return school, issues

    # ------------------------------------------------------------ recording

    def _insert(self, conn, sub_rows: list[dict], decided: list[Decision], state: WeekState) -> None:
        hazard_rows, obs_rows = [], []
        for d in decided:
            for m in d.matches:
                if m.known.first_submission_id == d.submission_id:
                    hazard_rows.append(
                        {
                            "id": m.known.id,
                            "school_id": d.school.id,
                            "code": m.known.code,
                            "identity": m.known.identity,
                            "found_date": m.known.found_date,
                            "first_week": m.known.first_week,
                            "first_submission_id": d.submission_id,
                        }
                    )
                obs_rows.append(_observation_row(m, d, state.superseded))
        insert_rows(conn, submissions, sub_rows)
        insert_rows(conn, hazards, hazard_rows)
        insert_rows(conn, observations, obs_rows)
        touched = {m.known.id for d in decided for m in d.matches}
        moved = {m.known.id for d in decided for m in d.matches if m.moved}  # first seen in a later week
        for sid in state.superseded:
            conn.execute(submissions.update().where(submissions.c.id == sid).values(outcome="superseded"))
            conn.execute(observations.update().where(observations.c.submission_id == sid).values(counted=False))
            replaced = set(conn.execute(
                sa.select(observations.c.hazard_id).where(observations.c.submission_id == sid)
            ).scalars())
            touched |= replaced
            moved |= replaced  # the replaced file may have held a hazard's first week
        recount_new(conn, moved)  # "new" is new in week order, whatever order the files came in
        refresh_state(conn, touched)

    def _submission_row(self, d: Decision, run_id: int, used: set[Path]) -> dict:
        p, a, school = d.parsed, d.archived, d.school
        week_cutoff = cutoff(p.week, self.settings)
        counted = d.outcome in ("accepted",)
        recs = [m.record for m in d.matches] if counted else []
        kind = "回执" if d.outcome in ("accepted", "duplicate") else "问题清单"
        stem = Path(a.incoming.name).stem
        stamp = a.received_at.strftime("%Y%m%d-%H%M%S")
        receipt = self.paths.receipt(p.week, school.folder if school else None, f"{stem}_{stamp}_{a.sha256[:8]}_{kind}.xlsx")
        n = 2
        while receipt in used:
            receipt = receipt.with_name(f"{stem}_{stamp}_{a.sha256[:8]}_{kind}_{n}.xlsx")
            n += 1
        used.add(receipt)
        fields = {fid: loc.value for fid, loc in p.fields.items()}
        report_date = parse_date(fields.get("report_date"), week_cutoff.date())
        return {
            "id": d.submission_id,
            "run_id": run_id,
            "file_name": a.incoming.name,
            "inbox_path": a.incoming.rel,
            "sha256": a.sha256,
            "size": a.incoming.size,
            "mtime_ns": a.incoming.mtime_ns,
            "received_at": a.received_at.isoformat(timespec="seconds"),
            "received_epoch": int(a.received_at.timestamp()),
            "arrival_week": week_of(a.received_at, self.settings),
            "week": p.week,
            "school_id": school.id if school else None,
            "school_code": school.code if school else None,
            "school_name": school.name if school else None,
            "format": p.format,
            "sheet": p.sheet,
            "outcome": d.outcome,
            "on_time": a.received_at < week_cutoff,
            "zero_report": counted and not recs,
            "rows": len(recs),
            "new": sum(1 for m in d.matches if m.is_new) if counted else 0,
            "major": sum(1 for r in recs if r["level"] == "重大"),
            "open": sum(1 for r in recs if r["status"] in statuses(*OPEN)),
            "rectified": sum(1 for r in recs if r["status"] in statuses(*DONE)),
            "unit_name_raw": p.field_text("unit_name"),
            "reporter": p.field_text("reporter"),
            "phone": p.field_text("phone"),
            "approver": p.field_text("approver"),
            "report_date": report_date.value if report_date.ok else None,
            "checks": parse_count(fields.get("checks"))[0],
            "check_person_times": parse_count(fields.get("check_person_times"))[0],
            "issues": [_issue_json(i) for i in d.issues],
            "archive_path": a.path.relative_to(self.paths.root).as_posix(),
            "receipt_path": receipt.relative_to(self.paths.root).as_posix(),
            "receipt_written": False,
            "limit_hit": p.limit_hit,
            "note": d.note,
        }

    # ------------------------------------------------------------ receipts

    def _write_early(self, rows: list[dict], superseded: set[int]) -> None:
        """Start writing this run's receipts (EarlyReceipts) from its submission rows as the record will hold them."""
        stored = [as_stored(submissions, {**r, "outcome": "superseded"} if r["id"] in superseded else r) for r in rows]
        self.progress("receipts", 0, len(stored))
        self.early = EarlyReceipts(self.paths, self.settings.limits, self.workers, stored)

    def _write_receipts(self) -> set[str]:
        """Publish this run's receipts written beside its record, then write every receipt still missing (theirs if
        that failed, any a crash left behind); their weeks. Each is written in a bounded worker; one that fails or
        is stopped there gets the plain receipt, written here. A receipt never changes what was recorded; one not
        written at all is left for the next run."""
        early = self.early.finish() if self.early is not None else set()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(submissions).where(submissions.c.receipt_written.is_(False))).mappings().all()
        weeks = {r["week"] for r in rows}
        rows = [r for r in rows if r["id"] not in early]
        root, limits = str(self.paths.root), self.settings.limits
        jobs = [({str(k): v for k, v in r.items()}, root, limits) for r in rows]  # plain keys: cheaper to send
        if jobs and self.early is None:
            self.progress("receipts", 0, len(jobs))
        done = bounded_map(partial(receipt_job_with, root, limits, None), [job[0] for job in jobs], self.workers,
                           Bounds.of(limits, self.paths.log_file))
        done = [plain_receipt(job, result) if result is None or isinstance(result, Stopped) else result
                for job, result in zip(jobs, done, strict=True)]
        if self.early is not None or jobs:
            self.progress("receipts", len(early) + len(done), len(early) + len(done))
        with self.engine.begin() as conn:
            ids = sorted(early | {r["id"] for r, written in zip(rows, done, strict=True) if written is not None})
            for i in range(0, len(ids), 500):
                conn.execute(
                    submissions.update().where(submissions.c.id.in_(ids[i : i + 500])).values(receipt_written=True)
                )
        return weeks


def _week_state(conn, school_ids: set[int], weeks: set[str]) -> WeekState:
    """The state of these schools' weeks as recorded: each one's counted file and the SHA-256 of every file."""
    state = WeekState()
    if not school_ids:
        return state
    rows = conn.execute(
        sa.select(
            submissions.c.id, submissions.c.school_id, submissions.c.week, submissions.c.sha256,
            submissions.c.outcome, submissions.c.file_name,
        ).where(submissions.c.week.in_(sorted(weeks)), submissions.c.school_id.is_not(None))
    )
    for sid, school_id, week, sha, outcome, name in rows:
        if school_id not in school_ids:
            continue
        state.shas.setdefault((school_id, week), set()).add(sha)
        if outcome == "accepted":
            state.accepted[(school_id, week)] = sid
            state.accepted_name[(school_id, week)] = name
    return state


def _issue_json(issue: Issue) -> dict:
    return asdict(issue)


def _observation_row(m, d: Decision, superseded: set[int]) -> dict:
    r = m.record
    return {
        "hazard_id": m.known.id,
        "submission_id": d.submission_id,
        "week": d.parsed.week,
        "row": r["_row"],
        "is_new": m.is_new,
        "counted": d.outcome == "accepted" and d.submission_id not in superseded,
        **{c: r[c] for c in ("source", "location", "category", "description", "level", "mode", "measures", "owner",
                             "deadline", "funds_wan", "interim_control", "status", "done_date", "verifier", "remarks")},
    }


# header-block issues of a file that names a school (wrongly): its folder never credits it
NAMES_A_SCHOOL = frozenset({"unknown-school", "school-code-mismatch"})


def _fatal(p: ParsedFile) -> bool:
    return any(i.code in ("ambiguous-sheet",) for i in p.issues)


def _next_id(conn, table) -> int:
    return (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1


def _counter(start: int):
    value = [start - 1]

    def next_value() -> int:
        value[0] += 1
        return value[0]

    return next_value
