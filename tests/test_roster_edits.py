"""Three weeks of roster edits through the command line; every figure of every report against a golden worked out
by hand from outputs.md §2/§6 and roster.md §Roster changes (not copied from a run).

Roster (written here, overwritten between weeks; 一片 = 赵局长, 二片 = 周局长):

| school | 学校标识码 | 学段 | W47 roster      | W48 roster      | W49 roster                                              |
|--------|------------|------|-----------------|-----------------|------------------------------------------------------|
| S1 丰润区第一实验小学 (一实小) | 2113000001 | 小学 | 一片 | 一片 | 一片 |
| S2 丰润区第三幼儿园 (三幼)     | none → 1113000003 from W48 | 幼儿园 | 一片, no code | 一片, code filled in | 一片 |
| S3 丰润区银城铺镇中学 (银中)   | 3113000005 | 初中 | 二片 | 二片 | 二片 |
| S4 丰润区新华街小学 (新华小学)  | none | 小学 | 二片 | 二片 | renamed 丰润区实验第二小学, 简称 丰润区新华街小学、新华小学 |
| S5 丰润区第二中学 (二中)       | 3113000007 | 高中 | 一片 | 一片 | moved to 二片 |
| S6 丰润区特殊教育学校 (特校)   | 6113000009 | 特教 | 二片 | 二片 | 停用日期 2023-12-04 (not due in W49) |

Hazards (排查日期, 部位, level; 整改时限 or 立即整改):
  A 灭火器过期 11-20 教学楼 一般 (11-30)     B 配电线路老化 11-21 宿舍楼 重大 (12-15)   C 滑梯松动 11-22 操场 一般 (11-27)
  D 燃气管道老化 11-20 食堂 重大 (11-23)     E 楼梯扶手松动 11-21 教学楼 一般 (11-30)   F 围墙裂缝 11-21 围墙 一般 (12-05)
  G 门卫登记缺失 11-21 门卫室 一般 (立即)     H 危化品台账缺失 11-22 实验室 重大 (11-28) I 消防通道堵塞 11-23 走廊 一般 (立即)
  J 配电箱未上锁 11-29 配电室 一般 (12-06)   K 篮球架松动 11-29 操场 一般 (12-20)     L 无障碍坡道破损 11-28 坡道 一般 (12-06)
  M 教室插座破损 12-06 教室 一般 (立即)

Files (checks/人次 = 本周排查次数/检查人次 of the header block):

| when (+08:00)      | school | week | holds |
|--------------------|--------|------|-------|
| Thu 11-23 10:00    | S1 | W47 | A 整改中 (funds 0.5), B 未整改; 2/6 |
|                    | S2 | W47 | no 学校标识码; C 未整改; 1/3 |
|                    | S3 | W47 | D 整改中, E 已整改 (11-22); 3/9 |
|                    | S4 | W47 | F 未整改, G 已整改 (11-21); 1/2 |
|                    | S6 | W47 | zero report; 1/2 |
| Fri 11-24 12:10    | S5 | W47 | late (after the cutoff, before the report): H 未整改; 2/4 |
| Fri 11-24 12:30    | report W47 (r1, W47 roster) |
| (roster W48: S2's code filled in) |
| Tue 11-28 10:00    | S3 | W47 | late correction (supersedes its W47 file): D 整改中, E 已整改, new I 未整改; 4/10 |
| Thu 11-30 10:00    | S1 | W48 | A 已整改 (11-28, funds 0.8), B 整改中, new J 未整改; 2/5 |
|                    | S2 | W48 | gives code 1113000003; C again (same 排查日期/部位/描述) 整改中 → carried; 1/2 |
|                    | S3 | W48 | D 已整改 (11-29), I 已整改 (11-27); E not listed (closed); 2/6 |
|                    | S4 | —   | nothing (未报 in W48) |
|                    | S5 | W48 | H 未整改, new K 整改中 (funds 1.2); 1/3 |
|                    | S6 | W48 | new L 未整改; 1/2 |
| Thu 11-30 11:00    | report W47 again (S3's correction: a new revision; W47 attribution) |
| Fri 12-01 12:30    | report W48 |
| (roster W49: S4 renamed, S5 to 二片, S6 closed on 12-04) |
| Thu 12-07 10:00    | S1 | W49 | A 已销号, B 已整改 (12-06), J 未整改; 2/4 |
|                    | S2 | —   | nothing (未报 in W49) |
|                    | S3 | W49 | zero report; 1/3 |
|                    | S4 | W49 | 填报单位 still the old name: F 整改中, G 已整改, new M 已整改 (12-06); 1/2 |
|                    | S5 | W49 | H 整改中, K 已整改 (12-05, funds 1.5); 1/2 |
| Fri 12-08 12:30    | report W49; then report W47 and W48 again (no new file: their own rosters still decide),
                       then report W47 --roster current (S5 in 二片), then rebuild of W47, W48, W49 |

The late W47 file arrives in W48, not W49: submission.md makes a file stating a week more than one week before its
arrival week `wrong-week` (rejected), so a W47 file can only be taken until W48's cutoff. W47 is regenerated both
right after it (under the W48 roster) and at the end (under the W49 roster).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import openpyxl
import pytest
from support import drop, hazard, make_root, school_book
from typer.testing import CliRunner, Result

from inspect_pipeline.cli import app

D = dt.datetime
runner = CliRunner()

ROSTER_HEADERS = ("学校名称", "学校标识码", "简称", "学段", "片区", "包片领导", "包校科室", "包校责任人", "启用日期", "停用日期")
S1 = ["丰润区第一实验小学", "2113000001", "一实小", "小学", "一片", "赵局长", "安法科", "钱明", None, None]
S2 = ["丰润区第三幼儿园", None, "三幼", "幼儿园", "一片", "赵局长", "安法科", "孙丽", None, None]
S3 = ["丰润区银城铺镇中学", "3113000005", "银中", "初中", "二片", "周局长", "教育科", "吴刚", None, None]
S4 = ["丰润区新华街小学", None, "新华小学", "小学", "二片", "周局长", "教育科", "吴刚", None, None]
S5 = ["丰润区第二中学", "3113000007", "二中", "高中", "一片", "赵局长", "后勤办", "郑强", None, None]
S6 = ["丰润区特殊教育学校", "6113000009", "特校", "特教", "二片", "周局长", "信访办", "王芳", None, None]


def roster_w47():
    return [S1, S2, S3, S4, S5, S6]


def roster_w48():
    s2 = list(S2)
    s2[1] = "1113000003"  # the clerk fills in 三幼's 学校标识码
    return [S1, s2, S3, S4, S5, S6]


def roster_w49():
    s1, s2, s3, s4, s5, s6 = (list(r) for r in roster_w48())
    s4[0], s4[2] = "丰润区实验第二小学", "丰润区新华街小学、新华小学"  # renamed; the old name kept as 简称
    s5[4], s5[5] = "二片", "周局长"  # moved from 一片 to 二片
    s6[9] = dt.date(2023, 12, 4)  # closed: active at the W48 cutoff (12-01), not at W49's (12-08)
    return [s1, s2, s3, s4, s5, s6]


def write_roster(root: Path, rows) -> None:
    book = openpyxl.Workbook()
    book.active.append(ROSTER_HEADERS)
    for r in rows:
        book.active.append(r)
    book.save(root / "roster.xlsx")


# ---------------------------------------------------------------- hazards and files

def _h(desc, location, found, level="一般", deadline=None):
    return {"desc": desc, "location": location, "found": found, "level": level, "deadline": deadline}


A = _h("灭火器过期", "教学楼", D(2023, 11, 20), deadline=D(2023, 11, 30))
B = _h("配电线路老化", "宿舍楼", D(2023, 11, 21), "重大", D(2023, 12, 15))
C = _h("滑梯松动", "操场", D(2023, 11, 22), deadline=D(2023, 11, 27))
DH = _h("燃气管道老化", "食堂", D(2023, 11, 20), "重大", D(2023, 11, 23))
E = _h("楼梯扶手松动", "教学楼", D(2023, 11, 21), deadline=D(2023, 11, 30))
F = _h("围墙裂缝", "围墙", D(2023, 11, 21), deadline=D(2023, 12, 5))
G = _h("门卫登记缺失", "门卫室", D(2023, 11, 21))  # 立即整改
H = _h("危化品台账缺失", "实验室", D(2023, 11, 22), "重大", D(2023, 11, 28))
I = _h("消防通道堵塞", "走廊", D(2023, 11, 23))  # 立即整改: its deadline is its 排查日期
J = _h("配电箱未上锁", "配电室", D(2023, 11, 29), deadline=D(2023, 12, 6))
K = _h("篮球架松动", "操场", D(2023, 11, 29), deadline=D(2023, 12, 20))
L = _h("无障碍坡道破损", "坡道", D(2023, 11, 28), deadline=D(2023, 12, 6))
M = _h("教室插座破损", "教室", D(2023, 12, 6))  # 立即整改


def row(h: dict, status: str, done=None, funds=None, verifier=None) -> dict:
    extra = {"整改方式": "限期整改" if h["deadline"] else "立即整改", "整改时限": h["deadline"], "完成日期": done,
             "整改资金（万元）": funds, "验收人": verifier}
    return hazard(desc=h["desc"], found=h["found"], status=status, level=h["level"], location=h["location"], **extra)


def book(school: list, week: int, rows=(), checks=1, person_times=1, code=None, unit=None) -> bytes:
    return school_book(unit=unit or school[0], rows=rows, week=f"2023年第{week}周", code=code or school[1],
                       zero=not rows, checks=checks, person_times=person_times)


# ---------------------------------------------------------------- the run


def at(text: str) -> str:
    return text + "+08:00"


def cli(*args: str):
    return runner.invoke(app, list(args))


def latest_manifest(root: Path, week: str) -> dict:
    """The manifest of the week's latest revision (reports/<week>/r<N>/)."""
    folders = [p for p in (root / "reports" / week).glob("r*") if p.name[1:].isdigit()]
    latest = max(folders, key=lambda p: int(p.name[1:]))
    return json.loads((latest / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The whole scenario; each step's CLI result and each report's latest manifest, by step name."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PREFECT_API_URL", raising=False)
        root = make_root(tmp_path_factory.mktemp("roster_edits"))
        d = str(root)
        steps: dict[str, Result] = {}
        manifests: dict[str, dict] = {}

        def intake(name, now):
            steps[name] = cli("intake", "--data-root", d, "--now", at(now))

        def report(name, week, now, *more):
            steps[name] = cli("report", "--data-root", d, "--week", week, "--now", at(now), *more)
            if steps[name].exit_code == 0:
                manifests[name] = latest_manifest(root, week)

        # ---- week 47
        write_roster(root, roster_w47())
        drop(root, "s1/w47.xlsx", book(S1, 47, [row(A, "整改中", funds=0.5), row(B, "未整改")], 2, 6))
        drop(root, "s2/w47.xlsx", book(S2, 47, [row(C, "未整改")], 1, 3))
        drop(root, "s3/w47.xlsx", book(S3, 47, [row(DH, "整改中"), row(E, "已整改", D(2023, 11, 22))], 3, 9))
        drop(root, "s4/w47.xlsx", book(S4, 47, [row(F, "未整改"), row(G, "已整改", D(2023, 11, 21))], 1, 2))
        drop(root, "s6/w47.xlsx", book(S6, 47, [], 1, 2))
        intake("intake W47", "2023-11-23T10:00:00")
        drop(root, "s5/w47.xlsx", book(S5, 47, [row(H, "未整改")], 2, 4))
        intake("intake W47 late", "2023-11-24T12:10:00")
        report("W47 r1", "2023-W47", "2023-11-24T12:30:00")

        # ---- week 48
        write_roster(root, roster_w48())
        drop(root, "s3/w47改.xlsx", book(S3, 47, [row(DH, "整改中"), row(E, "已整改", D(2023, 11, 22)),
                                                 row(I, "未整改")], 4, 10))
        intake("intake W47 correction", "2023-11-28T10:00:00")
        drop(root, "s1/w48.xlsx", book(S1, 48, [row(A, "已整改", D(2023, 11, 28), funds=0.8), row(B, "整改中"),
                                               row(J, "未整改")], 2, 5))
        drop(root, "s2/w48.xlsx", book(roster_w48()[1], 48, [row(C, "整改中")], 1, 2))
        drop(root, "s3/w48.xlsx", book(S3, 48, [row(DH, "已整改", D(2023, 11, 29)),
                                               row(I, "已整改", D(2023, 11, 27))], 2, 6))
        drop(root, "s5/w48.xlsx", book(S5, 48, [row(H, "未整改"), row(K, "整改中", funds=1.2)], 1, 3))
        drop(root, "s6/w48.xlsx", book(S6, 48, [row(L, "未整改")], 1, 2))
        intake("intake W48", "2023-11-30T10:00:00")
        report("W47 regenerated", "2023-W47", "2023-11-30T11:00:00")
        report("W48", "2023-W48", "2023-12-01T12:30:00")

        # ---- week 49
        write_roster(root, roster_w49())
        drop(root, "s1/w49.xlsx", book(S1, 49, [row(A, "已销号", D(2023, 11, 28), funds=0.8, verifier="王五"),
                                               row(B, "已整改", D(2023, 12, 6)), row(J, "未整改")], 2, 4))
        drop(root, "s3/w49.xlsx", book(S3, 49, [], 1, 3))
        drop(root, "s4/w49.xlsx", book(S4, 49, [row(F, "整改中"), row(G, "已整改", D(2023, 11, 21)),
                                               row(M, "已整改", D(2023, 12, 6))], 1, 2, unit="丰润区新华街小学"))
        drop(root, "s5/w49.xlsx", book(S5, 49, [row(H, "整改中"), row(K, "已整改", D(2023, 12, 5), funds=1.5)], 1, 2))
        intake("intake W49", "2023-12-07T10:00:00")
        report("W49", "2023-W49", "2023-12-08T12:30:00")
        report("W47 at the end", "2023-W47", "2023-12-08T13:00:00")
        report("W48 at the end", "2023-W48", "2023-12-08T13:05:00")
        before_current = latest_manifest(root, "2023-W47")["revision"]
        report("W47 roster current", "2023-W47", "2023-12-08T13:10:00", "--roster", "current")
        for week in ("2023-W47", "2023-W48", "2023-W49"):
            steps[f"rebuild {week}"] = cli("rebuild", "--data-root", d, "--week", week, "--now",
                                           at("2023-12-08T13:20:00"))
        yield {"root": root, "steps": steps, "manifests": manifests, "revision before current": before_current}


# ---------------------------------------------------------------- the golden

KEYS = ("due", "received", "on_time", "late", "missing", "report_rate", "schools_checked", "checks",
        "check_person_times", "found", "found_general", "found_major", "rectified", "rectified_general",
        "rectified_major", "in_progress", "not_rectified", "overdue", "rectification_rate",
        "major_rectification_rate", "funds_wan", "closed_this_week")


def fig(reporting: tuple, hazards: tuple) -> dict:
    """A FIGURES object from hand-counted numbers.
    reporting = (due, received, on_time, late, missing, checks, person_times);
    hazards = (found_general, found_major, rectified_general, rectified_major, in_progress, not_rectified, overdue,
    funds_wan, closed_this_week). The totals and rates follow from them by their definitions (outputs.md §2)."""
    due, received, on_time, late, missing, checks, person_times = reporting
    fg, fm, rg, rm, in_progress, not_rectified, overdue, funds, closed = hazards
    assert received == on_time + late and due == received + missing  # a slip in the golden itself
    assert fg + fm == rg + rm + in_progress + not_rectified
    rate = lambda a, b: None if b == 0 else a / b
    return {
        "due": due, "received": received, "on_time": on_time, "late": late, "missing": missing,
        "report_rate": rate(received, due), "schools_checked": received, "checks": checks,
        "check_person_times": person_times,
        "found": fg + fm, "found_general": fg, "found_major": fm, "rectified": rg + rm, "rectified_general": rg,
        "rectified_major": rm, "in_progress": in_progress, "not_rectified": not_rectified, "overdue": overdue,
        "rectification_rate": rate(rg + rm, fg + fm), "major_rectification_rate": rate(rm, fm), "funds_wan": funds,
        "closed_this_week": closed,
    }


def pair(week: dict, cumulative: dict) -> dict:
    return {"week": week, "cumulative": cumulative}


NOTHING = (0, 0, 0, 0, 0, 0, 0)
NO_HAZARDS = (0, 0, 0, 0, 0, 0, 0, 0.0, 0)
ZERO = fig(NOTHING, NO_HAZARDS)


def stages(**given) -> dict:
    """by_stage: every 学段 of the spec, all zero unless given."""
    return {s: given.get(s, pair(ZERO, ZERO)) for s in ("幼儿园", "小学", "初中", "高中", "中职", "特教")}


# ---- W47, first report (r1), W47 roster. The first week: the 本周 and 累计 blocks are the same.
# Set A B C D E F G H. Overdue at 11-24: only D (deadline 11-23); A 11-30, C 11-27, H 11-28 not yet.
# closed_this_week: E and G, first seen already 已整改 ("not yet known before" counts).
# Reporting: all 6 due and received; S5 after the cutoff → late 1. checks 2+1+3+1+2+1, 人次 6+3+9+2+4+2.
W47_R1_ALL = fig((6, 6, 5, 1, 0, 10, 26), (5, 3, 2, 0, 2, 4, 1, 0.5, 2))
W47_R1_ZONE1 = fig((3, 3, 2, 1, 0, 5, 13), (2, 2, 0, 0, 1, 3, 0, 0.5, 0))  # S1 S2 S5: A B C H; S5 late
W47_R1_ZONE2 = fig((3, 3, 3, 0, 0, 5, 13), (3, 1, 2, 0, 1, 1, 1, 0.0, 2))  # S3 S4 S6: D E F G
W47_R1 = {
    "totals": pair(W47_R1_ALL, W47_R1_ALL),
    "by_zone": {"一片": ("赵局长", pair(W47_R1_ZONE1, W47_R1_ZONE1)),
                "二片": ("周局长", pair(W47_R1_ZONE2, W47_R1_ZONE2))},
    "by_stage": stages(
        幼儿园=pair(*[fig((1, 1, 1, 0, 0, 1, 3), (1, 0, 0, 0, 0, 1, 0, 0.0, 0))] * 2),  # S2: C
        小学=pair(*[fig((2, 2, 2, 0, 0, 3, 8), (3, 1, 1, 0, 1, 2, 0, 0.5, 1))] * 2),  # S1 S4: A B F G
        初中=pair(*[fig((1, 1, 1, 0, 0, 3, 9), (1, 1, 1, 0, 1, 0, 1, 0.0, 1))] * 2),  # S3: D E
        高中=pair(*[fig((1, 1, 0, 1, 0, 2, 4), (0, 1, 0, 0, 0, 1, 0, 0.0, 0))] * 2),  # S5 (late): H
        特教=pair(*[fig((1, 1, 1, 0, 0, 1, 2), NO_HAZARDS)] * 2),  # S6: zero report
    ),
    "missing_units": [],
}

# ---- W47 regenerated after S3's late correction (counted now; its first file, on time, still decides 按时).
# Attribution stays the W47 roster's: 三幼 (now keyed by its code) still received, with C.
# Set gains I (立即整改, 未整改: deadline = 排查日期 11-23 < 11-24 → overdue, so overdue D, I = 2);
# S3's checks/人次 are the correction's 4/10 instead of 3/9. Figures are "at the cutoff": A's funds stay 0.5 (its
# W48 value 0.8 and W48/W49 statuses, already recorded when this is made, do not reach back into W47).
W47_ALL = fig((6, 6, 5, 1, 0, 11, 27), (6, 3, 2, 0, 2, 5, 2, 0.5, 2))
W47_ZONE2 = fig((3, 3, 3, 0, 0, 6, 14), (4, 1, 2, 0, 1, 2, 2, 0.0, 2))  # S3 S4 S6: D E F G I
W47_MIDDLE = fig((1, 1, 1, 0, 0, 4, 10), (2, 1, 1, 0, 1, 1, 2, 0.0, 1))  # 初中 S3: D E I
W47_AGAIN = {
    "totals": pair(W47_ALL, W47_ALL),
    "by_zone": {"一片": ("赵局长", pair(W47_R1_ZONE1, W47_R1_ZONE1)), "二片": ("周局长", pair(W47_ZONE2, W47_ZONE2))},
    "by_stage": {**W47_R1["by_stage"], "初中": pair(W47_MIDDLE, W47_MIDDLE)},
    "missing_units": [],
}

# ---- W47 with `--roster current` (the W49 roster): S5 (late, H) counted in 二片; S6 closed on 12-04 is still due
# at 11-24; the rename changes no figure. Totals and 学段 as above.
W47_NOW_ZONE1 = fig((2, 2, 2, 0, 0, 3, 9), (2, 1, 0, 0, 1, 2, 0, 0.5, 0))  # S1 S2: A B C
W47_NOW_ZONE2 = fig((4, 4, 3, 1, 0, 8, 18), (4, 2, 2, 0, 1, 3, 2, 0.0, 2))  # S3 S4 S5 S6: D E F G H I
W47_CURRENT = {
    **W47_AGAIN,
    "by_zone": {"一片": ("赵局长", pair(W47_NOW_ZONE1, W47_NOW_ZONE1)),
                "二片": ("周局长", pair(W47_NOW_ZONE2, W47_NOW_ZONE2))},
}

# ---- W48 (W48 roster; zones as in W47). S4 未报: its F, G stay as in W47.
# 本周 set: J K L only — C is S2's W47 hazard listed again (same identity though S2 is now keyed by its code).
# closed_this_week: A (整改中→已整改), D (整改中→已整改), I (未整改→已整改) = 3.
# 累计 set A..L at 12-01: done A D E G I (D 重大); 整改中 B C K; 未整改 F H J L.
#   overdue: C (11-27) and H (11-28); F 12-05, J/L 12-06 not yet. funds: A's latest 0.8 + K 1.2.
# 累计 reporting: W47 (6 due, 6 received, 5 on time, checks 11, 人次 27 — with S3's correction) + W48 (6, 5, 5, 7, 18).
W48 = {
    "totals": pair(fig((6, 5, 5, 0, 1, 7, 18), (3, 0, 0, 0, 1, 2, 0, 1.2, 3)),
                   fig((12, 11, 10, 1, 1, 18, 45), (9, 3, 4, 1, 3, 4, 2, 2.0, 3))),
    "by_zone": {
        # S1 S2 S5. 本周 J K; 累计 A B C H J K: done A; 整改中 B C K; 未整改 H J; overdue C H; closed A.
        "一片": ("赵局长", pair(fig((3, 3, 3, 0, 0, 4, 10), (2, 0, 0, 0, 1, 1, 0, 1.2, 1)),
                             fig((6, 6, 5, 1, 0, 9, 23), (4, 2, 1, 0, 3, 2, 2, 2.0, 1)))),
        # S3 S4 S6 (S4 missing). 本周 L; 累计 D E F G I L: done D E G I; 未整改 F L; closed D I.
        "二片": ("周局长", pair(fig((3, 2, 2, 0, 1, 3, 8), (1, 0, 0, 0, 0, 1, 0, 0.0, 2)),
                             fig((6, 5, 5, 0, 1, 9, 22), (5, 1, 3, 1, 0, 2, 0, 0.0, 2)))),
    },
    "by_stage": stages(
        # S2: nothing new this week (C carried); 累计 C 整改中, overdue.
        幼儿园=pair(fig((1, 1, 1, 0, 0, 1, 2), NO_HAZARDS), fig((2, 2, 2, 0, 0, 2, 5), (1, 0, 0, 0, 1, 0, 1, 0.0, 0))),
        # S1 S4 (S4 missing). 本周 J; 累计 A B F G J: done A G; 整改中 B; 未整改 F J; closed A.
        小学=pair(fig((2, 1, 1, 0, 1, 2, 5), (1, 0, 0, 0, 0, 1, 0, 0.0, 1)),
                 fig((4, 3, 3, 0, 1, 5, 13), (4, 1, 2, 0, 1, 2, 0, 0.8, 1))),
        # S3. 累计 D E I all done; closed D I.
        初中=pair(fig((1, 1, 1, 0, 0, 2, 6), (0, 0, 0, 0, 0, 0, 0, 0.0, 2)),
                 fig((2, 2, 2, 0, 0, 6, 16), (2, 1, 2, 1, 0, 0, 0, 0.0, 2))),
        # S5. 本周 K; 累计 H (overdue) K; its W47 file was late.
        高中=pair(fig((1, 1, 1, 0, 0, 1, 3), (1, 0, 0, 0, 1, 0, 0, 1.2, 0)),
                 fig((2, 2, 1, 1, 0, 3, 7), (1, 1, 0, 0, 1, 1, 1, 1.2, 0))),
        # S6. L in both blocks.
        特教=pair(fig((1, 1, 1, 0, 0, 1, 2), (1, 0, 0, 0, 0, 1, 0, 0.0, 0)),
                 fig((2, 2, 2, 0, 0, 2, 4), (1, 0, 0, 0, 0, 1, 0, 0.0, 0))),
    ),
    "missing_units": [{"school_code": None, "school_name": "丰润区新华街小学", "zone": "二片", "section_owner": "吴刚"}],
}

# ---- W49 (W49 roster, for every block of this report: S5 in 二片 for all its weeks, S4 under its new name).
# Due: S1 S2 S3 S4 S5 (S6 closed 12-04 < 12-08); S2 未报. S4's file names it by its old name (now a 简称): the same
# school, so F and G are carried and only M is new.
# 本周 set: M (已整改). closed_this_week: B (整改中→已整改), K (整改中→已整改), M (new, done) = 3; A 已整改→已销号 was
# already done, so not counted.
# 累计 set A..M at 12-08: done A B D E G I K M (B D 重大); 整改中 C F H; 未整改 J L (L: S6's last state, W48).
#   overdue: C 11-27, F 12-05, H 11-28, J 12-06, L 12-06 = 5. funds: A 0.8 + K 1.5 (latest values).
# 累计 reporting: W47 (6, 6, 5 on time, 11, 27) + W48 (6, 5, 5, 7, 18) + W49 (5, 4, 4, 5, 11).
W49 = {
    "totals": pair(fig((5, 4, 4, 0, 1, 5, 11), (1, 0, 1, 0, 0, 0, 0, 0.0, 3)),
                   fig((17, 15, 14, 1, 2, 23, 56), (10, 3, 6, 2, 3, 2, 5, 2.3, 3))),
    "by_zone": {
        # S1 S2. 本周: S2 missing, nothing new; 累计 A B C J: done A B; 整改中 C; 未整改 J; overdue C J; closed B.
        # unit-weeks: W47 2/2 (3, 9), W48 2/2 (3, 7), W49 2/1 (2, 4).
        "一片": ("赵局长", pair(fig((2, 1, 1, 0, 1, 2, 4), (0, 0, 0, 0, 0, 0, 0, 0.0, 1)),
                             fig((6, 5, 5, 0, 1, 8, 20), (3, 1, 1, 1, 1, 1, 2, 0.8, 1)))),
        # S3 S4 S5 S6. 本周 S3 S4 S5, M; 累计 D E F G H I K L M: done D E G I K M; 整改中 F H; 未整改 L;
        # overdue F H L; closed K M. unit-weeks: W47 4/4 (S5 late; 8, 18), W48 4/3 (S4 missing; 4, 11),
        # W49 3/3 (3, 7).
        "二片": ("周局长", pair(fig((3, 3, 3, 0, 0, 3, 7), (1, 0, 1, 0, 0, 0, 0, 0.0, 2)),
                             fig((11, 10, 9, 1, 1, 15, 36), (7, 2, 5, 1, 2, 1, 3, 1.5, 2)))),
    },
    "by_stage": stages(
        # S2 missing this week; 累计 C overdue.
        幼儿园=pair(fig((1, 0, 0, 0, 1, 0, 0), NO_HAZARDS), fig((3, 2, 2, 0, 1, 2, 5), (1, 0, 0, 0, 1, 0, 1, 0.0, 0))),
        # S1 S4. 本周 M; 累计 A B F G J M: done A B G M; 整改中 F; 未整改 J; overdue F J; closed B M.
        小学=pair(fig((2, 2, 2, 0, 0, 3, 6), (1, 0, 1, 0, 0, 0, 0, 0.0, 2)),
                 fig((6, 5, 5, 0, 1, 8, 19), (5, 1, 3, 1, 1, 1, 2, 0.8, 2))),
        # S3 zero report. 累计 D E I done.
        初中=pair(fig((1, 1, 1, 0, 0, 1, 3), NO_HAZARDS), fig((3, 3, 3, 0, 0, 7, 19), (2, 1, 2, 1, 0, 0, 0, 0.0, 0))),
        # S5. 累计 H (整改中, overdue) K (done this week).
        高中=pair(fig((1, 1, 1, 0, 0, 1, 2), (0, 0, 0, 0, 0, 0, 0, 0.0, 1)),
                 fig((3, 3, 2, 1, 0, 4, 9), (1, 1, 1, 0, 1, 0, 1, 1.5, 1))),
        # S6 closed: not due this week; its two due weeks and L (未整改 since W48, now overdue) stay in 累计.
        特教=pair(ZERO, fig((2, 2, 2, 0, 0, 2, 4), (1, 0, 0, 0, 0, 1, 1, 0.0, 0))),
    ),
    "missing_units": [{"school_code": "1113000003", "school_name": "丰润区第三幼儿园", "zone": "一片",
                       "section_owner": "孙丽"}],
}

GOLDEN = {
    "W47 r1": W47_R1,
    "W47 regenerated": W47_AGAIN,
    "W48": W48,
    "W49": W49,
    "W47 at the end": W47_AGAIN,  # no new file; the W47 roster still decides (S5 in 一片, S4 under its old name)
    "W48 at the end": W48,  # likewise: S4 未报 under its W48 name, S5 in 一片
    "W47 roster current": W47_CURRENT,
}


# ---------------------------------------------------------------- comparing


def _same(expected, got) -> bool:
    if expected is None or got is None:
        return expected is got
    if isinstance(expected, float) or isinstance(got, float):
        return got == pytest.approx(expected)
    return expected == got


def differences(golden: dict, manifest: dict) -> list[str]:
    """Every figure that differs, as `part/row/block/key: expected … got …`."""
    out = []

    def block(where: str, expected: dict, got: dict | None) -> None:
        if got is None:
            out.append(f"{where}: missing")
            return
        if set(got) != set(KEYS):
            out.append(f"{where}: keys {sorted(set(got) ^ set(KEYS))}")
        for k in KEYS:
            if not _same(expected[k], got.get(k)):
                out.append(f"{where}/{k}: expected {expected[k]!r}, got {got.get(k)!r}")

    for b in ("week", "cumulative"):
        block(f"totals/{b}", golden["totals"][b], manifest["totals"].get(b))
    zones = {z["zone"]: z for z in manifest["by_zone"]}
    if set(zones) != set(golden["by_zone"]):
        out.append(f"by_zone: zones {sorted(zones)}, expected {sorted(golden['by_zone'])}")
    for zone, (leader, blocks) in golden["by_zone"].items():
        got = zones.get(zone, {})
        if got.get("zone_leader") != leader:
            out.append(f"by_zone/{zone}/zone_leader: expected {leader!r}, got {got.get('zone_leader')!r}")
        for b in ("week", "cumulative"):
            block(f"by_zone/{zone}/{b}", blocks[b], got.get(b))
    by_stage = {s["stage"]: s for s in manifest["by_stage"]}
    if set(by_stage) != set(golden["by_stage"]):
        out.append(f"by_stage: stages {sorted(by_stage)}, expected {sorted(golden['by_stage'])}")
    for stage, blocks in golden["by_stage"].items():
        for b in ("week", "cumulative"):
            block(f"by_stage/{stage}/{b}", blocks[b], by_stage.get(stage, {}).get(b))
    key = lambda u: (u["school_name"] or "", u["school_code"] or "")
    if sorted(manifest["missing_units"], key=key) != sorted(golden["missing_units"], key=key):
        out.append(f"missing_units: expected {golden['missing_units']!r}, got {manifest['missing_units']!r}")
    return out


# ---------------------------------------------------------------- the tests


def test_every_command_of_the_scenario_succeeds(run):
    failed = {name: r.output for name, r in run["steps"].items() if r.exit_code != 0}
    assert not failed, failed


@pytest.mark.parametrize("step", list(GOLDEN))
def test_every_figure_matches_the_golden(run, step):
    assert step in run["manifests"], run["steps"][step].output
    diffs = differences(GOLDEN[step], run["manifests"][step])
    assert not diffs, "\n".join(diffs)


def test_late_correction_makes_a_new_w47_revision_and_roster_current_another(run):
    m = run["manifests"]
    assert "W47 roster current" in m, run["steps"]["W47 roster current"].output
    assert m["W47 r1"]["revision"] == 1
    assert m["W47 regenerated"]["revision"] == 2  # S3's correction changed the figures
    # `--roster current` re-attributes S5 to 二片: a new revision after whatever was latest
    assert m["W47 roster current"]["revision"] == run["revision before current"] + 1


def _files_of(run, step: str, name: str) -> list[tuple]:
    """(outcome, on_time, school_code, rows, new) of the files of that name in a report's manifest."""
    assert step in run["manifests"], run["steps"][step].output
    return [(f["outcome"], f["on_time"], f["school_code"], f["hazards"]["rows"], f["hazards"]["new"])
            for f in run["manifests"][step]["files"] if f["file"] == name]


def test_the_late_correction_counts_and_its_rows_are_new_in_w47(run):
    # D and E were known only from S3's own (now superseded) W47 file, not from an earlier week: all three new
    assert _files_of(run, "W47 regenerated", "w47改.xlsx") == [("accepted", False, "3113000005", 3, 3)]


def test_a_hazard_listed_again_after_the_code_was_filled_in_is_carried(run):
    # 三幼's W48 file gives its new 学校标识码 and lists C again: the same school, so C is not new
    assert [f for f in _files_of(run, "W48", "w48.xlsx") if f[2] == "1113000003"] == \
        [("accepted", True, "1113000003", 1, 0)]


def test_a_renamed_school_named_by_its_old_name_keeps_its_hazards(run):
    # S4 (no code) under its old name, now a 简称: F and G carried, only M new
    assert [f for f in _files_of(run, "W49", "w49.xlsx") if f[2] is None] == [("accepted", True, None, 3, 1)]


def test_rebuild_of_each_week_gives_the_record(run):
    failed = {week: run["steps"][f"rebuild {week}"].output for week in ("2023-W47", "2023-W48", "2023-W49")
              if run["steps"][f"rebuild {week}"].exit_code != 0
              or "重算结果与记录一致" not in run["steps"][f"rebuild {week}"].output}
    assert not failed, failed
