"""Each issue code is declared once, with its scope (schemas/issues.toml), and the scope decides which cell the
issue points at (submission.md "Which cell"): checked on every issue of a messy synthetic district's week."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

from support import make_root

from inspect_pipeline.core.issues import SCOPES, issue_texts
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo import synth
from inspect_pipeline.intake.run import run_intake


def test_every_code_has_a_known_scope_and_the_spec_table_follows_from_it():
    texts = issue_texts()
    by_scope = {scope: {code for code, spec in texts.items() if spec["scope"] == scope} for scope in SCOPES}
    # submission.md "Which cell": the codes with `cell` null are exactly those of the cell-less scopes
    assert set().union(*(by_scope[s] for s in SCOPES if SCOPES[s] is False)) == {
        "unreadable-file", "unsupported-format", "password-protected", "no-header-row", "ambiguous-sheet",
        "missing-unit", "zero-report-assumed", "hazard-dropped"}
    assert by_scope["header-block"] == {"unknown-school", "unit-name-mismatch", "wrong-week", "school-code-mismatch"}
    assert by_scope["header-row"] == {"missing-column", "duplicate-column", "extra-column"}


def test_every_issue_of_a_messy_week_points_at_a_cell_exactly_when_its_scope_does(tmp_path):
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    expected = synth.generate_district(root, units=80, seed=5, week="2023-W47")
    settings = load_settings(root)
    run_intake(Paths.at(root, settings), settings, dt.datetime.fromisoformat(expected["suggested_now"]),
               settle=False)
    manifest = json.loads((root / "receipts" / "2023-W47" / "manifest.json").read_text(encoding="utf-8"))
    issues = [i for f in manifest["files"] for i in f["issues"]]
    seen = Counter()
    for issue in issues:
        points = SCOPES[issue_texts()[issue["code"]]["scope"]]
        seen[issue["code"]] += 1
        if points is False:
            assert issue["cell"] is None, issue
        elif points is True:
            assert issue["cell"] is not None, issue
    assert len(seen) >= 10, seen  # the week is messy enough to mean something
