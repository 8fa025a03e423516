"""Figures of a small hand-built district over two weeks, every lifecycle case; expected values written by hand.

Roster (tests/support.py): 一实小 (小学, 一片), 三幼 (幼儿园, 一片), 银中 (初中, 二片).

W46 (cutoff Fri 2023-11-17 12:00), intake Thu 11-16 10:00:
  一实小: A 一般 未整改 (deadline 11-30); B 重大 整改中 (deadline 11-15: overdue); C 一般 已整改 (done 11-14);
          G 一般 未整改 (deadline 12-10). 本周排查次数 3, 检查人次 12.
  三幼:   zero report. 本周排查次数 1, 检查人次 2.
  银中:   nothing (missing).
W47 (cutoff Fri 2023-11-24 12:00):
  Thu 11-23 10:00  一实小: A 已整改 (done 11-22); B 整改中; C 已销号 (verifier); D new 重大 未整改 (deadline 12-01);
                         G not listed (hazard-dropped: stays 未整改). 本周排查次数 2, 检查人次 8.
                   三幼 first file: E new 一般 整改中 (deadline 11-28).
  Thu 11-23 11:00  三幼 corrected file: E 已整改 (立即整改, done 11-21). Supersedes the first.
  Fri 11-24 15:00  银中 (late, states 2023年第47周): F new 一般 未整改 (deadline 11-20: overdue).
"""

from __future__ import annotations

import datetime as dt

import pytest
from inspect_pipeline.record.db import make_engine
from inspect_pipeline.report.figures import FIGURE_KEYS, compute_week
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.schools.identity import current_roster
from inspect_pipeline.core.settings import load_settings
from support import drop, hazard, intake, make_root, manifest, school_book

D = dt.datetime
TZ8 = "+08:00"


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text + TZ8)


def build(tmp_path):
    root = make_root(tmp_path)
    f13 = D(2023, 11, 13)
    a = dict(desc="教学楼灭火器过期", found=f13, location="教学楼", 整改时限=D(2023, 11, 30))
    b = dict(desc="锅炉房压力表失灵", found=f13, location="锅炉房", level="重大", 整改时限=D(2023, 11, 15))
    c = dict(desc="门卫室插座松动", found=f13, location="门卫室")
    g = dict(desc="围墙裂缝", found=f13, location="围墙", 整改时限=D(2023, 12, 10))
    week46 = [hazard(**a, status="未整改"), hazard(**b, status="整改中"),
              hazard(**c, status="已整改", 完成日期=D(2023, 11, 14)), hazard(**g, status="未整改")]
    drop(root, "一实小/w46.xlsx", school_book(rows=week46, week="2023年第46周", checks=3, person_times=12))
    drop(root, "三幼/w46.xlsx", school_book(unit="三幼", rows=[], zero=True, week="2023年第46周", checks=1,
                                           person_times=2))
    intake(root, at("2023-11-16T10:00:00"))

    d = dict(desc="实验室危化品柜未上锁", found=D(2023, 11, 21), location="实验室", level="重大", 整改时限=D(2023, 12, 1))
    week47 = [hazard(**a, status="已整改", 完成日期=D(2023, 11, 22)), hazard(**b, status="整改中"),
              hazard(**c, status="已销号", 完成日期=D(2023, 11, 14), 验收人="赵局长"), hazard(**d, status="未整改")]
    drop(root, "一实小/w47.xlsx", school_book(rows=week47, checks=2, person_times=8))
    e = dict(desc="滑梯螺丝松动", found=D(2023, 11, 21), location="操场")
    drop(root, "三幼/w47.xlsx", school_book(unit="三幼", rows=[hazard(**e, status="整改中", 整改时限=D(2023, 11, 28))]))
    intake(root, at("2023-11-23T10:00:00"))
    drop(root, "三幼/w47改.xlsx", school_book(unit="三幼", rows=[
        hazard(**e, status="已整改", 整改方式="立即整改", 整改时限=None, 完成日期=D(2023, 11, 21))]))
    intake(root, at("2023-11-23T11:00:00"))
    f = dict(desc="校门口减速带损坏", found=D(2023, 11, 20), location="校门", 整改时限=D(2023, 11, 20))
    drop(root, "银中/w47.xlsx", school_book(unit="银中", rows=[hazard(**f, status="未整改")]))
    intake(root, at("2023-11-24T15:00:00"))
    return root


def figures_of(root, week):
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    engine = make_engine(paths.database_url)
    roster = current_roster(paths, settings, engine, register=False)
    with engine.connect() as conn:
        return compute_week(conn, roster, settings, week)


def fig(**values) -> dict:
    """A FIGURES object: every key, zero unless given."""
    base = {k: 0 for k in FIGURE_KEYS}
    base.update(report_rate=None, rectification_rate=None, major_rectification_rate=None, funds_wan=0.0)
    base.update(values)
    return base


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    return build(tmp_path_factory.mktemp("golden"))


def test_the_intake_of_the_scenario(district):
    files = manifest(district, "2023-W47")["files"]
    assert [f["outcome"] for f in files] == ["accepted", "superseded", "accepted", "accepted"]
    assert [f["on_time"] for f in files] == [True, True, True, False]


def test_week_46(district):
    w = figures_of(district, "2023-W46")
    week = fig(due=3, received=2, on_time=2, missing=1, report_rate=2 / 3, schools_checked=2, checks=4,
               check_person_times=14, found=4, found_general=3, found_major=1, rectified=1, rectified_general=1,
               in_progress=1, not_rectified=2, overdue=1, rectification_rate=1 / 4, major_rectification_rate=0.0,
               closed_this_week=1)
    assert w.totals == {"week": week, "cumulative": week}  # the first week of the campaign
    assert [(m["school_name"], m["zone"]) for m in w.missing_units] == [("丰润区银城铺镇中学", "二片")]


def test_week_47_totals(district):
    w = figures_of(district, "2023-W47")
    assert w.totals["week"] == fig(
        due=3, received=3, on_time=2, late=1, report_rate=1.0, schools_checked=3, checks=2, check_person_times=8,
        found=3, found_general=2, found_major=1,  # D, E, F
        rectified=1, rectified_general=1,  # E
        not_rectified=2, overdue=1,  # D, F; F overdue
        rectification_rate=1 / 3, major_rectification_rate=0.0,
        closed_this_week=2,  # A (was 未整改) and E (new); C was already 已整改
    )
    assert w.totals["cumulative"] == fig(
        due=6, received=5, on_time=4, late=1, missing=1, report_rate=5 / 6, schools_checked=5, checks=6,
        check_person_times=22,
        found=7, found_general=5, found_major=2,  # A B C G, D E F
        rectified=3, rectified_general=3,  # A C E
        in_progress=1, not_rectified=3,  # B; D F G (G dropped, still open)
        overdue=2,  # B F
        rectification_rate=3 / 7, major_rectification_rate=0.0, closed_this_week=2,
    )
    assert w.missing_units == []


def test_week_47_by_zone_and_stage(district):
    w = figures_of(district, "2023-W47")
    zones = {z["zone"]: z for z in w.by_zone}
    assert zones["一片"]["zone_leader"] == "赵局长"
    assert zones["一片"]["week"] == fig(due=2, received=2, on_time=2, report_rate=1.0, schools_checked=2, checks=2,
                                       check_person_times=8, found=2, found_general=1, found_major=1, rectified=1,
                                       rectified_general=1, not_rectified=1, rectification_rate=0.5,
                                       major_rectification_rate=0.0, closed_this_week=2)
    assert zones["二片"]["cumulative"] == fig(due=2, received=1, late=1, missing=1, report_rate=0.5, schools_checked=1,
                                             found=1, found_general=1, not_rectified=1, overdue=1,
                                             rectification_rate=0.0)
    stages = {s["stage"]: s for s in w.by_stage}
    assert stages["幼儿园"]["cumulative"]["found"] == 1 and stages["小学"]["cumulative"]["found"] == 5
    assert stages["高中"]["week"] == fig()


def _sum(blocks: list[dict], key: str) -> float:
    return sum(b[key] for b in blocks)


def test_zone_and_stage_rows_sum_to_the_totals(district):
    for week in ("2023-W46", "2023-W47"):
        w = figures_of(district, week)
        for rows in (w.by_zone, w.by_stage):
            for block in ("week", "cumulative"):
                for key in FIGURE_KEYS:
                    if not key.endswith("rate"):
                        assert _sum([r[block] for r in rows], key) == pytest.approx(w.totals[block][key]), key


def test_a_week_in_which_no_one_is_due(tmp_path):
    root = build(tmp_path)
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("no_report_weeks = []",
                                                                 'no_report_weeks = ["2023-W46"]'), encoding="utf-8")
    w46, w47 = figures_of(root, "2023-W46"), figures_of(root, "2023-W47")
    assert w46.totals["week"]["due"] == 0 and w46.totals["week"]["report_rate"] is None and w46.missing_units == []
    assert w46.totals["week"]["found"] == 4  # hazards sent anyway are still counted
    assert w47.totals["cumulative"]["due"] == 3 and w47.totals["cumulative"]["received"] == 3


def test_a_reopened_hazard(tmp_path):
    """H 已整改 in W46, reported 整改中 again in W47: it counts as rectified in W46's figures and open in W47's."""
    root = make_root(tmp_path)
    h = dict(desc="消防通道堆放杂物", found=D(2023, 11, 13), location="一楼走廊")
    drop(root, "a/w46.xlsx", school_book(rows=[hazard(**h, status="已整改", 完成日期=D(2023, 11, 14))],
                                         week="2023年第46周"))
    intake(root, at("2023-11-16T10:00:00"))
    drop(root, "a/w47.xlsx", school_book(rows=[hazard(**h, status="整改中")]))
    intake(root, at("2023-11-23T10:00:00"))
    w46, w47 = figures_of(root, "2023-W46"), figures_of(root, "2023-W47")
    assert (w46.totals["week"]["found"], w46.totals["week"]["rectified"], w46.totals["week"]["closed_this_week"]) == (1, 1, 1)
    cumulative = w47.totals["cumulative"]
    assert (cumulative["found"], cumulative["rectified"], cumulative["in_progress"]) == (1, 0, 1)
    assert w47.totals["week"]["found"] == 0 and cumulative["closed_this_week"] == 0
    assert [i["code"] for i in manifest(root)["files"][0]["issues"]] == ["hazard-reopened"]
