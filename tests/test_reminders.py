"""Reminders (催报提醒) on a small hand-built district; expected lists written by hand.

Roster (row: school, section/owner, 责任人邮箱):
  2 一实小 2113000001  安法科 钱明 qianming@…   accepted Thu 10:00                      → not listed
  3 二实小 2113000002  安法科 钱明 qianming@…   nothing                                 → 未报
  4 三幼   1113000003  安法科 钱明 (blank)      rejected Thu 10:00, five bad 隐患等级    → 退回未重报, 3 errors + 等5处
  5 四幼   1113000004  安法科 孙丽 (none)       rejected 10:00 (较大), again 11:00 (中等) → 退回未重报, the latest reason
  6 银中   3113000005  教育科 吴刚 wugang@…     rejected 10:00, resubmitted accepted 11:00 → not listed
  7 老中   3113000006  教育科 吴刚              停用 2023-08-31                         → not due, not listed
  8 新小   2113000007  教育科 吴刚              启用 2023-12-01                         → not due, not listed
  9 七中   3113000008  教育科 郑华 zhenghua@…   accepted                                → not listed
 10 左小   (no code)   后勤办 王强 two addresses nothing                                 → 未报
Week 2023-W47, cutoff Fri 2023-11-24 12:00; the reminder round runs Thu 2023-11-23 15:00.
"""

from __future__ import annotations

import datetime as dt
import json
import os

import openpyxl
import pytest
from typer.testing import CliRunner

from inspect_pipeline.deliver import reminders
from inspect_pipeline.cli import app
from inspect_pipeline.record.db import make_engine
from inspect_pipeline.report.figures import compute_week
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.deliver.reminders import build_reminders, reason
from inspect_pipeline.schools.identity import current_roster
from inspect_pipeline.core.settings import load_settings
from support import drop, hazard, intake, make_root, school_book

runner = CliRunner()
WEEK = "2023-W47"
QIAN, WANG = "qianming@jyj.example.cn", ("wangqiang@jyj.example.cn", "wq@mail.example.com")
HEADER = ("学校名称", "学校标识码", "简称", "学段", "片区", "包片领导", "包校科室", "包校责任人", "责任人邮箱",
          "启用日期", "停用日期")
ROSTER = [
    ("丰润区第一实验小学", "2113000001", "一实小", "小学", "一片", "赵局长", "安法科", "钱明", QIAN, None, None),
    ("丰润区第二实验小学", "2113000002", "二实小", "小学", "一片", "赵局长", "安法科", "钱明", QIAN, None, None),
    ("丰润区第三幼儿园", "1113000003", "三幼", "幼儿园", "一片", "赵局长", "安法科", "钱明", None, None, None),
    ("丰润区第四幼儿园", "1113000004", "四幼", "幼儿园", "一片", "赵局长", "安法科", "孙丽", None, None, None),
    ("丰润区银城铺镇中学", "3113000005", "银中", "初中", "二片", "周局长", "教育科", "吴刚", "wugang@jyj.example.cn",
     None, None),
    ("丰润区老庄子中学", "3113000006", "老中", "初中", "二片", "周局长", "教育科", "吴刚", None, None,
     dt.datetime(2023, 8, 31)),
    ("丰润区新城小学", "2113000007", "新小", "小学", "二片", "周局长", "教育科", "吴刚", None,
     dt.datetime(2023, 12, 1), None),
    ("丰润区第七中学", "3113000008", "七中", "初中", "二片", "周局长", "教育科", "郑华", "zhenghua@jyj.example.cn",
     None, None),
    ("丰润区左家坞镇中心小学", None, "左小", "小学", "二片", "周局长", "后勤办", "王强", "；".join(WANG), None, None),
]
ROUND = dt.datetime.fromisoformat("2023-11-23T15:00:00+08:00")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + "+08:00")


def write_roster(root, rows) -> None:
    book = openpyxl.Workbook()
    for row in [HEADER, *rows]:
        book.active.append(row)
    book.save(root / "roster.xlsx")


def build(tmp_path):
    root = make_root(tmp_path)
    write_roster(root, ROSTER)
    drop(root, "一实小/w47.xlsx", school_book(rows=[hazard()]))
    drop(root, "三幼/w47.xlsx", school_book(unit="丰润区第三幼儿园", rows=[
        hazard(desc=f"滑梯螺丝松动{i}", level="较大") for i in range(5)]))
    drop(root, "四幼/w47.xlsx", school_book(unit="丰润区第四幼儿园", rows=[hazard(level="较大")]))
    drop(root, "银中/w47.xlsx", school_book(unit="丰润区银城铺镇中学", rows=[hazard(level="较大")]))
    drop(root, "七中/w47.xlsx", school_book(unit="丰润区第七中学", rows=[hazard()]))
    intake(root, at("2023-11-23T10:00:00"))
    drop(root, "四幼/w47改.xlsx", school_book(unit="丰润区第四幼儿园", rows=[hazard(level="中等")]))
    drop(root, "银中/w47改.xlsx", school_book(unit="丰润区银城铺镇中学", rows=[hazard()]))
    intake(root, at("2023-11-23T11:00:00"))
    return root


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return build(tmp_path_factory.mktemp("reminders"))


def settings_of(root, **mail):
    settings = load_settings(root)
    return settings.model_copy(update={"mail": settings.mail.model_copy(update=mail)}) if mail else settings


def remind(root, now=ROUND, week=WEEK, **mail):
    settings = settings_of(root, **mail)
    return build_reminders(Paths.at(root, settings), settings, week, now)


def listed(result) -> dict[str, list[tuple[str, str]]]:
    return {o["section_owner"]: [(u["school_name"], u["status"]) for u in o["units"]] for o in result.owners}


# ---------------------------------------------------------------- who is listed


def test_each_owner_gets_exactly_the_due_units_not_received(district):
    result = remind(district)
    assert listed(result) == {
        "钱明": [("丰润区第二实验小学", "未报"), ("丰润区第三幼儿园", "退回未重报")],
        "孙丽": [("丰润区第四幼儿园", "退回未重报")],
        "吴刚": [],  # 银中 resubmitted and was accepted; 老中 closed, 新小 not yet open: not due
        "郑华": [],
        "王强": [("丰润区左家坞镇中心小学", "未报")],
    }
    counts = {o["section_owner"]: (o["due"], o["unreported"], o["rejected"], o["outstanding"]) for o in result.owners}
    assert counts == {"钱明": (3, 1, 1, 2), "孙丽": (1, 0, 1, 1), "吴刚": (1, 0, 0, 0), "郑华": (1, 0, 0, 0),
                      "王强": (1, 1, 0, 1)}
    assert [(o["section"], o["zone"], o["zone_leader"]) for o in result.owners][:2] == [
        ("安法科", "一片", "赵局长"), ("安法科", "一片", "赵局长")]


def test_the_list_is_what_the_week_figures_count_as_missing(district):
    settings = load_settings(district)
    engine = make_engine(Paths.at(district, settings).database_url)
    roster = current_roster(Paths.at(district, settings), settings, engine, register=False)
    with engine.connect() as conn:
        wf = compute_week(conn, roster, settings, WEEK)
    assert {u["school_name"] for u in remind(district).units} == {m["school_name"] for m in wf.missing_units}
    assert wf.totals["week"]["missing"] == 4


def test_a_rejected_unit_shows_the_cells_and_messages_of_its_latest_rejected_file(district):
    units = {u["school_name"]: u for u in remind(district).units}
    three = units["丰润区第三幼儿园"]
    assert three["errors"] == 5
    # five cells with the same message: the first three named once, the rest counted
    assert three["reason"] == "H5、H6、H7（隐患等级）：“较大”不是允许的选项（这是风险等级，不是隐患等级）；等5处错误"
    assert (three["last_received_at"], three["last_file"]) == ("2023-11-23 10:00", "w47.xlsx")
    four = units["丰润区第四幼儿园"]  # rejected twice: the reason and attempt are those of 11:00
    assert four["reason"] == "H5（隐患等级）：“中等”不是允许的选项"
    assert (four["last_received_at"], four["last_file"]) == ("2023-11-23 11:00", "w47改.xlsx")
    assert units["丰润区第二实验小学"]["reason"] == units["丰润区第二实验小学"]["last_file"] == ""


def test_reason_is_shortened():
    long = {"severity": "error", "code": "bad-text", "cell": "G9", "column": "隐患描述", "message": "很长" * 40}
    text = reason([long])
    assert text.startswith("G9（隐患描述）：很长") and text.endswith("…") and len(text) < 60
    # a message that already quotes its header is not given it twice; a file-level error has no cell
    assert reason([{"cell": "A4", "column": "整改状态", "message": "缺少必需的列“整改状态”"},
                   {"cell": None, "column": None, "message": "未填写填报单位"}]) == "A4：缺少必需的列“整改状态”；未填写填报单位"
    assert "回执" in reason([])
    # different messages: the first three, then the count
    four = [{"cell": f"H{r}", "column": "隐患等级", "message": f"错误{r}"} for r in range(5, 9)]
    assert reason(four) == "H5（隐患等级）：错误5；H6（隐患等级）：错误6；H7（隐患等级）：错误7；等4处错误"


def test_a_no_report_week_and_a_week_all_reported_list_nobody(district, tmp_path):
    settings = load_settings(district)
    holiday = settings.model_copy(update={"no_report_weeks": [WEEK]})
    result = build_reminders(Paths.at(district, holiday), holiday, WEEK, at("2023-11-23T15:01:00"))
    assert result.units == [] and result.owners == [] and result.mails == []
    assert "不需报送" in (result.folder / "reminders.md").read_text(encoding="utf-8")

    root = make_root(tmp_path)  # the three schools of tests/support.py, all reported
    drop(root, "a/1.xlsx", school_book(rows=[hazard()]))
    drop(root, "b/2.xlsx", school_book(unit="丰润区第三幼儿园", zero=True))
    drop(root, "c/3.xlsx", school_book(unit="丰润区银城铺镇中学", zero=True))
    intake(root)
    result = remind(root, host="smtp.example.cn")
    assert result.units == [] and result.mails == [] and len(result.owners) == 3
    assert "全部已报" in (result.folder / "reminders.md").read_text(encoding="utf-8")
    sheet = openpyxl.load_workbook(result.folder / f"催报提醒_{WEEK}.xlsx")["催报名单"]
    assert sheet["A4"].value == "全部已报"


# ---------------------------------------------------------------- the round's files


def _sheet_rows(ws, top: int) -> list[list]:
    rows = [list(r) for r in ws.iter_rows(min_row=top, values_only=True)]
    return [r for r in rows if any(v is not None for v in r)]


def test_workbook_markdown_and_json_hold_the_same_rows(district):
    result = remind(district, now=at("2023-11-23T15:02:00"))
    folder = result.folder
    assert folder == district.resolve() / "reports" / WEEK / "reminders" / "20231123-1502"
    columns = ["section", "section_owner", "school_name", "school_code", "zone", "status", "reason",
               "last_received_at", "last_file"]
    expected = [[u[k] or None for k in columns] for u in result.units]

    book = openpyxl.load_workbook(folder / f"催报提醒_{WEEK}.xlsx")
    assert book.sheetnames == ["催报名单", "按责任人汇总", "说明"]
    ws = book["催报名单"]
    assert "催报提醒" in ws["A1"].value and ws.freeze_panes == "A4"
    assert [c.value for c in ws[3]] == ["包校科室", "包校责任人", "学校", "学校标识码", "片区", "本周情况", "退回原因",
                                        "最近报送时间", "最近报送文件"]
    assert _sheet_rows(ws, 4) == expected
    assert all(c.data_type == "s" for row in ws.iter_rows(min_row=4) for c in row if c.value is not None)
    summary = _sheet_rows(book["按责任人汇总"], 4)
    assert [r[1] for r in summary] == ["钱明", "孙丽", "吴刚", "郑华", "王强", None]
    assert summary[0][4:] == [QIAN, 3, 1, 1, 2] and summary[-1][0] == "合计" and summary[-1][5:] == [7, 2, 2, 4]

    md = (folder / "reminders.md").read_text(encoding="utf-8")
    owners, md_rows = [], []
    for line in md.splitlines():
        if line.startswith("## "):
            owners.append(line[3:])
        elif line.startswith("| ") and not line.startswith("| 学校 |"):
            md_rows.append([c.strip() for c in line.strip("|").split(" | ")])
    assert owners == ["安法科 钱明", "安法科 孙丽", "后勤办 王强"]  # owners with nothing missing have no section
    assert md_rows == [[u[k] for k in reminders.MD_COLUMNS] for u in result.units]

    saved = json.loads((folder / "reminders.json").read_text(encoding="utf-8"))
    assert saved["week"] == WEEK and saved["cutoff"] == "2023-11-24T12:00:00+08:00"
    assert [u for o in saved["owners"] for u in o["units"]] == result.units


def test_the_round_appears_complete_or_not_at_all(district, monkeypatch):
    parent = district / "reports" / WEEK / "reminders"
    first = remind(district, now=at("2023-11-23T15:03:00"))
    again = remind(district, now=at("2023-11-23T15:03:30"))  # the same minute: the same round, replaced
    assert first.folder == again.folder and (again.folder / "reminders.md").is_file()

    def broken(*_args, **_kw):
        raise OSError("disk full")

    monkeypatch.setattr(reminders, "write_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        remind(district, now=at("2023-11-23T15:04:00"))
    assert not (parent / "20231123-1504").exists()
    assert [p.name for p in parent.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


# ---------------------------------------------------------------- mails


def test_mails_only_when_mail_is_set_and_only_to_owners_with_addresses(district):
    assert remind(district).mails == []  # mail not configured
    assert remind(district, host="smtp.example.cn", reminders=False).mails == []
    mails = remind(district, host="smtp.example.cn").mails
    assert [(m.to, m.key) for m in mails] == [
        (QIAN, "reminder:2023-W47:20231123-1500:安法科/钱明"),  # its address is on two of its three rows
        (WANG[0], "reminder:2023-W47:20231123-1500:后勤办/王强"),  # a cell with two addresses: one mail each
        (WANG[1], "reminder:2023-W47:20231123-1500:后勤办/王强"),
    ]  # 孙丽 has no address; 吴刚 and 郑华 have nothing missing
    qian = mails[0]
    assert (qian.kind, qian.week, qian.attachments) == ("reminder", WEEK, ())
    assert qian.subject == "【催报提醒】2023-W47 您负责的2所学校尚未报送（其中1所被退回待重报）"
    assert "丰润区第二实验小学" in qian.body and "丰润区第三幼儿园" in qian.body
    assert "H5、H6、H7（隐患等级）" in qian.body and "等5处错误" in qian.body
    assert "2023-11-24 12:00（周五）" in qian.body and "丰润区第四幼儿园" not in qian.body
    assert mails[1].subject == "【催报提醒】2023-W47 您负责的1所学校尚未报送"
    late = remind(district, now=at("2023-11-24T15:00:00"), host="smtp.example.cn").mails[0]
    assert "已于 2023-11-24 12:00（周五） 截止" in late.body and "迟报" in late.body


# ---------------------------------------------------------------- the command


def test_remind_command(district, monkeypatch, smtp):
    result = runner.invoke(app, ["remind", "--data-root", str(district), "--now", "2023-11-23T15:05:00+08:00"])
    assert result.exit_code == 0, result.output
    folder = district.resolve() / "reports" / WEEK / "reminders" / "20231123-1505"  # default: this week
    assert str(folder) in result.output and (folder / f"催报提醒_{WEEK}.xlsx").is_file()
    assert "钱明" in result.output and "王强" in result.output and "吴刚" not in result.output
    assert "邮件" not in result.output  # mail not configured
    for key, value in {"HOST": "127.0.0.1", "PORT": str(smtp.port), "SECURITY": "none",
                       "SENDER": "anquan@jyj.example.gov.cn"}.items():
        monkeypatch.setenv(f"INSPECT_PIPELINE_MAIL__{key}", value)
    outputs = []
    for _ in range(2):  # the same round again (same minute): nothing is sent twice
        result = runner.invoke(app, ["remind", "--data-root", str(district), "--now", "2023-11-23T15:06:00+08:00"])
        assert result.exit_code == 0, result.output
        assert "孙丽 在名单中没有责任人邮箱" in result.output
        outputs.append(result.output)
    assert "催报邮件已发送 3 封" in outputs[0] and "催报邮件已发送" not in outputs[1]
    got = sorted(r.rcpt_tos[0] for r in smtp.inbox.received)
    assert got == sorted([QIAN, *WANG])
    assert all(r.message["Subject"].startswith("【催报提醒】2023-W47") for r in smtp.inbox.received)
    # after the cutoff the current week is the next one, in which nobody has reported yet
    result = runner.invoke(app, ["remind", "--data-root", str(district), "--now", "2023-11-24T13:00:00+08:00"])
    assert result.exit_code == 0 and (district / "reports" / "2023-W48" / "reminders" / "20231124-1300").is_dir()


def test_remind_with_a_broken_roster_is_one_line(tmp_path):
    root = make_root(tmp_path)
    book = openpyxl.load_workbook(root / "roster.xlsx")
    book.active.append(("丰润区第一实验小学", "2113000009", None, "小学", "一片", "赵局长", "安法科", "钱明"))
    book.save(root / "roster.xlsx")
    result = runner.invoke(app, ["remind", "--data-root", str(root), "--now", "2023-11-23T15:00:00+08:00"])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "第 5 行" in lines[0] and "Traceback" not in result.output, result.output
    assert not (root / "reports" / WEEK).exists()
    result = runner.invoke(app, ["remind", "--data-root", str(root), "--week", "W47"])
    assert result.exit_code == 2 and "--week" in result.output
    assert os.listdir(root / "reports") == []
