"""Limits decided from a file's content before anything is allocated (books.py, the XML scans of xmlsafe.py,
xlsxscan.py and odsscan.py, sniff.py).

Every hostile file of hostile.py is a few KB and would make calamine (or openpyxl, later) allocate gigabytes; each is
refused with a detail naming what exceeded and the limit. The memory bound itself is checked by reading them all in
a subprocess whose address space is capped (Linux): a file that got past the checks would abort it. Unusual but
legal files read like their plain counterparts; a real 1,000,000-row sheet is accepted.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import time
import zipfile
from array import array
from pathlib import Path

import hostile
import openpyxl
import pytest
import xlsxwriter

from inspect_pipeline.read import books, cellrefs, xlsxscan, xmlsafe
from inspect_pipeline.read.grid import DAMAGED, FileRefused
from inspect_pipeline.core.settings import Limits
from inspect_pipeline.read.sniff import detect_format
from inspect_pipeline.read.books import _sst_lengths, read_workbook

LIMITS = Limits()
FORMATS = Path(__file__).parent / "fixtures" / "formats"
LINUX = sys.platform.startswith("linux")
CAP = "上限 2,000,000 格"
TEXT_CAP = "上限 50,000,000 字"
CELL_TEXT_CAP = "上限 32,767 字"

# (builder call, file name, the detail's characteristic part)
HOSTILE = [
    ("xlsx_merge_to_xfd()", "a.xlsx", f"工作表“隐患排查”的合并单元格过大（A30:XFD1048576 共 17,179,394,048 格，{CAP}）"),
    ("xlsx_many_merges()", "a.xlsx", f"工作表“隐患排查”的合并单元格合计过大（至少 2,010,000 格，{CAP}）"),
    ("xlsx_cell_far_away('t-first')", "a.xlsx", f"工作表“隐患排查”的数据范围过大（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_cell_far_away('s-first')", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_prefixed(far=True)", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_foreign_namespace_far()", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_implicit_far()", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_case_mismatched_target()", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_relocated_workbook()", "a.xlsx", f"（A1:CV600000 共 60,000,000 格，{CAP}）"),
    ("xlsx_column_zzzz()", "a.xlsx", "工作表“隐患排查”的单元格位置超出 Excel 的范围（ZZZZ4，最大为 XFD1048576）"),
    ("xlsx_row_beyond_excel()", "a.xlsx", "单元格位置超出 Excel 的范围（第 5000000 行，最大为 XFD1048576）"),
    ("xlsx_shared_string_bomb()", "a.xlsx", f"单元格文字展开后过多（读到工作表“隐患排查”时已达 50,016,000 字，{TEXT_CAP}）"),
    ("xlsx_shared_string_bomb(nested=True)", "a.xlsx", f"已达 50,017,563 字，{TEXT_CAP}）"),
    ("xlsx_shared_string_too_long()", "a.xlsx", f"共享字符串表中的文字过长（第 1 条至少 40,000 字，{CELL_TEXT_CAP}）"),
    ("xlsx_unique_count_huge()", "a.xlsx", "共享字符串表声明的条目数过大（4,000,000,000 条，上限 2,000,000 条）"),
    ("xlsx_many_sheets_at_limit()", "a.xlsx", f"全部工作表的数据范围合计过大（共 4,000,000 格，{CAP}）"),
    ("xlsx_doctype_entities()", "a.xlsx", DAMAGED),
    ("xlsx_doctype_entities(part='shared')", "a.xlsx", DAMAGED),
    ("xlsx_doctype_in_styles()", "a.xlsx", DAMAGED),
    ("ods_space_bomb()", "a.ods", f"工作表“隐患排查”的单元格文字过长（A2 至少 1,500,000,001 字，{CELL_TEXT_CAP}）"),
    ("ods_cell_text_too_long()", "a.ods", f"工作表“隐患排查”的单元格文字过长（A2 至少 40,000 字，{CELL_TEXT_CAP}）"),
    ("ods_repeated_rows_with_values()", "a.ods", f"（A1:CV1000001 共 100,000,100 格，{CAP}）"),
    ("ods_repeated_text()", "a.ods", f"单元格文字展开后过多（读到工作表“隐患排查”时已达 120,000,010 字，{TEXT_CAP}）"),
    ("ods_formula_repeat_bomb()", "a.ods", f"已达 23,997,000,010 字，{TEXT_CAP}）"),
    ("ods_span_bomb()", "a.ods", f"工作表“隐患排查”的合并单元格过大（A1起 1000000 行 × 1000 列 共 1,000,000,000 格，{CAP}）"),
    ("ods_repeated_spans()", "a.ods", f"工作表“隐患排查”的合并单元格合计过大（至少 20,000,000 格，{CAP}）"),
    ("ods_doctype_entities()", "a.ods", DAMAGED),
    ("xls_merged_huge()", "a.xls", f"工作表“隐患排查”的合并单元格过大（A1:IV65536 共 16,777,216 格，{CAP}）"),
    ("xls_merged_many()", "a.xls", f"工作表“隐患排查”的合并单元格合计过大（至少 2,478,080 格，{CAP}）"),
    ("xls_dimensions_huge()", "a.xls", f"工作表“隐患排查”的声明范围过大（A1:IV65536 共 16,777,216 格，{CAP}）"),
]
# unusual but legal: read like hostile.xlsx_table()
LEGAL = ["xlsx_prefixed(far=False)", "xlsx_table(ns=STRICT_MAIN)", "xlsx_table(prefix='s', ns=STRICT_MAIN)",
         "xlsx_table(first_attr='t')", "xlsx_implicit_positions()", "xlsx_dimension_huge()"]


def build(call: str) -> bytes:
    """Return the bytes of a hostile.py builder call written as text ("xlsx_prefixed(far=True)")."""
    return eval(call, {"__builtins__": {}}, vars(hostile))  # our own literal calls, above


def refusal(data: bytes, name: str, limits: Limits = LIMITS) -> tuple[str, str]:
    """Return (code, detail) of the FileRefused that reading the bytes raises."""
    with pytest.raises(FileRefused) as info:
        read_workbook(data, name, limits)
    return info.value.code, info.value.detail


# ---- hostile files are refused, tiny on disk, with a detail naming the limit


@pytest.mark.parametrize(("call", "name", "detail"), HOSTILE, ids=[c for c, _, _ in HOSTILE])
def test_hostile_file_is_refused_naming_the_limit(call, name, detail):
    data = build(call)
    assert len(data) < 20_000
    code, found = refusal(data, name)
    assert code == "unreadable-file"
    assert detail in found


@pytest.mark.skipif(not LINUX, reason="RLIMIT_AS is enforced on Linux only")
def test_hostile_files_are_refused_within_a_capped_address_space(tmp_path):
    # a file that got past the checks makes calamine request gigabytes: under the cap, the allocation fails and the
    # process aborts, so every line below would be missing from the output
    files = [(call, name) for call, name, _ in HOSTILE] + [(call, "a.xlsx") for call in LEGAL]
    for k, (call, _) in enumerate(files):
        (tmp_path / f"{k}.bin").write_bytes(build(call))
    script = textwrap.dedent("""
        import json, resource, sys, time
        from pathlib import Path
        from inspect_pipeline.read.grid import FileRefused
        from inspect_pipeline.core.settings import Limits
        from inspect_pipeline.read.books import read_workbook
        vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + 400 * 1024 * 1024, resource.RLIM_INFINITY))
        for k, name in enumerate(json.loads(sys.argv[2])):
            started = time.perf_counter()
            try:
                read_workbook((Path(sys.argv[1]) / f"{k}.bin").read_bytes(), name, Limits())
                outcome = "read"
            except FileRefused as exc:
                outcome = exc.code
            print(json.dumps([k, outcome, time.perf_counter() - started]), flush=True)
    """)
    names = json.dumps([name for _, name in files])
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), names], capture_output=True, text=True,
                          timeout=120, check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, (done.stderr[-2000:], files[len(lines)] if len(lines) < len(files) else None)
    expected = ["unreadable-file"] * len(HOSTILE) + ["read"] * len(LEGAL)
    assert [outcome for _, outcome, _ in lines] == expected
    assert max(seconds for _, _, seconds in lines) < 5


# ---- legal files: prefixes, the strict namespace, attribute order, implied positions, a huge <dimension>


@pytest.mark.parametrize("call", LEGAL)
def test_unusual_but_legal_xlsx_reads_like_the_plain_file(call):
    plain = read_workbook(hostile.xlsx_table(), "a.xlsx", LIMITS).sheets[0]
    sheet = read_workbook(build(call), "a.xlsx", LIMITS).sheets[0]
    assert sheet.rows == plain.rows == [["序号", "隐患部位", "隐患描述"], [1, "教学楼", "消防栓水压不足"], [2, "食堂", None]]


def test_prefixed_far_file_differs_from_the_plain_one_only_by_its_prefix():
    # the same far cell unprefixed: refused the same way
    plain, prefixed = hostile.xlsx_prefixed(far=True, prefix=""), hostile.xlsx_prefixed(far=True)
    assert refusal(plain, "a.xlsx") == refusal(prefixed, "a.xlsx")


def test_error_values_and_hidden_rows_of_cells_placed_without_r():
    rows = ('<row><c t="inlineStr"><is><t>a</t></is></c><c t="e"><v>#DIV/0!</v></c></row>'
            '<row hidden="1"><c><v>1</v></c></row><row><c/><c t="e"><v>#N/A</v></c></row>')
    sheet = read_workbook(hostile.xlsx_package({"表": hostile.worksheet(rows)}), "a.xlsx", LIMITS).sheets[0]
    assert sheet.rows == [["a", "#DIV/0!"], [1.0, None], [None, "#N/A"]]
    assert sheet.hidden_rows == {1}


# ---- counting details


def test_duplicate_cells_count_as_many_cells():
    assert refusal(hostile.xlsx_duplicate_cells(3_000), "a.xlsx", Limits(max_cells=1_000)) == (
        "unreadable-file", "工作表“隐患排查”的有值单元格过多（至少 1,001 个，上限 1,000 个）"
    )


def test_text_of_shared_strings_counts_once_per_cell():
    data = hostile.xlsx_shared_string_bomb(length=1_000, cells=100)  # 100,000 characters once expanded
    assert read_workbook(data, "a.xlsx", Limits(max_text_mb=0.1)).sheets[0].rows[99] == ["隐" * 1_000]
    assert refusal(data, "a.xlsx", Limits(max_text_mb=0.099)) == (
        "unreadable-file", "单元格文字展开后过多（读到工作表“隐患排查”时已达 100,000 字，上限 99,000 字）"
    )


def test_shared_string_index_counts_the_longest_string_its_prefixes_name():
    # calamine reads "1&#50;" as index 1 (the text before the character reference); expat gives "12"
    strings = xlsxscan.SharedStrings.from_lengths(array("q", [5, 70_000, *[1] * 20]))
    assert strings.chars("12") == 70_000  # 12 or its prefix 1
    assert strings.chars("3") == 1
    assert strings.chars("03") == 5  # a prefix "0" names string 0
    assert strings.chars("x") == 5  # not a number: calamine reads index 0
    assert strings.chars("987") == 1  # out of range: its prefixes 98, 9


def test_shared_string_prefix_table_is_built_from_the_lengths(tmp_path):
    shared = (hostile.XML_DECL + f'<sst xmlns="{hostile.MAIN}">'
              + "".join(f"<si><t>{'x' * (500 if k == 1 else 2)}</t></si>" for k in range(25)) + "</sst>")
    zf = zipfile.ZipFile(io.BytesIO(hostile.with_members(hostile.xlsx_table(), {"xl/sharedStrings.xml": shared})))
    strings = xlsxscan.scan_shared_strings(zf, "xl/sharedStrings.xml", 1_000)
    assert list(strings.lengths) == [2, 500] + [2] * 23
    assert [strings.chars(str(k)) for k in (1, 2, 10, 19, 20)] == [500, 2, 500, 500, 2]


@pytest.mark.parametrize(
    ("strings", "lengths"),
    [
        ('<si><r><t>隐患</t></r><r><t>排查</t></r><rPh sb="0" eb="1"><t>インカン</t></rPh></si>', [4]),
        # calamine clears its phonetic flag at the first </rPh>, and ends a string at the first </si>
        ("<si><rPh><rPh><t>ab</t></rPh><t>cd</t></rPh><t>ef</t></si>", [4]),
        ("<si><t>a</t><si><t>bc</t></si><t>d</t></si><si><t>e</t></si>", [3, 1]),
    ],
)
def test_shared_string_lengths_as_calamine_joins_them(strings, lengths):
    shared = hostile.XML_DECL + f'<sst xmlns="{hostile.MAIN}">{strings}</sst>'
    zf = zipfile.ZipFile(io.BytesIO(hostile.with_members(hostile.xlsx_table(), {"xl/sharedStrings.xml": shared})))
    assert list(xlsxscan.scan_shared_strings(zf, "xl/sharedStrings.xml", 1_000).lengths) == lengths


@pytest.mark.parametrize(
    ("ref", "position"),
    [("A1", (0, 0)), ("xfd1048576", (1_048_575, 16_383)), ("AB007", (6, 27)), ("ZZZZ1", (0, 16_388))],
)
def test_cell_references_as_calamine_reads_them(ref, position):
    assert cellrefs.parse_ref(ref) == position


@pytest.mark.parametrize("ref", ["", "A", "1", "A0", "$A$1", "A1B", "A-1", "Ä1", "A1 "])
def test_malformed_references_are_damage(ref):
    with pytest.raises(xmlsafe.Malformed):
        cellrefs.parse_ref(ref)
    data = hostile.xlsx_package({"表": hostile.worksheet(f'<row><c r="{ref}"><v>1</v></c></row>')})
    assert refusal(data, "a.xlsx") == ("unreadable-file", DAMAGED)


def test_text_limit_counts_xls_shared_strings_per_cell():
    # the three sheets' strings hold 100 + 4 + 10 characters, as calamine gives them
    data = (FORMATS / "merged_lo.xls").read_bytes()
    assert read_workbook(data, "a.xls", Limits(max_text_mb=0.000114)).sheets[2].rows[1][1] == "本表由学校安全办填写"
    assert refusal(data, "a.xls", Limits(max_text_mb=0.000113)) == (
        "unreadable-file", "单元格文字展开后过多（读到工作表“说明”时已达 114 字，上限 113 字）"
    )


def test_xls_shared_string_lengths_across_continue_records():
    # cstTotal, cstUnique, then "ab" (8-bit), "隐患" (16-bit) whose second character goes on in a CONTINUE record
    sst = b"\x02\0\0\0\x02\0\0\0" + b"\x02\0\x00ab" + b"\x02\0\x01" + "隐".encode("utf-16-le")
    cont = b"\x01" + "患".encode("utf-16-le")
    assert _sst_lengths([memoryview(sst), memoryview(cont)]) == [2, 2]
    with pytest.raises(EOFError):
        _sst_lengths([memoryview(sst)])


# ---- ods: repeats are expanded only within the area holding values


def test_ods_repeats_are_expanded_only_within_the_area_holding_values():
    # 1,000,001 x 1 cells hold values (under the limit), but the repeated 3-row spans add up to 3,000,000 cells
    body = ("<table:table-row>" + hostile.ods_cell("序号") + "</table:table-row>"
            + '<table:table-row table:number-rows-repeated="1000000">'
            + hostile.ods_cell("x", 'table:number-rows-spanned="3"') + "</table:table-row>")
    assert refusal(hostile.ods_package(body), "a.ods") == (
        "unreadable-file", f"工作表“隐患排查”的合并单元格合计过大（至少 3,000,000 格，{CAP}）"
    )
    body = (hostile.ods_header_row() + '<table:table-row table:visibility="collapse" table:number-rows-repeated="3">'
            + hostile.ods_cell("x", 'table:number-rows-spanned="2"') + "</table:table-row>"
            + '<table:table-row table:visibility="collapse" table:number-rows-repeated="1048000"><table:table-cell/>'
            + "</table:table-row>")
    sheet = read_workbook(hostile.ods_package(body), "a.ods", LIMITS).sheets[0]
    assert len(sheet.rows) == 4 and sheet.hidden_rows == {1, 2, 3}
    assert sheet.merged == [(1, 0, 2, 0), (2, 0, 3, 0)]  # the third span reaches past the grid: cut


# ---- formats calamine might take the file for


def test_zip_that_calamine_could_read_as_another_format_is_damaged():
    xlsx, ods = hostile.xlsx_table(), hostile.ods_package(hostile.ods_header_row())
    assert detect_format(xlsx, "a.xlsx", LIMITS) == "xlsx" and detect_format(ods, "a.ods", LIMITS) == "ods"
    forgeries = [
        hostile.with_members(xlsx, {"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
        hostile.with_members(xlsx, {"xl/workbook.bin": b"\0"}),
        hostile.with_members(ods, {"_rels/.rels": "<Relationships/>"}),
        hostile.with_members(xlsx, {"XL/worksheets/sheet1.xml": "<worksheet/>"}),  # same name to calamine
    ]
    for data in forgeries:
        assert refusal(data, "a.xlsx") == ("unreadable-file", DAMAGED)


# ---- the quick look at plain parts (xlsxscan.quick_sheet_scan): what the full scan finds, or refuses, the same

SUBMISSIONS = Path(__file__).parent / "fixtures" / "submissions"


def findings(data: bytes, limits: Limits = LIMITS, *, quick: bool) -> object:
    """The sheets' findings of books' xlsx scans (quick: as read_workbook runs them; else every part in full), or
    the refusal they raise."""
    try:
        if quick:
            return books._xlsx_extras(data, limits)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return books._xlsx_scans(zf, limits, xmlsafe.Tally(limits.max_cells, limits.max_text_chars), quick=False)
    except FileRefused as refused:
        return refused.code, refused.detail
    except books.DAMAGED_FILE_ERRORS as damaged:
        return "damaged", type(damaged).__name__


def quick_parts(data: bytes) -> int:
    """How many of the file's worksheet parts the quick look takes."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = xlsxscan.xlsx_parts(zf)
        return sum(xlsxscan.quick_sheet_scan(zf, member, xmlsafe.Tally(LIMITS.max_cells, LIMITS.max_text_chars), 100)
                   is not None for _, member in parts.sheets)


PLAIN_ROW = '<row r="{r}"><c r="A{r}" s="1" t="s"><v>0</v></c><c r="B{r}"><v>{r}</v></c></row>'
SHARED = (f'{hostile.XML_DECL}<sst xmlns="{hostile.MAIN}" count="1" uniqueCount="1"><si><t>教学楼</t></si></sst>')
# plain parts that the quick look must pass to the full scan, or whose bounds it must count right
TRICKY = {
    "error value": '<row r="1"><c r="A1" t="e"><v>#DIV/0!</v></c></row>',
    "error value after another attribute": '<row r="1"><c r="A1" s="1" cm="1" t="e"><v>#N/A</v></c></row>',
    "hidden row": PLAIN_ROW.format(r=1) + PLAIN_ROW.format(r=2).replace('r="2">', 'r="2" hidden="1">', 1),
    "hidden row, LibreOffice's true": PLAIN_ROW.format(r=1).replace('r="1">', 'r="1" hidden="true">', 1),
    "rows not hidden, LibreOffice's false": PLAIN_ROW.format(r=1).replace('r="1">', 'r="1" hidden="false">', 1),
    "formula string": '<row r="1"><c r="A1" t="str"><f>"a"</f><v>a</v></c></row>',
    "inline string": '<row r="1"><c r="A1" t="inlineStr"><is><t>教学楼</t></is></c></row>',
    "value at XFD1048576": '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
    "row beyond Excel": '<row r="1048577"><c r="A1"><v>1</v></c></row>',
    "cell without r": '<row r="3"><c><v>1</v></c></row>',
    "cell with a character reference": '<row r="1"><c r="&#88;FD1048576"><v>1</v></c></row>',
    "empty cell far away": PLAIN_ROW.format(r=1) + '<row r="900000"><c r="CV900000" s="1"/></row>',
    "merged range": PLAIN_ROW.format(r=1) + "</sheetData><mergeCells><mergeCell ref=\"A1:B1\"/></mergeCells><sheetData>",
}


@pytest.mark.parametrize("case", sorted(TRICKY))
def test_quick_look_finds_what_the_full_scan_finds_in_tricky_plain_parts(case):
    data = hostile.xlsx_package({"表": hostile.worksheet(TRICKY[case])}, SHARED)
    assert findings(data, quick=True) == findings(data, quick=False)


def test_quick_look_finds_what_the_full_scan_finds_in_every_xlsx_fixture():
    files = [*FORMATS.glob("*.xlsx"), *SUBMISSIONS.glob("*.xlsx")]
    built = [build(call) for call, name, _ in HOSTILE if name.endswith(".xlsx")] + [build(call) for call in LEGAL]
    taken = 0
    for data in [path.read_bytes() for path in files] + built:
        if not zipfile.is_zipfile(io.BytesIO(data)) or b"EncryptedPackage" in data:
            continue
        found = findings(data, quick=True)
        assert found == findings(data, quick=False)
        taken += quick_parts(data) if isinstance(found, dict) else 0
    assert taken >= len(files) // 2  # the usual file takes the quick look


def test_quick_look_is_taken_for_the_writers_schools_use():
    # openpyxl, xlsxwriter (our templates) and LibreOffice (merged_lo.xlsx) write every part plainly
    book = openpyxl.Workbook()
    book.active.append(["序号", "隐患部位", "隐患描述"])
    book.active.append([1, "教学楼", "消防栓水压不足"])
    book.active.merge_cells("B3:C3")
    saved = io.BytesIO()
    book.save(saved)
    assert quick_parts(saved.getvalue()) == 1
    saved = io.BytesIO()
    with xlsxwriter.Workbook(saved) as book:
        book.add_worksheet().write_row(0, 0, ["序号", "隐患部位", 1.5])
    assert quick_parts(saved.getvalue()) == 1
    assert quick_parts((FORMATS / "merged_lo.xlsx").read_bytes()) == 2
    assert quick_parts((SUBMISSIONS / "date_forms.xlsx").read_bytes()) >= 1


def test_bounds_that_overstate_a_file_total_are_counted_again_exactly():
    # each sheet's one value is at A1, but an empty cell at CV9000 makes its bound 900,000 cells: three such sheets
    # would go over the file's 2,000,000 from their bounds alone; counted exactly they hold three cells
    sheet = hostile.worksheet('<row r="1"><c r="A1"><v>1</v></c></row><row r="9000"><c r="CV9000" s="1"/></row>')
    data = hostile.xlsx_package({"一": sheet, "二": sheet, "三": sheet})
    assert quick_parts(data) == 3
    assert findings(data, quick=True) == findings(data, quick=False) == {
        name: books._SheetExtras() for name in ("一", "二", "三")
    }
    assert [s.rows for s in read_workbook(data, "a.xlsx", LIMITS).sheets] == [[[1.0]]] * 3


# ---- the control: a real sheet of 1,000,000 rows x 2 columns is accepted


@pytest.fixture(scope="session")
def big_xlsx(request, tmp_path_factory) -> Path:
    """The path of hostile.legit_big_xlsx() (xlsxwriter takes ~10 s to write it: kept in pytest's cache)."""
    cache = getattr(request.config, "cache", None)
    folder = cache.mkdir("hostile") if cache is not None else tmp_path_factory.mktemp("hostile")
    path = folder / f"legit_big_1000000_xlsxwriter_{xlsxwriter.__version__}.xlsx"
    if not path.exists():
        path.write_bytes(hostile.legit_big_xlsx(1_000_000))
    return path


@pytest.mark.slow
def test_a_million_rows_are_accepted(big_xlsx):
    script = textwrap.dedent("""
        import json, resource, sys, time
        from pathlib import Path
        from inspect_pipeline.read import books as workbook
        from inspect_pipeline.core.settings import Limits
        check = workbook._xlsx_extras
        check_seconds = []

        def timed_check(*args):
            started = time.perf_counter()
            try:
                return check(*args)
            finally:
                check_seconds.append(time.perf_counter() - started)

        workbook._xlsx_extras = timed_check  # read_workbook looks it up when called
        data = Path(sys.argv[1]).read_bytes()
        started = time.perf_counter()
        sheet = workbook.read_workbook(data, "big.xlsx", Limits()).sheets[0]
        seconds = time.perf_counter() - started
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
        print(json.dumps([len(sheet.rows), sheet.rows[-1], check_seconds[0], seconds, rss]))
    """)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(big_xlsx)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    n_rows, last, check_seconds, read_seconds, rss = json.loads(done.stdout)
    assert (n_rows, last) == (1_000_000, [1_000_000, "隐患"])
    assert rss < LIMITS.max_memory_bytes
    print(f"pre-check {check_seconds:.1f} s, read_workbook {read_seconds:.1f} s, peak RSS {rss / 2**20:.0f} MB, "
          f"subprocess {time.perf_counter() - started:.1f} s")
