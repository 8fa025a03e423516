"""The annotated copy of a rejected .xlsx made by editing its parts (intake/receipt_patched.py): what the school sees
equals what the openpyxl path writes, nothing else of its file changes, and what it cannot edit falls back."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from inspect_pipeline.intake.receipt_annotated import _annotated_original
from inspect_pipeline.intake.receipt_content import AUTHOR, ERROR_RGB, ISSUE_SHEET, WARNING_RGB, _ordered
from inspect_pipeline.intake.receipt_patched import Unpatchable, patched_copy
from inspect_pipeline.intake.receipts import write_rejected
from test_receipts import EVIL, SHEET, info, issue, issue_table, school_issues, values

FIXTURES = Path(__file__).parent / "fixtures"
PHOTO = FIXTURES / "formats" / "photo.png"
EDITED = {"[Content_Types].xml", "_rels/.rels", "docProps/core.xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
          "xl/styles.xml", "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/_rels/sheet1.xml.rels"}


@pytest.fixture
def plain_xlsx(tmp_path) -> Path:
    """A school workbook as office programs write one, without comments: merged title and 学校名称, a formula, a
    date format, a data validation, a picture, a print area on the second sheet (xlsxwriter: it needs no Pillow)."""
    path = tmp_path / "school.xlsx"
    wb = xlsxwriter.Workbook(path, {"strings_to_formulas": False})
    ws = wb.add_worksheet(SHEET)
    ws.merge_range("A1:H1", "城关小学安全隐患排查整治台账")
    ws.write("A2", "学校名称")
    ws.merge_range("B2:D2", "城关小学")
    ws.write_row("A3", ["序号", "排查日期", "隐患部位", "隐患类别", "隐患描述", "整改措施", "隐患等级", "整改状态"])
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    for n in range(1, 31):
        ws.write_row(2 + n, 0, [n])
        ws.write_datetime(2 + n, 1, dt.datetime(2023, 11, 20), date)
        ws.write_row(2 + n, 2, ["教学楼", "消防", f"灭火器过期{n}", "更换", "一般", "未整改"])
    ws.write_string("G7", "较大")
    ws.write_string("E8", EVIL)
    ws.write_string("E9", "=1+1")
    ws.write_formula("I4", "=ROW()", None, 4)
    ws.write_datetime("B5", dt.datetime(2023, 11, 20), wb.add_format({"num_format": "yyyy年m月d日"}))
    ws.data_validation("G4:G33", {"validate": "list", "source": ["一般", "重大"]})
    ws.insert_image("K2", str(PHOTO))
    notes = wb.add_worksheet("填表说明")
    notes.write("A1", "说明文字")
    notes.print_area("A1:B5")
    wb.close()
    return path


def patched(path: Path, issues, tmp_path: Path) -> Path:
    out = tmp_path / "patched.xlsx"
    out.write_bytes(patched_copy(info(), _ordered(issues), path.read_bytes()))
    return out


def with_unmatched(issues):
    """The school's issues and two on cells the file does not have (in an existing row, in a missing row)."""
    return [*issues, issue("M12", value=""), issue("B40", value="")]


def test_the_patched_copy_shows_what_the_openpyxl_copy_shows(plain_xlsx, tmp_path):
    issues = with_unmatched(school_issues())
    ours = openpyxl.load_workbook(patched(plain_xlsx, issues, tmp_path))
    theirs = _annotated_original(info(), _ordered(issues), plain_xlsx)
    before = openpyxl.load_workbook(plain_xlsx)
    assert ours.sheetnames == theirs.sheetnames == [ISSUE_SHEET, SHEET, "填表说明"]
    assert ours.active.title == ISSUE_SHEET
    assert [bool(ws.sheet_view.tabSelected) for ws in ours.worksheets] == [True, False, False]
    assert issue_table(ours[ISSUE_SHEET]) == issue_table(theirs[ISSUE_SHEET])
    links = lambda wb: {c.coordinate: c.hyperlink.location for c in wb[ISSUE_SHEET]["C"] if c.hyperlink}  # noqa: E731
    assert links(ours) == links(theirs) and links(ours)
    head = ours[ISSUE_SHEET]
    assert head.print_title_rows == theirs[ISSUE_SHEET].print_title_rows
    assert head.freeze_panes == theirs[ISSUE_SHEET].freeze_panes and head.auto_filter.ref == theirs[ISSUE_SHEET].auto_filter.ref
    assert [str(r) for r in head.merged_cells.ranges] == [str(r) for r in theirs[ISSUE_SHEET].merged_cells.ranges]
    assert head.page_setup.paperSize == 9 and head.page_setup.orientation == theirs[ISSUE_SHEET].page_setup.orientation
    for r in range(1, head.max_row + 1):
        assert head.row_dimensions[r].height == theirs[ISSUE_SHEET].row_dimensions[r].height, r
    for name in before.sheetnames:
        assert values(ours[name]) == values(before[name])
    ws, their_ws = ours[SHEET], theirs[SHEET]
    for coord in ("G7", "B2", "E8", "E9", "H10", "M12", "B40"):
        assert ws[coord].fill.fgColor.rgb == their_ws[coord].fill.fgColor.rgb, coord
        assert ws[coord].comment.text == their_ws[coord].comment.text and ws[coord].comment.author == AUTHOR, coord
    assert ws["G7"].fill.fgColor.rgb == ERROR_RGB and ws["H10"].fill.fgColor.rgb == WARNING_RGB
    assert ws["C2"].comment is None and ws["A1"].comment is None  # C2 is inside B2:D2: marked on B2
    assert ws["B5"].number_format == "yyyy年m月d日"  # a marked cell keeps its own format
    assert ws["I4"].data_type == "f" and ws["E8"].data_type == "s"
    assert ours.properties.category == "receipt-returned"
    assert ours["填表说明"].print_area == "'填表说明'!$A$1:$B$5"  # its sheet-scoped name moved with it


def test_everything_else_of_the_school_file_is_kept_byte_for_byte(plain_xlsx, tmp_path):
    out = patched(plain_xlsx, school_issues(), tmp_path)
    with zipfile.ZipFile(plain_xlsx) as before, zipfile.ZipFile(out) as after:
        kept = set(before.namelist()) - EDITED
        assert any("media/" in n for n in kept) and any("drawing" in n for n in kept)
        for name in kept:
            assert after.read(name) == before.read(name), name
        assert set(before.namelist()) < set(after.namelist())
    book = openpyxl.load_workbook(out)
    assert book[SHEET].data_validations.dataValidation[0].formula1 == '"一般,重大"'


def test_a_file_written_by_libreoffice_is_patched_and_renders(tmp_path):
    source = FIXTURES / "formats" / "merged_lo.xlsx"
    first = openpyxl.load_workbook(source).sheetnames[0]
    issues = [issue("B3", sheet=first), issue("A1", sheet=first, severity="warning"), issue("Z99", sheet=first)]
    out = patched(source, issues, tmp_path)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == ISSUE_SHEET and book.properties.category == "receipt-returned"
    assert book[first]["B3"].comment.author == AUTHOR and book[first]["Z99"].fill.fgColor.rgb == ERROR_RGB
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'lo'}", "--headless", "--convert-to",
                    "xlsx:Calc MS Excel 2007 XML", "--outdir", str(tmp_path / "lo-out"), str(out)],
                   check=True, capture_output=True, timeout=180)
    again = openpyxl.load_workbook(tmp_path / "lo-out" / out.name)  # LibreOffice read all of it
    assert again.sheetnames[0] == ISSUE_SHEET and again[first]["B3"].comment is not None


def rewritten(path: Path, member: str, change) -> bytes:
    """The workbook at `path` with one member's bytes changed."""
    out = io.BytesIO()
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            dst.writestr(item, change(body) if item.filename == member else body)
    return out.getvalue()


@pytest.mark.parametrize("why, member, change", [
    ("prefixed", "xl/worksheets/sheet1.xml",
     lambda b: b.replace(b"<worksheet xmlns=", b"<x:worksheet xmlns:x=").replace(b"</worksheet>", b"</x:worksheet>")
     .replace(b"<sheetData", b"<x:sheetData").replace(b"</sheetData>", b"</x:sheetData>")),
    ("utf-16", "xl/styles.xml", lambda b: b.decode().replace("UTF-8", "UTF-16").encode("utf-16")),
    ("no reference", "xl/worksheets/sheet1.xml", lambda b: b.replace(b'<c r="G7"', b"<c")),
])
def test_what_cannot_be_edited_falls_back_to_openpyxl(plain_xlsx, tmp_path, why, member, change):
    bent = tmp_path / f"{why}.xlsx"
    bent.write_bytes(rewritten(plain_xlsx, member, change))
    with pytest.raises(Unpatchable):
        patched_copy(info(), _ordered(school_issues()), bent.read_bytes())
    out = write_rejected(info(), school_issues(), tmp_path / "r.xlsx", original=bent, fmt="xlsx", workbook=None)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == ISSUE_SHEET and book[SHEET]["G7"].comment.author == AUTHOR


def test_a_minimal_package_gets_its_document_properties(plain_xlsx, tmp_path):
    bare = io.BytesIO()
    with zipfile.ZipFile(plain_xlsx) as src, zipfile.ZipFile(bare, "w") as dst:
        for item in src.infolist():
            if item.filename not in ("docProps/core.xml", "docProps/app.xml"):
                body = src.read(item.filename)
                if item.filename in ("_rels/.rels", "[Content_Types].xml"):
                    body = re.sub(rb"<(Relationship|Override)[^>]*docProps/(core|app)\.xml\"/>", b"", body)
                dst.writestr(item, body)
    minimal = tmp_path / "minimal.xlsx"
    minimal.write_bytes(bare.getvalue())
    assert openpyxl.load_workbook(minimal).properties.category is None
    book = openpyxl.load_workbook(patched(minimal, school_issues(), tmp_path))
    assert book.properties.category == "receipt-returned" and book.sheetnames[0] == ISSUE_SHEET


def test_a_sheet_name_with_quotes_and_a_hostile_file_name(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "校'表&<1>"
    wb.active["A1"] = "x"
    src = tmp_path / "q.xlsx"
    wb.save(src)
    hostile = info(file_name="<a>&'b'.xlsx")
    out = tmp_path / "r.xlsx"
    out.write_bytes(patched_copy(hostile, [issue("A1", sheet="校'表&<1>")], src.read_bytes()))
    book = openpyxl.load_workbook(out)
    (link,) = [c.hyperlink.location for c in book[ISSUE_SHEET]["C"] if c.hyperlink]
    assert link == "'校''表&<1>'!A1"
    assert "<a>&'b'.xlsx" in " ".join(str(c.value) for c in book[ISSUE_SHEET]["A"][:3])
    assert book[ISSUE_SHEET].oddFooter.center.text == "文件：<a>&&'b'.xlsx"  # "&&" prints one "&"
    assert book[ISSUE_SHEET].oddHeader.left.text == "&A"
