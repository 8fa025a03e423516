"""A bad roster names every problem where the clerk finds it in Excel — sheet, row, column — with what is wrong
and what is allowed; many problems are listed up to a point, and the rows of all of them are named. A file that is
no workbook (text, PDF, Word, a web page, random bytes saved as roster.xlsx) is said to be what it is."""

from __future__ import annotations

import io
import random
import re
import zipfile

import pytest
from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.core.errors import RosterError
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo import synth
from inspect_pipeline.schools.roster import load_roster
from inspect_pipeline.schools.roster_problems import SHOWN, RosterProblems, row_ranges
from support import drop, hazard, make_root, school_book

NOW = "2023-11-23T10:00:00+08:00"
SHEET = "包片包校安排表"  # the sheet the demo's roster writer names
LINE = re.compile(rf"^工作表“{SHEET}”第 (\d+) 行 ([A-Z]+) 列（(.+?)）：(.+)$")


def district(tmp_path, edit=None, units: int = 240):
    """A data root holding the demo generator's roster of `units` schools, after `edit(rows)`; school i is on
    Excel row i + 2 (headers in row 1)."""
    root = make_root(tmp_path)
    rows = synth.make_roster(units, 6, seed=7)
    if edit is not None:
        edit(rows)
    synth.write_roster(rows, root / "roster.xlsx")
    return root


def roster_error(root) -> RosterError:
    with pytest.raises(RosterError) as raised:
        load_roster(root / "roster.xlsx", load_settings(root))
    return raised.value


def seven_defects(rows: list[dict]) -> None:
    rows[4]["stage"] = "大学"  # row 6
    rows[9]["school_code"] = "123"  # row 11
    rows[14]["section_owner"] = None  # row 16
    rows[19]["zone_leader"] = "另一位领导"  # row 21
    rows[24]["aliases"] = rows[0]["school_name"]  # row 26: another school's full name
    rows[29]["active_from"] = "下学期"  # row 31
    rows[34]["urban_rural"] = "城市"  # row 36


def test_every_problem_is_named_with_sheet_row_column_and_what_is_allowed(tmp_path):
    error = roster_error(district(tmp_path, seven_defects))
    assert isinstance(error, RosterProblems)
    assert error.headline == (f"学校名单 roster.xlsx 有 7 处问题，在工作表“{SHEET}”第 6、11、16、21、26、31、36 行；"
                              "请逐条修改后重新运行：")
    found = [LINE.match(line) for line in error.details]
    assert all(found), error.details
    assert [(int(m[1]), m[2], m[3]) for m in found] == [
        (6, "D", "学段"), (11, "B", "学校标识码"), (16, "J", "包校责任人"), (21, "H", "包片领导"),
        (26, "C", "简称"), (31, "N", "启用日期"), (36, "E", "城乡"),
    ]
    said = {int(m[1]): m[4] for m in found}
    assert "“大学”不是可选的学段" in said[6] and "幼儿园、小学、初中、高中、中职、特教" in said[6]
    assert "“123”不是 10 位数字" in said[11] and "可以留空" in said[11]
    assert "没有填写" in said[16] and "必填" in said[16]
    assert "另一位领导" in said[21] and "每个片区只能有一位包片领导" in said[21] and re.search(r"第 \d+ 行写作", said[21])
    assert "第 2 行" in said[26] and "每个简称只能对应一所学校" in said[26]
    assert "“下学期”不是日期" in said[31] and "2023-09-01" in said[31]
    assert "“城市”不是可选的城乡类别" in said[36] and "城区、镇区、乡村" in said[36]
    assert str(error).splitlines() == [error.headline, *error.details]  # the logs and the flows see all of it


def test_a_duplicate_names_the_row_it_repeats(tmp_path):
    def duplicate(rows):
        rows[50]["school_name"] = rows[3]["school_name"]
        rows[60]["school_code"] = rows[3]["school_code"]

    error = roster_error(district(tmp_path, duplicate))
    lines = {int(m[1]): m[4] for m in map(LINE.match, error.details)}
    assert f"“{synth.make_roster(240, 6, seed=7)[3]['school_name']}”与第 5 行重复" in lines[52]
    assert "与第 5 行重复" in lines[62] and "学校标识码各不相同" in lines[62]


def test_very_many_problems_list_the_first_and_name_the_rows_of_all(tmp_path):
    def no_stage(rows):
        for i in (*range(10, 13), *range(40, 81)):  # Excel rows 12–14 and 42–82
            rows[i]["stage"] = None

    error = roster_error(district(tmp_path, no_stage))
    assert "有 44 处问题" in error.headline and "第 12–14、42–82 行" in error.headline
    listed, rest = error.details[:SHOWN], error.details[SHOWN:]
    assert [int(LINE.match(line)[1]) for line in listed] == [12, 13, 14, *range(42, 59)]
    assert rest == ("……另有 24 处问题未逐条列出，在第 59–82 行（改好以上各处后再运行，会列出其余的问题）",)


def test_the_command_prints_a_headline_and_one_line_per_problem_and_touches_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    root = district(tmp_path, seven_defects)
    inbox_file = drop(root, "a.xlsx", school_book(rows=[hazard()]))
    result = CliRunner().invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("错误：学校名单 roster.xlsx 有 7 处问题") and len(lines) == 8, result.output
    assert all(line.startswith(f"  工作表“{SHEET}”第 ") for line in lines[1:]), result.output
    assert "\\x0a" not in result.output and "Traceback" not in result.output
    assert inbox_file.exists() and not any((root / "archive").iterdir())


def test_a_single_problem_stays_one_line(tmp_path):
    error = roster_error(district(tmp_path, lambda rows: rows[7].update(stage="大学")))
    assert not isinstance(error, RosterProblems)
    assert str(error) == (f"学校名单 roster.xlsx 工作表“{SHEET}”第 9 行 D 列（学段）：“大学”不是可选的学段；可填：幼儿园、小学、"
                          "初中、高中、中职、特教（九年一贯制、十二年一贯制、完全中学计为初中）。请修改后重新运行。")


def test_row_ranges_are_compact():
    assert row_ranges([15, 12, 40, 41, 42, 43, 44, 45, 12]) == "12、15、40–45"
    assert row_ranges([3, 4]) == "3、4" and row_ranges([7]) == "7" and row_ranges([]) == ""


# ---------------------------------------------------------------- a roster that is no workbook


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("roster.xlsx", "学校名称,学段,片区\n丰润区第一实验小学,小学,一片\n".encode("gbk"),
         ["而是一个文本文件", "第一行是“学校名称,学段,片区”", "roster.csv"]),
        ("roster.xlsx", b"hello", ["而是一个文本文件", "“hello”"]),
        ("roster.xlsx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", ["而是 PDF 文件"]),
        ("roster.xlsx", docx_bytes(), ["而是 Word 文档"]),
        ("roster.xls", "<html><head><meta charset=gbk></head><body><table><tr><td>学校名称</td></tr></table>".encode("gbk"),
         ["而是网页文件（HTML）"]),
        ("roster.xlsx", bytes(random.Random(3).randrange(256) for _ in range(3000)) + b"\x00", ["认不出类型"]),
    ],
    ids=["csv-text", "text", "pdf", "docx", "html-as-xls", "random-bytes"],
)
def test_a_file_that_is_no_workbook_is_said_to_be_what_it_is(tmp_path, name, data, says):
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    (root / name).write_bytes(data)
    with pytest.raises(RosterError) as raised:
        load_roster(root / name, load_settings(root))
    message = str(raised.value)
    assert message.startswith(f"学校名单 {name} 不是 Excel 工作簿") and "找不到表头" not in message, message
    assert all(s in message for s in says), message
    assert "另存为“Excel 工作簿（*.xlsx）”" in message and str(root.resolve() / name) in message


def test_a_real_csv_roster_is_still_read(tmp_path):
    """Only a text file named like a workbook is refused: roster.csv is a roster."""
    root = make_root(tmp_path)
    (root / "roster.xlsx").unlink()
    (root / "roster.csv").write_text("学校名称,学段,片区,包片领导,包校科室,包校责任人\n丰润区第一实验小学,小学,一片,赵局长,安法科,钱明\n",
                                     encoding="utf-8")
    assert [s.name for s in load_roster(root / "roster.csv", load_settings(root)).schools] == ["丰润区第一实验小学"]


def test_a_sheet_without_headers_names_the_sheet_and_the_columns_it_needs(tmp_path):
    root = make_root(tmp_path)
    (root / "roster.xlsx").write_bytes(school_book(rows=[hazard()]))  # a school's report saved as the roster
    message = str(roster_error(root))
    assert "工作表“隐患排查”前 20 行中找不到表头" in message and "学校名称、学段、片区" in message, message
