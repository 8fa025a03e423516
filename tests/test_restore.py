"""A lost record is made again from the archive: `restore` gives the same files, outcomes, figures and report
revisions, keeps the receipts on disk, and the next intake has nothing left to do."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import pytest
import sqlalchemy as sa

from inspect_pipeline.record.db import make_engine, reports, submissions
from inspect_pipeline.core.errors import RecordError
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.jobs.rebuild import figures_of
from inspect_pipeline.report.build import build_report
from inspect_pipeline.jobs.restore import restore_record
from inspect_pipeline.schools.roster import load_roster
from inspect_pipeline.schools.identity import identify
from inspect_pipeline.core.settings import load_settings
from support import drop, hazard, intake, make_root, school_book

W46 = dt.datetime.fromisoformat("2023-11-16T10:00:00+08:00")
W47 = dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00")
FOUND = dt.datetime(2023, 11, 13)


def _record(paths: Paths) -> dict:
    engine = make_engine(paths.database_url)
    with engine.connect() as conn:
        subs = sorted(tuple(r) for r in conn.execute(sa.select(
            submissions.c.inbox_path, submissions.c.sha256, submissions.c.week, submissions.c.outcome,
            submissions.c.received_at, submissions.c.receipt_path, submissions.c.receipt_written)))
        revisions = sorted(tuple(r) for r in conn.execute(sa.select(reports.c.week, reports.c.revision, reports.c.path)))
        settings = load_settings(paths.root)
        figures = figures_of(conn, identify(conn, load_roster(paths.roster_file, settings), register=False), settings,
                             "2023-W47")
    engine.dispose()
    return {"submissions": subs, "revisions": revisions, "figures": figures}


@pytest.fixture
def history(tmp_path):
    """Two weeks received and reported, then the database file lost (moved away)."""
    root = make_root(tmp_path)
    drop(root, "一实小/w46.xlsx", school_book(rows=[hazard(found=FOUND), hazard("插座松动", found=FOUND)],
                                            week="2023年第46周"))
    drop(root, "三幼/bad.xlsx", school_book(unit="三幼", rows=[hazard(level="较大")]))
    drop(root, "银中/empty.xlsx", b"")
    intake(root, W46)
    drop(root, "一实小/w47.xlsx", school_book(rows=[hazard(found=FOUND, status="已整改",
                                                           完成日期=dt.datetime(2023, 11, 22)), hazard("插座松动", found=FOUND)]))
    drop(root, "三幼/good.xlsx", school_book(unit="三幼", rows=[hazard()]))
    intake(root, W47)
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    build_report(paths, settings, "2023-W47", dt.datetime.fromisoformat("2023-11-24T13:00:00+08:00"))
    before = _record(paths)
    shutil.move(root / ".state" / "inspect.db", tmp_path / "lost.db")
    return paths, settings, before


def test_restore_gives_back_the_record(history):
    paths, settings, before = history
    result = restore_record(paths, settings)
    assert (result.files, result.revisions) == (5, 1)
    assert result.receipts_found == 5
    assert _record(paths) == before
    again = intake(paths.root, W47 + dt.timedelta(hours=1))
    assert again.files == 0 and again.weeks == []  # no receipt rewritten, nothing taken twice
    with pytest.raises(RecordError, match="已有 5 个文件的记录"):
        restore_record(paths, settings)


def test_a_damaged_record_is_refused_and_the_message_says_how_to_restore(history):
    paths, _, before = history
    (paths.root / ".state" / "inspect.db").write_bytes(b"")
    run = subprocess.run([sys.executable, "-m", "inspect_pipeline", "intake", "--data-root", str(paths.root)],
                         capture_output=True, text=True, encoding="utf-8")
    assert run.returncode == 7
    assert "inspect-pipeline restore" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    (paths.root / ".state" / "inspect.db").unlink()
    run = subprocess.run([sys.executable, "-m", "inspect_pipeline", "restore", "--data-root", str(paths.root)],
                         capture_output=True, text=True, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    assert "已从归档恢复 5 个文件" in run.stdout
    assert _record(paths) == before
