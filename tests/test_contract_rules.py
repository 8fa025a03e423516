"""The contract is the rule: each conditional rule of `schemas/submission.toml` (the five conditionally required
columns, major-needs-control, date-order) edited in a copy of the contracts changes validation accordingly."""

from __future__ import annotations

import datetime as dt
import re
import shutil

import pytest
from support import hazard, school_book

from inspect_pipeline.core import contracts
from inspect_pipeline.core.settings import Settings
from inspect_pipeline.intake.understand import parse_file
from inspect_pipeline.intake.validate import validate_rows

D = dt.datetime
SCHEMAS = contracts.contracts_dir()


@pytest.fixture
def edited(tmp_path, monkeypatch):
    """Edit one column's key in a copy of the contracts, which validation then reads."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    monkeypatch.setattr(contracts, "contracts_dir", lambda: copy)
    contracts.reload()

    def edit(column: str, key: str, value: str | None) -> None:
        path = copy / "submission.toml"
        text = path.read_text(encoding="utf-8")
        block = re.search(rf'(?ms)^id = "{column}"$.*?(?=^\[\[columns\]\]|\Z)', text)
        old = re.search(rf"(?m)^{key} = .*\n", block[0])
        new = "" if value is None else f"{key} = {value}\n"
        changed = block[0].replace(old[0], new) if old else block[0].replace("\ndescription", f"\n{new}description", 1)
        path.write_text(text.replace(block[0], changed), encoding="utf-8")
        contracts.reload()

    yield edit
    contracts.reload()  # the real contracts again for the next test


def codes(row: dict) -> set[tuple[str, str]]:
    """(column, code) of every row issue the file with this one hazard row gets."""
    parsed = parse_file(school_book(rows=[row]), "a.xlsx", "2023-W47", Settings())
    (issues,) = validate_rows([parsed])
    return {(i.column, i.code) for i in issues if i.cell and not i.cell.startswith(("A1", "A2", "A3"))}


CASES = [  # column, a row the real contract rejects for it, the edited `when` under which the row is fine
    ("measures", hazard(status="整改中", 整改措施=None), '"status == 未整改"', ("整改措施", "required")),
    ("deadline", hazard(status="整改中", 整改时限=None), '"status == 未整改"', ("整改时限", "required")),
    ("done_date", hazard(status="已整改", 完成日期=None), '"status == 已销号"', ("完成日期", "required")),
    ("verifier", hazard(status="已销号", 完成日期=D(2023, 11, 21), 验收人=None), '"status == 未整改"',
     ("验收人", "required")),
    ("interim_control", hazard(level="重大", status="整改中", 临时管控措施=None),
     '"level == 重大 and status == 未整改"', ("临时管控措施", "major-needs-control")),
]


@pytest.mark.parametrize(("column", "row", "when", "expected"), CASES, ids=[c[0] for c in CASES])
def test_a_conditional_rule_follows_its_when(edited, column, row, when, expected):
    assert expected in codes(row)
    edited(column, "when", when)
    assert expected not in codes(row)
    edited(column, "when", '"status == 整改中"' if "整改中" in str(row.get("整改状态")) else '"status in (已整改, 已销号)"')
    assert expected in codes(row)  # and back: the edited rule, not a cache, decides


def test_a_conditional_rule_names_its_issue_code(edited):
    row = hazard(level="重大", status="整改中", 临时管控措施=None)
    edited("interim_control", "issue", '"required"')
    assert ("临时管控措施", "required") in codes(row) and ("临时管控措施", "major-needs-control") not in codes(row)


def test_date_order_follows_not_before(edited):
    row = hazard(status="整改中", found=D(2023, 11, 20), 整改时限=D(2023, 11, 10))
    assert ("整改时限", "date-order") in codes(row)
    edited("deadline", "not_before", None)
    assert ("整改时限", "date-order") not in codes(row)
    done = hazard(status="已整改", found=D(2023, 11, 20), 整改时限=D(2023, 11, 25), 完成日期=D(2023, 11, 22))
    assert ("完成日期", "date-order") not in codes(done)  # not before 排查日期: fine
    edited("done_date", "not_before", '"deadline"')  # now: not before 整改时限
    assert ("完成日期", "date-order") in codes(done)


def test_a_when_that_is_not_the_contract_language_is_refused_naming_the_column(edited):
    edited("measures", "when", '"status is 整改中"')
    with pytest.raises(ValueError, match="submission.toml column measures"):
        contracts.submission_columns()


@pytest.fixture
def edited_enums(tmp_path, monkeypatch):
    """Replace a text in a copy of enums.toml, which the figures then read."""
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, copy)
    monkeypatch.setattr(contracts, "contracts_dir", lambda: copy)
    contracts.reload()

    def edit(old: str, new: str) -> None:
        path = copy / "enums.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        contracts.reload()

    yield edit
    contracts.reload()


def test_what_a_status_counts_as_is_its_meaning_in_the_contract(edited_enums):
    import pandas as pd

    from inspect_pipeline.report.figures import hazard_figures, with_flags

    h = pd.DataFrame({"status": ["未整改", "整改中", "已整改", "已销号"], "level": "一般", "mode": "限期整改",
                      "deadline": "2023-12-31", "found_date": "2023-11-20", "seen_this_week": True,
                      "prev_status": "未整改", "funds_wan": 0})
    figures = hazard_figures(with_flags(h, dt.date(2023, 11, 24)))
    assert (figures["rectified"], figures["in_progress"], figures["not_rectified"]) == (2, 1, 1)
    assert contracts.statuses(*contracts.OPEN) == ("未整改", "整改中") and contracts.statuses("closed") == ("已销号",)
    # the bureau decides 整改中 counts as not yet started and 未整改 as under way: the figures follow
    edited_enums('value = "未整改", meaning = "not_rectified"', 'value = "未整改", meaning = "in_progress"')
    edited_enums('value = "整改中", meaning = "in_progress"', 'value = "整改中", meaning = "not_rectified"')
    h.loc[0, "status"] = "整改中"
    figures = hazard_figures(with_flags(h, dt.date(2023, 11, 24)))
    assert (figures["in_progress"], figures["not_rectified"]) == (0, 2)


def test_a_status_without_a_meaning_is_refused_naming_it(edited_enums):
    edited_enums(', meaning = "closed"', "")
    with pytest.raises(ValueError, match=r"enums.toml \[status\].*已销号 = None.*unused: closed"):
        contracts.statuses("closed")
