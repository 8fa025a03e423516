"""Accepted receipts rendered from a per-shape template (write/templated.py) are, member for member, what xlsxwriter
writes for the same receipt: the first of each shape is xlsxwriter's own, every later one is rendered."""

from __future__ import annotations

import dataclasses
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from inspect_pipeline.core.issues import Issue
from inspect_pipeline.intake import receipts
from inspect_pipeline.write import templated
from inspect_pipeline.write.book import Book

from test_receipts import info

STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {i.filename: STAMP.sub(b"T", z.read(i)) for i in z.infolist()}


def warning(cell: str, value: str) -> Issue:
    return Issue("warning", "date-as-number", "隐患排查", cell, "排查日期", value, "日期存成了数字", "请填写日期")


CASES = {
    "plain": (info("accepted"), []),
    "warnings": (info("accepted"), [warning("E9", "45250"), warning("F9", '=HYPERLINK("http://x","y")')]),
    "other warnings": (info("accepted", file_name="b.xlsx"), [warning(f"E{n}", " 带空格 ") for n in range(3, 40)]),
    "duplicate with a note": (info("duplicate", note="本文件与此前已收到的文件完全相同，未重复计入。" * 4), []),
    "markup and controls": (dataclasses.replace(info("accepted", file_name="a&b<c>\"d\"_x0041_.xlsx"),
                                                school_name=" 城关\t小学 &amp; ", school_code=None), []),
    "long names": (dataclasses.replace(info("accepted", file_name="很长的文件名" * 40 + ".xlsx"),
                                       school_name="学校" * 60), [warning("A1", "x" * 300)]),
    "no counts": (dataclasses.replace(info("accepted"), counts={}, on_time=None), []),
}


@pytest.fixture
def fresh_templates():
    templated.clear_templates()
    yield
    templated.clear_templates()


def test_rendered_receipts_equal_xlsxwriter(tmp_path, monkeypatch, fresh_templates):
    for rounds in range(2):  # the first round makes the templates, the second renders from them
        for name, (receipt_info, warnings) in CASES.items():
            ours = receipts.write_accepted(receipt_info, warnings, tmp_path / f"{rounds}-{name}.xlsx")
            with monkeypatch.context() as m:
                m.setattr(receipts, "TemplatedBook", Book)
                theirs = receipts.write_accepted(receipt_info, warnings, tmp_path / f"{rounds}-{name}-xw.xlsx")
            assert members(ours) == members(theirs), name
            openpyxl.load_workbook(ours)  # opens
    assert any(templated._templates.values())  # the second round was rendered, not replayed


def test_rendered_from_a_template(tmp_path, fresh_templates, monkeypatch):
    receipts.write_accepted(*CASES["plain"], tmp_path / "first.xlsx")
    replayed = []
    monkeypatch.setattr(templated._RecordedWorkbook, "_replay", lambda self: replayed.append(self.path))
    out = receipts.write_accepted(dataclasses.replace(info("accepted"), school_name="另一所学校"), [],
                                  tmp_path / "second.xlsx")
    assert not replayed
    facts = {r[0]: r[2] for r in openpyxl.load_workbook(out)["回执"].iter_rows(values_only=True) if r[0]}
    assert facts["学校"] == "另一所学校" and facts["隐患条数"] == 12


def test_unknown_calls_go_through_xlsxwriter(tmp_path, fresh_templates):
    for n in range(2):
        book = templated.TemplatedBook(tmp_path / f"{n}.xlsx", "receipt-accepted")
        sheet = book.sheet("回执", widths={0: 10})
        sheet.put(0, 0, "收到时间")
        sheet.link(1, 0, "internal:'回执'!A1", "链接")  # write_url: not rendered
        book.close()
        assert openpyxl.load_workbook(tmp_path / f"{n}.xlsx")["回执"]["A2"].value == "链接"
    assert not any(templated._templates.values())


def test_a_second_sheet_goes_through_xlsxwriter(tmp_path, fresh_templates):
    book = templated.TemplatedBook(tmp_path / "two.xlsx", "receipt-accepted")
    book.sheet("回执", widths={0: 10}).put(0, 0, "一")
    book.sheet("说明", widths={0: 10}).put(0, 0, "二")
    book.close()
    wb = openpyxl.load_workbook(tmp_path / "two.xlsx")
    assert wb.sheetnames == ["回执", "说明"] and wb["说明"]["A1"].value == "二"
    assert not any(templated._templates.values())
