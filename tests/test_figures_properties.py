"""Invariants of the figures on generated districts (Hypothesis picks the district), and order independence."""

from __future__ import annotations

import datetime as dt
import pathlib
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_pipeline.demo import synth
from inspect_pipeline.report.figures import FIGURE_KEYS
from support import intake, make_root
from test_figures import figures_of

WEEKS = ("2023-W47", "2023-W48")


def run_two_weeks(root: Path, units: int, seed: int) -> None:
    roster = synth.make_roster(units, 3, seed=seed)
    synth.write_roster(roster, root / "roster.xlsx")
    prior = None
    for week in WEEKS:
        files = synth.make_week(roster, week, seed=seed, prior=prior)
        expected = synth.write_week(files, root / "inbox")
        intake(root, dt.datetime.fromisoformat(expected["suggested_now"]))
        prior = synth.next_prior(files, prior)


def check_block(b: dict) -> None:
    assert b["rectified"] <= b["found"]
    assert b["found"] == b["rectified"] + b["in_progress"] + b["not_rectified"]
    assert b["found"] == b["found_general"] + b["found_major"]
    assert b["rectified"] == b["rectified_general"] + b["rectified_major"]
    assert b["received"] == b["on_time"] + b["late"] and b["due"] == b["received"] + b["missing"]
    assert b["overdue"] <= b["in_progress"] + b["not_rectified"]
    for key in ("report_rate", "rectification_rate", "major_rectification_rate"):
        assert b[key] is None or 0 <= b[key] <= 1


@settings(max_examples=3, deadline=None)
@given(units=st.integers(6, 25), seed=st.integers(0, 10_000))
def test_figure_invariants(units, seed):
    with tempfile.TemporaryDirectory() as tmp:
        root = make_root(Path(tmp))
        run_two_weeks(root, units, seed)
        per_week = [figures_of(root, w) for w in WEEKS]
        for w in per_week:
            for block in ("week", "cumulative"):
                check_block(w.totals[block])
                for rows in (w.by_zone, w.by_stage):
                    for r in rows:
                        check_block(r[block])
                    for key in FIGURE_KEYS:
                        if not key.endswith("rate"):
                            assert sum(r[block][key] for r in rows) == pytest.approx(w.totals[block][key])
        # every hazard falls in exactly one week's block
        assert sum(w.totals["week"]["found"] for w in per_week) == per_week[-1].totals["cumulative"]["found"]
        assert sum(w.totals["week"]["due"] for w in per_week) == per_week[-1].totals["cumulative"]["due"]


def test_figures_do_not_depend_on_the_order_the_filesystem_lists_files(tmp_path, monkeypatch):
    first = make_root(tmp_path / "a")
    run_two_weeks(first, 20, 7)
    real_rglob = pathlib.Path.rglob
    monkeypatch.setattr(pathlib.Path, "rglob", lambda self, pattern: reversed(list(real_rglob(self, pattern))))
    second = make_root(tmp_path / "b")
    run_two_weeks(second, 20, 7)
    for week in WEEKS:
        a, b = figures_of(first, week), figures_of(second, week)
        assert (a.totals, a.by_zone, a.by_stage, a.missing_units) == (b.totals, b.by_zone, b.by_stage, b.missing_units)
