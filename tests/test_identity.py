"""Issue #9: one identity for every school and every week — roster edits, late files and typed weeks never change
history (roster.md §Roster changes, operations.md §The week)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.record.db import make_engine, schools, submissions
from inspect_pipeline.report.listings import first_received
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.core.weeks import Week
from support import ROSTER, drop, hazard, intake, make_root, school_book

runner = CliRunner()
AT = dt.datetime.fromisoformat


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def write_roster(root: Path, rows: list[tuple]) -> None:
    book = openpyxl.Workbook()
    for row in [ROSTER[0], *rows]:
        book.active.append(row)
    book.save(root / "roster.xlsx")


def report(root: Path, week: str, now: str, *extra: str) -> dict:
    cli("report", "--data-root", str(root), "--week", week, "--now", now, "--no-templates", *extra)
    folder = root / "reports" / week
    latest = max((p for p in folder.iterdir() if p.name[1:].isdigit()), key=lambda p: int(p.name[1:]))
    return json.loads((latest / "manifest.json").read_text(encoding="utf-8"))


def set_top_level(root: Path, line: str) -> None:
    """Set a top-level key of config.toml (replacing its line where the file has one)."""
    config = root / "config.toml"
    key = line.split("=")[0].strip()
    kept = [x for x in config.read_text(encoding="utf-8").splitlines() if not x.startswith(f"{key} ")]
    config.write_text("\n".join([line, *kept]) + "\n", encoding="utf-8")


def school_ids(root: Path) -> dict[str, int]:
    settings = load_settings(root)
    with make_engine(Paths.at(root, settings).database_url).connect() as conn:
        return {name: sid for sid, name in conn.execute(sa.select(schools.c.id, schools.c.name))}


NO_CODE = [ROSTER[1], ("丰润区第三幼儿园", None, "三幼", "幼儿园", "一片", "赵局长", "安法科", "孙丽"), ROSTER[3]]
HAZARD = dict(desc="滑梯扶手松动", location="操场")


def test_point_1_adding_a_code_keeps_the_schools_history(tmp_path):
    """三幼 reports in W47 without a code; the clerk fills in its code. W47 regenerated still counts 三幼's file
    and hazard; in W48 the same hazard is carried, not new; rebuild of W48 matches the record."""
    root = make_root(tmp_path)
    write_roster(root, NO_CODE)
    for unit in ("丰润区第一实验小学", "丰润区银城铺镇中学"):
        drop(root, f"{unit}/w47.xlsx", school_book(unit=unit, zero=True))
    drop(root, "三幼/w47.xlsx", school_book(unit="三幼", rows=[hazard(**HAZARD)]))
    intake(root, AT("2023-11-23T10:00:00+08:00"))
    first = report(root, "2023-W47", "2023-11-24T13:00:00+08:00")
    assert first["totals"]["week"]["received"] == 3 and first["totals"]["week"]["found"] == 1

    write_roster(root, [ROSTER[1], ROSTER[2], ROSTER[3]])  # 三幼's 学校标识码 1113000003 filled in
    drop(root, "三幼/w48.xlsx", school_book(unit="丰润区第三幼儿园", code="1113000003", week="2023年第48周",
                                          rows=[hazard(**HAZARD, status="已整改", 完成日期=dt.datetime(2023, 11, 28))]))
    drop(root, "一实小/w47-late.xlsx", school_book(rows=[hazard(desc="插座老化")]))  # makes W47 stale
    intake(root, AT("2023-11-30T10:00:00+08:00"))
    assert list(school_ids(root).values()).count(school_ids(root)["丰润区第三幼儿园"]) == 1
    assert len(school_ids(root)) == 3  # the code did not make a fourth school

    again = report(root, "2023-W47", "2023-11-30T11:00:00+08:00")
    assert again["revision"] == 2
    assert again["totals"]["week"]["received"] == 3 and again["missing_units"] == []
    assert again["totals"]["week"]["found"] == 2  # 三幼's hazard and the late file's
    w48 = report(root, "2023-W48", "2023-12-01T13:00:00+08:00")
    assert w48["totals"]["week"]["found"] == 0  # 三幼's hazard was found in W47: carried
    assert w48["totals"]["cumulative"]["rectified"] == 1
    (sanyou,) = [f for f in w48["files"] if f["file"].endswith("w48.xlsx")]
    assert sanyou["hazards"]["new"] == 0
    cli("rebuild", "--data-root", str(root), "--week", "2023-W48")


def test_point_2_weeks_before_the_campaign_no_report_weeks_and_empty_weeks(tmp_path):
    """`report --week 2023-W30` (before any file) is refused with one line; a week in no_report_weeks gets no
    report; a week in which no file came at all is written, every unit 未报, with a warning line."""
    root = make_root(tmp_path)
    set_top_level(root, 'no_report_weeks = ["2023-W49"]')
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    intake(root)
    early = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2023-W30", "--now",
                                "2023-11-24T13:00:00+08:00"])
    assert early.exit_code == 2 and "早于本次排查的第一周 2023-W47" in early.output
    assert len([line for line in early.output.splitlines() if line.strip()]) == 1
    assert not (root / "reports" / "2023-W30").exists()
    for command in ("remind", "template"):
        refused = runner.invoke(app, [command, "--data-root", str(root), "--week", "2023年第30周", "--now",
                                      "2023-11-24T13:00:00+08:00"])
        assert refused.exit_code == 2 and "早于本次排查的第一周" in refused.output, (command, refused.output)

    holiday = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2023-W49", "--now",
                                  "2023-12-08T13:00:00+08:00"])
    assert holiday.exit_code == 0 and "不报送周" in holiday.output
    assert not (root / "reports" / "2023-W49").exists()

    empty = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2023-W48", "--now",
                                "2023-12-01T13:00:00+08:00", "--no-templates"])
    assert empty.exit_code == 0 and "没有收到任何文件" in empty.output
    (folder,) = (root / "reports" / "2023-W48").iterdir()
    written = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert written["totals"]["week"]["due"] == 3 and written["totals"]["week"]["missing"] == 3


def test_point_5_remind_as_of_now_leaves_out_files_received_later(tmp_path):
    """`remind --now 2023-11-30T09:00` does not list a file received at 15:00 that day (nor count its school as
    退回未重报): files received after a run's moment do not exist for it."""
    root = make_root(tmp_path)
    drop(root, "三幼/w48.xlsx", school_book(unit="三幼", week="2023年第48周", rows=[hazard(level="较大")]))
    intake(root, AT("2023-11-30T15:00:00+08:00"))  # rejected: 较大 is not a level
    cli("remind", "--data-root", str(root), "--week", "2023-W48", "--now", "2023-11-30T09:00:00+08:00")
    sanyou = reminded(root, "20231130-0900")
    assert sanyou["status"] == "未报" and sanyou["last_file"] == "" and sanyou["reason"] == "", sanyou
    cli("remind", "--data-root", str(root), "--week", "2023-W48", "--now", "2023-11-30T16:00:00+08:00")
    sanyou = reminded(root, "20231130-1600")
    assert sanyou["status"] == "退回未重报" and sanyou["last_file"] == "w48.xlsx", sanyou


def reminded(root: Path, stamp: str) -> dict:
    """三幼's entry in the W48 reminder round of that stamp."""
    data = json.loads((root / "reports" / "2023-W48" / "reminders" / stamp / "reminders.json").read_text(
        encoding="utf-8"))
    return next(u for o in data["owners"] for u in o["units"] if u["school_name"] == "丰润区第三幼儿园")


def test_point_9_received_times_compare_as_moments_not_as_text(tmp_path):
    """A school's first file of the week is the earliest moment, even when the time zone setting changed between
    runs (`…T11:30:00+08:00` is 03:30 UTC, earlier than `…T10:00:00+00:00`, though it sorts after it as text)."""
    root = make_root(tmp_path)
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    intake(root, AT("2023-11-24T11:30:00+08:00"))
    set_top_level(root, 'timezone = "UTC"')
    drop(root, "b.xlsx", school_book(rows=[hazard(desc="插座老化")]))
    intake(root, AT("2023-11-24T10:00:00+00:00"))
    settings = load_settings(root)
    with make_engine(Paths.at(root, settings).database_url).connect() as conn:
        texts = sorted(conn.execute(sa.select(submissions.c.received_at)).scalars())
        assert texts == ["2023-11-24T10:00:00+00:00", "2023-11-24T11:30:00+08:00"]  # text order: the later first
        (shown,) = first_received(conn, "2023-W47").values()
    assert shown == "2023-11-24T11:30:00+08:00"


@pytest.mark.parametrize("text", ["2023-W9", "2023w09", "2023-W09", " 2023W9 ", "2023年第9周", "2023年9周"])
def test_a_week_is_a_value_whatever_way_it_is_written(text):
    assert Week.parse(text) == Week(2023, 9) and Week.parse(text).label == "2023-W09"


def test_weeks_order_in_time_across_new_year():
    assert Week(2023, 52) < Week(2024, 1) < Week(2024, 10)
    assert Week(2020, 53).shift(1) == Week(2021, 1) and Week(2024, 1).shift(-1) == Week(2023, 52)
    for bad in ("2023-W53", "2023-W00", "banana", "2023-W5x"):
        with pytest.raises(ValueError):
            Week.parse(bad)


def test_a_roster_edit_that_merges_two_known_schools_stops_the_run(tmp_path):
    root = make_root(tmp_path)
    write_roster(root, NO_CODE)
    drop(root, "a.xlsx", school_book(unit="三幼", zero=True))
    intake(root)
    # 一实小's row is deleted and its code typed into 银中's row: two known schools would become one
    write_roster(root, [NO_CODE[1], ("丰润区银城铺镇中学", "2113000001", "银中", "初中", "二片", "周局长", "教育科", "吴刚")])
    drop(root, "b.xlsx", school_book(unit="三幼", zero=True, week="2023年第47周"))
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", "2023-11-23T11:00:00+08:00"])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "第 3 行" in lines[0] and "合并" in lines[0] and "停用日期" in lines[0], result.output
    assert (root / "inbox" / "b.xlsx").exists()  # nothing was taken


def test_a_roster_edit_that_splits_a_known_school_stops_the_run(tmp_path):
    """三幼 was renamed (its old name kept as 简称, then dropped); a new row under the old name would take over
    the renamed school's identity too: one known school would become two."""
    root = make_root(tmp_path)
    drop(root, "a.xlsx", school_book(unit="三幼", zero=True))
    intake(root)
    renamed = ("丰润区实验幼儿园", "1113000003", "三幼、丰润区第三幼儿园", "幼儿园", "一片", "赵局长", "安法科", "孙丽")
    write_roster(root, [ROSTER[1], renamed, ROSTER[3]])
    intake(root, AT("2023-11-23T11:00:00+08:00"))
    assert sorted(school_ids(root)) == ["丰润区实验幼儿园", "丰润区第一实验小学", "丰润区银城铺镇中学"]
    write_roster(root, [ROSTER[1], renamed[:2] + ("三幼",) + renamed[3:], ROSTER[3],
                        ("丰润区第三幼儿园", None, None, "幼儿园", "一片", "赵局长", "安法科", "孙丽")])
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", "2023-11-23T12:00:00+08:00"])
    assert result.exit_code == 3, result.output
    assert "第 3 行" in result.output and "第 5 行" in result.output and "拆成两所" in result.output


def test_a_late_file_that_moves_a_first_week_makes_that_week_and_the_later_ones_stale(tmp_path):
    """银中 lists hazard H in its W48 file; W48 is reported mid-week (found 1); its late W47 file listing H comes
    next: H was first recorded in W47, so W47 and W48 are both stale, and W48 regenerated finds 0."""
    from inspect_pipeline.report.status import stale_reports

    root = make_root(tmp_path)
    drop(root, "一实小/w47.xlsx", school_book(zero=True))
    intake(root, AT("2023-11-23T10:00:00+08:00"))
    report(root, "2023-W47", "2023-11-24T13:00:00+08:00")
    h = hazard(desc="围墙裂缝", location="北围墙")
    drop(root, "银中/w48.xlsx", school_book(unit="银中", week="2023年第48周", rows=[h]))
    intake(root, AT("2023-11-27T09:00:00+08:00"))
    assert report(root, "2023-W48", "2023-11-28T09:00:00+08:00")["totals"]["week"]["found"] == 1
    drop(root, "银中/w47.xlsx", school_book(unit="银中", rows=[h]))
    intake(root, AT("2023-11-28T10:00:00+08:00"))
    settings = load_settings(root)
    assert [s["week"] for s in stale_reports(Paths.at(root, settings), settings)] == ["2023-W47", "2023-W48"]
    w48 = report(root, "2023-W48", "2023-11-28T11:00:00+08:00")
    assert w48["revision"] == 2 and w48["totals"]["week"]["found"] == 0
    assert sum(f["hazards"]["new"] for f in w48["files"] if f["outcome"] == "accepted") == 0
    assert report(root, "2023-W47", "2023-11-28T11:00:00+08:00")["totals"]["week"]["found"] == 1


def test_one_clock_a_report_as_of_a_moment_leaves_out_files_received_after_it(tmp_path):
    """All intakes first, then the reports (back-filling): W47's report as of Friday 13:00 is the report made then,
    without the late W47 file taken on Monday — the same figures as when run in time; the revision is stale."""
    from inspect_pipeline.report.status import stale_reports

    def week_47(root: Path) -> None:
        for unit in ("一实小", "三幼"):
            drop(root, f"{unit}/w47.xlsx", school_book(unit=unit, rows=[hazard(desc=f"{unit}灭火器过期")]))
        intake(root, AT("2023-11-23T10:00:00+08:00"))

    def late(root: Path) -> None:
        drop(root, "银中/w47.xlsx", school_book(unit="银中", rows=[hazard(desc="围墙裂缝", level="重大")]))
        intake(root, AT("2023-11-27T10:00:00+08:00"))

    in_time = make_root(tmp_path / "in-time")
    week_47(in_time)
    expected = report(in_time, "2023-W47", "2023-11-24T13:00:00+08:00")
    backfill = make_root(tmp_path / "backfill")
    week_47(backfill)
    late(backfill)
    run = runner.invoke(app, ["report", "--data-root", str(backfill), "--week", "2023-W47", "--now",
                              "2023-11-24T13:00:00+08:00", "--no-templates"])
    assert run.exit_code == 0 and "此后收到的 1 个" in run.output, run.output
    (folder,) = (backfill / "reports" / "2023-W47").iterdir()
    then = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in ("totals", "by_zone", "by_stage", "missing_units"):
        assert then[key] == expected[key], key
    assert [f["file"] for f in then["files"]] == [f["file"] for f in expected["files"]]
    assert then["totals"]["week"]["received"] == 2 and then["totals"]["week"]["found"] == 2
    settings = load_settings(backfill)
    assert [s["week"] for s in stale_reports(Paths.at(backfill, settings), settings)] == ["2023-W47"]
    now = report(backfill, "2023-W47", "2023-11-27T11:00:00+08:00")  # as of now: the late file counts
    assert now["revision"] == 2 and now["totals"]["week"]["received"] == 3
