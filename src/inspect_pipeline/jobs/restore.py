"""`restore`: a lost record (an emptied, damaged or deleted database) made again from the archive.

Every archived drop is taken again, at its first received time, into the data root's own database, which must hold
no submissions (a missing SQLite file is created; a damaged one must first be moved away, and an empty PostgreSQL
database set up by `init`). Receipts already on disk are kept and marked written; report revisions are known again
from their folders. What the archive does not hold — the mail delivery record — cannot come back.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass

import sqlalchemy as sa

from ..core.errors import RecordError
from ..core.lock import run_lock
from ..core.paths import Paths
from ..core.publish import temp_dir_for
from ..core.settings import Settings
from ..intake.replay import received, replay
from ..record.db import database_label, make_engine, migrate, reports, submissions
from .context import Progress


@dataclass(frozen=True)
class RestoreResult:
    files: int  # drops replayed
    runs: int  # intake runs replayed
    receipts_found: int  # receipts already on disk, marked written
    revisions: int  # report revisions known again


def restore_record(paths: Paths, settings: Settings, progress: Progress | None = None) -> RestoreResult:
    """Replay the whole archive into the data root's empty record; RecordError if it already holds submissions.
    The replay's runs are told to `progress` (stage `replay`)."""
    engine = make_engine(paths.database_url)
    migrate(engine)  # refuses a damaged or foreign database: it must be moved away first
    with engine.connect() as conn:
        held = conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar_one()
    if held:
        raise RecordError(f"数据库 {database_label(engine)} 中已有 {held} 个文件的记录："
                          "restore 只用于恢复空的数据库（请先将现有数据库移到别处，或改用 rebuild 核对）")
    drops = received(paths)
    with run_lock(paths, settings, "另一个任务正在运行，请稍后再恢复"):
        work = temp_dir_for(paths.state_dir / "restore")
        work.mkdir(parents=True)
        try:
            runs = replay(paths, settings, drops, work, paths.database_url, stops={}, progress=progress)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with engine.begin() as conn:
            found = _mark_receipts(conn, paths)
            revisions = _known_revisions(conn, paths)
    engine.dispose()
    return RestoreResult(len(drops), runs, found, revisions)


def _mark_receipts(conn, paths: Paths) -> int:
    """Mark written every receipt already on disk (the others are written by the next intake); how many."""
    rows = conn.execute(sa.select(submissions.c.id, submissions.c.receipt_path)).all()
    ids = [sid for sid, rel in rows if rel and (paths.root / rel).is_file()]
    for i in range(0, len(ids), 500):
        conn.execute(submissions.update().where(submissions.c.id.in_(ids[i:i + 500])).values(receipt_written=True))
    return len(ids)


def _known_revisions(conn, paths: Paths) -> int:
    """Record every report revision folder again, with the last file received before it was generated."""
    received_at = [(dt.datetime.fromisoformat(at), sid) for sid, at in
                   conn.execute(sa.select(submissions.c.id, submissions.c.received_at))]
    rows = []
    for manifest in sorted(paths.reports_root.glob("*/r*/manifest.json")):
        try:
            data = json.loads(manifest.read_text(encoding="utf-8"))
            generated = dt.datetime.fromisoformat(data["generated_at"])
            week, revision = data["week"], int(data["revision"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a revision this software wrote
        last = max((sid for at, sid in received_at if at <= generated), default=0)
        rows.append({"week": week, "revision": revision, "generated_at": data["generated_at"],
                     "path": manifest.parent.relative_to(paths.root).as_posix(), "last_submission_id": last})
    if rows:
        conn.execute(reports.insert(), rows)
    return len(rows)
