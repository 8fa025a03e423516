"""rebuild: the archive replayed into a fresh database gives the record's figures."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from inspect_pipeline.demo import synth
from inspect_pipeline.cli import app
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.jobs.rebuild import rebuild_week
from inspect_pipeline.core.settings import load_settings
from support import intake, make_root
from test_figures import build


def test_rebuild_reproduces_the_golden_district(tmp_path):
    root = build(tmp_path)  # two weeks, a superseded file, a late file, a zero report, a missing school
    settings = load_settings(root)
    for week in ("2023-W46", "2023-W47"):
        result = rebuild_week(Paths.at(root, settings), settings, week)
        assert result.files == 6 and result.runs == 4
        assert result.same, (result.rebuilt["totals"], result.recorded["totals"])


def test_rebuild_of_a_generated_district_and_the_command(tmp_path):
    root = make_root(tmp_path)
    roster = synth.make_roster(60, 3, seed=4)
    synth.write_roster(roster, root / "roster.xlsx")
    prior = None
    for week in ("2023-W47", "2023-W48"):
        files = synth.make_week(roster, week, seed=4, prior=prior)
        expected = synth.write_week(files, root / "inbox")
        intake(root, dt.datetime.fromisoformat(expected["suggested_now"]))
        prior = synth.next_prior(files, prior)
    result = CliRunner().invoke(app, ["rebuild", "--data-root", str(root), "--week", "2023-W48"])
    assert result.exit_code == 0 and "重算结果与记录一致" in result.output, result.output
