"""The Prefect flows end to end under `prefect_test_harness` (the session's one temporary Prefect server,
conftest.py `harness`: it costs ~25 s to start here), and the deployments `serve` registers."""

from __future__ import annotations

import asyncio
import gc
import datetime as dt
import json
import re
import threading
import warnings
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

import inspect_pipeline.flows  # noqa: F401 - Prefect's offline defaults before Prefect is imported
from inspect_pipeline.demo import synth
from inspect_pipeline.record.db import make_engine, submissions
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.report.status import week_status_by_zone
from inspect_pipeline.schools.roster import load_roster
from robot_server import start as start_robot
from support import make_root

WEEK = "2023-W47"
# Prefect's HTTP clients leave pooled sockets to the harness server for the garbage collector to close
pytestmark = [pytest.mark.filterwarnings("ignore:unclosed <socket:ResourceWarning"), pytest.mark.slow]  # a server


@pytest.fixture(scope="module", autouse=True)
def _collect_prefect_sockets():
    """Collect, quietly, the sockets Prefect's clients left to the garbage collector, before the next module's tests
    (where filterwarnings = error would fail whichever test the collector happened to run in)."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def _district(tmp_path: Path, units: int = 60, seed: int = 3) -> tuple[Path, dict]:
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    return root, synth.generate_district(root, units=units, seed=seed, week=WEEK)


def _artifact(key: str):
    from prefect.artifacts import Artifact

    found = Artifact.get(key)
    assert found is not None, f"no artifact {key}"
    return json.loads(found.data) if found.type == "table" else found.data


def _flow_runs():
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(limit=200)


def _taken(root: Path) -> list[tuple[str, str]]:
    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(submissions.c.inbox_path, submissions.c.outcome)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_deployments_intake_on_its_cron_in_the_local_time_zone_the_others_planned(tmp_path):
    from inspect_pipeline.flows.serve import deployments

    root = make_root(tmp_path)
    settings = load_settings(root)
    deps = {d.name: d for d in deployments(Paths.at(root, settings), settings)}
    assert set(deps) == {"intake", "weekly-report", "reminders"}
    crons = {name: [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] for name, d in deps.items()}
    assert crons == {"intake": [("*/10 * * * *", "Asia/Shanghai")], "weekly-report": [], "reminders": []}
    assert all(d.parameters == {"data_root": str(root.resolve())} for d in deps.values())
    assert all(d.entrypoint.startswith("inspect_pipeline.flows.") for d in deps.values())


def test_serve_registers_the_deployments_with_their_schedules(harness, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.server.schemas.schedules import CronSchedule

    from inspect_pipeline.flows.serve import deployments

    root = make_root(tmp_path)
    settings = load_settings(root)
    shanghai = ZoneInfo("Asia/Shanghai")
    with get_client(sync_client=True) as client:
        for deployment in deployments(Paths.at(root, settings), settings):
            registered = client.read_deployment(deployment.apply())
            assert registered.parameters == {"data_root": str(root.resolve())}
            assert registered.global_concurrency_limit is not None
            if registered.name == "intake":
                (s,) = registered.schedules
                cron = CronSchedule(cron=s.schedule.cron, timezone=s.schedule.timezone)
                (fire,) = asyncio.run(cron.get_dates(n=1, start=dt.datetime(2023, 11, 20, 9, 1, tzinfo=shanghai)))
                assert fire.isoformat() == "2023-11-20T09:10:00+08:00"
            else:
                assert registered.schedules == []  # planned by `plan` (test below)


def _planned() -> set[tuple[str, str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from inspect_pipeline.flows.serve import PLANNED

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[PLANNED])), limit=200)
        names = {r.deployment_id: client.read_deployment(r.deployment_id).name for r in runs}
    return {(names[r.deployment_id], r.parameters["week"],
             r.expected_start_time.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%m-%d %H:%M")) for r in runs}


def _unplan() -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    from inspect_pipeline.flows.serve import PLANNED

    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[PLANNED])),
                                         limit=200):
            client.delete_flow_run(run.id)


def test_the_planner_schedules_the_calendar_and_follows_a_config_change(harness, tmp_path, monkeypatch):
    """`serve`'s planner (flows/serve.py `plan`, run at start, every minute and on a change of config.toml):
    flow runs at the calendar's times for this week and the next; a moved cutoff and a new delay re-plan them; a
    reminder round the PC slept through is dropped; a report that fell due while it was off is built at start."""
    from prefect.client.orchestration import get_client

    from inspect_pipeline.flows import serve as serving

    shanghai = ZoneInfo("Asia/Shanghai")
    root = make_root(tmp_path)
    settings = load_settings(root)
    for deployment in serving.deployments(Paths.at(root, settings), settings):
        deployment.apply()
    _unplan()
    monday = dt.datetime(2023, 11, 20, 9, 0, tzinfo=shanghai)
    try:
        assert len(serving.plan(root, monday)["created"]) == 6
        assert _planned() == {
            ("reminders", "2023-W47", "11-23 15:00"), ("reminders", "2023-W47", "11-24 09:00"),
            ("weekly-report", "2023-W47", "11-24 12:30"),
            ("reminders", "2023-W48", "11-30 15:00"), ("reminders", "2023-W48", "12-01 09:00"),
            ("weekly-report", "2023-W48", "12-01 12:30")}
        assert serving.plan(root, monday) == {"created": [], "deleted": [], "catch_up": [], "intake": []}  # once

        config = root / "config.toml"  # the intake interval changed while serve runs: the deployment follows
        config.write_text(config.read_text(encoding="utf-8").replace(f'intake = "{settings.schedule.intake}"',
                                                                     'intake = "*/5 * * * *"'), encoding="utf-8")
        assert serving.plan(root, monday)["intake"] == ["*/5 * * * *"]
        with get_client(sync_client=True) as client:
            (entry,) = client.read_deployment_by_name("intake/intake").schedules
        assert (entry.schedule.cron, entry.schedule.timezone) == ("*/5 * * * *", "Asia/Shanghai")
        assert serving.plan(root, monday)["intake"] == []

        # the clerk edits config.toml while serve runs
        config.write_text(config.read_text(encoding="utf-8")
                          .replace("report_delay_minutes = 30", "report_delay_minutes = 60")
                          .replace('# "2023-W40" = 2023-10-07T12:00:00', '"2023-W48" = 2023-12-02T12:00:00'),
                          encoding="utf-8")
        done = serving.plan(root, monday)
        assert (len(done["deleted"]), len(done["created"])) == (4, 4)
        assert _planned() == {
            ("reminders", "2023-W47", "11-23 15:00"), ("reminders", "2023-W47", "11-24 09:00"),
            ("weekly-report", "2023-W47", "11-24 13:00"),
            ("reminders", "2023-W48", "12-01 15:00"), ("reminders", "2023-W48", "12-02 09:00"),
            ("weekly-report", "2023-W48", "12-02 13:00")}

        # the PC was off from Thursday 14:00 to Friday 08:00: Thursday's round is dropped, not sent late
        serving.plan(root, dt.datetime(2023, 11, 24, 8, 0, tzinfo=shanghai))
        assert ("reminders", "2023-W47", "11-23 15:00") not in _planned()
        assert ("reminders", "2023-W47", "11-24 09:00") in _planned()

        # off over the report's time: the pending run is kept (the runner runs it); none pending and none built:
        # built now, once the installation has built any report before
        monkeypatch.setattr(serving, "_built_weeks", lambda paths, settings: {"2023-W46"})
        saturday = dt.datetime(2023, 11, 25, 10, 0, tzinfo=shanghai)
        assert serving.plan(root, saturday, starting=True)["catch_up"] == []
        _unplan()
        assert serving.plan(root, saturday, starting=True)["catch_up"] == ["2023-W47"]
        monkeypatch.setattr(serving, "_built_weeks", lambda paths, settings: {"2023-W46", "2023-W47"})
        _unplan()
        assert serving.plan(root, saturday, starting=True)["catch_up"] == []
    finally:
        _unplan()


def test_an_upgraded_serve_re_registers_a_deployment_left_with_an_old_entrypoint(harness, tmp_path):
    """An installation upgraded from the top-level `flows` package: the deployment registered by name is updated
    in place when `serve` registers its deployments on start (README "Upgrading an installation")."""
    from prefect.client.orchestration import get_client

    from inspect_pipeline.flows.serve import deployments

    root = make_root(tmp_path)
    settings = load_settings(root)
    ours = {d.name: d for d in deployments(Paths.at(root, settings), settings)}["intake"]
    old_id = ours.model_copy(update={"entrypoint": "flows.intake:intake"}).apply()
    with get_client(sync_client=True) as client:
        assert client.read_deployment(old_id).entrypoint == "flows.intake:intake"
        new_id = ours.apply()
        assert new_id == old_id
        assert client.read_deployment(new_id).entrypoint == "inspect_pipeline.flows.intake.intake"


def test_flows_run_end_to_end_and_publish_their_figures(harness, tmp_path, monkeypatch):
    from inspect_pipeline.flows.intake import intake
    from inspect_pipeline.flows.reminders import reminders
    from inspect_pipeline.flows.weekly_report import weekly_report

    root, expected = _district(tmp_path)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)  # the stand-in robot is on 127.0.0.1
    robot, server = start_robot()
    robot.answers = [{"errcode": 93000, "errmsg": "invalid webhook url"}] * 50  # every message refused
    settings = load_settings(root)
    zone = load_roster(Paths.at(root, settings).roster_file, settings).schools[0].zone
    with (root / "config.toml").open("a", encoding="utf-8") as config:
        for group, purpose in (("zone", f'purpose = "zone"\nzone = "{zone}"'), ("anweiban", 'purpose = "reports"')):
            config.write(f'\n[robots.{group}]\nkind = "wecom"\n{purpose}\nbase_url = "{robot.url}"\n'
                         'attempts = 1\nbackoff_seconds = 0\n')
    (root / "secrets.toml").write_text('[robots.zone]\nkey = "k1"\n[robots.anweiban]\nkey = "k2"\n', encoding="utf-8")
    now = expected["suggested_now"]
    taken = intake(data_root=str(root), now=now)
    files = _artifact("intake-files")
    assert taken["files"] == len(files) == len(_taken(root)) > 40
    outcomes = {r["文件"]: r["结果"] for r in files}
    assert set(outcomes.values()) >= {"已受理", "退回重报"}

    sent = reminders(data_root=str(root), now=now)
    assert sent["week"] == WEEK and Path(sent["folder"]).is_dir()
    listed = [u for o in sent["owners"] for u in o["units"]]
    text = _artifact("reminders")
    assert listed and all(u["school_name"] in text for u in listed)
    assert {u["status"] for u in listed} == {"未报", "退回未重报"}
    failed = _artifact("reminders-robot-failures")  # the group robot refused: shown in the UI, resent next run
    assert failed and {f["收件人"] for f in failed} == {"robot:zone"} and all("93000" in f["错误"] for f in failed)

    after = (dt.datetime.fromisoformat(now) + dt.timedelta(days=2)).isoformat()
    done = weekly_report(data_root=str(root), week=WEEK, now=after, templates=False)
    manifest = json.loads((Path(done["folder"]) / "manifest.json").read_text(encoding="utf-8"))
    zones = _artifact("weekly-report-status")
    assert [z["片区"] for z in zones] == [z["zone"] for z in manifest["by_zone"]] + ["合计"]
    for row, zone in zip(zones, [*manifest["by_zone"], {"week": manifest["totals"]["week"]}], strict=True):
        w = zone["week"]
        assert (row["应报"], row["已报"], row["未报"], row["发现隐患"], row["已整改"], row["逾期"]) == (
            w["due"], w["received"], w["missing"], w["found"], w["rectified"], w["overdue"])
    settings = load_settings(root)
    rejected = {r["zone"]: r["rejected"] for r in week_status_by_zone(Paths.at(root, settings), settings, WEEK)}
    assert {row["片区"]: row["退回未重报"] for row in zones} == rejected and rejected["合计"] > 0
    summary = _artifact("weekly-report-summary")
    assert f"未报单位（{len(manifest['missing_units'])}）" in summary
    assert all(u["school_name"] in summary for u in manifest["missing_units"])
    assert "file://" not in summary and f"({settings.web.url}/?week={WEEK})" in summary  # links into the web page
    assert summary.count(f"{settings.web.url}/download/report/") == 3 + len(manifest["outputs"]["zone_extracts"])
    failed = _artifact("weekly-report-robot-failures")
    assert {f["收件人"] for f in failed} >= {"robot:anweiban"} and any("周报已生成" in f["内容"] for f in failed)
    server.shutdown()
    server.server_close()
    log = (root / "logs" / "inspect-pipeline.log").read_text(encoding="utf-8")  # the rotating log in the data root
    assert "prefect.flow_runs" in log and "Finished in state Completed" in log
    assert f"week {WEEK} revision {manifest['revision']} written" in log and manifest["outputs"]["city_bureau"] in log
    names = {r.name for r in _flow_runs()}
    assert {f"intake {WEEK}", f"reminders {WEEK}", f"weekly-report {WEEK}"} <= names  # runs named with their week


def test_two_intake_flow_runs_at_once_take_every_file_once(harness, tmp_path):
    from inspect_pipeline.flows.intake import intake

    root, expected = _district(tmp_path, units=80, seed=11)
    now = expected["suggested_now"]
    results: list = []
    runs = [threading.Thread(target=lambda: results.append(intake(data_root=str(root), now=now))) for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=300)
    assert len(results) == 2
    taken = _taken(root)
    paths = [p for p, _ in taken]
    assert len(paths) == len(set(paths))  # no file recorded twice
    real = {rel for rel, want in expected["files"].items() if (want.get("expected") or want)["outcome"] is not None}
    assert set(paths) == real  # and none lost
    assert sum(r["files"] for r in results) == len(real)  # each run reports only what it took


def test_weekly_report_flow_mails_each_workbook_once(harness, tmp_path, smtp):
    from inspect_pipeline.flows.intake import intake
    from inspect_pipeline.flows.weekly_report import weekly_report

    root, expected = _district(tmp_path, units=30, seed=7)
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("\n[mail] ", f"""\n[mail]
host = "127.0.0.1"
port = {smtp.port}
security = "none"
sender = "anquan@jyj.example.gov.cn"
safety_committee = ["awb@ajw.example.gov.cn"]
city_bureau = ["jyj@city.example.gov.cn"]
receipts = false
#""", 1), encoding="utf-8")
    intake(data_root=str(root), now=expected["suggested_now"])
    after = (dt.datetime.fromisoformat(expected["suggested_now"]) + dt.timedelta(days=2)).isoformat()
    smtp.inbox.refuse, smtp.inbox.how = 2, "550"  # the server refuses the first two messages outright
    done = weekly_report(data_root=str(root), week=WEEK, now=after, templates=False)
    assert done["mail"]["sent"] == 0 and len(done["mail"]["failed"]) == 2
    failures = _artifact("weekly-report-mail-failures")  # shown in the UI
    assert sorted(f["收件人"] for f in failures) == ["awb@ajw.example.gov.cn", "jyj@city.example.gov.cn"]
    assert all("550" in f["错误"] for f in failures)
    assert (Path(done["folder"]) / "manifest.json").is_file()  # the report is written whatever the mail did
    done = weekly_report(data_root=str(root), week=WEEK, now=after, templates=False)  # the next run resends
    assert done["mail"] == {"sent": 2, "already_sent": 0, "failed": []}
    done = weekly_report(data_root=str(root), week=WEEK, now=after, templates=False)  # and then sends nothing
    assert done["revision"] == 1 and done["mail"] == {"sent": 0, "already_sent": 2, "failed": []}
    got = {r.rcpt_tos[0]: r.message for r in smtp.inbox.received}
    assert set(got) == {"awb@ajw.example.gov.cn", "jyj@city.example.gov.cn"}
    assert "区安委办" in got["awb@ajw.example.gov.cn"]["Subject"]
    (name,) = [part.get_filename() for part in got["jyj@city.example.gov.cn"].iter_attachments()]
    assert name == f"市教育局_学校安全隐患排查整治情况周报表_{WEEK}.xlsx"


def test_a_bad_roster_edit_fails_the_run_clearly_and_the_next_run_after_the_fix_works(harness, tmp_path):
    import openpyxl

    from inspect_pipeline.flows.intake import intake

    root, expected = _district(tmp_path, units=20, seed=2)
    good = (root / "roster.xlsx").read_bytes()
    book = openpyxl.load_workbook(root / "roster.xlsx")
    first = [c.value for c in book.active[2]]
    book.active.append(first)  # the same school twice
    book.save(root / "roster.xlsx")
    state = intake(data_root=str(root), now=expected["suggested_now"], return_state=True)
    assert state.is_failed()
    assert state.message.count(f"第 {book.active.max_row} 行") >= 2, state.message  # the row, and each problem in it
    assert "学校名单 roster.xlsx" in state.message and "重复" in state.message, state.message
    assert _taken(root) == [] and any((root / "inbox").rglob("*.xls*"))  # nothing touched
    (root / "roster.xlsx").write_bytes(good)
    assert intake(data_root=str(root), now=expected["suggested_now"])["files"] == len(_taken(root)) > 10


def test_one_off_commands_go_through_the_flows_when_a_prefect_api_is_set(harness, tmp_path, monkeypatch):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL
    from typer.testing import CliRunner

    from inspect_pipeline.cli import app

    root, expected = _district(tmp_path, units=20, seed=4)
    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    with get_client(sync_client=True) as client:
        before = {r.id for r in client.read_flow_runs()}
    now = expected["suggested_now"]
    result = CliRunner().invoke(app, ["intake", "--data-root", str(root), "--now", now])
    assert result.exit_code == 0, result.output
    assert "已受理" in result.output and "Traceback" not in result.output
    after = (dt.datetime.fromisoformat(now) + dt.timedelta(days=2)).isoformat()
    result = CliRunner().invoke(app, ["report", "--data-root", str(root), "--week", WEEK, "--now", after,
                                      "--no-templates"])
    assert result.exit_code == 0 and "报表第 1 版已生成" in result.output, result.output
    with get_client(sync_client=True) as client:
        runs = [r for r in client.read_flow_runs() if r.id not in before]
        names = sorted(client.read_flow(r.flow_id).name for r in runs)
    assert names == ["intake", "weekly-report"]
    assert all(r.state.is_completed() for r in runs)


def test_every_flow_parameter_is_described_in_chinese():
    """The Prefect UI shows each deployment parameter with its description (from the flow's docstring)."""
    from prefect.utilities.callables import parameter_schema

    from inspect_pipeline.flows.intake import intake
    from inspect_pipeline.flows.reminders import reminders
    from inspect_pipeline.flows.weekly_report import weekly_report

    for fl in (intake, reminders, weekly_report):
        props = parameter_schema(fl).properties
        assert props and all(re.search(r"[\u4e00-\u9fff]", p.get("description", "")) for p in props.values()), fl.name
