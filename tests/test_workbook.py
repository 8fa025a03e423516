"""The reader: format detection from bytes, true Excel coordinates, merged ranges, hidden sheets/rows, refusals.

Fixtures are in fixtures/formats (regenerate with make_formats.py); the .xls/.ods/`_lo.xlsx` ones are LibreOffice's.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from inspect_pipeline.core.settings import Limits
from inspect_pipeline.read.sniff import detect_format
from inspect_pipeline.read.grid import DAMAGED, FileRefused
from inspect_pipeline.read.books import read_workbook

FORMATS = Path(__file__).parent / "fixtures" / "formats"
LIMITS = Limits()
TITLE = "XX学校安全隐患排查整治台账（第47周）"


def read(name: str, limits: Limits = LIMITS, as_name: str | None = None):
    """Return the fixture `name` read as if it arrived called `as_name`."""
    return read_workbook((FORMATS / name).read_bytes(), as_name or name, limits)


def refusal(data: bytes, file_name: str, limits: Limits = LIMITS) -> tuple[str, str]:
    """Return (code, detail) of the FileRefused that reading the bytes raises."""
    with pytest.raises(FileRefused) as info:
        read_workbook(data, file_name, limits)
    return info.value.code, info.value.detail


def xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    """Return an openpyxl workbook saved to bytes."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# ---- the same sheet, written by openpyxl and by LibreOffice in three formats


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("merged.xlsx", "xlsx"), ("merged_lo.xlsx", "xlsx"), ("merged_lo.xls", "xls"), ("merged_lo.ods", "ods")],
)
def test_every_format_gives_the_same_cells_at_excel_coordinates(name, fmt):
    book = read(name)
    assert book.format == fmt
    assert [(s.name, s.visible) for s in book.sheets] == [("隐患排查", True), ("旧表", False), ("说明", True)]
    rows = book.sheets[0].rows
    # rows[i][j] is Excel cell (i+1, j+1): the first used cell is C3, rows 1-2 and columns A-B are empty
    assert rows[2][2] == TITLE
    assert all(value is None for row in rows[:2] for value in row)
    assert all(row[0] is None and row[1] is None for row in rows)
    assert rows[3][2] == "填报单位：XX学校" and rows[3][7] == dt.date(2023, 11, 24)
    assert rows[4][2:8] == ["序号", "隐患部位", "隐患描述", "隐患等级", "整改资金（万元）", "排查日期"]
    assert rows[5][2:8] == [1, "教学楼", "三楼消防栓水压不足", "一般", 0.5, dt.date(2023, 11, 20)]
    assert rows[6][3] is None and rows[7][3] is None  # covered by the vertical merge
    assert rows[8][2:8] == [4, "食堂", "燃气报警器失灵", "一般", 1.25, dt.date(2023, 11, 23)]
    assert rows[5][9] == "#DIV/0!"  # calamine reads error cells as empty; the reader restores them
    assert rows[6][9] == True  # noqa: E712 (LibreOffice's ods stores this TRUE() as the number 1)
    assert rows[7][9] == dt.time(8, 30)
    assert rows[8][9] == dt.datetime(2023, 11, 24, 9, 15)
    assert len(rows) == 9
    # title C3:H3 and 隐患部位 D6:D8, 0-based inclusive
    assert book.sheets[0].merged == [(2, 2, 2, 7), (5, 3, 7, 3)]
    assert book.sheets[0].hidden_rows == {7}  # Excel row 8
    assert book.sheets[1].rows == [["上周数据"]]
    assert book.sheets[2].rows == [[None, None], [None, "本表由学校安全办填写"]]


def test_cells_match_openpyxl_for_the_openpyxl_file():
    rows = read("merged.xlsx").sheets[0].rows
    sheet = openpyxl.load_workbook(FORMATS / "merged.xlsx")["隐患排查"]
    for row in sheet.iter_rows():
        for cell in row:
            expected = cell.value
            if isinstance(expected, dt.datetime) and expected.time() == dt.time(0):
                expected = expected.date()  # openpyxl gives midnight datetimes for date-formatted cells
            assert rows[cell.row - 1][cell.column - 1] == expected, cell.coordinate


def test_integers_come_as_float_from_xlsx_and_as_int_from_xls():
    assert type(read("merged.xlsx").sheets[0].rows[5][2]) is float
    assert type(read("merged_lo.xls").sheets[0].rows[5][2]) is int


def test_very_hidden_sheet_is_not_visible():
    wb = openpyxl.Workbook()
    wb.active["A1"] = "表"
    wb.create_sheet("选项").sheet_state = "veryHidden"
    book = read_workbook(xlsx_bytes(wb), "a.xlsx", LIMITS)
    assert [(s.name, s.visible) for s in book.sheets] == [("Sheet", True), ("选项", False)]


def test_hidden_rows_below_the_data_are_not_reported():
    wb = openpyxl.Workbook()
    for r in range(1, 6):
        wb.active.cell(r, 1, r)
    for r in (2, 4, 50):
        wb.active.row_dimensions[r].hidden = True
    assert read_workbook(xlsx_bytes(wb), "a.xlsx", LIMITS).sheets[0].hidden_rows == {1, 3}


def test_merged_ranges_are_cut_to_the_grid():
    wb = openpyxl.Workbook()
    wb.active["A1"] = "标题"
    wb.active["B2"] = "x"
    wb.active.merge_cells("A1:C1")  # column C holds nothing
    wb.active.merge_cells("B2:B1000")
    wb.active.merge_cells("D5:E6")  # outside the grid
    assert read_workbook(xlsx_bytes(wb), "a.xlsx", LIMITS).sheets[0].merged == [(0, 0, 0, 1)]


def test_xlsx_renamed_xls_is_read_as_xlsx():
    book = read("xlsx_renamed.xls")
    assert book.format == "xlsx"
    assert book.sheets[0].rows[2][2] == TITLE


def test_xlsm_is_recognised_by_its_vba_project():
    source = zipfile.ZipFile(FORMATS / "merged.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.writestr("xl/vbaProject.bin", b"\0" * 16)
    book = read_workbook(buffer.getvalue(), "a.xlsx", LIMITS)
    assert book.format == "xlsm"
    assert book.sheets[0].rows[2][2] == TITLE


# ---- csv


@pytest.mark.parametrize("name", ["utf8.csv", "gb18030.csv"])
def test_csv_in_utf8_and_gb18030(name):
    book = read(name)
    assert book.format == "csv"
    [sheet] = book.sheets
    assert sheet.name == name.removesuffix(".csv") and sheet.visible
    assert sheet.rows[0] == ["序号", "隐患部位", "隐患描述"]
    assert sheet.rows[1][:2] == ["1", "教学楼"]
    assert sheet.rows[1][2].startswith("消防栓水压不足")
    assert sheet.rows[2] == ["2", "食堂", None]


def test_csv_with_semicolons_and_trailing_blank_lines():
    book = read_workbook("部位;描述\r\n食堂;燃气\r\n\r\n\r\n".encode(), "周报.csv", LIMITS)
    assert book.sheets[0].name == "周报"
    assert book.sheets[0].rows == [["部位", "描述"], ["食堂", "燃气"]]


# ---- refusals


@pytest.mark.parametrize(
    ("name", "code", "detail"),
    [
        ("empty.xlsx", "unreadable-file", "文件为空（0 字节）"),
        ("truncated.xlsx", "unreadable-file", DAMAGED),
        ("html_renamed.xls", "unsupported-format", "网页文件（HTML），不是真正的 Excel 文件"),
        ("spreadsheetml2003.xls", "unsupported-format", "网页文件（HTML），不是真正的 Excel 文件"),
        ("report.docx", "unsupported-format", "Word 文档（.docx）"),
        ("scan.pdf", "unsupported-format", "PDF 文件"),
        ("photo.png", "unsupported-format", "图片"),
        ("wps.et", "unsupported-format", "WPS 表格格式（.et）"),
        ("encrypted.xlsx", "password-protected", "设置了密码的 Excel 文件"),
        ("encrypted.xls", "password-protected", "设置了密码的 Excel 文件"),
        ("encrypted.ods", "password-protected", "设置了密码的 ODS 表格"),
    ],
)
def test_refused_files(name, code, detail):
    assert refusal((FORMATS / name).read_bytes(), name) == (code, detail)


def test_detection_ignores_the_extension_except_et():
    xls = (FORMATS / "merged_lo.xls").read_bytes()
    assert detect_format(xls, "周报.xlsx", LIMITS) == "xls"
    assert detect_format((FORMATS / "merged_lo.ods").read_bytes(), "周报.xls", LIMITS) == "ods"
    assert refusal(xls, "周报.ET")[0] == "unsupported-format"


def test_other_zip_and_binary_files():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("照片/1.jpg", b"\xff\xd8\xff")
    assert refusal(buffer.getvalue(), "周报.xlsx") == ("unsupported-format", "压缩包")
    assert refusal(b"\x01\x02\x00\x03" * 10, "周报.xls") == ("unsupported-format", "无法识别的文件类型")


def test_file_over_the_size_limit():
    limits = Limits(max_file_mb=0.001)
    assert refusal((FORMATS / "merged.xlsx").read_bytes(), "a.xlsx", limits) == (
        "unreadable-file", "文件过大（超过 0.001 MB）"
    )


def zip_with_sheet(sheet_xml: bytes) -> bytes:
    """Return a zip laid out like an xlsx whose first sheet part holds sheet_xml (not a valid workbook)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()


def test_zip_bomb_is_refused_before_it_is_unpacked():
    # 5 MB of zeros packs to ~5 KB: ratio ~1000 against a limit of 200
    assert refusal(zip_with_sheet(b"\0" * 5_000_000), "a.xlsx") == ("unreadable-file", "压缩比异常（超过 200 倍）")
    limits = Limits(max_uncompressed_mb=1)
    assert refusal(zip_with_sheet(b"\0" * 2_000_000), "a.xlsx", limits) == ("unreadable-file", "解压后超过 1 MB")


def test_sheet_over_the_cell_limit():
    # the area counts from A1: calamine builds the grid from A1
    assert refusal((FORMATS / "merged.xlsx").read_bytes(), "a.xlsx", Limits(max_cells=50)) == (
        "unreadable-file", "工作表“隐患排查”的数据范围过大（A1:J9 共 90 格，上限 50 格）"
    )
    # xls: calamine reserves room for the range the DIMENSIONS record declares
    assert refusal((FORMATS / "merged_lo.xls").read_bytes(), "a.xls", Limits(max_cells=50)) == (
        "unreadable-file", "工作表“隐患排查”的声明范围过大（C3:J9 共 56 格，上限 50 格）"
    )
    # ods: refused as soon as the area passes the limit, before the rest is read
    assert refusal((FORMATS / "merged_lo.ods").read_bytes(), "a.ods", Limits(max_cells=50)) == (
        "unreadable-file", "工作表“隐患排查”的数据范围过大（A1:J6 共 60 格，上限 50 格）"
    )


def test_cell_at_xfd1048576_is_refused_before_calamine():
    # calamine would allocate A1:XFD1048576 (512 GB) and abort the whole process: a failure here kills pytest
    wb = openpyxl.Workbook()
    wb.active["A1"] = "a"
    wb.active["XFD1048576"] = "z"
    assert refusal(xlsx_bytes(wb), "a.xlsx")[0] == "unreadable-file"


def test_xls_with_damaged_dimensions_is_refused_before_calamine():
    # an inverted DIMENSIONS record makes calamine reserve terabytes and abort the process
    data = bytearray((FORMATS / "merged_lo.xls").read_bytes())
    at = data.index(b"\x00\x02\x0e\x00")  # the first DIMENSIONS record header (type 0x200, 14 bytes)
    first_row, end_row = struct.unpack_from("<II", data, at + 4)
    struct.pack_into("<I", data, at + 4, end_row + 5)
    assert refusal(bytes(data), "a.xls") == ("unreadable-file", DAMAGED)


def test_damaged_xlsx_member_is_unreadable():
    data = bytearray((FORMATS / "merged.xlsx").read_bytes())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + 10 : start + 60] = b"\xff" * 50  # garble the deflated sheet
    assert refusal(bytes(data), "a.xlsx") == ("unreadable-file", DAMAGED)


def test_durations_become_times_or_hours():
    wb = openpyxl.Workbook()
    for row, days in enumerate((0.5, 1.5), start=1):
        wb.active.cell(row, 1, days).number_format = "[h]:mm:ss"  # calamine reads these as timedelta
    rows = read_workbook(xlsx_bytes(wb), "a.xlsx", LIMITS).sheets[0].rows
    assert rows == [[dt.time(12, 0)], ["36:00:00"]]
