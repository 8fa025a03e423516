"""Understanding a sheet (submission.md §Which sheet … §Rows that are not hazards), on tiny inline grids."""

from __future__ import annotations

import datetime as dt

from inspect_pipeline.intake.layout import read_layout
from inspect_pipeline.core.settings import Settings
from inspect_pipeline.intake.understand import choose_sheet, decide_week, named_week, understand
from inspect_pipeline.read.grid import Sheet, Workbook

HEADERS = ["序号", "排查日期", "隐患部位", "隐患类别", "隐患描述", "隐患等级", "整改措施", "整改责任人", "整改时限", "整改状态"]
ROW = [1, dt.datetime(2023, 11, 20), "教学楼", "消防", "灭火器过期", "一般", "更换", "李四", dt.datetime(2023, 11, 30), "整改中"]


def sheet(rows, merged=(), name="隐患排查", hidden=frozenset()):
    return Sheet(name, True, [list(r) for r in rows], list(merged), frozenset(hidden))


def test_header_row_is_the_first_with_four_matches_and_keeps_true_coordinates():
    lay = read_layout(sheet([["某某学校台账"], ["填报单位：一实小"], [None, *HEADERS], [None, *ROW]]))
    assert lay.header_cell == "B3"
    assert lay.columns["found_date"].cell == "C3"
    assert [r for r, _ in lay.rows] == [4]
    assert lay.fields["unit_name"].value == "一实小" and lay.fields["unit_name"].cell == "A2"


def test_header_matching_ignores_spaces_width_brackets_and_line_breaks():
    headers = ["序 号", "排查\n日期", "部位", "隐患类别（见说明）", "存在问题", "隐患等级（一般/重大）", "措施", "责任人",
               "完成时限", "状态", "整改资金(元)"]
    lay = read_layout(sheet([headers, [*ROW, 5000]]))
    assert set(lay.columns) >= {"seq", "found_date", "location", "category", "description", "level", "measures", "owner",
                                "deadline", "status", "funds_wan"}
    assert lay.columns["funds_wan"].in_yuan
    assert lay.issues == []


def test_two_row_header_reads_each_column_from_its_lowest_cell():
    top = ["序号", "排查日期", "隐患部位", "隐患类别", "隐患描述", "隐患等级", "五落实", None, None, "整改状态"]
    low = [None, None, None, None, None, None, "整改措施", "整改责任人", "整改时限", None]
    merged = [(0, c, 1, c) for c in (0, 1, 2, 3, 4, 5, 9)] + [(0, 6, 0, 8)]  # 五落实 spans G1:I1
    lay = read_layout(sheet([top, low, ROW], merged))
    assert lay.header_cell == "A2"  # the lower row of a two-row header
    assert lay.columns["measures"].cell == "G2" and lay.columns["found_date"].cell == "B1"
    assert [r for r, _ in lay.rows] == [3]


def test_extra_and_duplicate_columns():
    lay = read_layout(sheet([[*HEADERS, "备用列", "隐患部位"], [*ROW, "x", "y"]]))
    assert [(i.code, i.cell) for i in lay.issues] == [("extra-column", "K1"), ("duplicate-column", "L1")]


def test_rows_that_are_not_hazards_are_skipped():
    rows = [
        HEADERS,
        ROW,
        [2],  # a pre-numbered template row
        [None] * 10,  # blank
        [3, None, "校长室", "安保", "门锁损坏", "一般", "更换", "王五", None, "整改中"],  # not a footer
        ["合 计", None, None, None, "2处"],
        ["填报人：张三", None, "审核人：李四", None, "校长签字："],
        ["注：等级填一般或重大"],
    ]
    lay = read_layout(sheet(rows))
    assert [r for r, _ in lay.rows] == [2, 5]


def test_rows_after_the_end_marker_are_ignored():
    lay = read_layout(sheet([HEADERS, ROW, ["以下空白"], ROW]))
    assert [r for r, _ in lay.rows] == [2]


def test_vertically_merged_data_cells_fill_down():
    second = [2, dt.datetime(2023, 11, 21), None, "用电", "插座松动", "一般", "更换", "李四", dt.datetime(2023, 11, 30), "整改中"]
    lay = read_layout(sheet([HEADERS, ROW, second], merged=[(1, 2, 2, 2)]))
    assert [v["location"] for _, v in lay.rows] == ["教学楼", "教学楼"]


def test_zero_report_row_is_a_statement_not_a_hazard():
    lay = read_layout(sheet([HEADERS, [1, None, None, None, "本周无隐患"]]))
    assert lay.rows == [] and lay.zero_statement


def test_hidden_rows_warn_at_the_first_hidden_data_row():
    lay = read_layout(sheet([HEADERS, ROW, ROW], hidden={2}))
    assert [(i.code, i.cell) for i in lay.issues] == [("hidden-rows", "A3")]


def test_header_block_label_cell_then_value_cell_and_several_labels_in_one_cell():
    rows = [["学校标识码", "2113000001", None, "填报人：张三  联系电话：138"], ["周次", "2023年第47周"], HEADERS]
    lay = read_layout(sheet(rows))
    assert lay.fields["school_code"].cell == "B1" and lay.fields["school_code"].value == "2113000001"
    assert lay.fields["reporter"].value == "张三" and lay.fields["phone"].value == "138"
    assert lay.fields["week"].cell == "B2"


def test_named_weeks():
    assert named_week("2023年第47周") == ("2023-W47", None)
    assert named_week("2023-W47") == ("2023-W47", None)
    assert named_week("2023.11.18-2023.11.24") == ("2023-W47", None)  # the week of its end date
    assert named_week("XX学校台账（第47周）") == (None, 47)


def test_week_decision():
    lay = read_layout(sheet([["周次：第47周"], HEADERS]))
    assert decide_week(lay, "Sheet1", "2023-W47") == ("2023-W47", None)
    assert decide_week(lay, "Sheet1", "2023-W48") == ("2023-W47", None)  # the week before arrival: late, fine
    week, issue = decide_week(read_layout(sheet([["周次：2023年第40周"], HEADERS])), "S", "2023-W47")
    assert week == "2023-W47" and (issue.code, issue.cell) == ("wrong-week", "A1")
    teaching = read_layout(sheet([["周次：第12周"], HEADERS]))  # a teaching week: ignored
    assert decide_week(teaching, "S", "2023-W47") == ("2023-W47", None)


def test_sheet_choice():
    a, b = sheet([HEADERS, ROW], name="第46周"), sheet([HEADERS, ROW], name="第47周")
    chosen, issue = choose_sheet([read_layout(a), read_layout(b)], "2023-W47")
    assert chosen.name == "第47周" and issue is None
    c = sheet([HEADERS, ROW], name="Sheet2")
    chosen, issue = choose_sheet([read_layout(a), read_layout(c)], "2023-W47")
    assert chosen.name == "第46周" and issue is None  # none names the arrival week: the week before (a late file)
    chosen, issue = choose_sheet([read_layout(sheet([HEADERS, ROW], name="Sheet1")), read_layout(c)], "2023-W47")
    assert chosen is None and issue.code == "ambiguous-sheet"


def test_point_8_sheets_of_two_weeks_each_with_its_own_week_field_choose_the_arrival_week():
    """Issue #9 point 8: visible sheets 第46周 and 第47周, each with its own 周次, arriving in W47 → 第47周."""
    w46 = sheet([["周次：2023年第46周"], HEADERS, ROW], name="第46周")
    w47 = sheet([["周次：2023年第47周"], HEADERS, ROW], name="第47周")
    chosen, issue = choose_sheet([read_layout(w46), read_layout(w47)], "2023-W47")
    assert chosen.name == "第47周" and issue is None
    chosen, issue = choose_sheet([read_layout(w46), read_layout(w47)], "2023-W48")  # late: neither names W48
    assert chosen.name == "第47周" and issue is None


def test_hidden_sheets_are_ignored():
    hidden = Sheet("旧表", False, [HEADERS, ROW])
    parsed = understand(Workbook("xlsx", [hidden, sheet([HEADERS, ROW], name="本周")]), "2023-W47", Settings())
    assert parsed.sheet == "本周"


def test_zero_report_without_any_header_row():
    parsed = understand(Workbook("xlsx", [sheet([["填报单位：一实小"], ["本周未发现隐患"]])]), "2023-W47", Settings())
    assert parsed.issues == [] and parsed.zero_statement and parsed.records == []


def test_status_with_date_inside():
    row = [*ROW[:-1], "已整改（11.24）"]
    parsed = understand(Workbook("xlsx", [sheet([HEADERS, row])]), "2023-W47", Settings())
    rec = parsed.records[0]
    assert rec["status"] == "已整改" and rec["done_date"] == dt.date(2023, 11, 24)


def test_a_header_and_its_cells_merged_across_two_columns_are_one_column():
    headers = ["序号", "排查日期", "隐患部位", "隐患类别", "隐患描述", None, "隐患等级", "整改措施", "整改责任人",
               "整改时限", "整改状态"]
    row = [1, dt.datetime(2023, 11, 20), "教学楼", "消防", "灭火器过期", None, "一般", "更换", "李四",
           dt.datetime(2023, 11, 30), "整改中"]
    lay = read_layout(sheet([headers, row], merged=[(0, 4, 0, 5), (1, 4, 1, 5)]))  # E1:F1 and E2:F2
    assert lay.issues == [] and lay.columns["description"].index == 4
    assert lay.columns["level"].index == 6 and lay.rows[0][1]["level"] == "一般"


def test_spaced_labels_and_a_stamp_note_after_the_unit():
    rows = [["填 报 单 位：丰润区第一实验小学（盖章）", None, "填报日期： 2023年11月24日"], HEADERS]
    lay = read_layout(sheet(rows))
    assert lay.fields["unit_name"].value == "丰润区第一实验小学(盖章)"
    assert lay.fields["report_date"].value == "2023年11月24日"


def test_point_6_a_date_range_across_new_year_without_the_end_year():
    """Issue #9 point 6: 周次：2023.12.30-1.5 ends on 2024-01-05 (ISO week 2024-W01), not on 2023-01-05."""
    from inspect_pipeline.intake.understand import named_week

    assert named_week("周次：2023.12.30-1.5") == ("2024-W01", None)
    assert named_week("周次：2023年12月30日至1月5日") == ("2024-W01", None)
    assert named_week("周次：2023.11.18-11.24") == ("2023-W47", None)  # same year as before
    assert named_week("周次：2023.12.30-2024.1.5") == ("2024-W01", None)


def test_point_9_only_a_cell_reading_an_end_marker_ends_the_table():
    """Issue #9 point 9: `以下空白` ends the table when a cell reads it, not when a description starts with it."""
    from inspect_pipeline.intake.layout import is_end_marker

    assert is_end_marker("以下空白") and is_end_marker("（以下空白）") and is_end_marker(" 以下无内容。")
    assert not is_end_marker("以下为空调外机支架锈蚀") and not is_end_marker("以下空白处堆放杂物")
    row2 = [2, dt.datetime(2023, 11, 20), "教学楼", "消防", "以下为空调外机支架锈蚀", "一般", "更换", "李四",
            dt.datetime(2023, 11, 30), "整改中"]
    parsed = understand(Workbook("xlsx", [sheet([HEADERS, ROW, row2, ["以下空白"], ROW])]), "2023-W47", Settings())
    assert [r["description"] for r in parsed.records] == [ROW[4], "以下为空调外机支架锈蚀"]
