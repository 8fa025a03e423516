"""Templates: the blank official one (drop-downs, date checks, 填表说明, protected header) and the pre-filled one a
school fills and sends back, matched by 隐患编号 (round trip)."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
import sqlalchemy as sa

from inspect_pipeline.record.db import hazards, make_engine
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.report.templates import write_templates
from support import intake, manifest
from test_figures import build

WEEK = "2023-W48"


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    root = build(tmp_path_factory.mktemp("templates"))
    settings = load_settings(root)
    write_templates(Paths.at(root, settings), settings, WEEK)
    return root


def codes(root) -> dict[str, str]:
    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(hazards.c.identity, hazards.c.code)).all())


def test_blank_template(district):
    book = openpyxl.load_workbook(district / "templates" / WEEK / f"空白模板_{WEEK}.xlsx")
    assert book.sheetnames == ["隐患排查", "填表说明"]
    ws = book["隐患排查"]
    assert [c.value for c in ws[4]][:4] == ["序号", "隐患编号", "排查日期", "排查来源"]
    assert ws.protection.sheet and ws["A4"].protection.locked and not ws["C2"].protection.locked
    assert ws["A2"].value == "填报单位" and "A2:B2" in {str(r) for r in ws.merged_cells.ranges}  # not in 序号 alone
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert kinds == {"list", "date"} and len(ws.data_validations.dataValidation) == 8  # 5 lists, 3 dates
    level = next(dv for dv in ws.data_validations.dataValidation if "H5" in str(dv.sqref))
    assert level.formula1 == '"一般,重大"'
    assert "2023年第48周" in ws["I2"].value


def test_prefilled_template_lists_every_hazard_not_yet_closed(district):
    ws = openpyxl.load_workbook(district / "templates" / WEEK / f"2113000001_丰润区第一实验小学_{WEEK}.xlsx")["隐患排查"]
    assert ws["C2"].value == "丰润区第一实验小学" and ws["G2"].value == "2113000001"
    listed = [(r[1].value, r[6].value, r[14].value) for r in ws.iter_rows(min_row=5) if r[6].value]
    # A 已整改, B 整改中, G 未整改 (dropped last week but still open), D 未整改; C is 已销号
    assert sorted(d for _, d, _ in listed) == sorted(["教学楼灭火器过期", "锅炉房压力表失灵", "围墙裂缝", "实验室危化品柜未上锁"])
    known = set(codes(district).values())
    assert all(code in known and code.startswith("2113000001-2023W4") for code, _, _ in listed)


def test_a_filled_prefilled_template_round_trips(district, tmp_path):
    source = district / "templates" / WEEK / f"2113000001_丰润区第一实验小学_{WEEK}.xlsx"
    book = openpyxl.load_workbook(source)  # the school opens it, as Excel or WPS would, and fills it in
    ws = book["隐患排查"]
    ws["C3"] = "张三"
    rows = {r[6].value: r for r in ws.iter_rows(min_row=5) if r[6].value}
    b = rows["锅炉房压力表失灵"]
    b[14].value, b[15].value = "已整改", dt.datetime(2023, 11, 28)
    a = rows["教学楼灭火器过期"]
    a[14].value, a[16].value = "已销号", "赵局长"
    rows["实验室危化品柜未上锁"][6].value = "实验室危化品柜未上锁（已加装临时锁）"  # text edited: the number decides
    new = len(rows) + 5
    for c, v in enumerate([len(rows) + 1, None, dt.datetime(2023, 11, 29), "学校自查", "食堂", "食品安全", "冰箱生熟未分开",
                           "一般", "立即整改", None, "王五", None, None, None, "已整改", dt.datetime(2023, 11, 29)], start=1):
        ws.cell(new, c, v)
    target = district / "inbox" / "一实小" / "第48周.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    intake(district, dt.datetime.fromisoformat("2023-11-30T10:00:00+08:00"))
    (entry,) = [f for f in manifest(district, WEEK)["files"] if f["file"] == "第48周.xlsx"]
    assert entry["outcome"] == "accepted", entry["issues"]
    assert entry["issues"] == []  # nothing dropped, nothing unknown
    assert entry["hazards"] == {"rows": 5, "new": 1, "major": 2, "open": 2, "rectified": 3}
