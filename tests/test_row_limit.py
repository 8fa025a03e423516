"""A file with more hazard rows than any school lists is refused before its rows are typed and validated."""

from __future__ import annotations

from inspect_pipeline.core.settings import Limits, Settings
from inspect_pipeline.intake.understand import parse_file
from support import hazard, school_book


def test_rows_over_the_limit_make_the_file_unreadable_but_keep_its_school():
    settings = Settings(limits=Limits(max_rows=3))
    data = school_book(rows=[hazard(f"隐患{i}") for i in range(4)])
    parsed = parse_file(data, "a.xlsx", "2023-W47", settings)
    assert [(i.code, i.message) for i in parsed.issues] == [
        ("unreadable-file", "文件无法打开：隐患行过多（4 行，上限 3 行）")]
    assert parsed.records == []
    assert "unit_name" in parsed.fields  # the school is still known: its receipt goes to its folder
    assert parse_file(school_book(rows=[hazard(f"隐患{i}") for i in range(3)]), "a.xlsx", "2023-W47",
                      settings).issues == []
