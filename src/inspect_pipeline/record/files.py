"""Reading the record for people: the state of every file received."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ..core.paths import Paths
from ..core.settings import Settings
from .db import make_engine, migrate, submissions


def received_files(
    root: Path, settings: Settings, *, week: str | None = None, school: str | None = None, run_id: int | None = None
) -> list[dict]:
    """Every received file (optionally of one week / matching school / taken by one intake run), oldest first,
    with its issue counts."""
    paths = Paths.at(root, settings)
    query = sa.select(submissions).order_by(submissions.c.id)
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
        }
        for r in rows
    ]
