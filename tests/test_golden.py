"""Every fixture of tests/fixtures/submissions (named after its defect) against its golden (cell, code) list.

The goldens were written from the spec alone (see that folder's README.md), not from this code's output.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from inspect_pipeline.core.errors import RosterError
from inspect_pipeline.schools.roster import load_roster
from inspect_pipeline.core.settings import Settings
from support import intake, make_root, manifest

FIXTURES = Path(__file__).parent / "fixtures" / "submissions"
GOLDEN = json.loads((FIXTURES / "golden.json").read_text(encoding="utf-8"))
DEFAULT_NOW = "2023-11-23T10:00:00+08:00"


def _root(tmp_path: Path) -> Path:
    root = make_root(tmp_path)
    shutil.copy(FIXTURES / GOLDEN["roster"], root / "roster.xlsx")
    return root


def _pairs(issues: list[dict], severity: str) -> list[list]:
    return sorted(([i["cell"], i["code"]] for i in issues if i["severity"] == severity),
                  key=lambda p: (p[0] is not None, _cell_key(p[0]), p[1]))


def _cell_key(cell: str | None) -> tuple:
    if cell is None:
        return (0, 0)
    letters = "".join(c for c in cell if c.isalpha())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return (int(cell[len(letters):]), col)


def _expected_pairs(pairs: list[list]) -> list[list]:
    return sorted(pairs, key=lambda p: (p[0] is not None, _cell_key(p[0]), p[1]))


def _check(entry: dict, want: dict, name: str) -> list[str]:
    problems = []
    if entry["outcome"] != want["outcome"]:
        problems.append(f"{name}: outcome {entry['outcome']} != {want['outcome']}")
    for severity, key in (("error", "errors"), ("warning", "warnings")):
        got, exp = _pairs(entry["issues"], severity), _expected_pairs(want.get(key, []))
        if got != exp:
            problems.append(f"{name}: {key} {got} != {exp}")
    if "hazards" in want and entry["hazards"] != want["hazards"]:
        problems.append(f"{name}: hazards {entry['hazards']} != {want['hazards']}")
    if want.get("school_code") and not want.get("school_code_may_be_null") and entry["school_code"] != want["school_code"]:
        problems.append(f"{name}: school {entry['school_code']} != {want['school_code']}")
    return problems


def _by_file(root: Path, weeks: set[str]) -> dict[str, dict]:
    out = {}
    for week in weeks:
        path = root / "receipts" / week / "manifest.json"
        if path.exists():
            for f in manifest(root, week)["files"]:
                out[f["file"]] = f
    return out


def test_all_fixtures_in_one_run(tmp_path):
    """All default-time fixtures dropped at once: each gets the outcome and cells its golden prescribes."""
    root = _root(tmp_path)
    wanted = {name: want for name, want in GOLDEN["files"].items() if want["now"] == DEFAULT_NOW}
    for name in wanted:
        shutil.copy(FIXTURES / name, root / "inbox" / name)
    intake(root, dt.datetime.fromisoformat(DEFAULT_NOW))
    got = _by_file(root, {"2023-W46", "2023-W47", "2023-W48"})
    problems = []
    for name, want in wanted.items():
        if want["outcome"] == "ignored":
            if name in got:
                problems.append(f"{name}: should be ignored")
            continue
        if name not in got:
            problems.append(f"{name}: missing from the manifest")
            continue
        problems += _check(got[name], want, name)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", [n for n, w in GOLDEN["files"].items() if w["now"] != DEFAULT_NOW])
def test_fixtures_with_their_own_clock(tmp_path, name):
    want = GOLDEN["files"][name]
    root = _root(tmp_path)
    shutil.copy(FIXTURES / name, root / "inbox" / name)
    result = intake(root, dt.datetime.fromisoformat(want["now"]))
    (entry,) = _by_file(root, set(result.weeks)).values()
    assert not _check(entry, want, name)


def test_cross_week_scenario(tmp_path):
    scenario = GOLDEN["cross_week"]
    root = _root(tmp_path)
    for run in scenario["runs"]:
        for f in run["files"]:
            shutil.copy(FIXTURES / f["file"], root / "inbox" / Path(f["file"]).name)
        intake(root, dt.datetime.fromisoformat(run["now"]))
        for f in run["files"]:
            entry = {e["file"]: e for e in manifest(root, f["week"])["files"]}[Path(f["file"]).name]
            assert not _check(entry, f, f["file"])


@pytest.mark.parametrize("name", sorted(GOLDEN["roster_bad"]))
def test_bad_rosters_name_the_row(name):
    want = GOLDEN["roster_bad"][name]
    rows = [want["roster_error_row"], *want.get("also_acceptable_rows", [])]
    with pytest.raises(RosterError) as err:
        load_roster(FIXTURES / name, Settings())
    assert any(f"第 {r} 行" in str(err.value) for r in rows), str(err.value)
