"""Reliability campaign: bombs, kills and fuzz, with the figures docs/reliability.md quotes (Linux: reads /proc).

    .venv/bin/python bench/hostile.py                 # all three parts
    .venv/bin/python bench/hostile.py --part bombs    # or kills, fuzz; --kills 25 --fuzz 1000 to size them

bombs: each hostile file of tests/hostile.py is dropped with a good control file into a fresh data root and taken by
    `inspect-pipeline intake` in a fresh process; printed: wall time, the peak memory of the whole process tree
    (sum of RSS over the intake process and its workers, sampled every 20 ms) and of its largest process, the
    hostile file's outcome and detail, and whether the control file was accepted. The baseline in the same run is
    the control file alone.
kills: intake and report of a generated district are SIGKILLed at random moments, then run again to completion;
    the record, archive, manifests and report figures are compared with an uninterrupted run (divergences), and
    the data root is searched for temporary debris.
fuzz: files derived from the golden fixtures by flipping, truncating and splicing bytes (of the file, or of one
    member of a zipped workbook, packed again) go through one intake run; counted: files, run crashes, files not in
    exactly one state, outcomes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out" / "hostile"
sys.path[:0] = [str(REPO / "tests")]
NOW = "2023-11-23T10:00:00+08:00"
CLI = [sys.executable, "-m", "inspect_pipeline"]


# ---------------------------------------------------------------- measuring a process tree


def run_measured(args: list[str], timeout: float = 900) -> dict:
    """Run a CLI command in a new session; its wall time, peak tree and process RSS (MB), exit code and stderr."""
    from support import tree_rss

    started = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    peak_total = peak_one = 0
    while proc.poll() is None:
        total, one = tree_rss(proc.pid)
        peak_total, peak_one = max(peak_total, total), max(peak_one, one)
        if time.perf_counter() - started > timeout:
            os.killpg(proc.pid, signal.SIGKILL)
        time.sleep(0.02)
    out, err = proc.communicate()
    return {"seconds": time.perf_counter() - started, "tree_mb": peak_total / 2**20, "process_mb": peak_one / 2**20,
            "code": proc.returncode, "stderr": err.decode("utf-8", "replace"), "stdout": out.decode("utf-8", "replace")}


# ---------------------------------------------------------------- bombs


def _root(name: str) -> Path:
    from support import make_root

    folder = OUT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return make_root(folder)


def _manifest_files(root: Path) -> dict[str, dict]:
    files = {}
    for manifest in (root / "receipts").glob("*/manifest.json"):
        for f in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
            files[f["file"]] = f
    return files


def bombs() -> list[dict]:
    import hostile
    from support import drop, hazard, school_book

    control = school_book(rows=[hazard()])
    rows = []
    cases = [("control alone", None, None)] + [(name, name, ext) for name, ext in hostile.CATALOGUE]
    for label, builder, ext in cases:
        root = _root(f"bomb-{label.replace(' ', '-')}")
        drop(root, "control.xlsx", control)
        if builder:
            drop(root, f"hostile{ext}", getattr(hostile, builder)())
        size = (root / "inbox" / f"hostile{ext}").stat().st_size if builder else 0
        m = run_measured(["intake", "--data-root", str(root), "--now", NOW])
        files = _manifest_files(root)
        entry = files.get(f"hostile{ext}", {})
        issues = entry.get("issues") or [{}]
        rows.append({
            "file": label, "bytes": size, "seconds": round(m["seconds"], 1), "tree_mb": round(m["tree_mb"]),
            "process_mb": round(m["process_mb"]), "exit": m["code"], "outcome": entry.get("outcome", "—"),
            "detail": issues[0].get("message", "")[:90], "control": files.get("control.xlsx", {}).get("outcome"),
            "traceback": "Traceback" in m["stderr"] or "panicked" in m["stderr"],
        })
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    return rows


# ---------------------------------------------------------------- kills


def _state(root: Path) -> dict:
    """What must be identical after any kill: the record's files, the manifests, the archive and report figures."""
    import sqlalchemy as sa

    from inspect_pipeline.record.db import make_engine, submissions

    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        record = sorted(tuple(map(str, r)) for r in conn.execute(sa.select(
            submissions.c.inbox_path, submissions.c.sha256, submissions.c.outcome, submissions.c.week,
            submissions.c.received_at, submissions.c.rows, submissions.c.new, submissions.c.receipt_written)))
    engine.dispose()
    manifests = {}
    for m in sorted((root / "receipts").glob("*/manifest.json")):
        data = json.loads(m.read_text(encoding="utf-8"))
        manifests[m.parent.name] = sorted(json.dumps(f, sort_keys=True, ensure_ascii=False) for f in data["files"])
    archive = sorted(p.name for p in (root / "archive").rglob("*") if p.is_file())
    reports = {}
    for m in sorted((root / "reports").glob("*/r*/manifest.json")):
        data = json.loads(m.read_text(encoding="utf-8"))
        reports[m.parent.parent.name] = {k: data[k] for k in ("totals", "by_zone", "by_stage", "missing_units")}
    return {"record": record, "manifests": manifests, "archive": archive, "reports": reports}


def _debris(root: Path) -> list[str]:
    from inspect_pipeline.core.publish import TEMP_DIR, TEMP_FILE

    return [str(p) for p in root.rglob("*") if TEMP_FILE.match(p.name) or TEMP_DIR.match(p.name)]


def _district(name: str, template: Path) -> Path:
    root = OUT / name / "data"
    shutil.rmtree(root.parent, ignore_errors=True)
    shutil.copytree(template, root)
    return root


def _finish(root: Path, now: str, week: str) -> dict[str, float]:
    """Run intake then report to completion; how long each took."""
    took = {}
    for args in (["intake", "--now", now], ["report", "--week", week, "--now", "2023-11-24T13:00:00+08:00"]):
        started = time.perf_counter()
        done = subprocess.run([*CLI, args[0], "--data-root", str(root), *args[1:]], capture_output=True)
        took[args[0]] = time.perf_counter() - started
        if done.returncode:
            raise RuntimeError(done.stderr.decode("utf-8", "replace"))
    return took


def kills(trials: int, seed: int = 1) -> dict:
    from inspect_pipeline.demo import synth
    from support import make_root

    week = "2023-W47"
    template = OUT / "kill-template"
    shutil.rmtree(template, ignore_errors=True)
    template.mkdir(parents=True)
    root = make_root(template)
    (root / "roster.xlsx").unlink()
    expected = synth.generate_district(root, units=240, seed=seed, week=week)
    now = expected["suggested_now"]
    reference = _district("kill-reference", root)
    took = _finish(reference, now, week)  # a kill lands at a uniform moment of an uninterrupted run's duration
    want = _state(reference)
    rng = random.Random(seed)
    divergences, debris, killed = [], [], {"intake": 0, "report": 0}
    for trial in range(trials):
        target = "intake" if trial % 3 else "report"
        work = _district(f"kill-{trial}", root)
        if target == "report":
            subprocess.run([*CLI, "intake", "--data-root", str(work), "--now", now], check=True, capture_output=True)
            args = ["report", "--data-root", str(work), "--week", week, "--now", "2023-11-24T13:00:00+08:00"]
        else:
            args = ["intake", "--data-root", str(work), "--now", now]
        proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.05, 0.95) * took[target])
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            killed[target] += 1
        proc.wait()
        _finish(work, now, week)
        got = _state(work)
        if got != want:
            divergences.append({"trial": trial, "target": target,
                                "parts": [k for k in want if want[k] != got[k]]})
        debris += _debris(work)
        shutil.rmtree(work.parent, ignore_errors=True)
        print(f"trial {trial}: {target} {'killed' if proc.returncode else 'finished first'}; "
              f"divergences so far {len(divergences)}, debris {len(debris)}", flush=True)
    return {"trials": trials, "killed": killed, "divergences": divergences, "debris": debris}


# ---------------------------------------------------------------- fuzz


def _mutate(data: bytes, rng: random.Random) -> bytes:
    """For a zipped workbook, half the time one member's unpacked bytes mutated and packed again (so the XML
    readers, not the zip checks, meet the damage); else the file's own bytes mutated."""
    if data.startswith(b"PK") and rng.random() < 0.5:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zin:
                members = [(info, zin.read(info)) for info in zin.infolist()]
        except (zipfile.BadZipFile, OSError, ValueError):
            return _mutate_bytes(data, rng)
        k = rng.choice([i for i, (_, body) in enumerate(members) if len(body) > 1] or [0])
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
            for i, (info, body) in enumerate(members):
                zout.writestr(info.filename, _mutate_bytes(body, rng) if i == k and len(body) > 1 else body)
        return out.getvalue()
    return _mutate_bytes(data, rng)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One of: flipped bytes, truncation, a spliced block, a zeroed block."""
    b = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 20)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(1, len(b)):]
    elif kind == 2:
        i, j = sorted(rng.randrange(len(b)) for _ in range(2))
        k = rng.randrange(len(b))
        b[k:k] = b[i:j]
    else:
        i = rng.randrange(len(b))
        b[i:i + rng.randint(1, 4096)] = bytes(min(4096, len(b) - i))
    return bytes(b)


def fuzz(files: int, seed: int = 7) -> dict:
    sources = sorted(p for p in (REPO / "tests" / "fixtures" / "submissions").iterdir()
                     if p.suffix in (".xlsx", ".xls", ".ods", ".csv", ".xlsm") and p.stat().st_size > 64)
    rng = random.Random(seed)
    root = _root("fuzz")
    made = {}
    for i in range(files):
        source = rng.choice(sources)
        data = _mutate(source.read_bytes(), rng)
        name = f"f{i:04d}_{source.name}"
        made[name] = hashlib.sha256(data).hexdigest()
        (root / "inbox" / name).write_bytes(data)
    m = run_measured(["intake", "--data-root", str(root), "--now", NOW], timeout=3600)
    got = _manifest_files(root)
    states = [got.get(name, {}).get("outcome") for name in made]
    return {"files": files, "run_exit": m["code"], "seconds": round(m["seconds"], 1), "tree_mb": round(m["tree_mb"]),
            "not_in_one_state": sum(s is None for s in states),
            "outcomes": {s: states.count(s) for s in set(states)},
            "traceback_on_terminal": "Traceback" in m["stderr"] or "panicked" in m["stderr"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--part", choices=["bombs", "kills", "fuzz", "all"], default="all")
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--fuzz", type=int, default=1000)
    args = parser.parse_args()
    results = {"when": dt.datetime.now().isoformat(timespec="seconds")}
    if args.part in ("bombs", "all"):
        results["bombs"] = bombs()
    if args.part in ("kills", "all"):
        results["kills"] = kills(args.kills)
        print(json.dumps({k: v for k, v in results["kills"].items() if k != "debris"}, ensure_ascii=False))
    if args.part in ("fuzz", "all"):
        results["fuzz"] = fuzz(args.fuzz)
        print(json.dumps(results["fuzz"], ensure_ascii=False))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"results-{args.part}.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
