"""Benchmark: a province on one machine, on PostgreSQL (5,000 / 10,000 / 30,000 units, 52 weeks of history).

    .venv/bin/python bench/province.py                          # 5000,10000,30000 units, 52 weeks (~90 min here)
    .venv/bin/python bench/province.py --keep --weeks 13        # the run in docs/performance.md (~35 min)
    .venv/bin/python bench/province.py --quick                  # smoke run: 300,600 units, 4 weeks (48 s when idle)
    .venv/bin/python bench/province.py --sizes 500,1000 --weeks 8 --keep

Linux only (it samples /proc and runs the server as the `postgres` user when started as root). It starts its own
throw-away PostgreSQL server (the binaries of /usr/lib/postgresql/*/bin, unix socket only, data under
bench/out/pg/) and stops and removes it at the end, also on an error or Ctrl+C (--keep leaves it, with the seeded
databases, for a re-run that then skips seeding). For each size:

1. the roster and one week (2023-W47) of school files are generated (bench/intake.py `generate`, cached);
2. the history before that week (weeks-1 weeks, ending 2023-W46) is seeded into an empty PostgreSQL database
   (bench/report.py `seed`, by COPY), so the record holds `weeks` weeks once the week's files are in;
3. `intake` of the week's files runs in a fresh child process (bench/intake.py `measure_intake`), then
4. `report` for 2023-W47 runs in a fresh child process (bench/report.py `measure_report`).

For steps 3 and 4 it prints wall time and the peak memory of the product's processes: the largest sum, over
samples every 0.2 s, of the proportional set size (Pss: shared pages divided among the processes sharing them) of
the child and its worker processes (its process group), and apart from it the same sum for the PostgreSQL server's
processes. Then a table for the sizes, the linear-cost ratios and PASS/FAIL per target (spec operations.md §Scale,
issue #14): intake <= 3 min, report <= 60 s, product memory <= 4 GB, time(30000)/time(5000) <= 7.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import intake as bench_intake  # noqa: E402 - bench/intake.py: generate, measure_intake
import report as bench_report  # noqa: E402 - bench/report.py: seed, measure_report

OUT = HERE / "out"
PG_BASE = OUT / "pg"
WEEK = bench_report.LAST_WEEK  # the week whose files are taken in and reported
TARGETS = {"intake_s": 180.0, "report_s": 60.0, "product_mb": 4096.0, "ratio_per_6x": 7.0}


# ---------------------------------------------------------------- the throw-away PostgreSQL server


class Server:
    """A PostgreSQL server on a unix socket below `base`, run as the `postgres` user when this runs as root."""

    def __init__(self, base: Path, keep: bool) -> None:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            sys.exit("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
        self.bin, self.base, self.keep = found[-1].parent, base, keep
        self.data, self.sock = base / "data", base / "sock"
        self.as_user: list[str] = []
        self.user = getpass.getuser()
        if self.user == "root":  # initdb refuses root
            self.as_user, self.user = ["runuser", "-u", "postgres", "--"], "postgres"
        self.port = 0
        self.started = False

    def _run(self, *cmd: str) -> str:
        done = subprocess.run([*self.as_user, *cmd], check=True, capture_output=True, text=True, encoding="utf-8")
        return done.stdout

    def __enter__(self) -> Server:
        self.sock.mkdir(parents=True, exist_ok=True)
        if self.as_user:
            for folder in (self.base, self.sock):
                shutil.chown(folder, "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8",
                      "--locale=C")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        # a modest server for a 24 GB machine: 1 GB shared buffers, fewer checkpoints while seeding; fsync stays on
        options = (f"-p {self.port} -k {self.sock} -c listen_addresses='' -c shared_buffers=1GB "
                   f"-c max_wal_size=8GB -c checkpoint_timeout=30min")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-l", str(self.base / "log"), "-o", options,
                  "start")
        self.started = True
        return self

    def __exit__(self, *exc) -> None:
        if self.started:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        if not self.keep:
            shutil.rmtree(self.base, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.sock}&port={self.port}"

    def sql(self, statement: str, database: str = "postgres"):
        """Run one statement in autocommit; the first column of the first row (or None)."""
        import psycopg

        with psycopg.connect(host=str(self.sock), port=self.port, user=self.user, dbname=database,
                             autocommit=True) as conn:
            cur = conn.execute(statement)
            row = cur.fetchone() if cur.description else None
            return row[0] if row else None

    def pids(self) -> list[int]:
        """The postmaster and its children."""
        try:
            master = int((self.data / "postmaster.pid").read_text(encoding="utf-8").split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master, *(pid for pid, ppid, _ in _processes() if ppid == master)]


# ---------------------------------------------------------------- memory of process sets (Linux /proc)


def _processes():
    """(pid, ppid, pgid) of every process."""
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
            yield int(proc.name), int(fields[1]), int(fields[2])
        except (OSError, IndexError, ValueError):
            continue


def _memory_kb(pid: int) -> tuple[int, int]:
    """(Pss, Rss) of one process in kB, (0, 0) when it is gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text(encoding="utf-8").splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except (OSError, ValueError):
        pass
    return pss, rss


class Sampler:
    """Peak sums of Pss and Rss of the product's process group and of the database server, every 0.2 s."""

    def __init__(self, server: Server) -> None:
        self.server, self.group = server, 0
        self.peak = {"product_pss_kb": 0, "product_rss_kb": 0, "product_processes": 0, "db_pss_kb": 0, "db_rss_kb": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self, group: int) -> None:
        self.group = group
        self._thread.start()

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {k: (v / 1024 if k.endswith("_kb") else v) for k, v in self.peak.items()}

    def _sample(self) -> None:
        product = [pid for pid, _, pgid in _processes() if pgid == self.group]
        for prefix, pids in (("product", product), ("db", self.server.pids())):
            sizes = [_memory_kb(pid) for pid in pids]
            self.peak[f"{prefix}_pss_kb"] = max(self.peak[f"{prefix}_pss_kb"], sum(p for p, _ in sizes))
            self.peak[f"{prefix}_rss_kb"] = max(self.peak[f"{prefix}_rss_kb"], sum(r for _, r in sizes))
        self.peak["product_processes"] = max(self.peak["product_processes"], len(product))

    def _watch(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()


def in_child(kind: str, root: Path, server: Server, profile: bool) -> dict:
    """Run `--_measure kind root` in a fresh process (its own process group), sampling memory meanwhile."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_measure", kind, str(root)]
    if profile:
        cmd.append("--_profile")
    sampler = Sampler(server)
    started = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    sampler.start(child.pid)
    try:
        out, err = child.communicate()
    finally:
        if child.poll() is None:  # interrupted: end the child's whole group (its workers too)
            os.killpg(child.pid, signal.SIGTERM)
            child.wait()
    memory = sampler.stop()
    if child.returncode != 0:
        sys.stderr.write(err.decode("utf-8", "replace"))
        raise RuntimeError(f"{kind} failed in the child process (exit {child.returncode})")
    lines = out.decode("utf-8").strip().splitlines()
    result = json.loads(lines[-1])
    if profile:
        print("\n".join(lines[:-1]))
    return {**result, **memory, "process_s": time.perf_counter() - started}


def child_measure(kind: str, root: Path, profile: bool) -> None:
    """In the child: run one step and print its figures as the last line (JSON)."""
    measure = {"intake": bench_intake.measure_intake, "report": bench_report.measure_report}[kind]
    if not profile:
        print(json.dumps(measure(root)))
        return
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(measure, root)
    target = OUT / f"profile-{kind}-{root.name}.pstats"
    profiler.dump_stats(str(target))
    for order in ("tottime", "cumulative"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(order).print_stats(20)
        print(f"--- main process, top 20 by {order} (full profile: {target})")
        print(text.getvalue().split("\n\n", 1)[-1].rstrip())
    print(json.dumps(result))


# ---------------------------------------------------------------- one size


def run_size(server: Server, units: int, weeks: int, keep: bool, profile: set[str]) -> dict:
    from inspect_pipeline.core.weeks import shift
    from inspect_pipeline.jobs.setup import init_data_root

    generated = bench_intake.generate(units, 1)
    seed_db, run_db = f"seed_{units}_{weeks}", f"run_{units}_{weeks}"
    seeded_info = server.base / f"{seed_db}.json"
    seed_root = OUT / f"province-seed-{units}-{weeks}"
    figures: dict = {"units": units, "weeks": weeks}
    server.sql(f"DROP DATABASE IF EXISTS {run_db}")
    if keep and seeded_info.exists():  # a kept server: the history is seeded already
        figures["seed"] = {**json.loads(seeded_info.read_text(encoding="utf-8")), "reused": True}
    else:
        target = seed_db if keep else run_db
        server.sql(f"DROP DATABASE IF EXISTS {target}")
        server.sql(f"CREATE DATABASE {target}")
        figures["seed"] = bench_report.seed(seed_root, units, weeks - 1, last_week=shift(WEEK, -1),
                                            database_url=server.url(target))
        figures["seed"]["db_mb"] = server.sql(f"SELECT pg_database_size('{target}')") / 2**20
        if keep:
            seeded_info.write_text(json.dumps(figures["seed"]), encoding="utf-8")
    print(f"  seeded {weeks - 1} weeks before {WEEK}: {figures['seed']['seconds']:.0f} s"
          f"{' (earlier run, kept)' if figures['seed'].get('reused') else ''}, "
          f"{figures['seed']['submissions']:,} submissions, {figures['seed']['hazards']:,} hazards, "
          f"{figures['seed']['observations']:,} observations, database {figures['seed']['db_mb']:,.0f} MB", flush=True)
    if keep:  # measure on a copy, so that the kept history stays as seeded
        started = time.perf_counter()
        server.sql(f"CREATE DATABASE {run_db} TEMPLATE {seed_db} STRATEGY file_copy")
        print(f"  copied the seeded database in {time.perf_counter() - started:.0f} s", flush=True)
    # the data root of the measured runs: the generated roster (the seeded one: same units, same seed) and inbox
    root = OUT / f"province-{units}-{weeks}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    config = (seed_root / "config.toml").read_text(encoding="utf-8").split("\n", 1)[1]
    (root / "config.toml").write_text(f'database_url = "{server.url(run_db)}"\n' + config, encoding="utf-8")
    init_data_root(root)
    shutil.copy(generated / "roster.xlsx", root / "roster.xlsx")
    shutil.rmtree(root / "inbox")
    shutil.copytree(generated / "inbox", root / "inbox")

    figures["intake"] = in_child("intake", root, server, "intake" in profile)
    i = figures["intake"]
    print(f"  intake: {i['files']:,} files in {i['wall_s']:.1f} s ({i['files'] / i['wall_s']:.0f} files/s), "
          f"product peak {i['product_pss_kb']:,.0f} MB Pss ({i['product_rss_kb']:,.0f} MB Rss, "
          f"{i['product_processes']} processes), database server peak {i['db_pss_kb']:,.0f} MB Pss", flush=True)
    print("          stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in i["stages_s"].items()), flush=True)
    figures["report"] = in_child("report", root, server, "report" in profile)
    r = figures["report"]
    print(f"  report {WEEK}: {r['wall_s']:.1f} s ({r['found']:,} hazards in the 累计 set), product peak "
          f"{r['product_pss_kb']:,.0f} MB Pss ({r['product_rss_kb']:,.0f} MB Rss), database server peak "
          f"{r['db_pss_kb']:,.0f} MB Pss", flush=True)
    figures["db_mb_after"] = server.sql(f"SELECT pg_database_size('{run_db}')") / 2**20
    figures["archive_mb"] = sum(p.stat().st_size for p in (root / "archive").rglob("*") if p.is_file()) / 2**20
    server.sql(f"DROP DATABASE IF EXISTS {run_db}")
    if not keep:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(seed_root, ignore_errors=True)
    return figures


# ---------------------------------------------------------------- summary


def summarize(results: list[dict]) -> bool:
    print("\n| units | weeks | seeding | intake (files) | report | product peak (intake / report) | "
          "database server peak (intake / report) | database size (seeded / after) |")
    print("|---|---|---|---|---|---|---|---|")
    for f in results:
        i, r, s = f["intake"], f["report"], f["seed"]
        print(f"| {f['units']:,} | {f['weeks']} | {s['seconds']:.0f} s | {i['wall_s']:.1f} s ({i['files']:,}) | "
              f"{r['wall_s']:.1f} s | {i['product_pss_kb']:,.0f} / {r['product_pss_kb']:,.0f} MB | "
              f"{i['db_pss_kb']:,.0f} / {r['db_pss_kb']:,.0f} MB | {s['db_mb']:,.0f} / {f['db_mb_after']:,.0f} MB |")
    ok = True

    def verdict(name: str, value: float, limit: float, unit: str) -> None:
        nonlocal ok
        ok &= value <= limit
        print(f"{'PASS' if value <= limit else 'FAIL'}  {name}: {value:,.1f} {unit} (target <= {limit:,.1f} {unit})")

    small, big = results[0], results[-1]
    if len(results) > 1:
        scale = big["units"] / small["units"]
        limit = TARGETS["ratio_per_6x"] * scale / 6  # 7 for 30,000 / 5,000
        print(f"\nlinear cost, {big['units']:,} / {small['units']:,} units ({scale:.1f}x the units):")
        for step in ("intake", "report"):
            verdict(f"time ratio, {step}", big[step]["wall_s"] / small[step]["wall_s"], limit, "x")
    print(f"\nabsolute targets, worst over the sizes:")
    verdict("intake time", max(f["intake"]["wall_s"] for f in results), TARGETS["intake_s"], "s")
    verdict("report time", max(f["report"]["wall_s"] for f in results), TARGETS["report_s"], "s")
    verdict("product peak memory", max(max(f["intake"]["product_pss_kb"], f["report"]["product_pss_kb"])
                                       for f in results), TARGETS["product_mb"], "MB")
    unit_weeks = big["units"] * big["weeks"]
    print(f"\nslopes at {big['units']:,} units: intake {big['intake']['files'] / big['intake']['wall_s'] * 60:,.0f} "
          f"files/min on {os.cpu_count()} cores; product memory {big['intake']['product_pss_kb'] / big['units'] * 1024:,.0f} kB "
          f"(intake) and {big['report']['product_pss_kb'] / big['units'] * 1024:,.0f} kB (report) per unit; database "
          f"{big['db_mb_after'] * 1024 / unit_weeks:,.1f} kB per unit-week; archive "
          f"{big['archive_mb'] * 1024 / big['intake']['files']:,.1f} kB per file")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5000,10000,30000", help="units per run, comma-separated")
    parser.add_argument("--weeks", type=int, default=52, help="weeks in the record at report time (>= 2)")
    parser.add_argument("--keep", action="store_true", help="keep the server and its seeded databases for a re-run")
    parser.add_argument("--quick", action="store_true", help="smoke run: --sizes 300,600 --weeks 4")
    parser.add_argument("--profile", default="", help="cProfile the main process of these steps: intake,report")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--_measure", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--_profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._measure:
        child_measure(args._measure[0], Path(args._measure[1]), args._profile)
        return
    sizes = [300, 600] if args.quick else sorted(int(s) for s in args.sizes.split(","))
    weeks = 4 if args.quick else args.weeks
    if weeks < 2:
        parser.error("--weeks must be at least 2 (the seeded history and the week taken in)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so that the server is stopped
    OUT.mkdir(exist_ok=True)
    started = time.perf_counter()
    results = []
    with Server(PG_BASE, keep=args.keep) as server:
        print(f"PostgreSQL {server.sql('SHOW server_version')} at {server.sock} (port {server.port}); "
              f"load average {os.getloadavg()[0]:.2f}", flush=True)
        for units in sizes:
            print(f"\n== {units:,} units, {weeks} weeks (load average {os.getloadavg()[0]:.2f})", flush=True)
            results.append(run_size(server, units, weeks, args.keep, set(filter(None, args.profile.split(",")))))
            if args.json:
                args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    ok = summarize(results)
    print(f"\nwhole run {time.perf_counter() - started:.0f} s; load average (1/5/15 min) "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
