"""Benchmark: intake of a generated district (500 units) and city (5,000 units, ~10 hazard rows each).

    .venv/bin/python bench/intake.py                      # both sizes
    .venv/bin/python bench/intake.py --units 500 --baseline-sample 0

For each size: generate the files (not timed, cached under bench/out/), copy them into a fresh data root, run one
`intake` in a fresh process (everything intake does: archive, read, validate, record, receipts, manifests) and
report files/s, per-stage time and peak memory (main process and worker processes). In the same run, a naive
baseline measures, per file, `pd.read_excel(engine="openpyxl")` + one pandera `validate` call of the same row
schema, on every file (district) or an evenly spaced sample (city), and the ratio of the two per-file costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
NOW = "2023-11-23T18:00:00+08:00"


def generate(units: int, seed: int) -> Path:
    """A generated district under bench/out/gen-<units>-<seed>/ (roster.xlsx + inbox/), reused when present."""
    from inspect_pipeline.demo import synth

    folder = OUT / f"gen-{units}-{seed}"
    if (folder / "done").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    expected = synth.generate_district(folder, units=units, seed=seed)
    (folder / "expected.json").write_text(json.dumps(expected, ensure_ascii=False), encoding="utf-8")
    (folder / "done").write_text("ok", encoding="utf-8")
    return folder


def fresh_root(generated: Path, units: int) -> Path:
    """A new data root holding a copy of the generated inbox and roster."""
    from inspect_pipeline.jobs.setup import init_data_root

    root = OUT / f"root-{units}"
    shutil.rmtree(root, ignore_errors=True)
    init_data_root(root)
    shutil.copy(generated / "roster.xlsx", root / "roster.xlsx")
    shutil.rmtree(root / "inbox")
    shutil.copytree(generated / "inbox", root / "inbox")
    return root


class WorkerPeak:
    """Largest peak resident size (VmHWM) of the worker processes (Linux /proc): they are forked by a fork server,
    so they are not this process's children and `RUSAGE_CHILDREN` does not see them; sampled every 0.1 s."""

    def __init__(self) -> None:
        import threading

        self.peak_kb, self._stop = 0, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> WorkerPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        import os

        me, group = os.getpid(), os.getpgrp()
        while not self._stop.wait(0.1):
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    if int(proc.name) == me or int(fields[2]) != group:
                        continue
                    rss = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("VmHWM"))
                except (OSError, StopIteration, IndexError, ValueError):
                    continue
                self.peak_kb = max(self.peak_kb, int(rss.split()[1]))


def measure_intake(root: Path, now: str = NOW) -> dict:
    """Run intake once in this process; timings and peak memory (call in a fresh process). Also used by
    bench/province.py, which imports this module's functions."""
    import resource

    from inspect_pipeline.intake.run import run_intake
    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.core.settings import load_settings

    settings = load_settings(root)
    started = time.perf_counter()
    with WorkerPeak() as workers:
        result = run_intake(Paths.at(root, settings), settings, dt.datetime.fromisoformat(now), settle=False)
    wall = time.perf_counter() - started
    return {
        "files": result.files,
        "outcomes": result.outcomes,
        "wall_s": wall,
        "stages_s": result.timings,
        "peak_rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_worker_mb": workers.peak_kb / 1024,
    }


def measure_baseline(files: list[Path]) -> dict:
    """The naive way, per file: pandas + openpyxl read, then one pandera validate call."""
    import warnings

    import pandas as pd
    import pandera.pandas as pa

    from inspect_pipeline.intake.layout import match_header
    from inspect_pipeline.intake.validate import ROW_COLUMNS, row_schema

    schema = row_schema()
    rejected = 0
    started = time.perf_counter()
    for path in files:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                grid = pd.read_excel(path, engine="openpyxl", header=None, dtype=object, sheet_name=0)
        except Exception:  # noqa: BLE001 - the naive reader refuses what it cannot open
            rejected += 1
            continue
        header_at, mapping = None, {}
        for i in range(min(len(grid), 30)):
            ids = {j: match_header(v)[0] for j, v in enumerate(grid.iloc[i]) if isinstance(v, str)}
            ids = {j: c for j, c in ids.items() if c and c != "编号"}
            if len(ids) >= 4:
                header_at, mapping = i, ids
                break
        if header_at is None:
            rejected += 1
            continue
        body = grid.iloc[header_at + 1 :]
        frame = pd.DataFrame({cid: body[j].to_numpy() for j, cid in mapping.items()}, dtype=object)
        frame = frame.reindex(columns=[*ROW_COLUMNS, "_file", "_cutoff_date", "_identity"]).astype(object)
        frame["_file"] = 0
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors:
            rejected += 1
    wall = time.perf_counter() - started
    return {"files": len(files), "wall_s": wall, "per_file_ms": wall / max(len(files), 1) * 1000,
            "rejected": rejected}


def in_fresh_process(kind: str, arg: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", kind, arg], capture_output=True, text=True,
                         encoding="utf-8", check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    from inspect_pipeline.intake.take import ignored_because

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="*", default=[500, 5000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-sample", type=int, default=500,
                        help="files the baseline reads (evenly spaced); 0 = all")
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        kind, arg = args._measure
        if kind == "intake":
            print(json.dumps(measure_intake(Path(arg))))
        else:
            print(json.dumps(measure_baseline([Path(p) for p in json.loads(Path(arg).read_text("utf-8"))])))
        return
    for units in args.units:
        generated = generate(units, args.seed)
        root = fresh_root(generated, units)
        if hasattr(os, "sync"):
            os.sync()  # the copied inbox written out first: its write-back would otherwise be timed as intake's
        inbox = generated / "inbox"
        inbox_files = sorted(p for p in inbox.rglob("*") if p.is_file() and ignored_because(p.relative_to(inbox).parts) is None)
        sample = inbox_files
        if args.baseline_sample and len(inbox_files) > args.baseline_sample:
            step = len(inbox_files) / args.baseline_sample
            sample = [inbox_files[int(i * step)] for i in range(args.baseline_sample)]
        # half the baseline's sample is read just before intake and half just after, so that the machine's speed
        # drifting during the run (it does, here) weighs on both sides of the ratio alike
        halves = []
        for half in (sample[0::2], sample[1::2]):
            listing = OUT / f"baseline-{units}-{len(halves)}.json"
            listing.write_text(json.dumps([str(p) for p in half]), encoding="utf-8")
            halves.append(listing)
        before = in_fresh_process("baseline", str(halves[0]))
        run = in_fresh_process("intake", str(root))
        after = in_fresh_process("baseline", str(halves[1]))
        base = {"files": before["files"] + after["files"],
                "per_file_ms": (before["wall_s"] + after["wall_s"]) / max(before["files"] + after["files"], 1) * 1000}
        ours_ms = run["wall_s"] / run["files"] * 1000
        print(f"\n== {units} units: {run['files']} files, outcomes {run['outcomes']}")
        print(f"intake: {run['wall_s']:.1f} s  ({run['files'] / run['wall_s']:.0f} files/s, {ours_ms:.1f} ms/file)")
        print("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in run["stages_s"].items()))
        print(f"peak memory: main {run['peak_rss_main_mb']:.0f} MB, largest worker {run['peak_rss_worker_mb']:.0f} MB")
        projected = base["per_file_ms"] * run["files"] / 1000
        print(f"naive baseline: {base['per_file_ms']:.1f} ms/file over {base['files']} files "
              f"({before['per_file_ms']:.1f} before intake, {after['per_file_ms']:.1f} after; "
              f"projected {projected:.0f} s for all {run['files']})")
        print(f"ratio: intake is {base['per_file_ms'] / ours_ms:.1f}x faster per file than the baseline")


if __name__ == "__main__":
    main()
