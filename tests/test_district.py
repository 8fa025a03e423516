"""A generated district (synth.py) through intake: every file gets the outcome and cells the generator expects;
two weeks chained; the SIGKILL recovery; two intake runs at once."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_pipeline.demo import synth
from inspect_pipeline.record.db import make_engine, submissions
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.publish import TEMP_DIR, TEMP_FILE
from inspect_pipeline.schools.roster import load_roster
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.core.weeks import cutoff
from support import intake, make_root, manifest

WEEK = "2023-W47"


def _district(tmp_path: Path, units: int = 240, seed: int = 0) -> tuple[Path, dict]:
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    expected = synth.generate_district(root, units=units, seed=seed, week=WEEK)
    return root, expected


def _key(pair: list) -> tuple:
    return (pair[0] or "", pair[1])


def _shas(root: Path, expected: dict) -> dict[str, str]:
    """SHA-256 → path below the inbox, read before intake takes the files."""
    return {hashlib.sha256((root / "inbox" / rel).read_bytes()).hexdigest(): rel for rel in expected["files"]}


def _mismatches(root: Path, expected: dict, shas: dict[str, str]) -> list[str]:
    got: dict[str, dict] = {}
    for week_dir in (root / "receipts").iterdir():
        if (week_dir / "manifest.json").exists():
            for f in manifest(root, week_dir.name)["files"]:
                got[shas.get(f["sha256"], f["sha256"])] = f
    problems = []
    for rel, want in expected["files"].items():
        exp = want["expected"] if "expected" in want else want
        entry = got.get(rel)
        if exp["outcome"] is None:
            if entry is not None:
                problems.append(f"{rel}: a temp file was taken")
            continue
        if entry is None:
            problems.append(f"{rel}: missing from the manifest")
            continue
        errors = sorted(([i["cell"], i["code"]] for i in entry["issues"] if i["severity"] == "error"), key=_key)
        warnings = sorted(([i["cell"], i["code"]] for i in entry["issues"] if i["severity"] == "warning"), key=_key)
        if (entry["outcome"], errors) != (exp["outcome"], sorted(exp["errors"], key=_key)):
            problems.append(f"{rel}: {entry['outcome']} {errors} != {exp['outcome']} {exp['errors']}")
        elif warnings != sorted(exp["warnings"], key=_key):
            problems.append(f"{rel}: warnings {warnings} != {exp['warnings']}")
        elif "hazards" in exp and entry["hazards"] != exp["hazards"]:
            problems.append(f"{rel}: hazards {entry['hazards']} != {exp['hazards']}")
    return problems


def test_generated_district_gets_the_expected_outcomes(tmp_path):
    root, expected = _district(tmp_path)
    shas = _shas(root, expected)
    intake(root, dt.datetime.fromisoformat(expected["suggested_now"]))
    problems = _mismatches(root, expected, shas)
    assert not problems, "\n".join(problems[:30])


def test_two_weeks_carry_hazards_over(tmp_path):
    root = make_root(tmp_path)
    roster = synth.make_roster(120, 4, seed=3)
    synth.write_roster(roster, root / "roster.xlsx")
    first = synth.make_week(roster, "2023-W47", seed=3)
    exp1 = synth.write_week(first, root / "inbox")
    shas = _shas(root, exp1)
    intake(root, dt.datetime.fromisoformat(exp1["suggested_now"]))
    assert not _mismatches(root, exp1, shas)
    second = synth.make_week(roster, "2023-W48", seed=3, prior=synth.next_prior(first))
    exp2 = synth.write_week(second, root / "inbox")
    shas = _shas(root, exp2)
    intake(root, dt.datetime.fromisoformat(exp2["suggested_now"]))
    problems = _mismatches(root, exp2, shas)
    assert not problems, "\n".join(problems[:30])
    carried = [f for f in manifest(root, "2023-W48")["files"] if f["outcome"] == "accepted"]
    assert sum(f["hazards"]["rows"] - f["hazards"]["new"] for f in carried) > 100  # hazards recognised again


# ---------------------------------------------------------------- crash and concurrency


def _cli(root: Path, now: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "inspect_pipeline", "intake", "--data-root", str(root), "--now", now],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, **kw,
    )


def _state(root: Path) -> list[tuple]:
    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(submissions.c.inbox_path, submissions.c.sha256, submissions.c.outcome,
                      submissions.c.receipt_path, submissions.c.receipt_written).order_by(submissions.c.id)
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _count(folder: Path, pattern: str) -> int:
    return sum(1 for _ in folder.rglob(pattern)) if folder.exists() else 0


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("stage", ["archive", "record", "receipts"])
def test_killed_intake_recovers_with_every_file_in_exactly_one_state(tmp_path, stage):
    root, expected = _district(tmp_path)
    shas = _shas(root, expected)
    now = expected["suggested_now"]
    proc = _cli(root, now)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if stage == "archive" and _count(root / "archive", "*.json") >= 40:
            break
        if stage == "record" and _count(root / "archive", "*.json") >= len(shas) - 2:
            time.sleep(0.3)  # reading and validating: before or during the transaction
            break
        # receipts are written into a staging folder of .state beside the record, moved into place after it
        if stage == "receipts" and _count(root / ".state", "*.xlsx") + _count(root / "receipts", "*.xlsx") >= 20:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "intake finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()

    intake(root, dt.datetime.fromisoformat(now) + dt.timedelta(minutes=10))
    state = _state(root)
    taken = [(p, s) for p, s, *_ in state]
    assert len(taken) == len(set(taken)), "a file was recorded twice"
    real = {rel for rel, want in expected["files"].items() if (want.get("expected") or want)["outcome"] is not None}
    assert {p for p, _ in taken} == real, "a file was lost"
    assert all(written and (root / receipt).is_file() for *_, receipt, written in state)
    assert not [p for p in (root / "inbox").rglob("*") if p.is_file() and p.relative_to(root / "inbox").as_posix() in real]
    # every outcome as if nothing had happened (received_at is the first sighting)
    problems = _mismatches(root, expected, shas)
    assert not problems, "\n".join(problems[:20])
    assert not _debris(root), "the next run left a killed run's temporary files"
    before = (manifest(root, WEEK), state)
    intake(root, dt.datetime.fromisoformat(now) + dt.timedelta(minutes=20))
    assert (manifest(root, WEEK), _state(root)) == before  # running again changes nothing


def _debris(root: Path) -> list[Path]:
    """Temporary files and folders of ours anywhere below the data root, and the unfinished-run mark."""
    found = [p for p in root.rglob("*") if TEMP_FILE.match(p.name) or TEMP_DIR.match(p.name)]
    return found + [p for p in [root / ".state" / "run.unfinished"] if p.exists()]


def _report_cli(root: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "inspect_pipeline", "report", "--data-root", str(root), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
@pytest.mark.parametrize("stage", ["workbooks", "templates"])
def test_killed_report_leaves_nothing_behind_after_the_next_run(tmp_path, stage):
    root, expected = _district(tmp_path, units=120, seed=3)
    now = dt.datetime.fromisoformat(expected["suggested_now"])
    intake(root, now)
    after_cutoff = "2023-11-24T13:00:00+08:00"
    proc = _report_cli(root, "--week", WEEK, "--now", after_cutoff)
    watched = {"workbooks": root / "reports" / WEEK, "templates": root / "templates" / "2023-W48"}[stage]
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if watched.is_dir() and any(TEMP_FILE.match(p.name) or TEMP_DIR.match(p.name) for p in watched.iterdir()):
            break
        time.sleep(0.005)
    assert proc.poll() is None, "report finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()
    assert _debris(root), "the kill left nothing to clean: the test did not test the sweep"
    mine = root / "reports" / "notes.tmp"  # a clerk's own file with a temp-like name is never touched
    mine.write_text("keep", encoding="utf-8")

    done = _report_cli(root, "--week", WEEK, "--now", after_cutoff)
    out, err = done.communicate(timeout=300)
    assert done.returncode == 0, err.decode()
    assert not _debris(root)
    assert mine.read_text(encoding="utf-8") == "keep"
    revisions = sorted(p.name for p in (root / "reports" / WEEK).iterdir())
    assert revisions == ["r1"]
    assert (root / "reports" / WEEK / "r1" / "manifest.json").is_file()
    settings = load_settings(root)
    due = load_roster(Paths.at(root, settings).roster_file, settings).due(cutoff("2023-W48", settings).date())
    assert len(list((root / "templates" / "2023-W48").glob("*.xlsx"))) == 1 + len(due)  # blank + one per school


@pytest.mark.skipif(sys.platform == "win32", reason="uses the POSIX process group")
def test_two_intake_runs_at_once_process_every_file_once(tmp_path):
    root, expected = _district(tmp_path, units=120, seed=5)
    shas = _shas(root, expected)
    now = expected["suggested_now"]
    runs = [_cli(root, now), _cli(root, now)]
    outputs = [p.communicate(timeout=300) for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outputs
    taken = [(p, s) for p, s, *_ in _state(root)]
    assert len(taken) == len(set(taken))
    assert not _mismatches(root, expected, shas)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="needs LibreOffice")
@pytest.mark.parametrize("fmt", ["xls", "ods", "xlsx"])
def test_generated_files_resaved_by_libreoffice_get_the_same_outcomes(tmp_path, fmt):
    """The generated workbooks re-saved by a real office program (another writer than ours): same outcomes, cells."""
    roster = synth.make_roster(40, 3, seed=11)
    week = synth.make_week(roster, WEEK, seed=11)
    expected = synth.write_week(week, tmp_path / "stage")
    chosen = [rel for rel, want in expected["files"].items()
              if rel.endswith(".xlsx") and (want.get("expected") or want)["outcome"] == "accepted"
              or rel.endswith(".xlsx") and want["kind"] == "invalid"]
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, rel in enumerate(chosen):
        shutil.copy(tmp_path / "stage" / rel, flat / f"f{i:03d}.xlsx")
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--convert-to", fmt,
         "--outdir", str(tmp_path / fmt), *sorted(str(p) for p in flat.glob("*.xlsx"))],
        check=True, capture_output=True, timeout=600,
    )
    root = make_root(tmp_path)
    synth.write_roster(roster, root / "roster.xlsx")
    resaved = {}
    for i, rel in enumerate(chosen):
        data = (tmp_path / fmt / f"f{i:03d}.{fmt}").read_bytes()
        (root / "inbox" / f"f{i:03d}.{fmt}").write_bytes(data)
        resaved[hashlib.sha256(data).hexdigest()] = rel
    intake(root, dt.datetime.fromisoformat(expected["suggested_now"]))
    subset = {"files": {rel: expected["files"][rel] for rel in chosen}}
    problems = _mismatches(root, subset, resaved)
    assert len(chosen) > 20 and not problems, "\n".join(problems[:20])
