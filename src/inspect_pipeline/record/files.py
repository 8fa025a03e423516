"""Reading the record for people: the state of every file received."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ..core.paths import Paths
from ..core.settings import Settings
from .db import make_engine, migrate, reports, runs, submissions


def received_files(
    root: Path, settings: Settings, *, week: str | None = None, school: str | None = None, run_id: int | None = None,
    school_id: int | None = None, detail: bool = False,
) -> list[dict]:
    """Every received file (optionally of one week / matching school / the school of this record id / taken by
    one intake run), oldest first, with its issue counts; `detail` adds its id, SHA-256, note and issues."""
    paths = Paths.at(root, settings)
    query = sa.select(submissions).order_by(submissions.c.id)
    if school_id is not None:
        query = query.where(submissions.c.school_id == school_id)
    if run_id is not None:
        query = query.where(submissions.c.run_id == run_id)
    if week:
        query = query.where(submissions.c.week == week)
    if school:
        like = f"%{school}%"
        query = query.where(sa.or_(submissions.c.school_name.like(like), submissions.c.school_code.like(like)))
    engine = make_engine(paths.database_url)
    migrate(engine)  # a missing, foreign or damaged record is one clear line, never silently replaced
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    engine.dispose()
    return [
        {
            **{k: r[k] for k in ("received_at", "week", "school_code", "school_name", "file_name", "outcome",
                                 "on_time", "receipt_path")},
            "errors": sum(1 for i in r["issues"] if i["severity"] == "error"),
            "warnings": sum(1 for i in r["issues"] if i["severity"] == "warning"),
            **({k: r[k] for k in ("id", "school_id", "sha256", "note", "issues")} if detail else {}),
        }
        for r in rows
    ]


def submission(root: Path, settings: Settings, submission_id: int) -> dict | None:
    """One received file's school id and receipt path (relative to the data root), or None if unknown."""
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    migrate(engine)
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(submissions.c.id, submissions.c.school_id, submissions.c.receipt_path, submissions.c.week)
            .where(submissions.c.id == submission_id)
        ).mappings().first()
    engine.dispose()
    return None if row is None else dict(row)


def recent_runs(root: Path, settings: Settings, limit: int = 30) -> list[dict]:
    """The last intake runs, newest first: when, the run's clock, how many files and their outcomes."""
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    migrate(engine)
    with engine.connect() as conn:
        chosen = conn.execute(sa.select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings().all()
        ids = [r["id"] for r in chosen]
        counts = conn.execute(
            sa.select(submissions.c.run_id, submissions.c.outcome, sa.func.count())
            .where(submissions.c.run_id.in_(ids)).group_by(submissions.c.run_id, submissions.c.outcome)
        ).all() if ids else []
    engine.dispose()
    outcomes: dict[int, dict[str, int]] = {}
    for run_id, outcome, n in counts:
        outcomes.setdefault(run_id, {})[outcome] = n
    return [{"id": r["id"], "started_at": r["started_at"], "now": r["now"], "files": r["files"],
             "outcomes": outcomes.get(r["id"], {})} for r in chosen]


def report_id(engine, week: str, revision: int) -> int | None:
    """The record's id of a week's report revision (what the web page's download addresses use)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(reports.c.id).where(reports.c.week == week, reports.c.revision == revision)
                            ).scalar()


def report_revisions(root: Path, settings: Settings) -> list[dict]:
    """Every report revision, newest week and revision first: id, week, revision, when, its folder."""
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    migrate(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(reports.c.id, reports.c.week, reports.c.revision, reports.c.generated_at, reports.c.path)
            .order_by(reports.c.week.desc(), reports.c.revision.desc())
        ).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]
