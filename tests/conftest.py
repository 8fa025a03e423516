"""Shared fixtures. Hypothesis profile from HYPOTHESIS_PROFILE (ci: fewer examples, dev: default, thorough: more)."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# pytest-xdist gives its workers COLUMNS=80/LINES=24; Rich fixes a console's width when it is made with COLUMNS set
# (the CLI's, at import), and the CLI tests set the width they need per test
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# ---------------------------------------------------------------- a throwaway PostgreSQL server


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of a fresh PostgreSQL server (unix socket only), or skip where none is installed."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not installed (.ci/run installs them)")
    base = Path(tempfile.mkdtemp(prefix="inspect-pg-"))  # directly in /tmp: the server user must reach it
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    user = getpass.getuser()
    if user == "root":  # initdb refuses root: run the server as the postgres system user
        as_user, user = ["runuser", "-u", "postgres", "--"], "postgres"
        shutil.chown(base, "postgres")
        shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "-E", "UTF8", "--locale=C")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
        f"-p {port} -k {sock} -c listen_addresses=''", "start")
    try:
        run(str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", user, "inspect")
        yield f"postgresql+psycopg://{user}@/inspect?host={sock}&port={port}"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(base, ignore_errors=True)


# ---------------------------------------------------------------- a real SMTP server on 127.0.0.1


@pytest.fixture
def smtp():
    """An aiosmtpd server on a free port of 127.0.0.1; `.inbox.received` holds what it got."""
    from smtp_server import Inbox, Server, start

    inbox = Inbox()
    controller = start(inbox)
    try:
        yield Server(controller.port, inbox)
    finally:
        controller.stop()




# ---------------------------------------------------------------- the orchestrator, once


@pytest.fixture(scope="session")
def harness():
    """One temporary Prefect server for every test that runs flows (`prefect_test_harness`, ~25 s to start here);
    only orchestration tests ask for it."""
    import gc
    import warnings

    import inspect_pipeline.flows  # noqa: F401 - Prefect's offline defaults before Prefect is imported
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield
    # Prefect's clients leave pooled sockets to the garbage collector; collect them here, quietly, rather than
    # at interpreter exit where pytest (filterwarnings = error) would fail the session on their ResourceWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


# ---------------------------------------------------------------- every workbook the demo writes, by kind


def export_ledger(root: Path, week: str, path: Path) -> Path:
    """The web page's ledger export of a week (every hazard, no filter), written as the page writes it."""
    import datetime as dt

    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.core.settings import load_settings
    from inspect_pipeline.report.ledger_export import write_ledger_export
    from inspect_pipeline.report.status import week_board

    settings = load_settings(root)
    board = week_board(Paths.at(root, settings), settings, week, ledger=True)
    return write_ledger_export(path, board.ledger, title=f"{settings.bureau_name}隐患台账（{week}）", filters="",
                               bureau=settings.bureau_name, generated_at=dt.datetime(2023, 12, 1, 13, 0))


@pytest.fixture(scope="session")
def demo_outputs(tmp_path_factory) -> tuple[Path, dict[str, list[Path]]]:
    """The demo district (two weeks: reports, extracts, receipts, returned workbooks, 问题清单, templates) plus a
    reminder round (with its deadline warnings: the demo has hazards due within 3 days of 2023-12-07 and overdue)
    and a roster template: (data root, kind → workbooks written, per write/kinds.py)."""
    import datetime as dt

    import openpyxl

    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.core.settings import load_settings
    from inspect_pipeline.deliver.reminders import build_reminders
    from inspect_pipeline.demo.run import run_demo
    from inspect_pipeline.jobs.setup import write_roster_template

    root = tmp_path_factory.mktemp("outputs") / "demo"
    run_demo(root, say=lambda _: None)
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    build_reminders(paths, settings, "2023-W49", dt.datetime.fromisoformat("2023-12-07T15:00:00+08:00"))
    write_roster_template(root / "名单模板.xlsx")
    export_ledger(root, "2023-W48", root / "台账导出.xlsx")  # the web page's 隐患台账 export
    found: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*.xlsx")):
        if {"inbox", "archive"} & set(path.relative_to(root).parts) or path == paths.roster_file:
            continue  # what schools and the clerk wrote, not what we wrote
        kind = openpyxl.load_workbook(path, read_only=True).properties.category
        found.setdefault(kind or "(none)", []).append(path)
    return root, found
