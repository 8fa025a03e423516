"""`receipts/<week>/manifest.json`: every file of the week so far, with outcome, counts and issues
(outputs.md §6: keys `week`, `cutoff`, `files`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..core.paths import Paths
from ..core.publish import write_json_atomic
from ..core.settings import Settings
from ..core.weeks import cutoff
from ..record.db import submissions

COUNT_KEYS = ("rows", "new", "major", "open", "rectified")


def week_files(conn: Connection, week: str) -> list[dict]:
    """The manifest's `files` list for a week, in the order files were received."""
    rows = conn.execute(
        sa.select(submissions).where(submissions.c.week == week).order_by(submissions.c.id)
    ).mappings()
    out = []
    for r in rows:
        counted = r["outcome"] in ("accepted", "superseded")
        out.append(
            {
                "file": r["file_name"],
                "sha256": r["sha256"],
                "size": r["size"],
                "received_at": r["received_at"],
                "school_code": r["school_code"],
                "school_name": r["school_name"],
                "outcome": r["outcome"],
                "on_time": r["on_time"],
                "hazards": {k: (r[k] if counted else 0) for k in COUNT_KEYS},
                "issues": [{k: v for k, v in i.items() if k != "fix"} for i in r["issues"]],
            }
        )
    return out


def write_intake_manifest(conn: Connection, paths: Paths, settings: Settings, week: str) -> dict:
    """Write (atomically) and return the week's intake manifest."""
    manifest = {
        "week": week,
        "cutoff": cutoff(week, settings).isoformat(),
        "files": week_files(conn, week),
    }
    write_json_atomic(paths.intake_manifest(week), manifest)
    return manifest
