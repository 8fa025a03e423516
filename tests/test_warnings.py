"""Deadline warnings (整改到期预警, outputs.md §4a) on a small hand-built district, checked by hand and against the
ledger (the week's figures' hazards: state, done, deadline as the figures count it).

Roster (tests/support.py): 一实小 → 安法科 钱明 (一片, 赵局长); 三幼 → 安法科 孙丽 (一片); 银中 → 教育科 吴刚 (二片, 周局长).
W47 files, intake Thu 2023-11-23 10:00:
  一实小: A 一般 未整改 deadline 11-26; B 重大 整改中 deadline 11-24; C 一般 已整改 deadline 11-24 (closed);
          D 一般 未整改 deadline 11-27; E 一般 未整改 deadline 11-20 (overdue).
  三幼:   F 一般 立即整改 未整改, found 11-21 (its deadline is its found date: overdue).
  银中:   G 重大 未整改 deadline 11-23; H 一般 整改中 deadline 12-10 (far).
A round on Thu 2023-11-23 15:00 (N = 3: due 11-23 … 11-26): due A, B, G; overdue E, F. D (11-27) is not listed.
A round on Thu 2023-11-23 23:30 UTC is Fri 11-24 07:30 in Asia/Shanghai: due A, B, D; overdue E, F, G.
"""

from __future__ import annotations

import datetime as dt
import json

import openpyxl
import pytest

from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.deliver.reminders import build_reminders
from inspect_pipeline.record.db import make_engine
from inspect_pipeline.report.deadlines import DUE, OVERDUE, deadline_warnings
from inspect_pipeline.report.figures import compute_week, effective_deadline
from inspect_pipeline.schools.identity import current_roster
from support import drop, hazard, intake, make_root, school_book

D = dt.datetime
WEEK = "2023-W47"
ROUND = dt.datetime.fromisoformat("2023-11-23T15:00:00+08:00")
LATE_ROUND = dt.datetime(2023, 11, 23, 23, 30, tzinfo=dt.UTC)


def build(tmp_path):
    root = make_root(tmp_path)
    f = D(2023, 11, 20)
    yi = [
        hazard(desc="A 灭火器过期", found=f, status="未整改", 整改时限=D(2023, 11, 26)),
        hazard(desc="B 锅炉压力表失灵", found=f, status="整改中", level="重大", 整改时限=D(2023, 11, 24)),
        hazard(desc="C 插座松动", found=f, status="已整改", 整改时限=D(2023, 11, 24), 完成日期=D(2023, 11, 21)),
        hazard(desc="D 围墙裂缝", found=f, status="未整改", 整改时限=D(2023, 11, 27)),
        hazard(desc="E 减速带损坏", found=D(2023, 11, 13), status="未整改", 整改时限=D(2023, 11, 20)),
    ]
    drop(root, "一实小/w47.xlsx", school_book(rows=yi))
    drop(root, "三幼/w47.xlsx", school_book(unit="三幼", rows=[
        hazard(desc="F 滑梯螺丝松动", found=D(2023, 11, 21), status="未整改", 整改方式="立即整改", 整改时限=None)]))
    drop(root, "银中/w47.xlsx", school_book(unit="银中", rows=[
        hazard(desc="G 实验室危化品柜未上锁", found=f, status="未整改", level="重大", 整改时限=D(2023, 11, 23)),
        hazard(desc="H 宿舍窗户损坏", found=f, status="整改中", 整改时限=D(2023, 12, 10))]))
    intake(root, dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00"))
    return root


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return build(tmp_path_factory.mktemp("warnings"))


def warnings_at(root, moment: dt.datetime, days: int = 3):
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    roster = current_roster(paths, settings, engine, register=False)
    with engine.connect() as conn:
        wf = compute_week(conn, roster, settings, WEEK)
        today = moment.astimezone(settings.tz).date()
        return wf, deadline_warnings(conn, wf.hazards, roster, today, days)


def letters(hazards: list[dict]) -> list[str]:
    return [h["description"][0] for h in hazards]


def by_owner(w) -> dict[str, tuple[list[str], list[str]]]:
    return {o["section_owner"]: (letters(o["due"]), letters(o["overdue"])) for o in w.owners}


def test_each_owner_gets_their_due_and_overdue_hazards_major_first(district):
    _, w = warnings_at(district, ROUND)
    assert w.today == dt.date(2023, 11, 23)
    assert by_owner(w) == {
        "钱明": (["B", "A"], ["E"]),  # B 重大 first; D (11-27) is 4 days away; C is closed
        "孙丽": ([], ["F"]),  # 立即整改: due the day it was found
        "吴刚": (["G"], []),  # due today is due, not overdue; H is far
    }
    qian = w.owners[0]
    assert [(h["deadline"], h["days_left"], h["left_text"]) for h in (*qian["due"], *qian["overdue"])] == [
        (dt.date(2023, 11, 24), 1, "剩1天"), (dt.date(2023, 11, 26), 3, "剩3天"), (dt.date(2023, 11, 20), -3, "逾期3天")]
    assert qian["due"][0]["school_name"] == "丰润区第一实验小学" and qian["due"][0]["location"] == "教学楼"
    assert (qian["due_count"], qian["due_major"], qian["overdue_count"], qian["overdue_major"]) == (2, 1, 1, 0)
    assert w.leaders == [
        {"zone": "一片", "zone_leader": "赵局长", "owners": "钱明、孙丽", "due_count": 2, "due_major": 1,
         "overdue_count": 2, "overdue_major": 0},
        {"zone": "二片", "zone_leader": "周局长", "owners": "吴刚", "due_count": 1, "due_major": 1,
         "overdue_count": 0, "overdue_major": 0},
    ]


def test_the_day_is_counted_in_asia_shanghai(district):
    _, w = warnings_at(district, LATE_ROUND)  # 23:30 UTC is already Friday in Shanghai
    assert w.today == dt.date(2023, 11, 24)
    assert by_owner(w) == {"钱明": (["B", "A", "D"], ["E"]), "孙丽": ([], ["F"]), "吴刚": ([], ["G"])}


@pytest.mark.parametrize("moment,days", [(ROUND, 3), (LATE_ROUND, 3), (ROUND, 0), (ROUND, 10), (LATE_ROUND, 1)])
def test_every_open_hazard_due_within_n_days_is_listed_once_under_its_owner(district, moment, days):
    """Against the ledger: the figures' hazards, their open flag and deadline, the roster's owner."""
    wf, w = warnings_at(district, moment, days)
    settings = load_settings(district)
    today = moment.astimezone(settings.tz).date()
    h = wf.hazards.assign(deadline_day=effective_deadline(wf.hazards).dt.date)
    roster = {s.id: s for s in current_roster(Paths.at(district, settings), settings,
                                              make_engine(Paths.at(district, settings).database_url),
                                              register=False).schools}
    expected_due, expected_overdue = {}, {}
    for row in h.itertuples():
        if row.done or row.deadline_day is None or row.deadline_day != row.deadline_day:
            continue
        left = (row.deadline_day - today).days
        owner = roster[row.school_id].section_owner
        if 0 <= left <= days:
            expected_due[row.hazard_id] = owner
        elif left < 0:
            expected_overdue[row.hazard_id] = owner
    listed = [h["hazard_id"] for h in w.hazards]
    assert len(listed) == len(set(listed))  # once
    assert {h["hazard_id"]: o["section_owner"] for o in w.owners for h in o["due"]} == expected_due
    assert {h["hazard_id"]: o["section_owner"] for o in w.owners for h in o["overdue"]} == expected_overdue
    for o in w.owners:
        for part, kind in ((o["due"], DUE), (o["overdue"], OVERDUE)):
            assert all(h["warning"] == kind for h in part)
            majors = [h["major"] for h in part]
            assert majors == sorted(majors, reverse=True)  # 重大 first
    assert w.counts["due_count"] == len(expected_due) and w.counts["overdue_count"] == len(expected_overdue)


def test_the_reminder_round_writes_the_warnings_beside_the_reminders(district):
    settings = load_settings(district)
    result = build_reminders(Paths.at(district, settings), settings, WEEK, ROUND)
    assert by_owner(result.warnings) == {"钱明": (["B", "A"], ["E"]), "孙丽": ([], ["F"]), "吴刚": (["G"], [])}
    names = sorted(p.name for p in result.folder.iterdir())
    assert names == sorted(["催报提醒_2023-W47.xlsx", "reminders.md", "reminders.json", "整改到期预警_2023-W47.xlsx",
                            "warnings.md", "warnings.json"])
    data = json.loads((result.folder / "warnings.json").read_text(encoding="utf-8"))
    assert data["days"] == 3 and data["today"] == "2023-11-23"
    assert data["counts"] == {"days": 3, "due_count": 3, "due_major": 2, "overdue_count": 2, "overdue_major": 0,
                              "owners": 3}
    assert [h["description"][0] for o in data["owners"] for h in o["due"] + o["overdue"]] == ["B", "A", "E", "F", "G"]
    book = openpyxl.load_workbook(result.folder / "整改到期预警_2023-W47.xlsx")
    assert book.properties.category == "deadline-warnings"
    ws = book["到期预警"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4) if r[0].value]
    assert [(r[1], r[2], r[6][0], r[10]) for r in rows] == [
        ("钱明", "即将到期", "B", "剩1天"), ("钱明", "即将到期", "A", "剩3天"), ("钱明", "已逾期", "E", "逾期3天"),
        ("孙丽", "已逾期", "F", "逾期2天"), ("吴刚", "即将到期", "G", "今天到期")]
    text = (result.folder / "warnings.md").read_text(encoding="utf-8")
    assert "即将到期 3 项（其中重大 2 项），已逾期 2 项" in text and "## 安法科 钱明" in text


def test_the_window_is_configurable(district):
    settings = load_settings(district)
    settings = settings.model_copy(update={"warnings": settings.warnings.model_copy(update={"days": 0})})
    result = build_reminders(Paths.at(district, settings), settings, WEEK, ROUND + dt.timedelta(minutes=1))
    assert by_owner(result.warnings) == {"钱明": ([], ["E"]), "孙丽": ([], ["F"]), "吴刚": (["G"], [])}


def test_the_web_page_shows_the_warnings_on_this_week_and_filters_the_ledger(district):
    from fastapi.testclient import TestClient

    from inspect_pipeline.web.app import create_app

    client = TestClient(create_app(district, now=ROUND.isoformat()))  # bound to 127.0.0.1: no users needed
    week = client.get("/").text
    assert 'id="deadline-warnings"' in week
    assert "3 天内到期" in week and "<strong>3</strong> 项</a>（重大 2）" in week and "<strong>2</strong> 项</a>（重大 0）" in week
    due = client.get("/hazards?due=即将到期").text
    assert "到期预警（3天内）" in due and "共 3 条" in due
    assert all(f"{x} " in due or x in due for x in ("B 锅炉压力表失灵", "A 灭火器过期", "G 实验室危化品柜未上锁"))
    assert "D 围墙裂缝" not in due and "C 插座松动" not in due
    overdue = client.get("/hazards?due=已逾期").text
    assert "共 2 条" in overdue and "E 减速带损坏" in overdue and "F 滑梯螺丝松动" in overdue


# ---------------------------------------------------------------- sent with the round: mail and group robots

MOBILE = {"钱明": "13800000001", "孙丽": "13800000002", "吴刚": "13900000003"}


@pytest.fixture
def with_contacts(district, tmp_path):
    """The district with 责任人邮箱 and 责任人手机 in its roster (钱明's address on his one row, 吴刚 without)."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(district, root)
    book = openpyxl.load_workbook(root / "roster.xlsx")
    ws = book.active
    ws.cell(1, 9, "责任人邮箱")
    ws.cell(1, 10, "责任人手机")
    for r in range(2, ws.max_row + 1):
        owner = ws.cell(r, 8).value
        ws.cell(r, 9, {"钱明": "qianming@jyj.example.gov.cn", "孙丽": "sunli@jyj.example.gov.cn"}.get(owner))
        ws.cell(r, 10, MOBILE[owner])
    book.save(root / "roster.xlsx")
    return root


def test_each_owner_is_mailed_their_warnings_with_the_round(with_contacts):
    settings = load_settings(with_contacts)
    settings = settings.model_copy(update={"mail": settings.mail.model_copy(update={"host": "smtp.example.cn"})})
    result = build_reminders(Paths.at(with_contacts, settings), settings, WEEK, ROUND)
    warned = [m for m in result.mails if m.kind == "warning"]
    assert [(m.to, m.key) for m in warned] == [
        ("qianming@jyj.example.gov.cn", "warning:2023-W47:20231123-1500:安法科/钱明"),
        ("sunli@jyj.example.gov.cn", "warning:2023-W47:20231123-1500:安法科/孙丽"),
    ]  # 吴刚 has no address in the roster
    qian = warned[0]
    assert qian.subject == "【整改到期预警】2023-W47 您负责学校的隐患即将到期 2 项（重大 1），已逾期 1 项"
    body = qian.body
    assert body.index("B 锅炉压力表失灵") < body.index("A 灭火器过期") < body.index("E 减速带损坏")
    assert "【重大】丰润区第一实验小学 教学楼：B 锅炉压力表失灵（时限 2023-11-24，剩1天）" in body
    assert "E 减速带损坏（时限 2023-11-20，逾期3天）" in body and "D 围墙裂缝" not in body
    assert "整改时限在 2023-11-23 至 2023-11-26（3 天内，含当天）" in body
    assert not any(m in body for m in MOBILE.values())


def test_the_zone_and_school_groups_get_their_warnings_with_the_owners_mentioned(with_contacts, monkeypatch):
    from inspect_pipeline.deliver.delivery import send_robot_reminders
    from robot_server import start

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    robot, server = start()
    try:
        config = with_contacts / "config.toml"
        config.write_text(config.read_text(encoding="utf-8") + f"""
[robots.yipian]
kind = "wecom"
purpose = "zone"
zone = "一片"
base_url = "{robot.url}/yipian"

[robots.yinzhong]
kind = "dingtalk"
purpose = "school"
school = "3113000005"
keyword = "安全"
base_url = "{robot.url}/yinzhong"
""", encoding="utf-8")
        (with_contacts / "secrets.toml").write_text(
            '[robots.yipian]\nkey = "k1"\n[robots.yinzhong]\nkey = "k2"\n', encoding="utf-8")
        settings = load_settings(with_contacts)
        paths = Paths.at(with_contacts, settings)
        result = build_reminders(paths, settings, WEEK, ROUND)
        sent = send_robot_reminders(paths, settings, result, ROUND)
        assert not sent.failed
        bodies = {}
        for r in robot.requests:
            bodies.setdefault(r.path, []).append(r.body)
        *_, zone_list, zone_at = bodies["/yipian"]  # after the round's own reminder list and its mention
        text = zone_list["markdown"]["content"]
        assert text.startswith("### 整改到期预警 2023-W47 一片")
        assert text.index("**安法科 钱明**") < text.index("B 锅炉压力表失灵") < text.index("E 减速带损坏")
        assert text.index("**安法科 孙丽**") < text.index("F 滑梯螺丝松动") and "G 实验室" not in text
        assert "- 【重大】丰润区第一实验小学 教学楼：B 锅炉压力表失灵（时限 2023-11-24，剩1天）" in text
        assert zone_at["text"]["mentioned_mobile_list"] == [MOBILE["钱明"], MOBILE["孙丽"]]
        (school_list,) = [b for b in bodies["/yinzhong"] if "整改到期预警" in b["markdown"]["title"]]
        assert school_list["markdown"]["title"] == "【安全】整改到期预警 2023-W47 丰润区银城铺镇中学"
        assert "G 实验室危化品柜未上锁" in school_list["markdown"]["text"] and "钱明" not in school_list["markdown"]["text"]
        before = len(robot.requests)
        assert not send_robot_reminders(paths, settings, result, ROUND).sent  # the same round: nothing twice
        assert len(robot.requests) == before
    finally:
        server.shutdown()
        server.server_close()
