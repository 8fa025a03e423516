"""Delivery by mail against a real SMTP server on 127.0.0.1 (aiosmtpd): the weekly reports reach their recipient
lists with Chinese subjects and file names intact, receipts reach the schools, failures are retried, recorded and
resent by the next run exactly once, and nothing is sent twice or while mail is not configured."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import logging
import math
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult
from typer.testing import CliRunner

from inspect_pipeline.deliver import mail as mail_module
from inspect_pipeline.cli import app
from inspect_pipeline.record.db import deliveries, make_engine, metadata, migrate
from inspect_pipeline.deliver.mail import DeliveryResult, Mail, build_message, deliver, deliveries_for, resend_failed
from inspect_pipeline.deliver.mailings import receipt_mails, report_mails
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.report.build import build_report
from inspect_pipeline.schools.identity import current_roster
from inspect_pipeline.core.settings import Mail as MailSettings
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.report.workbooks import layout
from smtp_server import Inbox, free_port, start
from support import ROSTER, drop, hazard, intake, make_root, school_book
from test_figures import build

WEEK = "2023-W47"
NOW = dt.datetime.fromisoformat("2023-11-24T16:00:00+08:00")
SENDER = "anquan@jyj.example.gov.cn"
RECIPIENTS = {
    "safety_committee": ["awb@ajw.example.gov.cn"],
    "city_bureau": ["jyj@city.example.gov.cn"],
    "zone_report": ["bgs@jyj.example.gov.cn"],
    "zone_leaders": {"一片": ["zhao@jyj.example.gov.cn"], "周局长": ["zhou@jyj.example.gov.cn"]},  # by zone, by leader
}
NO_WAIT = lambda seconds: None  # noqa: E731 - tests never wait


def mail_settings(port: int, **values) -> MailSettings:
    return MailSettings(**{"host": "127.0.0.1", "port": port, "security": "none", "sender": SENDER,
                           "timeout_seconds": 5, **values})


# ---------------------------------------------------------------------------------------------------- the district


@dataclass
class Week:
    root: Path
    paths: Paths
    manifest: dict
    mails: list[Mail]


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """The small district of test_figures, its W47 report, and the report's mails to RECIPIENTS."""
    root = build(tmp_path_factory.mktemp("mail"))
    settings = load_settings(root)
    settings = settings.model_copy(update={"mail": MailSettings(host="127.0.0.1", sender=SENDER, **RECIPIENTS)})
    paths = Paths.at(root, settings)
    manifest = build_report(paths, settings, WEEK, NOW).manifest
    mails = report_mails(paths, settings, current_roster(paths, settings, make_engine(paths.database_url),
                                                         register=False), manifest)
    return Week(paths.root, paths, manifest, mails)


@pytest.fixture
def engine(week):
    """The district's record with no deliveries yet."""
    engine = make_engine(week.paths.database_url)
    with engine.begin() as conn:
        conn.execute(deliveries.delete())
    yield engine
    engine.dispose()


def recorded(engine) -> dict[tuple[str, str], dict]:
    with engine.connect() as conn:
        return {(r["key"], r["recipient"]): dict(r) for r in conn.execute(sa.select(deliveries)).mappings()}


def attachments(message) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data), read_only=False)


# ---------------------------------------------------------------------------------------------------- reports


def test_the_weekly_report_reaches_each_recipient_list(week, engine, smtp):
    result = deliver(engine, mail_settings(smtp.port), week.mails, NOW, root=week.root, sleep=NO_WAIT)
    assert (len(result.sent), result.already_sent, result.failed) == (5, (), ())
    got = smtp.inbox.by_recipient()
    assert sorted(got) == sorted(["awb@ajw.example.gov.cn", "jyj@city.example.gov.cn", "bgs@jyj.example.gov.cn",
                                  "zhao@jyj.example.gov.cn", "zhou@jyj.example.gov.cn"])
    assert {r.mail_from for r in smtp.inbox.received} == {SENDER}
    outputs, spec = week.manifest["outputs"], layout()
    expected = {  # address: (subject, attachment, its first sheets, the title cell of the first)
        "awb@ajw.example.gov.cn": ("【安全隐患周报】2023-W47 区安委办报表（第1版）", outputs["safety_committee"],
                                   ["汇总", "分片区", "重大隐患清单", "未报单位", "图表", "说明", "输入文件"],
                                   f"{spec['safety_committee']['title']}（{WEEK}）"),
        "jyj@city.example.gov.cn": ("【安全隐患周报】2023-W47 市教育局报表（第1版）", outputs["city_bureau"],
                                    ["分学段", "重大及逾期隐患", "未报单位", "说明", "输入文件"],
                                    f"{spec['city_bureau']['title']}（{WEEK}）"),
        "bgs@jyj.example.gov.cn": ("【安全隐患周报】2023-W47 包片包校情况（第1版）", outputs["zone_report"],
                                   ["一片", "二片", "说明", "输入文件"], f"{spec['zone_report']['title']}——一片（包片领导：赵局长）"),
        "zhao@jyj.example.gov.cn": ("【安全隐患周报】2023-W47 包片包校情况（一片）（第1版）",
                                    outputs["zone_extracts"]["一片"], ["一片", "说明", "输入文件"],
                                    f"{spec['zone_report']['title']}——一片（包片领导：赵局长）"),
        "zhou@jyj.example.gov.cn": ("【安全隐患周报】2023-W47 包片包校情况（二片）（第1版）",
                                    outputs["zone_extracts"]["二片"], ["二片", "说明", "输入文件"],
                                    f"{spec['zone_report']['title']}——二片（包片领导：周局长）"),
    }
    for address, (subject, rel, sheets, title) in expected.items():
        message = got[address].message
        assert message["Subject"] == subject and message["To"] == address and message["From"] == SENDER
        assert b"=?utf-8?" in got[address].raw.split(b"\r\n\r\n")[0]  # the subject went out encoded (RFC 2047)
        files = attachments(message)
        name = Path(rel).name
        assert list(files) == [name] and files[name] == (week.root / rel).read_bytes()  # Chinese name, same bytes
        book = workbook(files[name])
        assert book.sheetnames == sheets and book[sheets[0]]["A1"].value == title
        assert message.get_body(("plain",)).get_content().startswith("各位领导：")
    letter = got["awb@ajw.example.gov.cn"].message.get_body(("plain",)).get_content()
    assert "报送率 100.0%" in letter and "新发现隐患 3 处（其中重大 1 处）" in letter  # the manifest's totals
    assert "制表时间：2023-11-24 16:00" in letter and "数据截止：2023-11-24 12:00" in letter
    zone_letter = got["zhou@jyj.example.gov.cn"].message.get_body(("plain",)).get_content()
    assert "二片（包片领导：周局长）" in zone_letter and "应报 1 个单位" in zone_letter
    rows = recorded(engine)
    assert {(r["status"], r["attempts"], r["sent_at"], r["error"]) for r in rows.values()} == {
        ("sent", 1, "2023-11-24T16:00:00+08:00", None)}
    committee = rows[("report:2023-W47:r1:safety_committee", "awb@ajw.example.gov.cn")]
    assert committee["attachments"] == [outputs["safety_committee"]]  # relative to the data root
    assert [r["recipient"] for r in deliveries_for(engine, WEEK)][:3] == [
        "awb@ajw.example.gov.cn", "jyj@city.example.gov.cn", "bgs@jyj.example.gov.cn"]


def test_a_rerun_sends_nothing_twice_but_a_new_revision_is_mailed_again(week, engine, smtp):
    settings = mail_settings(smtp.port)
    first = deliver(engine, settings, week.mails * 2, NOW, root=week.root, sleep=NO_WAIT)  # each mail twice
    assert (len(first.sent), len(first.already_sent)) == (5, 5)
    again = deliver(engine, settings, week.mails, NOW + dt.timedelta(hours=1), root=week.root, sleep=NO_WAIT)
    assert (again.sent, len(again.already_sent), again.failed) == ((), 5, ())
    assert len(smtp.inbox.received) == 5
    revised = {**week.manifest, "revision": 2}  # the same files, as if a late file had made revision 2
    full = load_settings(week.root).model_copy(update={"mail": MailSettings(host="127.0.0.1", **RECIPIENTS)})
    mails = report_mails(week.paths, full, current_roster(week.paths, full, make_engine(week.paths.database_url),
                                                          register=False), revised)
    assert {m.key for m in mails}.isdisjoint({m.key for m in week.mails})
    assert "（第2版）" in mails[0].subject and "请以第2版为准" in mails[0].body
    assert len(deliver(engine, settings, mails, NOW, root=week.root, sleep=NO_WAIT).sent) == 5


@pytest.mark.parametrize(("how", "logged"), [("421", "拒收邮件（421 4.3.2"), ("drop", "的连接中断")])
def test_a_server_that_refuses_at_first_is_tried_again_within_the_run(week, engine, smtp, caplog, how, logged):
    smtp.inbox.refuse, smtp.inbox.how = 2, how
    waits: list[float] = []
    with caplog.at_level(logging.WARNING, logger="inspect_pipeline.deliver.mail"):
        result = deliver(engine, mail_settings(smtp.port, backoff_seconds=2), week.mails[:2], NOW, root=week.root,
                         sleep=waits.append)
    assert (len(result.sent), result.failed) == (2, ())
    assert waits == [2, 4]  # the first mail: refused twice, waiting 2 s, then 4 s; the second went at once
    assert [r.rcpt_tos for r in smtp.inbox.received] == [[week.mails[0].to], [week.mails[1].to]]
    retries = [r.getMessage() for r in caplog.records]
    assert len(retries) == 2 and all(logged in m and week.mails[0].to in m for m in retries)
    rows = recorded(engine)
    assert [rows[(m.key, m.to)]["attempts"] for m in week.mails[:2]] == [3, 1]
    assert {r["status"] for r in rows.values()} == {"sent"}


def test_a_server_that_keeps_refusing_leaves_the_mail_to_the_next_run(week, engine, smtp, caplog):
    smtp.inbox.refuse = math.inf
    settings = mail_settings(smtp.port, attempts=3)
    mails = week.mails[:1]
    with caplog.at_level(logging.WARNING, logger="inspect_pipeline.deliver.mail"):
        result = deliver(engine, settings, mails, NOW, root=week.root, sleep=NO_WAIT)
    assert result.sent == () and [m for m, _ in result.failed] == mails
    row = recorded(engine)[(mails[0].key, mails[0].to)]
    assert (row["status"], row["attempts"], row["sent_at"]) == ("failed", 3, None)
    assert row["error"] == f"邮件服务器 127.0.0.1:{smtp.port} 拒收邮件（421 4.3.2 服务暂不可用，请稍后再试）"
    final = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(final) == 1 and mails[0].to in final[0].getMessage() and "421" in final[0].getMessage()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 2  # the two retries

    smtp.inbox.refuse = 0  # the server recovers; the next run resends from the record
    later = NOW + dt.timedelta(minutes=10)
    resent = resend_failed(engine, settings, later, root=week.root, sleep=NO_WAIT)
    assert [(m.key, m.to) for m in resent.sent] == [(mails[0].key, mails[0].to)] and resent.failed == ()
    assert len(smtp.inbox.received) == 1
    assert smtp.inbox.received[0].message["Subject"] == mails[0].subject
    row = recorded(engine)[(mails[0].key, mails[0].to)]
    assert (row["status"], row["attempts"], row["error"]) == ("sent", 4, None)  # attempts add up over the runs
    assert (row["first_tried_at"], row["sent_at"]) == (NOW.isoformat(), later.isoformat())
    assert resend_failed(engine, settings, later, root=week.root, sleep=NO_WAIT) == DeliveryResult()
    assert deliver(engine, settings, mails, later, root=week.root, sleep=NO_WAIT).already_sent == tuple(mails)
    assert len(smtp.inbox.received) == 1  # exactly once


def test_a_refusal_fails_at_once_and_a_missing_attachment_is_recorded(week, engine, smtp):
    smtp.inbox.refuse, smtp.inbox.how = 1, "550"
    gone = Mail("report", "report:2023-W47:r1:gone", WEEK, "x@jyj.example.gov.cn", "缺附件", "正文",
                (week.root / "reports" / WEEK / "r1" / "不存在.xlsx",))
    waits: list[float] = []
    result = deliver(engine, mail_settings(smtp.port), [week.mails[0], gone, week.mails[1], gone], NOW,
                     root=week.root, sleep=waits.append)
    assert waits == [] and [m for m in result.sent] == [week.mails[1]]
    errors = {m.key: e for m, e in result.failed}
    assert [m.key for m, _ in result.failed] == [week.mails[0].key, gone.key, gone.key]
    assert errors[week.mails[0].key].endswith("拒收邮件（550 5.7.1 拒收）")
    assert errors[gone.key] == f"附件不存在：{week.root / 'reports' / WEEK / 'r1' / '不存在.xlsx'}"
    rows = recorded(engine)
    assert rows[(gone.key, gone.to)]["attachments"] == [f"reports/{WEEK}/r1/不存在.xlsx"]
    assert [rows[(m.key, m.to)]["attempts"] for m in (week.mails[0], gone)] == [1, 2]  # gone: tried twice


def test_no_server_is_retried_then_recorded_and_the_rest_wait_for_the_next_run(week, engine):
    port = free_port()  # nothing listens there
    waits: list[float] = []
    result = deliver(engine, mail_settings(port, attempts=2), week.mails[:3], NOW, root=week.root,
                     sleep=waits.append)
    assert len(waits) == 1  # the first mail's retry; the others do not each wait out their own
    assert len(result.failed) == 3 and result.failed[0][1].startswith(f"无法连接邮件服务器 127.0.0.1:{port}")
    assert all(error.startswith("本次未发送：无法连接邮件服务器") for _, error in result.failed[1:])
    rows = recorded(engine)
    assert [rows[(m.key, m.to)]["attempts"] for m in week.mails[:3]] == [2, 0, 0]
    assert {rows[(m.key, m.to)]["status"] for m in week.mails[:3]} == {"failed"}
    shown = CliRunner().invoke(app, ["status", "--data-root", str(week.root), "--week", WEEK])  # what the clerk sees
    assert shown.exit_code == 0 and "3 条邮件或群消息尚未发出" in shown.output, shown.output
    assert week.mails[0].to in shown.output and f"无法连接邮件服务器 127.0.0.1:{port}" in shown.output


@pytest.mark.parametrize(("security", "error"), [("ssl", "建立加密连接失败"), ("starttls", "不支持所需功能")])
def test_tls_settings_that_do_not_fit_the_server_fail_at_once(week, engine, smtp, security, error):
    waits: list[float] = []
    result = deliver(engine, mail_settings(smtp.port, security=security), week.mails[:1], NOW, root=week.root,
                     sleep=waits.append)
    assert waits == [] and error in result.failed[0][1] and "[mail] security" in result.failed[0][1]
    assert smtp.inbox.received == []


def test_nothing_is_sent_while_mail_is_not_configured(week, engine, smtp):
    off = MailSettings(port=smtp.port, security="none", sender=SENDER)  # no host
    assert not off.enabled
    assert deliver(engine, off, week.mails, NOW, root=week.root, sleep=NO_WAIT) == DeliveryResult()
    assert resend_failed(engine, off, NOW, root=week.root) == DeliveryResult()
    assert smtp.inbox.received == [] and recorded(engine) == {}


# ---------------------------------------------------------------------------------------------------- receipts


def test_receipts_go_to_the_school_addresses(tmp_path, smtp):
    root = make_root(tmp_path)
    roster = openpyxl.Workbook()
    emails = {"丰润区第一实验小学": "yishi@school.example.cn",
              "丰润区第三幼儿园": "sanyou@school.example.cn；yuanzhang@school.example.cn"}  # two, full-width ；
    roster.active.append([*ROSTER[0], "学校邮箱"])
    for row in ROSTER[1:]:
        roster.active.append([*row, emails.get(row[0])])  # 银中 has no address
    roster.save(root / "roster.xlsx")
    drop(root, "一实小/w47.xlsx", school_book(rows=[hazard(found=dt.datetime(2023, 11, 20))]))
    drop(root, "三幼/w47.xlsx", school_book(unit="三幼", rows=[hazard(level="较大")]))  # bad level: rejected
    drop(root, "银中/w47.xlsx", school_book(unit="银中", rows=[hazard()]))
    intake(root)
    settings = load_settings(root)
    settings = settings.model_copy(update={"mail": mail_settings(smtp.port)})
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    roster = current_roster(paths, settings, engine, register=False)
    try:
        mails = receipt_mails(paths, settings, roster, engine)
        assert sorted(m.to for m in mails) == ["sanyou@school.example.cn", "yishi@school.example.cn",
                                               "yuanzhang@school.example.cn"]
        assert receipt_mails(paths, settings, roster, engine, weeks=["2023-W46"]) == []
        result = deliver(engine, settings.mail, mails, NOW, root=paths.root, sleep=NO_WAIT)
        assert (len(result.sent), result.failed) == (3, ())
        got = smtp.inbox.by_recipient()
        accepted = got["yishi@school.example.cn"].message
        assert accepted["Subject"] == "【安全隐患周报回执】已受理：丰润区第一实验小学 2023-W47《w47.xlsx》"
        [(name, data)] = attachments(accepted).items()
        assert name.startswith("w47_") and name.endswith("_回执.xlsx") and workbook(data).sheetnames[0] == "回执"
        assert "共 1 条隐患" in accepted.get_body(("plain",)).get_content()
        rejected = got["sanyou@school.example.cn"].message
        assert rejected["Subject"] == "【安全隐患周报回执】退回重报：丰润区第三幼儿园 2023-W47《w47.xlsx》"
        [(name, data)] = attachments(rejected).items()
        assert name.endswith("_问题清单.xlsx") and workbook(data).sheetnames[0] == "问题清单"
        body = rejected.get_body(("plain",)).get_content()
        assert "未予受理，请修改后重新报送" in body and "2023-11-24 12:00" in body
        assert got["yuanzhang@school.example.cn"].message["Subject"] == rejected["Subject"]
        keys = {m.to.split("@")[0]: m.key for m in mails}  # receipt:<submission id>, one per file
        assert keys["sanyou"] == keys["yuanzhang"] != keys["yishi"]
        assert all(k.startswith("receipt:") for k in keys.values())
        off = settings.model_copy(update={"mail": mail_settings(smtp.port, receipts=False)})
        assert receipt_mails(paths, off, roster, engine) == []
    finally:
        engine.dispose()


# ---------------------------------------------------------------------------------------------------- the message


def test_the_message_keeps_chinese_names_and_types(tmp_path):
    files = {"区安委办_周报表_2023-W47.xlsx": b"PK\x03\x04", "提醒_一片.md": "# 提醒\n未报：三幼".encode(),
             "manifest.json": b"{}"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    mail = Mail("report", "report:2023-W47:r1:x", WEEK, "awb@ajw.example.gov.cn", "【安全隐患周报】测试", "正文：中文\n",
                tuple(Path(n) for n in files))  # relative: below root
    message = build_message(mail, SENDER, NOW, root=tmp_path)
    raw = message.as_bytes(policy=email.policy.SMTP)
    assert b"filename*=utf-8''%E6%8F%90%E9%86%92" in raw  # RFC 2231
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    types = {p.get_filename(): (p.get_content_type(), p.get_content_charset()) for p in parsed.iter_attachments()}
    assert types == {
        "区安委办_周报表_2023-W47.xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", None),
        "提醒_一片.md": ("text/markdown", "utf-8"),
        "manifest.json": ("application/json", None),
    }
    assert parsed.get_body(("plain",)).get_content() == "正文：中文\n"
    assert parsed["Date"] == "Fri, 24 Nov 2023 16:00:00 +0800"
    assert parsed["Message-ID"] == build_message(mail, SENDER, NOW, root=tmp_path)["Message-ID"]  # stable
    assert parsed["Message-ID"].endswith("@jyj.example.gov.cn>")


# ---------------------------------------------------------------------------------------------------- TLS and login


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 (needs the openssl program)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def _authenticate(server, session, envelope, mechanism, auth_data):
    # handled=False: the server answers 535 itself
    return AuthResult(success=(auth_data.login, auth_data.password) == (b"anquan", b"mima"), handled=False)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_and_login(week, engine, certificate, monkeypatch, security):
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    monkeypatch.setattr(mail_module, "_tls_context", lambda: ssl.create_default_context(cafile=str(cert)))
    inbox = Inbox()
    tls = {"ssl_context": server_tls} if security == "ssl" else {"tls_context": server_tls, "require_starttls": True}
    # aiosmtpd does not see implicit TLS (it is the event loop's), so it would hide AUTH unless told not to
    controller = start(inbox, authenticator=_authenticate, auth_require_tls=security == "starttls", **tls)
    try:
        good = mail_settings(controller.port, security=security, user="anquan", password="mima")
        assert len(deliver(engine, good, week.mails[:1], NOW, root=week.root, sleep=NO_WAIT).sent) == 1
        bad = mail_settings(controller.port, security=security, user="anquan", password="wrong")
        waits: list[float] = []
        result = deliver(engine, bad, week.mails[1:2], NOW, root=week.root, sleep=waits.append)
        assert waits == [] and "拒绝登录（535" in result.failed[0][1]  # a wrong password is not retried
    finally:
        controller.stop()
    assert len(inbox.received) == 1 and inbox.received[0].message["Subject"] == week.mails[0].subject


# ---------------------------------------------------------------------------------------------------- PostgreSQL


def test_deliveries_on_postgres(postgres_url, week, smtp):
    engine = make_engine(postgres_url)
    try:
        with engine.begin() as conn:
            metadata.drop_all(conn)
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        migrate(engine, create=True)
        smtp.inbox.refuse = 1
        settings = mail_settings(smtp.port, attempts=1)
        assert len(deliver(engine, settings, week.mails[:2], NOW, root=week.root, sleep=NO_WAIT).failed) == 1
        assert len(resend_failed(engine, settings, NOW, root=week.root, sleep=NO_WAIT).sent) == 1
        rows = deliveries_for(engine, WEEK)
        assert [(r["status"], r["attempts"]) for r in rows] == [("sent", 2), ("sent", 1)]
        assert rows[0]["attachments"] == [week.manifest["outputs"]["safety_committee"]]
        assert len(smtp.inbox.received) == 2
    finally:
        engine.dispose()
