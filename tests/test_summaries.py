"""The report from summaries (issue #14) against a full recomputation, on a generated five-week history with late
files for an earlier week (they move hazards' first weeks), a school opened and one closed within the weeks, and a
school the roster no longer lists:

- the week's figures summed by the database over the ledger's current page and the submissions
  (`compute_week`) equal the same figures computed from every hazard and unit-week read
  (`compute_week(full=True)`), per zone, per stage and per school;
- the rate trend counted over the ledger's spans (`rate_points`) equals each week's state recomputed here from the
  counted observations alone (no product code).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo import synth
from inspect_pipeline.ledger import hazards as ledger
from inspect_pipeline.record import bulk as record_bulk
from inspect_pipeline.record.db import hazard_spans, hazard_state, hazards, make_engine, observations
from inspect_pipeline.report.figures import compute_week, rate_points
from inspect_pipeline.report.listings import hazard_list, school_rows
from inspect_pipeline.schools.identity import current_roster
from support import intake, make_root

WEEKS = ("2023-W44", "2023-W45", "2023-W46", "2023-W47", "2023-W48")
LATE = "2023-W46"  # two of its files come in only after W48's


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    root = make_root(tmp_path_factory.mktemp("summaries"))
    roster = synth.make_roster(30, 3, seed=5)
    synth.write_roster(roster, root / "roster.xlsx")
    held = tmp_path_factory.mktemp("held")
    prior, later = None, None
    for week in WEEKS:
        files = synth.make_week(roster, week, seed=5, prior=prior)
        staging = tmp_path_factory.mktemp(f"staging-{week}")
        expected = synth.write_week(files, staging)
        if week == LATE:
            late = [p for p, f in expected["files"].items() if f["outcome"] == "accepted"][:2]
            for rel in late:
                (held / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staging / rel, held / rel)
        shutil.copytree(staging, root / "inbox", dirs_exist_ok=True)
        later = dt.datetime.fromisoformat(expected["suggested_now"])
        intake(root, later)
        prior = synth.next_prior(files, prior)
    shutil.copytree(held, root / "inbox", dirs_exist_ok=True)
    intake(root, later + dt.timedelta(hours=1))
    book = openpyxl.load_workbook(root / "roster.xlsx")
    ws = book.active
    column = {c.value: c.column for c in ws[1]}
    ws.cell(2, column["启用日期"], dt.date(2023, 11, 8))  # opened in W45: its W44 file is not counted as due
    ws.cell(3, column["停用日期"], dt.date(2023, 11, 15))  # closed in W46: not due from then on
    ws.delete_rows(5)  # the bureau drops a school from the roster
    book.save(root / "roster.xlsx")
    return root


def open_record(root: Path):
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    return settings, engine, current_roster(paths, settings, engine, register=False)


@pytest.mark.parametrize("week", WEEKS)
def test_the_summed_figures_equal_a_full_recomputation(history, week):
    settings, engine, roster = open_record(history)
    with engine.connect() as conn:
        summed = compute_week(conn, roster, settings, week)
        full = compute_week(conn, roster, settings, week, full=True)
        assert summed.totals["cumulative"]["found"] > 0
        assert (summed.totals, summed.by_zone, summed.by_stage) == (full.totals, full.by_zone, full.by_stage)
        assert school_rows(summed, roster, conn) == school_rows(full, roster, conn)
    columns = ["hazard_id", "school_id", "week", "first_week", "status", "prev_status", "observation_id", "level",
               "mode", "deadline", "funds_wan", "code", "found_date", "major", "overdue", "closed_now", "zone"]

    def rows(h: pd.DataFrame) -> list[tuple]:
        return sorted(tuple(None if pd.isna(v) else v for v in r) for r in h[columns].itertuples(index=False))

    assert rows(summed.hazards) == rows(full.hazards[~full.hazards["done"]])  # the open hazards, as listed
    engine.dispose()


def test_the_trend_counted_over_the_spans_equals_the_history_replayed(history):
    settings, engine, roster = open_record(history)
    o, h = observations.c, hazards.c
    with engine.connect() as conn:
        seen = pd.DataFrame(conn.execute(
            sa.select(o.hazard_id, o.week, o.status, h.school_id).join(hazards, h.id == o.hazard_id)
            .where(o.counted.is_(True))).all(), columns=["hazard_id", "week", "status", "school_id"])
        points = rate_points(conn, list(WEEKS), WEEKS[0], set(roster.by_id))
    engine.dispose()
    listed = seen[seen["school_id"].isin(set(roster.by_id))]
    assert listed["school_id"].nunique() < seen["school_id"].nunique()  # the dropped school had hazards
    expected = {}
    for week in WEEKS:
        upto = listed[listed["week"] <= week].sort_values("week")
        state = upto.groupby("hazard_id").last()  # each hazard's latest counted observation up to the week
        expected[week] = (len(state), int(state["status"].isin(["已整改", "已销号"]).sum()))
    assert points == expected
    first_weeks = seen.groupby("hazard_id")["week"].min()
    assert (first_weeks == LATE).sum() > 0  # the late files hold hazards first recorded in W46


@pytest.mark.parametrize("in_list", [500, 7])
def test_the_kept_page_and_spans_equal_a_rebuild_from_the_history(history, monkeypatch, in_list):
    """What intake kept up to date run by run (refresh_state) is what the whole history gives (rebuild_state), and
    what refreshing every hazard gives from an empty page: by lists of ids, and by a temporary table of them
    (in_list=7)."""
    monkeypatch.setattr(record_bulk, "IN_LIST", in_list)
    settings, engine, roster = open_record(history)

    def kept(conn) -> tuple[list, list]:
        return (sorted(tuple(r) for r in conn.execute(sa.select(hazard_state)).all()),
                sorted(tuple(r) for r in conn.execute(sa.select(*(c for c in hazard_spans.c if c.name != "id"))).all()))

    with engine.connect() as conn:
        before = kept(conn)
        ids = set(conn.execute(sa.select(hazards.c.id)).scalars())
        assert len(ids) > in_list and len(before[0]) == len(ids) and len(before[1]) > len(ids)
        conn.execute(hazard_state.delete())
        conn.execute(hazard_spans.delete())
        ledger.refresh_state(conn, ids)
        assert kept(conn) == before
        ledger.rebuild_state(conn)
        assert kept(conn) == before
        conn.rollback()
    engine.dispose()


def test_the_listed_hazards_are_the_same_named_by_a_temporary_table(history, monkeypatch):
    """hazard_details reads the texts of many listed hazards through a temporary table of their ids (`id_set`):
    the lists are those read by lists of ids."""
    settings, engine, roster = open_record(history)
    with engine.connect() as conn:
        wf = compute_week(conn, roster, settings, WEEKS[-1])
        by_list = hazard_list(wf, conn, overdue_too=True)
        monkeypatch.setattr(record_bulk, "IN_LIST", 7)
        by_table = hazard_list(wf, conn, overdue_too=True)
    engine.dispose()
    assert len(by_list) > 7 and all(row["description"] for row in by_list)
    assert by_table == by_list
