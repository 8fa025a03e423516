"""Benchmark: one large legitimate workbook (1,000,000 rows x 2 columns, ~10.8 MB xlsx) through intake.

    .venv/bin/python bench/big_file.py                        # streamed receipt, then the annotated baseline
    .venv/bin/python bench/big_file.py --rows 200000 --no-baseline

The file is built once (bench/out/big-<rows>.xlsx, not timed): a sheet of <rows> rows, a text and a number per
row, no header row, so intake rejects it and writes its receipt. Each variant runs `run_intake` on a fresh data
root in a fresh process and reports wall time, per-stage time, the parent's peak RSS (getrusage) and the largest
worker's peak RSS (VmHWM of the run's worker processes, sampled from /proc every 0.1 s: they come from a fork
server, so RUSAGE_CHILDREN does not see them; Linux only):

- streamed: default limits (the workbook spans more than limits.annotate_max_cells cells, so its receipt is a
  streamed xlsxwriter copy of its values when it has cells to mark; this one, without a header row, marks none and
  gets the plain 问题清单);
- annotated (baseline): annotate_max_cells, watchdog and memory raised so that the receipt is the school's own
  workbook annotated with openpyxl, as before the streamed mode existed.
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

from intake import WorkerPeak  # bench/intake.py: the workers' peak resident size

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
NOW = "2023-11-23T10:00:00+08:00"
ROSTER = [
    ("学校名称", "学校标识码", "简称", "学段", "片区", "包片领导", "包校科室", "包校责任人"),
    ("丰润区第一实验小学", "2113000001", "一实小", "小学", "一片", "赵局长", "安法科", "钱明"),
]
BASELINE_ENV = {
    "INSPECT_PIPELINE_LIMITS__ANNOTATE_MAX_CELLS": str(10**9),
    "INSPECT_PIPELINE_LIMITS__WATCHDOG_SECONDS": "3600",
    "INSPECT_PIPELINE_LIMITS__MAX_MEMORY_MB": "16384",
}


def build(rows: int) -> Path:
    """bench/out/big-<rows>.xlsx: <rows> rows of (text, number), written once with xlsxwriter in constant memory."""
    import xlsxwriter

    path = OUT / f"big-{rows}.xlsx"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.xlsx")
    book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet("数据")
    for r in range(rows):
        sheet.write_string(r, 0, f"记录{r:07d}")
        sheet.write_number(r, 1, r * 0.5)
    book.close()
    tmp.replace(path)
    return path


def fresh_root(name: str, workbook: Path) -> Path:
    """A new data root (bench/out/root-<name>) with a one-school roster and `workbook` in its inbox."""
    import openpyxl

    from inspect_pipeline.jobs.setup import init_data_root

    root = OUT / f"root-{name}"
    shutil.rmtree(root, ignore_errors=True)
    init_data_root(root)
    roster = openpyxl.Workbook()
    for row in ROSTER:
        roster.active.append(row)
    roster.save(root / "roster.xlsx")
    target = root / "inbox" / "一实小" / workbook.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(workbook, target)
    return root


def measure(root: Path) -> dict:
    """Run intake once in this process (call in a fresh one); outcome, wall time, stages, peak memory."""
    import resource

    from inspect_pipeline.intake.run import run_intake
    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.core.settings import load_settings

    settings = load_settings(root)
    started = time.perf_counter()
    with WorkerPeak() as workers:
        result = run_intake(Paths.at(root, settings), settings, dt.datetime.fromisoformat(NOW), settle=False)
    wall = time.perf_counter() - started
    receipts = sorted((root / "receipts").rglob("*.xlsx"))
    return {
        "outcomes": result.outcomes,
        "wall_s": wall,
        "stages_s": result.timings,
        "peak_rss_parent_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_rss_worker_mb": workers.peak_kb / 1024,
        "receipt": receipts[0].name if receipts else None,
        "receipt_mb": receipts[0].stat().st_size / 1e6 if receipts else 0.0,
    }


def in_fresh_process(root: Path, env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", str(root)], capture_output=True, text=True,
                         encoding="utf-8", check=True, env={**os.environ, **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(name: str, run: dict) -> None:
    print(f"\n== {name}: outcomes {run['outcomes']}, receipt {run['receipt']} ({run['receipt_mb']:.1f} MB)")
    print(f"wall {run['wall_s']:.1f} s; stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in run["stages_s"].items()))
    print(f"peak RSS: parent {run['peak_rss_parent_mb']:.0f} MB, largest worker {run['peak_rss_worker_mb']:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-baseline", action="store_true", help="skip the annotated (openpyxl) baseline")
    parser.add_argument("--_measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        print(json.dumps(measure(Path(args._measure))))
        return
    workbook = build(args.rows)
    print(f"{workbook.name}: {args.rows} rows x 2 columns, {workbook.stat().st_size / 1e6:.1f} MB")
    show("streamed (default limits)", in_fresh_process(fresh_root(f"big-{args.rows}", workbook), {}))
    if not args.no_baseline:
        show("annotated (baseline)", in_fresh_process(fresh_root(f"big-{args.rows}-annotated", workbook), BASELINE_ENV))


if __name__ == "__main__":
    main()
