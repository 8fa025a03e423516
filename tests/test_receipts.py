"""Receipts: accepted/duplicate 回执, annotated rejected copies, reproductions and explanations (outputs.md §1)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.comments import Comment

from inspect_pipeline.core.issues import Issue
from inspect_pipeline.intake.receipt_content import (
    AUTHOR,
    ERROR_RGB,
    ISSUE_HEADERS,
    ISSUE_SHEET,
    ReceiptInfo,
    _atomic,
)
from inspect_pipeline.intake.receipts import write_accepted, write_rejected
from inspect_pipeline.read.grid import Sheet, Workbook

SHEET = "隐患排查"
EVIL = '=HYPERLINK("http://x","y")'


def info(outcome: str = "rejected", file_name: str = "城关小学第47周.xlsx", note: str = "") -> ReceiptInfo:
    return ReceiptInfo(
        file_name=file_name,
        received_at=dt.datetime(2023, 11, 22, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")),
        week="2023-W47",
        outcome=outcome,
        school_name="城关小学",
        school_code="2113000001",
        counts={"rows": 12, "new": 3, "major": 1, "open": 5, "rectified": 4} if outcome == "accepted" else {},
        note=note,
        on_time=True,
    )


def issue(cell, code="bad-enum", severity="error", sheet=SHEET, value="较大", column="隐患等级") -> Issue:
    return Issue(severity, code, sheet, cell, column, value, f"“{column}”填写了“{value}”", "请从下拉列表中选择")


def values(ws) -> dict[str, object]:
    return {c.coordinate: c.value for row in ws.iter_rows() for c in row if c.value is not None}


def formulas(wb) -> set[tuple[str, str]]:
    return {(ws.title, c.coordinate) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"}


def issue_table(ws) -> list[tuple]:
    """Rows of the 问题清单 table, below its header row."""
    rows = list(ws.iter_rows(values_only=True))
    head = next(n for n, r in enumerate(rows) if r[: len(ISSUE_HEADERS)] == ISSUE_HEADERS)
    return [r for r in rows[head + 1 :] if r[0] is not None]


@pytest.fixture
def school_xlsx(tmp_path) -> Path:
    """A small school workbook: merged title, merged 学校名称 value, a school comment, text that looks like a formula."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = SHEET
    ws["A1"] = "城关小学安全隐患排查整治台账"
    ws.merge_cells("A1:H1")
    ws["A2"], ws["B2"] = "学校名称", "城关小学"
    ws.merge_cells("B2:D2")
    ws.append(["序号", "排查日期", "隐患部位", "隐患类别", "隐患描述", "整改措施", "隐患等级", "整改状态"])
    for n in range(1, 31):
        ws.append([n, dt.date(2023, 11, 20), "教学楼", "消防", f"灭火器过期{n}", "更换", "一般", "未整改"])
    ws["G7"] = "较大"
    ws["G7"].comment = Comment("校长：待确认", "张老师")
    ws["E8"] = EVIL
    ws["E8"].data_type = "s"  # the school typed text starting with '='
    ws["E9"] = "=1+1"
    ws["E9"].data_type = "s"
    ws["I4"] = "=ROW()"  # the school's own formula stays a formula
    wb.create_sheet("填表说明")["A1"] = "说明文字"
    path = tmp_path / "school.xlsx"
    wb.save(path)
    return path


def school_issues() -> list[Issue]:
    return [
        issue("H10", "bad-enum", "warning", value="未改"),
        issue("G7"),
        issue("C2", "unit-name-mismatch", column="学校名称", value="城关小学"),  # inside merged B2:D2
        issue("E8", "required", value=EVIL, column="隐患描述"),
        issue("E9", "required", value="=1+1", column="隐患描述"),
        issue(None, "missing-unit", sheet=None, column=None, value=None),
        issue("B5", sheet="不存在的表"),
    ]


def test_annotated_original(school_xlsx, tmp_path):
    out = write_rejected(info(), school_issues(), tmp_path / "out" / "r.xlsx", original=school_xlsx, fmt="xlsx",
                         workbook=None)
    assert out == tmp_path / "out" / "r.xlsx" and out.exists()
    assert [p.name for p in out.parent.iterdir()] == ["r.xlsx"]  # no temp file left behind
    wb, before = openpyxl.load_workbook(out), openpyxl.load_workbook(school_xlsx)
    assert wb.sheetnames == [ISSUE_SHEET, SHEET, "填表说明"]
    assert wb.active.title == ISSUE_SHEET
    assert [ws.sheet_view.tabSelected for ws in wb.worksheets] == [True, False, False]
    for name in before.sheetnames:
        assert values(wb[name]) == values(before[name])
    ws = wb[SHEET]
    assert ws["I4"].data_type == "f"
    for coord in ("G7", "B2", "E8", "E9"):
        assert ws[coord].fill.fill_type == "solid" and ws[coord].fill.fgColor.rgb == ERROR_RGB, coord
        assert ws[coord].comment.author == AUTHOR and "• " in ws[coord].comment.text, coord
    assert ws["H10"].fill.fgColor.rgb != ERROR_RGB and "提示" in ws["H10"].comment.text
    assert ws["G7"].comment.text.startswith("校长：待确认") and "请从下拉列表中选择" in ws["G7"].comment.text
    assert ws["C2"].comment is None and ws["A1"].comment is None

    table = issue_table(wb[ISSUE_SHEET])
    assert len(table) == len(school_issues())
    kinds = [r[8] for r in table]
    assert {r[5] for r in table} >= {"选项不在范围内"} and all(r[9] for r in table)  # the type in Chinese, the code last
    assert kinds == sorted(kinds, key=lambda k: k != "错误") and kinds.count("提示") == 1
    cells = [r[2] for r in table if r[1] == SHEET]
    assert cells == ["C2", "G7", "E8", "E9", "H10"]
    assert "—" in [r[2] for r in table]
    links = {c.value: c.hyperlink.location for c in wb[ISSUE_SHEET]["C"] if c.hyperlink is not None}
    assert links["G7"] == f"'{SHEET}'!G7" and "B5" not in links
    summary = " ".join(str(c.value) for c in wb[ISSUE_SHEET]["A"][:4] if c.value)
    assert "城关小学" in summary and "2023年第47周" in summary and "共 6 处错误，1 处提示" in summary
    assert formulas(wb) == {(SHEET, "I4")}  # only the school's own formula


def test_xlsm_and_resubmitted_annotated_copy(school_xlsx, tmp_path):
    """A school sends our annotated copy back (as .xlsm here): old marks and the old list are replaced."""
    first = write_rejected(info(), school_issues(), tmp_path / "a.xlsx", original=school_xlsx, fmt="xlsx", workbook=None)
    xlsm = tmp_path / "back.xlsm"
    shutil.copy(first, xlsm)
    again = write_rejected(info(), [issue("G7")], tmp_path / "b.xlsx", original=xlsm, fmt="xlsm", workbook=None)
    wb = openpyxl.load_workbook(again)
    assert wb.sheetnames == [ISSUE_SHEET, SHEET, "填表说明"]
    assert len(issue_table(wb[ISSUE_SHEET])) == 1
    ws = wb[SHEET]
    assert ws["E8"].comment is None and ws["E8"].fill.fill_type is None
    assert ws["G7"].comment.text.startswith("校长：待确认") and ws["G7"].comment.text.count("• ") == 1


def grid_workbook() -> Workbook:
    rows = [
        ["城关小学安全隐患排查整治台账", None, None],
        ["排查日期", "隐患描述", "整改资金"],
        [dt.datetime(2023, 11, 20), EVIL, 1.5],
        [dt.datetime(2023, 11, 21), "=1+1", 3],
        [None, "\x07控制字符", None],
    ]
    return Workbook("xls", [
        Sheet(SHEET, True, rows, merged=[(0, 0, 0, 2)], hidden_rows=frozenset({4})),
        Sheet("旧表/第46周:备份[1]*?很长很长很长很长很长很长很长很长很长", False, [["x"]]),
    ])


def test_reproduction_for_xls(tmp_path):
    issues = [issue("B3", value=EVIL), issue("C1", "wrong-week", value="标题")]
    out = write_rejected(info(file_name="=1+1.xls"), issues, tmp_path / "r.xlsx", original=None, fmt="xls",
                         workbook=grid_workbook())
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames[0] == ISSUE_SHEET and wb.active.title == ISSUE_SHEET and wb.sheetnames[1] == SHEET
    second = wb.sheetnames[2]
    assert len(second) <= 31 and not set("[]:*?/\\") & set(second) and wb[second].sheet_state == "hidden"
    ws = wb[SHEET]
    assert ws["A1"].value == "城关小学安全隐患排查整治台账" and ws["A3"].value == dt.datetime(2023, 11, 20)
    assert ws["B3"].value == EVIL and ws["B4"].value == "=1+1" and ws["C3"].value == 1.5 and ws["C4"].value == 3
    assert ws["B5"].value == "控制字符" and ws.row_dimensions[5].hidden
    assert [str(r) for r in ws.merged_cells.ranges] == ["A1:C1"]
    assert ws["B3"].fill.fgColor.rgb == ERROR_RGB and ws["B3"].comment.author == AUTHOR
    assert ws["A1"].fill.fgColor.rgb == ERROR_RGB and ws["A1"].comment is not None  # C1 is inside A1:C1
    assert len(issue_table(wb[ISSUE_SHEET])) == 2
    assert not formulas(wb)


def test_explanation_for_unreadable(tmp_path):
    refused = Issue("error", "password-protected", None, None, None, None, "文件设置了打开密码，无法读取",
                    "请取消密码保护后重新报送")
    out = write_rejected(info(file_name="=HYPERLINK(1).xlsx"), [refused], tmp_path / "r.xlsx", original=None,
                         fmt=None, workbook=None)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUE_SHEET]
    text = " ".join(str(v) for row in wb[ISSUE_SHEET].iter_rows(values_only=True) for v in row if v)
    assert "=HYPERLINK(1).xlsx" in text and "文件设置了打开密码" in text and "请取消密码保护" in text
    assert not formulas(wb)


def test_broken_original_falls_back(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    out = write_rejected(info(), [issue("B3")], tmp_path / "a.xlsx", original=bad, fmt="xlsx", workbook=grid_workbook())
    assert openpyxl.load_workbook(out).sheetnames[:2] == [ISSUE_SHEET, SHEET]
    out = write_rejected(info(), [issue("B3")], tmp_path / "b.xlsx", original=bad, fmt="xlsx", workbook=None)
    assert openpyxl.load_workbook(out).sheetnames == [ISSUE_SHEET]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "b.xlsx", "bad.xlsx"]


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    def half_written(path: str) -> None:
        Path(path).write_bytes(b"PK half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        _atomic(tmp_path / "x" / "r.xlsx", half_written)
    assert list((tmp_path / "x").iterdir()) == []


def accepted_receipt(tmp_path, outcome="accepted", note="") -> Path:
    pytest.importorskip("xlsxwriter")
    warns = [issue("F9", "ambiguous-date", "warning", value=EVIL), issue("E9", "old-hazard", "warning", value="=1+1")]
    return write_accepted(info(outcome, file_name="=1+1.xlsx", note=note), warns, tmp_path / "rc" / "a.xlsx")


def test_accepted_receipt(tmp_path):
    out = accepted_receipt(tmp_path)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["回执"]
    rows = list(wb["回执"].iter_rows(values_only=True))
    assert rows[0][0] == "安全隐患周报回执"
    facts = {r[0]: r[2] for r in rows if r[0] and r[2] is not None}
    assert facts["学校"] == "城关小学" and facts["结果"] == "已受理" and facts["文件"] == "=1+1.xlsx"
    assert (facts["本周新增"], facts["仍未整改"], facts["已整改"], facts["其中重大"]) == (3, 5, 4, 1)
    assert facts["收到时间"] == "2023-11-22 09:30:00（按时）" and facts["周次"] == "2023年第47周"
    head = next(n for n, r in enumerate(rows) if r[0] == "序号")
    assert {r[5] for r in rows[head + 1:]} == {"日期存成了数字", "排查日期过早"}
    assert [r[2] for r in rows[head + 1 :]] == ["E9", "F9"]
    assert rows[head][5] == "问题类型" and rows[head][-1] == "代码"
    assert rows[head + 2][4] == EVIL
    assert not formulas(wb)
    assert [p.name for p in out.parent.iterdir()] == ["a.xlsx"]


def test_duplicate_receipt(tmp_path):
    note = "本文件与此前已收到的文件完全相同，未重复计入。"
    wb = openpyxl.load_workbook(accepted_receipt(tmp_path, "duplicate", note))
    facts = {r[0]: r[2] for r in wb["回执"].iter_rows(values_only=True) if r[0]}
    assert facts["结果"] == "重复报送" and facts["说明"] == note and "本周新增" not in facts


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
def test_libreoffice_renders_receipts(school_xlsx, tmp_path):
    files = [write_rejected(info(), school_issues(), tmp_path / "rejected.xlsx", original=school_xlsx, fmt="xlsx",
                            workbook=None)]
    if importlib.util.find_spec("xlsxwriter"):
        files.append(accepted_receipt(tmp_path))
    pdf_dir = tmp_path / "pdf"
    subprocess.run(
        ["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}", "--headless", "--convert-to", "pdf",
         "--outdir", str(pdf_dir), *map(str, files)],
        check=True, capture_output=True, timeout=180,
    )
    for f in files:
        pdf = pdf_dir / f"{f.stem}.pdf"
        assert pdf.exists() and pdf.stat().st_size > 1000, pdf
