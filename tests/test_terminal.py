"""Outside text printed to a terminal is escaped where it could drive it, and shown as it is otherwise."""

from __future__ import annotations

import io
import sys

import pytest
from rich.console import Console
from rich.table import Table

from inspect_pipeline.core.terminal import printable, tolerant_streams


def test_controls_bidi_and_undecodable_bytes_are_written_out():
    name = "\udcff\udcfe" + "\x1b[2J\u202e表.xlsx\n"  # bytes ff fe of a file name, as os.fsdecode gives them
    shown = printable(name)
    assert shown == "\\udcff\\udcfe\\x1b[2J\\u202e表.xlsx\\x0a"
    shown.encode("utf-8")  # printable text can always be written to a UTF-8 terminal


def test_cjk_and_ordinary_text_are_unchanged():
    assert printable("丰润区第一实验小学（盖章）2023年第47周.xlsx") == "丰润区第一实验小学（盖章）2023年第47周.xlsx"


# ---------------------------------------------------------------- a console in GBK (Chinese Windows)


def gbk_stream(errors: str = "strict") -> io.TextIOWrapper:
    """A text stream as a Chinese Windows console or a redirect gives Python: GBK, strict unless told."""
    return io.TextIOWrapper(io.BytesIO(), encoding="gbk", errors=errors, write_through=True)


def written(stream: io.TextIOWrapper) -> str:
    return stream.buffer.getvalue().decode("gbk")


def test_the_box_and_bar_characters_rich_would_draw_are_not_all_in_gbk():
    """Why the consoles must degrade: the heavy table frame is in GBK, the half-cells of a progress bar are not."""
    "┏━┳┓┃┡╇┩└┴┘".encode("gbk")
    for lacking in ("╸", "╺", "⠋", "✓", "😀"):
        with pytest.raises(UnicodeEncodeError):
            lacking.encode("gbk")


def test_tolerant_streams_write_what_gbk_lacks_as_a_question_mark(monkeypatch):
    out, err = gbk_stream(), gbk_stream()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    tolerant_streams()
    print("报表😀—第1版…")
    print("错误：名单✓", file=sys.stderr)
    assert written(out) == "报表?—第1版…\n" and written(err) == "错误：名单?\n"
    assert (sys.stdout.encoding, sys.stdout.errors) == ("gbk", "replace")  # the encoding is kept


def test_tolerant_streams_keep_a_stream_that_already_tolerates(monkeypatch):
    err = gbk_stream("backslashreplace")
    monkeypatch.setattr(sys, "stderr", err)
    tolerant_streams()
    assert err.errors == "backslashreplace"


def test_rich_tables_and_progress_bars_on_a_strict_gbk_terminal_draw_in_ascii():
    """Rich reads the stream's encoding: on GBK it draws frames and bars in ASCII, so even a strict stream (no
    tolerant_streams) takes every table and bar the CLI draws."""
    from inspect_pipeline.cli import _progress, _stage_bar

    stream = gbk_stream("strict")
    screen = Console(file=stream, force_terminal=True, width=90, color_system=None)
    table = Table(title="2023-W47 报送情况")
    for title in ("片区", "应报", "已报"):
        table.add_column(title)
    table.add_row("一片", "12", "11")
    screen.print(table)
    with _progress(screen) as bar:
        tell = _stage_bar(bar)
        tell("archive", 0, 3)
        tell("archive", 3, 3)
        tell("report", 0, 0)  # begun, size unknown: a moving bar
        bar.refresh()
        tell("report", 1, 1)
        tell("archive", 1, 2)  # the stage again (a second intake): its bar starts again
        bar.refresh()
    shown = written(stream)
    assert "| 片区 | 应报 | 已报 |" in shown and "| 一片 | 12   | 11   |" in shown, shown
    assert "归档     ---------------------------------------- 3/3" in shown, shown
    assert "生成周报 ----" in shown and "归档     --------------------   " in shown and "1/2" in shown, shown
