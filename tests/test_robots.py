"""企业微信 group robots and 钉钉 custom robots as delivery channels (issue #13), against a stand-in robot on
127.0.0.1 (robot_server.py): the exact JSON bodies, 钉钉's signature recomputed here, the keyword mode, the
@-mentions, splitting at the byte limits, a non-zero errcode retried and recorded, the rate limit (an injected
clock), the proxy, nothing sent twice on a re-run, a new revision announced again."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import shutil
import urllib.parse
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.core.errors import ConfigError
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.deliver import robots as robots_module
from inspect_pipeline.deliver.delivery import send_robot_reminders, send_robot_report
from inspect_pipeline.deliver.reminders import build_reminders
from inspect_pipeline.deliver.robot_rounds import report_text
from inspect_pipeline.deliver.robots import (
    RateLimit,
    deliver_robots,
    list_payloads,
    mention_payloads,
    messages,
    numbered,
    sign,
    split_lines,
)
from inspect_pipeline.record.db import deliveries, make_engine
from robot_server import start
from support import drop, hazard, intake, make_root, school_book

runner = CliRunner()
KEY = "wk-3f9a7c-key"
SECRET = "SEC0123456789abcdef"
MOBILES = {"钱明": "13800000001", "孙丽": "13800000002", "吴刚": "13900000003"}
NOW = dt.datetime.fromisoformat("2023-11-23T15:00:00+08:00")
FIG = {"due": 3, "received": 1, "on_time": 1, "late": 0, "missing": 2, "report_rate": 1 / 3, "found": 2,
       "found_major": 1, "rectified": 1, "rectification_rate": 0.5, "in_progress": 1, "not_rectified": 0,
       "overdue": 0}


def manifest(revision=1):
    return {"week": "2023-W47", "revision": revision, "cutoff": "2023-11-24T12:00:00+08:00",
            "generated_at": "2023-11-24T12:30:00+08:00", "totals": {"week": FIG, "cumulative": FIG}}


@pytest.fixture
def robot(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    stand_in, server = start()
    yield stand_in
    server.shutdown()
    server.server_close()


def toml_table(name: str, values: dict) -> str:
    return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v, ensure_ascii=False)}\n" for k, v in values.items())


_BASE: dict[str, Path] = {}


@pytest.fixture(scope="module", autouse=True)
def _base_root(tmp_path_factory):
    """One initialised data root, copied for each test (init takes a second or two)."""
    _BASE["root"] = make_root(tmp_path_factory.mktemp("robots-base"))
    yield
    _BASE.clear()


def data_root(tmp_path, groups: dict[str, dict], secrets: dict[str, dict] | None = None, mobiles=True):
    root = tmp_path / "data"
    shutil.copytree(_BASE["root"], root)
    if mobiles:  # the roster with the optional 责任人手机 column
        book = openpyxl.load_workbook(root / "roster.xlsx")
        ws = book.active
        ws.cell(1, 9, "责任人手机")
        for r in range(2, ws.max_row + 1):
            ws.cell(r, 9, MOBILES[ws.cell(r, 8).value])
        book.save(root / "roster.xlsx")
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n"
                      + "\n".join(toml_table(f"robots.{g}", v) for g, v in groups.items()), encoding="utf-8")
    secrets = secrets if secrets is not None else {g: {"key": KEY} for g in groups}
    (root / "secrets.toml").write_text("\n".join(toml_table(f"robots.{g}", v) for g, v in secrets.items()),
                                       encoding="utf-8")
    return root


def engine_of(root):
    settings = load_settings(root)
    return settings, make_engine(Paths.at(root, settings).database_url)


def no_sleep(seconds):
    pass


def rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(deliveries).order_by(deliveries.c.id)).mappings()]


# ---------------------------------------------------------------------------------------------------- messages


def test_split_at_line_boundaries_within_the_byte_limit():
    lines = [f"- 丰润区第{i}小学：未报" for i in range(400)]
    text = "\n".join(lines)
    parts = numbered(text, 4096)
    assert len(parts) > 1
    assert all(len(p.encode()) <= 4096 for p in parts)
    assert all(p.startswith(f"（第{n}/{len(parts)}条）\n") for n, p in enumerate(parts, start=1))
    assert [line for p in parts for line in p.split("\n")[1:]] == lines  # every line whole, in order, once
    assert numbered("短", 4096) == ["短"]
    assert split_lines("甲" * 10, 7) == ["甲甲", "甲甲", "甲甲", "甲甲", "甲甲"]  # a line longer than a part


def test_wecom_mentions_are_a_short_text_message(tmp_path):
    settings = load_settings(data_root(tmp_path, {"yipian": {"kind": "wecom", "purpose": "zone", "zone": "一片"}}))
    robot = settings.robots["yipian"]
    [payload] = mention_payloads(robot, "请钱明督促" + "很长" * 2000, ["13800000001", "13800000001", "13800000002"])
    assert payload["msgtype"] == "text"
    assert payload["text"]["mentioned_mobile_list"] == ["13800000001", "13800000002"]
    assert len(payload["text"]["content"].encode()) <= 2048
    assert mention_payloads(robot, "无人", []) == []


def test_report_notice_exact_body_to_wecom(tmp_path, robot):
    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports", "base_url": robot.url + "/send"}})
    settings, engine = engine_of(root)
    result = send_robot_report(Paths.at(root, settings), settings, manifest(), NOW, engine=engine)
    assert len(result.sent) == 1 and not result.failed
    [request] = robot.requests
    assert request.path == "/send" and request.query == {"key": KEY}
    text = report_text(settings, manifest())
    assert request.body == {"msgtype": "markdown", "markdown": {"content": text}}
    assert f"{settings.web.url}/?week=2023-W47" in text and "应报 3，已报 1" in text and "第1版" in text


def test_dingtalk_signed_and_keyword(tmp_path, robot):
    root = data_root(tmp_path, {"ding": {"kind": "dingtalk", "purpose": "reports", "keyword": "周报",
                                         "base_url": robot.url + "/robot/send"}},
                     {"ding": {"key": KEY, "secret": SECRET}})
    settings, engine = engine_of(root)
    result = deliver_robots(engine, settings, messages("report", "t", "2023-W47", "ding", "标题",
                                                       [{"msgtype": "text", "text": {"content": "无关键词"}}]),
                            NOW, wall_clock=lambda: 1700000000.123)
    assert result.sent
    [request] = robot.requests
    assert request.query["access_token"] == KEY and request.query["timestamp"] == "1700000000123"
    expected = base64.b64encode(hmac.new(SECRET.encode(), f"1700000000123\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert request.query["sign"] == expected  # parse_qsl undid the URL encoding
    assert sign(SECRET, 1700000000123) == urllib.parse.quote_plus(expected)
    # keyword mode: the keyword in every message the planners build
    robot_settings = settings.robots["ding"]
    for payload in list_payloads(robot_settings, "标题", "\n".join(f"第{i}行" for i in range(5000))):
        assert "周报" in payload["markdown"]["title"] and "周报" in payload["markdown"]["text"]
    [mention] = mention_payloads(robot_settings, "请督促", ["13800000001"])
    assert mention == {"msgtype": "text", "text": {"content": "【周报】请督促 @13800000001"},
                       "at": {"atMobiles": ["13800000001"], "isAtAll": False}}


# ---------------------------------------------------------------------------------------------------- delivery


def test_errcode_retried_with_backoff_then_recorded_and_resent_next_run(tmp_path, robot, caplog):
    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports", "base_url": robot.url,
                                             "attempts": 3, "backoff_seconds": 2}})
    settings, engine = engine_of(root)
    paths = Paths.at(root, settings)
    robot.answers = [{"errcode": 45009, "errmsg": f"api freq out of limit key={KEY}"}] * 3
    waits = []
    with caplog.at_level(logging.INFO):
        result = send_robot_report(paths, settings, manifest(), NOW, engine=engine, sleep=waits.append)
    assert not result.sent and len(result.failed) == 1
    assert waits == [2, 4] and len(robot.requests) == 3
    [row] = rows(engine)
    assert row["status"] == "failed" and row["attempts"] == 3 and row["recipient"] == "robot:anweiban"
    assert "45009" in row["error"] and KEY not in row["error"]  # the key is masked
    assert KEY not in caplog.text
    # the next run (another week's round, nothing new for this group) resends it from the record
    again = send_robot_report(paths, settings, {**manifest(), "week": "2023-W46"}, NOW, engine=engine,
                              sleep=waits.append)
    assert len(again.sent) == 2 and not again.failed
    assert [r["status"] for r in rows(engine)] == ["sent", "sent"] and rows(engine)[0]["attempts"] == 4
    assert robot.requests[4].body == robot.requests[0].body  # this run's own first, then the earlier failure


def test_a_failure_to_a_group_since_removed_is_dropped_not_resent_forever(tmp_path, robot):
    from inspect_pipeline.report.status import unsent_mail

    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports", "base_url": robot.url,
                                             "attempts": 1},
                                "erpian": {"kind": "wecom", "purpose": "zone", "zone": "二片", "base_url": robot.url}})
    settings, engine = engine_of(root)
    paths = Paths.at(root, settings)
    robot.answers = [{"errcode": 93000, "errmsg": "invalid webhook url"}]
    assert send_robot_report(paths, settings, manifest(), NOW, engine=engine).failed
    assert [m["to"] for m in unsent_mail(paths)] == ["群机器人 anweiban"]
    config = root / "config.toml"  # the clerk removes the group
    text = config.read_text(encoding="utf-8")
    config.write_text(text[:text.index("\n[robots.anweiban]")] + text[text.index("\n[robots.erpian]"):], encoding="utf-8")
    (root / "secrets.toml").write_text(toml_table("robots.erpian", {"key": KEY}), encoding="utf-8")
    settings = load_settings(root)
    again = send_robot_report(paths, settings, manifest(revision=2), NOW, engine=engine)
    assert not again.sent and not again.failed and len(robot.requests) == 1  # nothing tried, nothing to a zone group
    assert unsent_mail(paths) == [] and [r["status"] for r in rows(engine)] == ["dropped"]


def test_nothing_sent_twice_and_a_new_revision_announced_again(tmp_path, robot):
    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports", "base_url": robot.url}})
    settings, engine = engine_of(root)
    paths = Paths.at(root, settings)
    send_robot_report(paths, settings, manifest(), NOW, engine=engine)
    rerun = send_robot_report(paths, settings, manifest(), NOW, engine=engine)
    assert len(robot.requests) == 1 and len(rerun.already_sent) == 1 and not rerun.sent
    send_robot_report(paths, settings, manifest(revision=2), NOW, engine=engine)
    assert len(robot.requests) == 2 and "第2版" in robot.requests[1].body["markdown"]["content"]


def test_rate_limit_with_an_injected_clock(tmp_path, robot, monkeypatch):
    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports", "base_url": robot.url}})
    settings, engine = engine_of(root)
    clock = [1000.0]
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        clock[0] += seconds

    def tick():
        clock[0] += 0.5  # each message takes half a second
        return clock[0]

    times = []
    wait = RateLimit.wait

    def recorded_wait(self):
        wait(self)
        times.append(self.sent[-1])  # the moment this message was let through

    monkeypatch.setattr(RateLimit, "wait", recorded_wait)
    mails = [m for i in range(45) for m in messages("report", f"k{i}", "2023-W47", "anweiban", "t",
                                                    [{"msgtype": "text", "text": {"content": str(i)}}])]
    result = deliver_robots(engine, settings, mails, NOW, sleep=sleep, clock=tick)
    assert len(result.sent) == 45 and len(robot.requests) == 45
    assert waits and all(w > 0 for w in waits)
    assert all(times[i + 20] - times[i] >= 60 for i in range(len(times) - 20))  # ≤ 20 in any minute
    assert times[40] - times[0] >= 120
    limit = RateLimit(20, clock=lambda: 0.0, sleep=waits.append)
    for _ in range(20):
        limit.wait()
    waits.clear()
    limit.wait()
    assert waits == [60]


def test_proxy_is_used(tmp_path, robot):
    """The robot's address is unreachable by name; the configured proxy (the stand-in) takes the request."""
    root = data_root(tmp_path, {"anweiban": {"kind": "wecom", "purpose": "reports",
                                             "base_url": "http://qyapi.robot.invalid/cgi-bin/webhook/send",
                                             "proxy": robot.url}})
    settings, engine = engine_of(root)
    result = send_robot_report(Paths.at(root, settings), settings, manifest(), NOW, engine=engine)
    assert result.sent
    [request] = robot.requests
    assert request.proxied and request.host == "qyapi.robot.invalid" and request.query == {"key": KEY}


def test_reminder_round_to_zone_groups_with_mentions_and_no_mobiles_in_artifacts(tmp_path, robot, caplog):
    root = data_root(tmp_path, {
        "yipian": {"kind": "wecom", "purpose": "zone", "zone": "一片", "base_url": robot.url + "/wecom"},
        "erpian": {"kind": "dingtalk", "purpose": "zone", "zone": "二片", "base_url": robot.url + "/ding"},
    })
    drop(root, "一实小/w47.xlsx", school_book(rows=[hazard()]))
    intake(root, dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00"))
    settings, engine = engine_of(root)
    paths = Paths.at(root, settings)
    with caplog.at_level(logging.DEBUG):
        result = build_reminders(paths, settings, "2023-W47", NOW, engine=engine)
        sent = send_robot_reminders(paths, settings, result, NOW, engine=engine)
    assert not sent.failed
    by_path = {}
    for r in robot.requests:
        by_path.setdefault(r.path, []).append(r.body)
    wecom_list, wecom_at = by_path["/wecom"]
    assert wecom_list["msgtype"] == "markdown" and "丰润区第三幼儿园：未报" in wecom_list["markdown"]["content"]
    assert "丰润区第一实验小学" not in wecom_list["markdown"]["content"]  # reported
    assert wecom_at["text"]["mentioned_mobile_list"] == [MOBILES["孙丽"]]
    ding_list, ding_at = by_path["/ding"]
    assert "丰润区银城铺镇中学" in ding_list["markdown"]["text"]
    assert ding_at["at"]["atMobiles"] == [MOBILES["吴刚"]]
    # mobiles never in logs, the round's files or anything the record shows as subject/error
    assert not any(m in caplog.text for m in MOBILES.values())
    for path in result.folder.iterdir():
        data = path.read_bytes()
        if path.suffix == ".xlsx":
            import zipfile
            with zipfile.ZipFile(path) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        assert not any(m.encode() in data for m in MOBILES.values()), path
    assert not any(m in (r["subject"] + (r["error"] or "")) for r in rows(engine) for m in MOBILES.values())
    # the round run again sends nothing; a later round (Friday) is sent even with the same list
    again = send_robot_reminders(paths, settings, result, NOW, engine=engine)
    assert not again.sent and len(robot.requests) == 4
    friday = build_reminders(paths, settings, "2023-W47", NOW + dt.timedelta(hours=18), engine=engine)
    send_robot_reminders(paths, settings, friday, NOW, engine=engine)
    assert len(robot.requests) == 8


# ---------------------------------------------------------------------------------------------------- config, CLI


def test_secrets_only_in_secrets_toml(tmp_path):
    root = data_root(tmp_path, {"g": {"kind": "wecom", "purpose": "reports"}})
    settings = load_settings(root)
    assert settings.robots["g"].key.get_secret_value() == KEY and KEY not in repr(settings)
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8") + f'key = "{KEY}"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"不能写机器人的 key.*secrets.toml 的 \[robots.g\] key") as info:
        load_settings(root)
    assert KEY not in str(info.value)


@pytest.mark.parametrize(("table", "message"), [
    ({"kind": "wecom", "purpose": "zone"}, "片区群需写明片区"),
    ({"kind": "wecom", "purpose": "school"}, "学校群需写明学校标识码"),
    ({"kind": "wecom", "purpose": "reports", "keyword": "周报"}, "keyword、secret 只用于钉钉"),
    ({"kind": "feishu", "purpose": "reports"}, "kind"),
])
def test_bad_robot_config_is_one_chinese_line(tmp_path, table, message):
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(data_root(tmp_path, {"g": table}))
    assert "robots.g" in str(info.value) or "robots" in str(info.value)


def test_robot_test_command_prints_the_answer(tmp_path, robot):
    root = data_root(tmp_path, {"g": {"kind": "wecom", "purpose": "reports", "base_url": robot.url}})
    done = runner.invoke(app, ["robot-test", "g", "--data-root", str(root)])
    assert done.exit_code == 0, done.output
    assert '"errcode": 0' in done.output and KEY not in done.output
    [request] = robot.requests
    assert request.body["msgtype"] == "text" and "测试消息" in request.body["text"]["content"]
    robot.answers = [{"errcode": 93000, "errmsg": "invalid webhook url"}]
    done = runner.invoke(app, ["robot-test", "g", "--data-root", str(root)])
    assert done.exit_code != 0 and "93000" in done.output and KEY not in done.output
    done = runner.invoke(app, ["robot-test", "nosuch", "--data-root", str(root)])
    assert done.exit_code == 2 and "没有机器人" in done.output


def test_key_from_the_environment(tmp_path, monkeypatch):
    root = data_root(tmp_path, {"yipian": {"kind": "dingtalk", "purpose": "zone", "zone": "一片"}}, secrets={})
    assert load_settings(root).robots["yipian"].key is None
    monkeypatch.setenv("INSPECT_PIPELINE_ROBOTS__YIPIAN__KEY", "from-env")
    monkeypatch.setenv("INSPECT_PIPELINE_ROBOTS__YIPIAN__SECRET", "SECenv")
    robot = load_settings(root).robots["yipian"]
    assert robot.key.get_secret_value() == "from-env" and robot.secret.get_secret_value() == "SECenv"
    assert robot.zone == "一片"


def test_roster_template_and_contract_have_the_mobile_column(tmp_path):
    root = data_root(tmp_path, {})
    header = [c.value for c in openpyxl.load_workbook(root / "roster.xlsx").active[1]]
    assert "责任人手机" in header
    from inspect_pipeline.jobs.setup import init_data_root

    fresh = tmp_path / "fresh"
    init_data_root(fresh)
    book = openpyxl.load_workbook(fresh / "roster.xlsx")
    assert "责任人手机" in [c.value for c in book.worksheets[0][1]]
    from inspect_pipeline.schools.roster import load_roster

    settings = load_settings(root)
    school = load_roster(Paths.at(root, settings).roster_file, settings).schools[0]
    assert school.owner_mobile == MOBILES["钱明"] and MOBILES["钱明"] not in repr(school)


def test_remind_command_sends_to_the_zone_group(tmp_path, robot):
    root = data_root(tmp_path, {"yipian": {"kind": "wecom", "purpose": "zone", "zone": "一片", "base_url": robot.url,
                                           "backoff_seconds": 0}})
    drop(root, "一实小/w47.xlsx", school_book(rows=[hazard()]))
    intake(root, dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00"))
    done = runner.invoke(app, ["remind", "--data-root", str(root), "--now", "2023-11-23T15:00:00+08:00"])
    assert done.exit_code == 0, done.output
    assert "群机器人消息已发送 2 条" in done.output
    assert not any(m in done.output for m in MOBILES.values())
    robot.answers = [{"errcode": 300005, "errmsg": "token is not exist"}] * 9
    done = runner.invoke(app, ["remind", "--data-root", str(root), "--now", "2023-11-23T16:00:00+08:00"])
    assert "群机器人 yipian 未能收到" in done.output and "300005" in done.output
    done = runner.invoke(app, ["status", "--data-root", str(root), "--week", "2023-W47",
                               "--now", "2023-11-23T16:30:00+08:00"])
    assert "群机器人 yipian《催报提醒" in done.output  # failures listed by status


def test_a_bad_mobile_stops_the_roster_without_echoing_it(tmp_path):
    from inspect_pipeline.core.errors import RosterError
    from inspect_pipeline.schools.roster import load_roster

    root = data_root(tmp_path, {})
    book = openpyxl.load_workbook(root / "roster.xlsx")
    book.active.cell(2, 9, "1380000")
    book.active.cell(3, 9, "+86 138-0000-0002")
    book.save(root / "roster.xlsx")
    settings = load_settings(root)
    with pytest.raises(RosterError) as info:
        load_roster(Paths.at(root, settings).roster_file, settings)
    text = str(info.value) + "\n".join(getattr(info.value, "details", ()))
    assert "不是 11 位手机号码" in text and "1380000" not in text and "第 2 行" in text
    book.active.cell(2, 9, 13800000001)  # typed as a number in Excel
    book.save(root / "roster.xlsx")
    schools = load_roster(Paths.at(root, settings).roster_file, settings).schools
    assert [s.owner_mobile for s in schools[:2]] == ["13800000001", "13800000002"]
