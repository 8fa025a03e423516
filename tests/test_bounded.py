"""Bounded per-item work (bounded.py) and what intake makes of it: stopped reads and receipts, quiet workers,
large workbooks' streamed receipts."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import re
import subprocess
import sys
import time
import zipfile
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import python_calamine
import sqlalchemy as sa

from inspect_pipeline.core.bounded import Bounds, Stopped, bounded_map
from inspect_pipeline.record.db import make_engine, submissions
from inspect_pipeline.read.grid import Sheet, Workbook
from inspect_pipeline.core.issues import Issue
from inspect_pipeline.intake.receipt_content import ERROR_RGB, ISSUE_SHEET, ReceiptInfo
from inspect_pipeline.intake.receipt_streamed import STREAMED_NOTE
from inspect_pipeline.intake.receipts import NO_COPY_NEEDED, write_rejected
from support import HEADERS, NOW, drop, hazard, intake, make_root, manifest, school_book

LINUX = sys.platform.startswith("linux")
FIXTURES = Path(__file__).parent / "fixtures"
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------------- items


class Counted:
    """Counts how often it is pickled (in this process: the parent)."""

    pickled = 0

    def __getstate__(self) -> dict:
        Counted.pickled += 1
        return {}


def plus_one(_bound: Counted, x: int) -> int:
    return x + 1


def sleepy(x: int) -> int:
    if x in (3, 8):
        time.sleep(60)
    return x * 10


def greedy(x: int) -> int:
    if x == 2:
        return len(bytearray(512 * MB))  # far past a 64 MB cap
    return x + 1


def aborting(x: int) -> int:
    if x == 4:
        os.abort()
    return -x


def near_cap_then_abort(x: int) -> int:
    """Fill most of a 128 MB allowance, stay long enough to be sampled, then die natively."""
    if x == 1:
        block = bytearray(120 * MB)
        time.sleep(1.0)
        os.abort()
        return len(block)
    return x


def near_cap_then_hang(x: int) -> int:
    """Fill most of a 128 MB allowance and hang there, as native code stuck after a failed allocation does."""
    if x == 1:
        block = bytearray(120 * MB)
        time.sleep(60)
        return len(block)
    return x


def rust_out_of_memory(x: int) -> int:
    """What a Rust allocation failure looks like: its message on fd 2, then an abort."""
    if x == 1:
        os.write(2, b"memory allocation of 1073741824 bytes failed\n")
        os.abort()
    return x


def own_alarm(x: int) -> int:
    """What a worker's own alarm does when its parent did not stop it in time (see bounded._alarm)."""
    if x == 2:
        import signal

        signal.alarm(1)
        time.sleep(30)
    return x


def raising(x: int) -> int:
    if x == 5:
        raise ValueError(f"bad item {x}")
    return x


def noisy(x: int) -> int:
    os.write(2, f"native noise {x}\n".encode())
    print(f"print noise {x}", file=sys.stderr)
    logging.getLogger("inspect_pipeline.test").warning("logged noise %d", x)
    return x


# ---------------------------------------------------------------------------------------------------- bounded_map


def test_a_function_and_what_it_binds_go_to_each_worker_once():
    Counted.pickled = 0
    assert bounded_map(partial(plus_one, Counted()), range(30), 2, Bounds()) == list(range(1, 31))
    assert 1 <= Counted.pickled <= 2


def test_items_past_the_watchdog_are_stopped_the_others_done_in_order():
    started = time.monotonic()
    out = bounded_map(sleepy, range(12), 2, Bounds(watchdog_seconds=1.0))
    assert out == [Stopped("watchdog") if x in (3, 8) else x * 10 for x in range(12)]
    assert time.monotonic() - started < 15


@pytest.mark.skipif(os.name == "nt", reason="no alarm on Windows")
@pytest.mark.skipif(not LINUX, reason="the address-space cap exists on Linux only")
def test_an_item_hanging_at_its_memory_cap_past_the_watchdog_counts_as_memory():
    out = bounded_map(near_cap_then_hang, range(3), 1, Bounds(watchdog_seconds=2, max_memory_bytes=128 * MB))
    assert out == [0, Stopped("memory"), 2]
    assert bounded_map(sleepy, [3], 1, Bounds(watchdog_seconds=1, max_memory_bytes=128 * MB)) == [Stopped("watchdog")]


def test_a_worker_ended_by_its_own_alarm_counts_as_watchdog():
    assert bounded_map(own_alarm, range(4), 2, Bounds(watchdog_seconds=30)) == [0, 1, Stopped("watchdog"), 3]


@pytest.mark.skipif(not LINUX, reason="the address-space cap exists on Linux only")
def test_an_item_allocating_past_the_cap_is_stopped_for_memory():
    out = bounded_map(greedy, range(6), 2, Bounds(watchdog_seconds=30, max_memory_bytes=64 * MB))
    assert out == [Stopped("memory") if x == 2 else x + 1 for x in range(6)]


@pytest.mark.skipif(not LINUX, reason="VmSize is sampled from /proc")
def test_a_worker_dying_near_its_cap_is_counted_as_memory():
    out = bounded_map(near_cap_then_abort, range(3), 1, Bounds(watchdog_seconds=30, max_memory_bytes=128 * MB))
    assert out == [0, Stopped("memory"), 2]


def test_a_native_abort_is_a_crash_and_the_run_goes_on(tmp_path):
    bounds = Bounds(watchdog_seconds=30, max_memory_bytes=256 * MB, log_file=tmp_path / "w.log")
    out = bounded_map(aborting, range(10), 2, bounds)
    assert out == [Stopped("crash") if x == 4 else -x for x in range(10)]


@pytest.mark.skipif(not LINUX, reason="the address-space cap exists on Linux only")
def test_a_native_allocation_failure_is_memory(tmp_path):
    bounds = Bounds(watchdog_seconds=30, max_memory_bytes=256 * MB, log_file=tmp_path / "w.log")
    assert bounded_map(rust_out_of_memory, range(3), 1, bounds) == [0, Stopped("memory"), 2]


def test_an_exception_of_the_function_is_raised_here_with_the_workers_traceback():
    with pytest.raises(ValueError, match="bad item 5") as caught:
        bounded_map(raising, range(8), 2, Bounds(watchdog_seconds=30))
    assert "raising" in str(caught.value.__cause__)


def test_workers_write_their_output_and_logs_to_the_log_file_only(tmp_path, capfd):
    log = tmp_path / "logs" / "run.log"
    assert bounded_map(noisy, range(3), 2, Bounds(watchdog_seconds=30, log_file=log)) == [0, 1, 2]
    text = log.read_text(encoding="utf-8")
    for x in range(3):
        assert f"native noise {x}" in text and f"print noise {x}" in text and f"logged noise {x}" in text
    captured = capfd.readouterr()
    assert "noise" not in captured.err and "noise" not in captured.out


def test_no_items_no_workers():
    assert bounded_map(noisy, [], 2, Bounds()) == []


# ---------------------------------------------------------------------------------------------------- streamed receipt


def test_a_workbook_above_the_threshold_gets_a_streamed_receipt(tmp_path):
    rows = [["标题"], ["序号", "隐患等级", "隐患描述"], [1, "较大", "=1+1"], [2, "一般", dt.date(2023, 11, 20)],
            [3, "一般", "灭火器"]]
    book = Workbook("xls", [
        Sheet("隐患排查", True, rows, merged=[(0, 0, 0, 2)], hidden_rows=frozenset({3})),
        Sheet("说明", False, [["说明文字"]]),
    ])
    issues = [
        Issue("error", "bad-enum", "隐患排查", "B3", "隐患等级", "较大", "“隐患等级”填写了“较大”", "请从下拉列表中选择"),
        Issue("error", "required", "隐患排查", "D5", "整改措施", None, "“整改措施”未填写", "请填写"),
        Issue("error", "missing-unit", None, None, None, None, "未写明单位", "请填写单位"),
    ]
    info = ReceiptInfo("=1+1.xls", dt.datetime(2023, 11, 22, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai")), "2023-W47",
                       "rejected", "城关小学", "2113000001", {})
    out = write_rejected(info, issues, tmp_path / "r.xlsx", original=None, fmt="xls", workbook=book,
                         annotate_max_cells=5)
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == [ISSUE_SHEET, "隐患排查", "说明"] and wb.active.title == ISSUE_SHEET
    texts = [v for row in wb[ISSUE_SHEET].iter_rows(values_only=True) for v in row if v]
    assert STREAMED_NOTE in texts and "=1+1.xls" in " ".join(map(str, texts))
    ws = wb["隐患排查"]
    assert ws["C3"].value == "=1+1" and ws["C3"].data_type == "s"  # the school's text never becomes a formula
    assert ws["C4"].value == dt.datetime(2023, 11, 20)
    assert ws["B3"].fill.fgColor.rgb == ERROR_RGB and "较大" in ws["B3"].comment.text
    assert ws["D5"].fill.fgColor.rgb == ERROR_RGB and ws["D5"].comment is not None  # beyond the row's values
    assert ws.row_dimensions[4].hidden and not ws.row_dimensions[3].hidden
    assert wb["说明"].sheet_state == "hidden"
    assert not any(c.data_type == "f" for s in wb.worksheets for row in s.iter_rows() for c in row)


# ---------------------------------------------------------------------------------------------------- intake


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path)


def set_limits(root: Path, **limits) -> None:
    config = root / "config.toml"
    text = config.read_text(encoding="utf-8")
    for key, value in limits.items():
        text, n = re.subn(rf"(?m)^{key} = \S+", f"{key} = {value}", text)
        assert n == 1, key
    config.write_text(text, encoding="utf-8")


def styled_blanks(cells: int) -> bytes:
    """A workbook without a header row (rejected) whose sheet holds `cells` styled empty cells: calamine reads it
    in a fraction of a second, openpyxl takes many seconds to load and save it (a genuinely slow annotation)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False})
    sheet = book.add_worksheet("隐患排查")
    yellow = book.add_format({"bg_color": "#FFFF00"})
    sheet.write_string(0, 0, "丰润区第一实验小学 第47周")
    for r in range(1, cells // 10 + 1):
        for c in range(10):
            sheet.write_blank(r, c, None, yellow)
    book.close()
    return out.getvalue()


def rows_of(root: Path) -> list[dict]:
    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(sa.select(submissions).order_by(submissions.c.id)).mappings()]
    engine.dispose()
    return found


@pytest.mark.slow
def test_a_receipt_past_the_watchdog_gets_the_plain_receipt_and_the_record_stands(root):
    # reading (with the content check) takes about 2 s on a 2-core machine, annotating with openpyxl far longer
    set_limits(root, watchdog_seconds=6)
    drop(root, "一实小/慢.xlsx", styled_blanks(600_000))
    result = intake(root)
    assert result.outcomes == {"rejected": 1}
    (row,) = rows_of(root)
    assert row["outcome"] == "rejected" and row["limit_hit"] is None  # reading was within its limits
    assert [i["code"] for i in row["issues"]] == ["no-header-row", "missing-unit"]
    assert row["receipt_written"] is True
    (entry,) = manifest(root)["files"]
    assert entry["outcome"] == "rejected"
    assert entry["issues"] == [{k: v for k, v in i.items() if k != "fix"} for i in row["issues"]]
    receipt = root / row["receipt_path"]
    wb = openpyxl.load_workbook(receipt)
    assert wb.sheetnames == [ISSUE_SHEET]
    text = " ".join(str(v) for r in wb[ISSUE_SHEET].iter_rows(values_only=True) for v in r if v)
    assert "原表格过大，未能生成带标注的副本（超过 6 秒的时间上限）" in text or "内存上限" in text
    before = receipt.stat().st_mtime_ns
    assert intake(root, NOW + dt.timedelta(minutes=10)).files == 0  # nothing is retried
    assert receipt.stat().st_mtime_ns == before and rows_of(root)[0]["receipt_written"] is True


def test_a_read_past_the_watchdog_is_unreadable_and_rebuild_keeps_it(root, monkeypatch):
    """A stop recorded as watchdog is replayed as such by rebuild (`known_stops`), without reading the file."""
    from inspect_pipeline.core.paths import Paths
    from inspect_pipeline.intake.replay import watchdog_stops
    from inspect_pipeline.jobs.rebuild import rebuild_week
    from inspect_pipeline.core.settings import load_settings

    drop(root, "一实小/周报.xlsx", school_book(rows=[hazard()]))
    data = school_book(rows=[hazard("插座松动")])
    drop(root, "一实小/第二份.xlsx", data)
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    import hashlib

    from inspect_pipeline.intake.run import run_intake

    stopped = {hashlib.sha256(data).hexdigest(): "watchdog"}
    result = run_intake(paths, settings, NOW, settle=False, known_stops=stopped)
    assert result.outcomes == {"accepted": 1, "rejected": 1}
    rows = {r["file_name"]: r for r in rows_of(root)}
    slow = rows["第二份.xlsx"]
    assert slow["limit_hit"] == "watchdog" and slow["outcome"] == "rejected"
    assert slow["issues"][0]["code"] == "unreadable-file"
    assert "读取超过 60 秒的时间上限，已停止" in slow["issues"][0]["message"]
    assert rows["周报.xlsx"]["limit_hit"] is None
    assert watchdog_stops(paths) == stopped
    rebuilt = rebuild_week(paths, settings, "2023-W47")
    assert rebuilt.same, (rebuilt.rebuilt, rebuilt.recorded)


@pytest.mark.skipif(not LINUX, reason="the address-space cap exists on Linux only")
def test_a_read_past_the_memory_cap_is_unreadable_with_limit_hit_memory(root):
    set_limits(root, max_memory_mb=64)
    drop(root, "一实小/大表.xlsx", big_workbook(200_000))  # its grid alone takes well over 64 MB
    drop(root, "一实小/周报.xlsx", school_book(rows=[hazard()]))
    assert intake(root).outcomes == {"rejected": 1, "accepted": 1}
    rows = {r["file_name"]: r for r in rows_of(root)}
    big = rows["大表.xlsx"]
    assert big["limit_hit"] == "memory" and big["issues"][0]["code"] == "unreadable-file"
    assert "读取时超过 64 MB 的内存上限" in big["issues"][0]["message"]
    assert rows["周报.xlsx"]["limit_hit"] is None and all(r["receipt_written"] for r in rows.values())


def test_a_file_that_kills_its_reader_is_unreadable_with_limit_hit_crash(root):
    from inspect_pipeline.intake.reading import reader_stopped as _reader_stopped
    from inspect_pipeline.core.settings import load_settings

    settings = load_settings(root)
    parsed = _reader_stopped(("x", "x.xlsx", "2023-W47", settings), "crash")
    assert parsed.limit_hit == "crash" and not parsed.readable
    assert "文件已损坏，读取时出错" in parsed.issues[0].message
    memory = _reader_stopped(("x", "x.xlsx", "2023-W47", settings), "memory")
    assert "读取时超过 1024 MB 的内存上限" in memory.issues[0].message


def panicking_xls() -> bytes:
    """merged_lo.xls with one byte changed: calamine panics on it (caught, but Rust prints to stderr)."""
    data = bytearray((FIXTURES / "formats" / "merged_lo.xls").read_bytes())
    data[4550] = 55
    return bytes(data)


def openpyxl_breaker() -> bytes:
    """A rejected school workbook calamine reads but openpyxl cannot load (a style index out of range), and whose
    parts cannot be edited either (cells without their reference)."""
    data = school_book(rows=[hazard(level="较大")])
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body = re.sub(rb' s="\d+"', b' s="999"', body)
                body = re.sub(rb'(<c\b[^>]*?) r="[A-Z]+\d+"', rb"\1", body)
            z.writestr(item, body)
    return out.getvalue()


def test_native_noise_and_annotation_failures_stay_off_the_terminal(root):
    drop(root, "一实小/坏表.xls", panicking_xls())
    drop(root, "一实小/周报.xlsx", openpyxl_breaker())
    script = Path(sys.executable).parent / ("inspect-pipeline.exe" if os.name == "nt" else "inspect-pipeline")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "inspect_pipeline"]
    done = subprocess.run([*command, "intake", "--data-root", str(root), "--now", "2023-11-23T10:00:00+08:00"],
                          capture_output=True, text=True, encoding="utf-8", env={**os.environ, "RUST_BACKTRACE": "1"},
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "panicked" not in done.stderr, done.stderr
    log = (root / "logs" / "inspect-pipeline.log").read_text(encoding="utf-8")
    assert "panicked" in log  # calamine's message, from the worker's fd 2
    warned = [line for line in log.splitlines() if "annotating the original failed" in line]
    assert warned and "WARNING" in warned[0] and "IndexError" in warned[0]
    assert "Traceback" not in log
    rows = {r["file_name"]: r for r in rows_of(root)}
    assert rows["坏表.xls"]["outcome"] == "rejected" and rows["周报.xlsx"]["outcome"] == "rejected"
    assert all(r["receipt_written"] for r in rows.values())
    # the annotation failed: the receipt reproduces the sheets from what calamine read
    receipt = openpyxl.load_workbook(root / rows["周报.xlsx"]["receipt_path"])
    assert receipt.sheetnames[0] == ISSUE_SHEET and len(receipt.sheetnames) == 2


# ---------------------------------------------------------------------------------------------------- large files


def big_workbook(rows: int, table: bool = False) -> bytes:
    """`rows` rows x 2 columns (text, number), no header row, rows 10-12 hidden (what bench/big_file.py builds);
    with `table`, first a sheet of the official layout with one bad 隐患等级 (a cell to mark)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False})
    if table:
        first = book.add_worksheet("隐患排查")
        bad = {"排查日期": "2023-11-20", "隐患部位": "教学楼", "隐患类别": "消防", "隐患描述": "灭火器过期",
               "隐患等级": "较大", "整改方式": "限期整改", "整改措施": "更换", "整改责任人": "李四",
               "整改时限": "2023-11-30", "整改状态": "整改中"}
        for r, values in enumerate([["丰润区第一实验小学安全隐患排查整治台账"], ["填报单位：丰润区第一实验小学"],
                                    ["周次：2023年第47周"], HEADERS, [1, *[bad.get(h) for h in HEADERS[1:]]]]):
            for c, value in enumerate(values):
                if value is not None:
                    first.write(r, c, value)
    sheet = book.add_worksheet("数据")
    for r in range(rows):
        if 10 <= r <= 12:
            sheet.set_row(r, None, None, {"hidden": True})
        sheet.write_string(r, 0, f"记录{r:07d}")
        sheet.write_number(r, 1, r * 0.5)
    book.close()
    return out.getvalue()


@pytest.mark.slow
def test_a_large_rejected_workbook_without_cells_to_mark_gets_the_plain_receipt(root):
    drop(root, "一实小/大表.xlsx", big_workbook(200_000))
    assert intake(root).outcomes == {"rejected": 1}
    (row,) = rows_of(root)
    assert row["receipt_written"] is True and [i["code"] for i in row["issues"]] == ["no-header-row", "missing-unit"]
    book = openpyxl.load_workbook(root / row["receipt_path"])
    assert book.sheetnames == [ISSUE_SHEET]  # a copy would mark nothing: the school has its own file
    texts = [v for r in book[ISSUE_SHEET].iter_rows(values_only=True) for v in r if v]
    assert NO_COPY_NEEDED in texts


@pytest.mark.slow
def test_a_large_rejected_workbook_gets_its_streamed_receipt_in_seconds(root):
    drop(root, "一实小/大表.xlsx", big_workbook(200_000, table=True))
    started = time.monotonic()
    assert intake(root).outcomes == {"rejected": 1}
    elapsed = time.monotonic() - started
    (row,) = rows_of(root)
    assert row["receipt_written"] is True and row["limit_hit"] is None
    assert ("H5", "bad-enum") in [(i["cell"], i["code"]) for i in row["issues"]]
    receipt = root / row["receipt_path"]
    book = python_calamine.CalamineWorkbook.from_path(str(receipt))
    assert book.sheet_names == [ISSUE_SHEET, "隐患排查", "数据"]
    marked = openpyxl.load_workbook(receipt, read_only=False)["隐患排查"]["H5"]
    assert marked.fill.fgColor.rgb == ERROR_RGB and marked.value == "较大"
    values = book.get_sheet_by_name("数据").to_python()
    assert len(values) == 200_000 and values[0] == ["记录0000000", 0.0] and values[-1] == ["记录0199999", 99999.5]
    with zipfile.ZipFile(receipt) as z:
        xml = z.read("xl/worksheets/sheet3.xml")
    assert sorted(int(r) for r in re.findall(rb'<row r="(\d+)"[^>]*hidden="1"', xml)) == [11, 12, 13]
    assert elapsed < 120
