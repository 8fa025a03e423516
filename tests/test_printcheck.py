"""The print checker (tests/printcheck.py) against workbooks whose print-out is known.

One workbook of many one-page sheets is printed once (module fixture) and read back; check_print prints it a second
time. Sheet names are ASCII where the page header must not be cut (see test_a_chinese_header_alone_is_cut).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import xlsxwriter

from printcheck import (
    A4,
    HEIGHT_PER_PT,
    Line,
    Page,
    PrintError,
    Word,
    check_print,
    clipped_words,
    estimated_pt,
    missing_text,
    missing_tools,
    overlapping_words,
    pages_by_sheet,
    read_pdf,
    smallest_text_pt,
    to_pdf,
)

SIZES = [6, 7, 7.5, 8, 9, 10, 11]
CJK = "安全隐患排查整治台账"
DIGITS = "2023112012345"
LONG = ("学校教学楼三楼东侧走廊的灭火器压力不足且已过有效期，"
        "应急照明灯损坏两处，疏散指示标志被遮挡需立即整改。")  # 51 characters


def needs_tools():
    missing = missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (LibreOffice, poppler-utils, fonts; .ci/run installs them)")


def build(path: Path) -> list[str]:
    """The test workbook; returns its sheet names."""
    wb = xlsxwriter.Workbook(str(path))

    def fmt(**kw):
        return wb.add_format({"font_name": "宋体", "font_size": 10, **kw})

    def sheet(name, header="&L&A"):
        ws = wb.add_worksheet(name)
        ws.set_paper(9)
        if header:
            ws.set_header(header)
        return ws

    # calibration: one sample per row, CJK then digits, growing sizes; three fonts
    for name, font in [("cal_song", "宋体"), ("cal_calibri", "Calibri"), ("cal_arial", "Arial")]:
        ws = sheet(name)
        ws.set_column(0, 0, 40)
        for i, size in enumerate(SIZES):
            f = fmt(font_name=font, font_size=size)
            ws.write_string(4 * i, 0, CJK, f)
            ws.write_string(4 * i + 2, 0, DIGITS, f)
    ws = sheet("scale70")
    ws.set_print_scale(70)
    ws.set_column(0, 0, 40)
    ws.write_string(0, 0, CJK, fmt())
    ws.write_string(2, 0, DIGITS, fmt(font_name="Calibri"))
    for size in (8, 7.5, 7):  # the threshold: one sheet per size and script
        sheet(f"cjk{size}").write_string(0, 0, CJK, fmt(font_size=size))
        sheet(f"num{size}").write_string(0, 0, DIGITS, fmt(font_name="Calibri", font_size=size))
    ws = sheet("fit")  # 12 columns of 15 characters on a portrait A4 page's width
    ws.fit_to_pages(1, 0)
    ws.set_column(0, 11, 15)
    for c in range(12):
        ws.write_string(0, c, f"第{c + 1}列数据", fmt())
    sheet("letter").set_paper(1)
    wb.worksheets()[-1].write_string(0, 0, "信纸", fmt())
    sheet("noheader", header=None).write_string(0, 0, "没有页眉", fmt())

    # wrapped cells: 51 characters in a 10-wide column (5 per line at 10 pt: 11 lines, 160 pt)
    def wrapped(name, height, valign="top", neighbours=True, top=1):
        ws = sheet(name)
        ws.set_column(0, 0, 10)
        ws.set_column(1, 1, 20)
        plain = fmt(border=1)
        if neighbours:
            ws.write_string(top - 1, 0, "编号", plain)
            ws.write_string(top - 1, 1, "说明", plain)
            ws.write_string(top + 1, 0, "下一行文字", plain)
        ws.write_string(top, 0, LONG, fmt(text_wrap=True, valign=valign, border=1))
        ws.write_string(top, 1, "右边格子", plain)
        if height is not None:
            ws.set_row(top, height)

    wrapped("wrap_ok", 170)
    wrapped("wrap_short", 15)
    wrapped("wrap_auto", None)  # no height: xlsxwriter writes none, the default is 15
    wrapped("wrap_vcenter", 15, valign="vcenter")
    wrapped("wrap_clip", 40, valign="vcenter", neighbours=False, top=12)
    ws = sheet("nowrap")
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 20)
    ws.write_string(0, 0, "这是一个很长的不换行文字甲乙丙丁", fmt())
    ws.write_string(0, 1, "邻格", fmt(align="right"))  # away from A's text: another word
    ws.write_string(2, 0, "大标题", fmt(font_name="黑体", font_size=16))
    ws.set_row(2, 8)

    # the page header: Chinese sheet name alone, and with page numbers on the right
    sheet("一片").write_string(0, 0, "正文", fmt())
    sheet("二片", header="&L&A&R第 &P 页，共 &N 页").write_string(0, 0, "正文", fmt())
    wb.close()
    return [ws.get_name() for ws in wb.worksheets()]


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    needs_tools()
    tmp = tmp_path_factory.mktemp("printcheck")
    xlsx = tmp / "cases.xlsx"
    names = build(xlsx)
    pdf = to_pdf(xlsx, tmp / "pdf")
    pages = read_pdf(pdf)
    return xlsx, pdf, pages, names, pages_by_sheet(pages, names)


def lines_of(grouped, name):
    """The sheet's body lines (the header line left out)."""
    (page,) = grouped[name]
    return [ln for ln in page.lines if ln.text.replace(" ", "") != name]


# ---------------------------------------------------------------- with LibreOffice


@pytest.mark.slow
def test_every_sheet_is_one_a4_page_found_by_its_header(printed):
    _, _, pages, names, grouped = printed
    assert len(pages) == len(names)
    assert {n: len(grouped[n]) for n in names} == {n: 0 if n == "noheader" else 1 for n in names}
    assert [p.text for p in grouped[None]] == ["没有页眉"]
    assert [p.number for p in pages if not p.is_a4] == [grouped["letter"][0].number]
    letter = grouped["letter"][0]
    assert (round(letter.width), round(letter.height)) == (612, 792)
    header = min(grouped["二片"][0].lines, key=lambda ln: ln.y_min)
    assert header.words[0].text == "二片"  # &A prints the sheet name


@pytest.mark.slow
@pytest.mark.parametrize("sheet", ["cal_song", "cal_calibri", "cal_arial"])
def test_box_height_is_1_30_times_the_size_in_every_font(printed, sheet):
    _, _, _, _, grouped = printed
    lines = lines_of(grouped, sheet)
    assert [ln.text for ln in lines] == [CJK, DIGITS] * len(SIZES)
    for i, size in enumerate(SIZES):
        for line in lines[2 * i: 2 * i + 2]:
            (word,) = line.words
            assert estimated_pt(word) == pytest.approx(size, abs=0.03), (sheet, word)
            assert word.height / size == pytest.approx(HEIGHT_PER_PT, abs=0.004)
        cjk = lines[2 * i].words[0]
        assert cjk.width / len(cjk.text) == pytest.approx(size, abs=0.03)  # CJK advance is 1 em


@pytest.mark.slow
def test_the_print_scale_shrinks_the_printed_size(printed):
    _, _, _, _, grouped = printed
    assert [round(estimated_pt(ln.words[0]), 2) for ln in lines_of(grouped, "scale70")] == [7.0, 7.0]
    fit = smallest_text_pt(grouped["fit"])  # fit_to_pages(1, 0): LibreOffice picks the scale
    assert 3 < fit < 8


@pytest.mark.slow
@pytest.mark.parametrize("script", ["cjk", "num"])
def test_8_pt_passes_and_7_5_and_7_fail(printed, script):
    _, _, _, _, grouped = printed
    body = {size: Page(1, *A4, lines_of(grouped, f"{script}{size}")) for size in (8, 7.5, 7)}
    assert smallest_text_pt([body[8]]) >= 8 - 0.05
    assert smallest_text_pt([body[7.5]]) < 8 - 0.05 and smallest_text_pt([body[7]]) < 8 - 0.05
    assert smallest_text_pt([body[7.5]]) == pytest.approx(7.5, abs=0.03)
    assert smallest_text_pt([body[7]]) == pytest.approx(7, abs=0.03)
    # with the header (11 pt) too: the body decides
    assert smallest_text_pt(grouped[f"{script}8"]) >= 8 - 0.05 > smallest_text_pt(grouped[f"{script}7.5"])


@pytest.mark.slow
def test_a_sufficient_row_prints_everything(printed):
    xlsx, _, _, _, grouped = printed
    pages = grouped["wrap_ok"]
    assert not missing_text(xlsx, "wrap_ok", pages)
    assert not overlapping_words(pages[0]) and not clipped_words(pages[0])
    assert sum(len(ln.words) for ln in lines_of(grouped, "wrap_ok") if ln.words[0].x_min < 100) >= 11 + 2


@pytest.mark.slow
@pytest.mark.parametrize("sheet", ["wrap_short", "wrap_auto"])
def test_a_one_line_row_loses_its_wrapped_text(printed, sheet):
    """Top-aligned: LibreOffice prints the first line and leaves the rest out of the PDF; no height = 15 pt."""
    xlsx, _, _, _, grouped = printed
    pages = grouped[sheet]
    missing = missing_text(xlsx, sheet, pages)
    assert sum(missing.values()) == len(LONG) - 5 and "学" not in missing
    assert not overlapping_words(pages[0])


@pytest.mark.slow
def test_a_centred_one_line_row_prints_over_its_neighbours(printed):
    xlsx, _, _, _, grouped = printed
    pages = grouped["wrap_vcenter"]
    over = {frozenset((a.text, b.text)) for a, b in overlapping_words(pages[0])}
    assert frozenset(("编号", "已过有效期")) in over  # the row above
    assert frozenset(("下一行文字", "灯损坏两处")) in over  # the row below
    assert missing_text(xlsx, "wrap_vcenter", pages)  # and most lines are left out


@pytest.mark.slow
def test_a_row_a_few_lines_high_clips_text_only_the_clip_check_sees(printed):
    """All 51 characters are in the PDF and over empty cells: only the glyph clipping tells."""
    xlsx, _, _, _, grouped = printed
    pages = grouped["wrap_clip"]
    assert not missing_text(xlsx, "wrap_clip", pages) and not overlapping_words(pages[0])
    cut = [w.text for w in clipped_words(pages[0])]
    assert 6 <= len(cut) <= 9 and set("".join(cut)) <= set(LONG)  # 11 lines, about 2.7 visible


@pytest.mark.slow
def test_text_past_a_filled_neighbour_and_a_tall_font_in_a_low_row_are_cut(printed):
    xlsx, _, _, _, grouped = printed
    pages = grouped["nowrap"]
    assert [w.text for w in clipped_words(pages[0])] == ["这是一个很长", "大标题"]
    assert missing_text(xlsx, "nowrap", pages) == Counter("的不换行文字甲乙丙丁")


@pytest.mark.slow
def test_a_chinese_header_alone_is_cut(printed):
    _, _, _, _, grouped = printed
    assert [w.text for w in clipped_words(grouped["一片"][0])] == ["一片"]
    assert not clipped_words(grouped["二片"][0])


@pytest.mark.slow
def test_check_print_reports_per_sheet(printed, tmp_path):
    xlsx, _, _, names, _ = printed
    report = check_print(xlsx, tmp_path)
    assert report.page_count == len(names) and report.pages_per_sheet["noheader"] == 0
    assert [p.number for p in report.non_a4] == [names.index("letter") + 1]
    assert report.sheets["cjk8"].smallest_pt >= 7.95 and report.sheets["scale70"].smallest_pt < 7.05
    problems = report.problems(min_pt=8)
    sheets_with_problems = {p.split(":")[0] for p in problems if ":" in p}
    assert sheets_with_problems == {"cal_song", "cal_calibri", "cal_arial", "scale70", "cjk7.5", "cjk7", "num7.5",
                                    "num7", "fit", "wrap_short", "wrap_auto", "wrap_vcenter", "wrap_clip", "nowrap",
                                    "一片", "noheader"}
    assert f"page {names.index('letter') + 1} is 612 x 792 pt, not A4" in problems
    assert any(p.startswith("pages [") and "no sheet name" in p for p in problems)
    assert any(p.startswith("wrap_short: 46 characters of its cells are not printed") for p in problems)
    assert any(p.startswith("cjk7.5: smallest text 7.5 pt < 8 pt") for p in problems)
    assert not any(p.startswith(("cjk8:", "num8:", "wrap_ok:", "二片:")) for p in problems)
    assert report.sheets["fit"].smallest_pt < 6  # 12 columns of 15 on a portrait page's width
    assert not any("smallest" in p for p in report.problems(min_pt=report.sheets["fit"].smallest_pt))


@pytest.mark.slow
def test_to_pdf_reports_what_soffice_said(tmp_path):
    needs_tools()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(PrintError, match="(?s)did not print broken.xlsx.*could not be loaded"):
        to_pdf(broken, tmp_path / "out")
    with pytest.raises(PrintError, match="within 0.01 s"):
        to_pdf(broken, tmp_path / "out", timeout=0.01)


# ---------------------------------------------------------------- without LibreOffice


def page_of(*rows: list[tuple[str, float, float, float, float]], size=A4) -> Page:
    lines = [Line(tuple(Word(*w) for w in row), min(w[1] for w in row), min(w[2] for w in row),
                  max(w[3] for w in row), max(w[4] for w in row)) for row in rows]
    return Page(1, *size, lines)


def test_pages_by_sheet_reads_the_header_line():
    one = page_of([("一片", 50, 20, 72, 34)], [("正文", 50, 60, 72, 73)])
    spaced = page_of([("Sheet", 50, 20, 80, 34), ("2", 83, 20, 90, 34), ("第1页", 280, 20, 310, 34)])
    overflow_above = page_of([("溢出", 50, 10, 72, 23)], [("一片汇总", 50, 20, 94, 34)])
    body_only = page_of([("一片", 50, 300, 72, 313)])
    grouped = pages_by_sheet([one, spaced, overflow_above, body_only], ["一片", "Sheet 2", "一片汇总", "空"])
    assert grouped == {"一片": [one], "Sheet 2": [spaced], "一片汇总": [overflow_above], "空": [],
                       None: [body_only]}


def test_is_a4_either_way_within_2_pt():
    assert page_of([("a", 0, 0, 1, 1)], size=(595.3, 841.9)).is_a4
    assert page_of([("a", 0, 0, 1, 1)], size=(842, 595)).is_a4
    assert not page_of([("a", 0, 0, 1, 1)], size=(612, 792)).is_a4
    assert not page_of([("a", 0, 0, 1, 1)], size=(598, 842)).is_a4


def test_overlaps_need_both_directions_beyond_the_tolerance():
    h = 13.0  # 10 pt
    page = page_of([("上", 50, 100, 100, 100 + h)], [("下", 50, 100 + h - 1, 100, 100 + 2 * h - 1)],  # touching
                   [("旁", 200, 100 + h / 2, 240, 100 + 1.5 * h)],  # beside, not over
                   [("压", 60, 100 + h / 2, 90, 100 + 1.5 * h)])  # over 上 and 下
    assert {(a.text, b.text) for a, b in overlapping_words(page)} == {("上", "压"), ("压", "下")}


def test_smallest_text_uses_the_median_of_a_line():
    odd = ("•", 40, 100, 44, 100 + 5 * HEIGHT_PER_PT)  # one small symbol among 9 pt words
    nine = 100 + 9 * HEIGHT_PER_PT
    page = page_of([odd, ("检查", 50, 100, 68, nine), ("合格", 70, 100, 88, nine)],
                   [("备注", 50, 130, 66, 130 + 8 * HEIGHT_PER_PT)])
    assert smallest_text_pt([page]) == pytest.approx(8)
    assert smallest_text_pt([page_of()]) is None
