"""Benchmark: the `intake` flow through Prefect against a running Prefect server, versus the same work called
as plain functions, on the generated 5,000-unit city (bench/intake.py's files), in the same benchmark run.

    .venv/bin/python bench/flow_overhead.py                  # city, 2 rounds (plain, flow, plain, flow)
    .venv/bin/python bench/flow_overhead.py --units 500 --rounds 1

Starts a persistent Prefect server for the run (its home under bench/out/prefect-home, port 4299), then for
each round copies the generated inbox into a fresh data root and runs, each in a fresh process: the plain
functions (`run_intake`, then reading the run's files and building the artifact rows, as the flow does) and
the `intake` flow with PREFECT_API_URL set. Prints wall times of the work (after imports) and of the whole
process, and the flow/plain ratio (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from intake import NOW, OUT, fresh_root, generate  # noqa: E402 - bench/intake.py: the same generated city

PORT = 4299


def measure(kind: str, root: Path) -> dict:
    """One run of the work in this (fresh) process: `plain` or `flow`."""
    started = time.perf_counter()
    if kind == "flow":
        import inspect_pipeline.flows  # noqa: F401
        from inspect_pipeline.flows.intake import intake

        imported = time.perf_counter()
        result = intake(data_root=str(root), now=NOW)
        files = result["files"]
    else:
        from inspect_pipeline.deliver import delivery
        from inspect_pipeline.intake.run import run_intake
        from inspect_pipeline.core.paths import Paths
        from inspect_pipeline.record.files import received_files
        from inspect_pipeline.core.settings import load_settings
        from inspect_pipeline.report.summary import intake_table

        imported = time.perf_counter()
        settings = load_settings(root)
        paths = Paths.at(root, settings)
        moment = dt.datetime.fromisoformat(NOW)
        taken = run_intake(paths, settings, moment)
        files = len(intake_table(received_files(paths.root, settings, run_id=taken.run_id)))
        delivery.send_receipts(paths, settings, taken.weeks, moment)
    done = time.perf_counter()
    return {"kind": kind, "files": files, "work_s": done - imported, "import_s": imported - started}


def run_fresh(kind: str, root: Path, env: dict) -> dict:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--_measure", kind, str(root)], capture_output=True, text=True,
                         encoding="utf-8", env=env)
    if out.returncode:
        raise SystemExit(f"{kind} run failed:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    return {**figures, "process_s": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        print(json.dumps(measure(args._measure[0], Path(args._measure[1]))))
        return

    sys.path.insert(0, str(HERE.parent))
    from inspect_pipeline.flows.server import LocalServer

    generated = generate(args.units, args.seed)
    server = LocalServer(OUT / "prefect-home", OUT / "prefect-server.log", port=PORT)
    started = time.perf_counter()
    server.start()
    print(f"Prefect server up in {time.perf_counter() - started:.1f} s at {server.api_url}", flush=True)
    env = {**os.environ, "PREFECT_API_URL": server.api_url, "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING"}
    results: dict[str, list[dict]] = {"plain": [], "flow": []}
    try:
        for _ in range(args.rounds):
            for kind in ("plain", "flow"):
                root = fresh_root(generated, args.units)
                figures = run_fresh(kind, root, env)
                results[kind].append(figures)
                print(f"{kind:5}  files {figures['files']:5}  work {figures['work_s']:6.1f} s  "
                      f"process {figures['process_s']:6.1f} s  (imports {figures['import_s']:.1f} s)", flush=True)
    finally:
        server.stop()
    plain = statistics.median(r["work_s"] for r in results["plain"])
    flow = statistics.median(r["work_s"] for r in results["flow"])
    plain_p = statistics.median(r["process_s"] for r in results["plain"])
    flow_p = statistics.median(r["process_s"] for r in results["flow"])
    print(f"\n{args.units} units, median of {args.rounds}: plain {plain:.1f} s, flow {flow:.1f} s, "
          f"ratio {flow / plain:.2f} (work); whole process {plain_p:.1f} s vs {flow_p:.1f} s, "
          f"ratio {flow_p / plain_p:.2f}")


if __name__ == "__main__":
    main()
