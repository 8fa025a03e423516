"""Benchmark: `report` for the last week of a 5,000-unit city with 52 weeks of history.

    .venv/bin/python bench/report.py                    # 5,000 units, 52 weeks
    .venv/bin/python bench/report.py --units 500 --weeks 12

The history is seeded directly into the database (one accepted submission per reporting school per week, ~10
hazard rows each, a few new hazards a week moving through 未整改 → 整改中 → 已整改 → 已销号), then `report` runs
in a fresh process: wall time and peak memory of the workbooks + manifest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
LAST_WEEK = "2023-W47"


def seed(root: Path, units: int, weeks: int, seed_value: int = 1, *, last_week: str = LAST_WEEK,
         database_url: str | None = None) -> dict:
    """A data root whose record holds `weeks` weeks of history ending with `last_week`.

    `database_url` (an empty PostgreSQL database) is written at the top of config.toml before the root is set up. On PostgreSQL the rows go in by COPY (the product's `record.bulk.insert_rows`) and the id sequences are moved past the
    seeded ids, so that an intake can follow the seeded history; then the tables are vacuumed and analysed.
    """
    import sqlalchemy as sa

    from inspect_pipeline.core.default_config import DEFAULT_CONFIG

    from inspect_pipeline.demo import synth
    from inspect_pipeline.record.db import hazard_state, hazards, make_engine, migrate, observations, runs, submissions
    from inspect_pipeline.ledger.hazards import rebuild_state
    from inspect_pipeline.record.bulk import insert_rows
    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.schools.roster import load_roster
    from inspect_pipeline.schools.identity import identify
    from inspect_pipeline.core.settings import load_settings
    from inspect_pipeline.jobs.setup import init_data_root
    from inspect_pipeline.core.weeks import compact, cutoff, shift

    shutil.rmtree(root, ignore_errors=True)
    if database_url:
        root.mkdir(parents=True)
        (root / "config.toml").write_text(f'database_url = "{database_url}"\n' + DEFAULT_CONFIG, encoding="utf-8")
    init_data_root(root)
    roster = synth.make_roster(units, 6, seed=seed_value)
    synth.write_roster(roster, root / "roster.xlsx")
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    migrate(engine)
    rng = random.Random(seed_value)
    first = shift(last_week, -(weeks - 1))
    week_list = [shift(first, k) for k in range(weeks)]
    steps = ["未整改", "整改中", "已整改", "已销号"]
    sub_id = hazard_id = 0
    ledgers: dict[str, list[list]] = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        ids = {s.name: s.id for s in identify(conn, load_roster(paths.roster_file, settings), register=True).schools}
        conn.execute(runs.insert().values(id=1, started_at="seed", now="seed", files=0))
        for week in week_list:
            week_cutoff = cutoff(week, settings)
            subs, new_hazards, obs = [], [], []
            for school in roster:
                key = school["school_code"] or school["school_name"]
                ledger = ledgers.setdefault(key, [])
                if rng.random() < 0.05:
                    continue  # did not report this week
                sub_id += 1
                received = week_cutoff - dt.timedelta(hours=rng.randint(1, 72))
                for _ in range(8 if not ledger else rng.choice((1, 2, 2, 3))):
                    hazard_id += 1
                    found = (week_cutoff - dt.timedelta(days=rng.randint(1, 6))).date()
                    code = f"{key}-{compact(week)}-{hazard_id % 1000:03d}"
                    ledger.append([hazard_id, found, 0, rng.random() < 0.05, week, code])
                    new_hazards.append({"id": hazard_id, "school_id": ids[school["school_name"]], "code": f"{code}-{hazard_id}",
                                        "identity": f"{found}|h{hazard_id}", "found_date": found, "first_week": week,
                                        "first_submission_id": sub_id})
                listed = []
                for h in ledger:
                    if h[4] != week and rng.random() < 0.45:
                        h[2] = min(h[2] + 1, 3)
                    listed.append(h)
                ledger[:] = [h for h in ledger if h[2] < 3]  # 已销号 hazards leave the sheet next week
                for hid, found, step, major, _, _ in listed:
                    status = steps[step]
                    obs.append({
                        "hazard_id": hid, "submission_id": sub_id, "week": week, "row": 5, "is_new": False,
                        "source": "学校自查", "location": "教学楼", "category": "消防安全", "description": f"隐患{hid}",
                        "level": "重大" if major else "一般", "mode": "限期整改", "measures": "整改",
                        "owner": "张伟", "deadline": found + dt.timedelta(days=14), "funds_wan": 0.1,
                        "interim_control": "警示" if major else None, "status": status,
                        "done_date": found + dt.timedelta(days=7) if step >= 2 else None,
                        "verifier": "李强" if step == 3 else None, "remarks": None,
                    })
                subs.append({
                    "id": sub_id, "run_id": 1, "file_name": f"{key}.xlsx", "inbox_path": f"{key}/{week}.xlsx",
                    "sha256": f"{sub_id:064d}", "size": 9000, "mtime_ns": 0,
                    "received_at": received.isoformat(timespec="seconds"),
                    "received_epoch": int(received.timestamp()), "arrival_week": week, "week": week,
                    "school_id": ids[school["school_name"]], "school_code": school["school_code"], "school_name": school["school_name"],
                    "format": "xlsx", "sheet": "隐患排查", "outcome": "accepted", "on_time": True,
                    "zero_report": False, "rows": len(listed), "new": 0, "major": 0, "open": 0, "rectified": 0,
                    "checks": 2, "check_person_times": 6, "issues": [], "archive_path": "-", "receipt_written": True,
                })
            insert_rows(conn, submissions, subs)
            insert_rows(conn, hazards, new_hazards)
            insert_rows(conn, observations, obs)
        if conn.dialect.name == "postgresql":
            for table in (runs, submissions, hazards):  # ids were given explicitly: move the sequences past them
                conn.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                     f"(SELECT max(id) FROM {table.name}))"))
        rebuild_state(conn)  # the ledger's current page, as intake keeps it
        counts = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                  for t in (submissions, hazards, observations, hazard_state)}
    if engine.dialect.name == "postgresql":  # the statistics and visibility map autovacuum would have made
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()
    return {"seconds": time.perf_counter() - started, **counts}


def measure_report(root: Path) -> dict:
    import resource

    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.report.build import build_report
    from inspect_pipeline.core.settings import load_settings
    from inspect_pipeline.core.weeks import cutoff

    settings = load_settings(root)
    now = cutoff(LAST_WEEK, settings) + dt.timedelta(minutes=30)
    started = time.perf_counter()
    result = build_report(Paths.at(root, settings), settings, LAST_WEEK, now)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "revision": result.revision, "found": result.manifest["totals"]["cumulative"]["found"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_templates(root: Path) -> dict:
    import resource

    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.core.settings import load_settings
    from inspect_pipeline.report.templates import write_templates
    from inspect_pipeline.core.weeks import shift

    settings = load_settings(root)
    started = time.perf_counter()
    written = write_templates(Paths.at(root, settings), settings, shift(LAST_WEEK, 1))
    return {"wall_s": time.perf_counter() - started, "files": len(written),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_fresh_process(kind: str, root: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--_measure", kind, str(root)], capture_output=True, text=True,
                         encoding="utf-8", check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        kind, root = args._measure
        print(json.dumps({"report": measure_report, "templates": measure_templates}[kind](Path(root))))
        return
    root = OUT / f"city-{args.units}-{args.weeks}"
    seeded = seed(root, args.units, args.weeks)
    print(f"seeded {args.units} units x {args.weeks} weeks in {seeded['seconds']:.0f} s: "
          f"{seeded['submissions']} submissions, {seeded['hazards']} hazards, {seeded['observations']} observations")
    run = in_fresh_process("report", root)
    print(f"report {LAST_WEEK}: {run['wall_s']:.1f} s, peak memory {run['peak_rss_mb']:.0f} MB "
          f"({run['found']} hazards in the 累计 set)")
    run = in_fresh_process("templates", root)
    print(f"templates for the next week: {run['files']} files in {run['wall_s']:.1f} s "
          f"({run['files'] / run['wall_s']:.0f} files/s), peak memory {run['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
