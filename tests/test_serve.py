"""`inspect-pipeline serve` for real, as the README runs it: it starts its own Prefect server under the data root and
the web page beside the schedules, registers the three deployments, runs a flow run it is asked for, and on SIGTERM
stops with its server and its page."""

from __future__ import annotations

import datetime
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
import sqlalchemy as sa

from inspect_pipeline.core.schedule import next_fires
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo import synth
from inspect_pipeline.record.db import make_engine, submissions
from smtp_server import free_port
from support import make_root

WEEK = "2023-W47"


def _call(url: str, body: dict | None = None) -> dict | list:
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _wait(what: str, check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except OSError:
            found = None
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _expected_reports(settings) -> set[tuple[str, float]]:
    """(week, time) of the reports the planner should have scheduled now (flows/serve.py PLAN_WEEKS = 2)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return {(f.week, f.at.timestamp()) for f in next_fires(settings, now, 2) if f.kind == "weekly-report"}


def _planned_reports(api: str, by_name: dict) -> set[tuple[str, float]]:
    runs = _call(f"{api}/flow_runs/filter", {"flow_runs": {"state": {"type": {"any_": ["SCHEDULED"]}},
                                                           "tags": {"all_": ["planned"]}},
                                             "deployments": {"id": {"any_": [by_name["weekly-report"]["id"]]}}})
    return {(r["parameters"]["week"], datetime.datetime.fromisoformat(r["expected_start_time"]).timestamp())
            for r in runs}


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="stops serve with SIGTERM")
def test_serve_runs_the_deployments_on_its_own_prefect_server_and_stops_cleanly(tmp_path):
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    expected = synth.generate_district(root, units=20, seed=9, week=WEEK)
    port, web_port = free_port(), free_port()
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("port = 4200", f"port = {port}")
                      .replace("port = 8080", f"port = {web_port}"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    serve = subprocess.Popen([sys.executable, "-m", "inspect_pipeline", "serve", "--data-root", str(root)], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deployments = _wait("the deployments", lambda: len(d := _call(f"{api}/deployments/filter", {})) == 3 and d,
                            timeout=240)
        page = _wait("the web page", lambda: urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=10)
                     .read().decode("utf-8"), timeout=60)
        assert "报送情况" in page and 'id="zone-table"' in page
        by_name = {d["name"]: d for d in deployments}
        assert {n: d["parameters"] for n, d in by_name.items()} == {
            n: {"data_root": str(root.resolve())} for n in ("intake", "weekly-report", "reminders")}
        assert [(s["schedule"]["cron"], s["schedule"]["timezone"]) for s in by_name["intake"]["schedules"]] \
            == [("*/10 * * * *", "Asia/Shanghai")]
        assert by_name["weekly-report"]["schedules"] == []  # planned from the calendar instead
        # the planner scheduled this week's and next week's report; a delay changed in config.toml moves them
        # without a restart (issue #13)
        settings = load_settings(root)
        _wait("the reports planned", lambda: _planned_reports(api, by_name) == _expected_reports(settings), timeout=60)
        config.write_text(config.read_text(encoding="utf-8").replace("report_delay_minutes = 30",
                                                                     "report_delay_minutes = 95"), encoding="utf-8")
        moved = _expected_reports(load_settings(root))
        assert moved != _expected_reports(settings)
        _wait("the reports re-planned", lambda: _planned_reports(api, by_name) == moved, timeout=30)
        # a busy server (its SQLite locked by the runs it schedules) answers 503 and creates nothing: ask again
        run = _wait("the intake run to be created", lambda: _call(
            f"{api}/deployments/{by_name['intake']['id']}/create_flow_run",
            {"parameters": {"now": expected["suggested_now"]}}), timeout=60)
        final = _wait("the intake run", lambda: (r := _call(f"{api}/flow_runs/{run['id']}"))["state"]["type"]
                      in ("COMPLETED", "FAILED", "CRASHED") and r, timeout=180)
        assert final["state"]["type"] == "COMPLETED", final["state"]
        engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
        with engine.connect() as conn:
            taken = conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar()
        engine.dispose()
        assert taken > 10
        assert (root / ".state" / "prefect" / "prefect.db").is_file()  # the server's home is under the data root
        assert (root / "logs" / "inspect-pipeline.log").is_file()
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            output = serve.communicate(timeout=90)[0].decode("utf-8", "replace")
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            raise
    assert serve.returncode is not None
    assert "Traceback" not in output, output
    with pytest.raises(OSError):  # its Prefect server went with it
        _call(f"{api}/health")
    with pytest.raises(OSError):  # and so did the web page
        urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=5)
