"""Outside text printed to a terminal is escaped where it could drive it, and shown as it is otherwise."""

from __future__ import annotations

from inspect_pipeline.core.terminal import printable


def test_controls_bidi_and_undecodable_bytes_are_written_out():
    name = "\udcff\udcfe" + "\x1b[2J\u202e表.xlsx\n"  # bytes ff fe of a file name, as os.fsdecode gives them
    shown = printable(name)
    assert shown == "\\udcff\\udcfe\\x1b[2J\\u202e表.xlsx\\x0a"
    shown.encode("utf-8")  # printable text can always be written to a UTF-8 terminal


def test_cjk_and_ordinary_text_are_unchanged():
    assert printable("丰润区第一实验小学（盖章）2023年第47周.xlsx") == "丰润区第一实验小学（盖章）2023年第47周.xlsx"
