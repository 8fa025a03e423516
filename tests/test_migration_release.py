"""A data root written by the release (8cdf77c, schema 0005: schools keyed by the text `school_key`) is taken over
by today's code: its figures stay the same, every school gets a row in `schools` and every record its `school_id`,
and a school without a 学校标识码 keeps its hazards when the clerk fills its code in.

The data root is tests/fixtures/release_0_db/root (made by make.py there, with the release's code: see its top).
It holds no absolute path (the database is the default .state/inspect.db below the root; the record's paths are
relative), so a copy works wherever it lies."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from inspect_pipeline.record import db
from inspect_pipeline.cli import app
from support import drop, hazard, school_book

FIXTURE = Path(__file__).parent / "fixtures" / "release_0_db" / "root"
NO_CODE = "丰润区七树庄镇小学"  # the roster's school without 学校标识码 (its hazard numbers begin with its name)
NEW_CODE = "4113000007"  # the code the clerk fills in later
FIGURES = ("totals", "by_zone", "by_stage", "missing_units")
REPORTED = {"2023-W47": "2023-11-24T13:00:00+08:00", "2023-W48": "2023-12-01T13:00:00+08:00"}  # as the release ran

runner = CliRunner()


@pytest.fixture
def root(tmp_path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(FIXTURE, copy)
    return copy


def cli(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, f"inspect-pipeline {' '.join(args)} exited {result.exit_code}: {result.output}"


def query(root: Path, sql: str, *params) -> list[tuple]:
    path = root / ".state" / "inspect.db"
    # the fixture itself is only read (immutable: no -wal/-shm file is made beside it)
    con = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True) if root == FIXTURE else sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def tables(root: Path) -> set[str]:
    return {t for (t,) in query(root, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def migrate(root: Path) -> None:
    """Bring the record to today's schema, as every command does first."""
    engine = db.make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    db.migrate(engine)
    engine.dispose()


def latest_report(root: Path, week: str) -> dict:
    folders = sorted((root / "reports" / week).glob("r*"), key=lambda p: int(p.name[1:]))
    return json.loads((folders[-1] / "manifest.json").read_text(encoding="utf-8"))


def put(root: Path, rel: str, data: bytes, now: str) -> None:
    """A file dropped ten minutes before the run (intake need not wait for it to settle)."""
    path = drop(root, rel, data)
    t = int((dt.datetime.fromisoformat(now) - dt.timedelta(minutes=10)).timestamp() * 1e9)
    os.utime(path, ns=(t, t))


def school_of(root: Path, submission_id: int) -> int | None:
    return query(root, "SELECT school_id FROM submissions WHERE id = ?", submission_id)[0][0]


def test_the_fixture_is_the_release_record():
    """The fixture is what the release wrote (schema 0005, schools by text key): the tests below start from it."""
    assert query(FIXTURE, "SELECT version_num FROM alembic_version") == [("0005",)]
    assert "schools" not in tables(FIXTURE)
    assert (NO_CODE,) in query(FIXTURE, "SELECT DISTINCT school_key FROM hazards")


@pytest.mark.parametrize("week", sorted(REPORTED))
def test_a_release_week_reports_the_same_figures(root, week):
    recorded = json.loads((FIXTURE / "reports" / week / "r1" / "manifest.json").read_text(encoding="utf-8"))
    # the release's revisions are moved away so the figures are computed again, not found unchanged in r1
    shutil.rmtree(root / "reports")
    cli("report", "--data-root", str(root), "--week", week, "--now", REPORTED[week], "--no-templates")
    manifest = latest_report(root, week)
    assert manifest["revision"] == 2  # the record knows r1: a new number
    for part in FIGURES:
        assert manifest[part] == recorded[part], part


def test_each_release_school_key_becomes_one_school(root):
    old_submissions = dict(query(root, "SELECT id, school_key FROM submissions"))
    old_hazards = {i: (key, code) for i, key, code in query(root, "SELECT id, school_key, code FROM hazards")}
    migrate(root)
    assert "schools" in tables(root), "no table schools after migrating the release's database"

    schools = {i: (code, name, json.loads(names) if isinstance(names, str) else names)
               for i, code, name, names in query(root, "SELECT id, code, name, names FROM schools")}
    assert len(schools) == 4
    assert sorted(code or "" for code, _, _ in schools.values()) == ["", "1113000003", "2113000001", "3113000005"]
    [(no_code, names)] = [(name, names) for code, name, names in schools.values() if code is None]
    assert no_code == NO_CODE and NO_CODE in names

    def key_of(school_id: int) -> str:  # the release's key of a school: its code, else its name
        code, name, _ = schools[school_id]
        return code or name

    for sid, key in old_submissions.items():
        if key is not None:  # credited to a school (accepted or rejected alike)
            assert school_of(root, sid) is not None, sid
            assert key_of(school_of(root, sid)) == key, sid
    hazards = {i: (school_id, code) for i, school_id, code in query(root, "SELECT id, school_id, code FROM hazards")}
    assert hazards.keys() == old_hazards.keys()
    for i, (school_id, code) in hazards.items():
        assert school_id is not None and code == old_hazards[i][1], i  # the 隐患编号 unchanged
        assert key_of(school_id) == old_hazards[i][0], i
    state = query(root, "SELECT hazard_id, school_id FROM hazard_state")
    assert len(state) == len(hazards) and all(school_id == hazards[h][0] for h, school_id in state)


def test_a_school_without_code_keeps_its_hazards_when_its_code_is_filled_in(root):
    """The no-code school lists a W47 hazard by its printed number in W49; then the clerk fills in its 学校标识码 and
    its W50 file names it by that code: the same school, the same hazard, nothing new. The rows' description is
    edited by the school, so only the 隐患编号 ties them to the hazard."""
    [(number,)] = query(root, "SELECT code FROM hazards WHERE code = ?", f"{NO_CODE}-2023W47-002")
    [(wall,)] = query(root, "SELECT code FROM hazards WHERE code = ?", f"{NO_CODE}-2023W47-001")
    [(first_file,)] = query(root, "SELECT id FROM submissions WHERE week = '2023-W47' AND school_name = ?", NO_CODE)
    hazard_count = len(query(root, "SELECT id FROM hazards"))
    lights = {"location": "食堂", "隐患编号": number}

    now = "2023-12-07T10:00:00+08:00"
    put(root, "七树庄小学/第49周.xlsx", school_book(NO_CODE, week="2023年第49周", checks=1, person_times=3, rows=[
        hazard("围墙局部开裂", dt.datetime(2023, 11, 21), location="东侧围墙", 隐患类别="校舍", level="重大",
               隐患编号=wall, 整改状态="已销号", 完成日期=dt.datetime(2023, 11, 28), 验收人="王五"),
        hazard("食堂应急照明灯损坏，已报修", dt.datetime(2023, 11, 22), **lights),
    ]), now)
    cli("intake", "--data-root", str(root), "--now", now)
    cli("report", "--data-root", str(root), "--week", "2023-W49", "--now", "2023-12-08T13:00:00+08:00",
        "--no-templates")
    w49 = latest_report(root, "2023-W49")
    [entry] = w49["files"]
    assert (entry["outcome"], entry["hazards"]["rows"], entry["hazards"]["new"]) == ("accepted", 2, 0), entry
    assert w49["totals"]["week"]["found"] == 0

    book = openpyxl.load_workbook(root / "roster.xlsx")
    [row] = [r for r in book.active.iter_rows(min_row=2) if r[0].value == NO_CODE]
    row[1].value = NEW_CODE
    book.save(root / "roster.xlsx")
    now = "2023-12-14T10:00:00+08:00"
    put(root, f"{NEW_CODE}/第50周.xlsx", school_book(NO_CODE, code=NEW_CODE, week="2023年第50周", checks=1,
                                                     person_times=3, rows=[
        hazard("食堂应急照明灯损坏，已报修", dt.datetime(2023, 11, 22), 整改状态="已整改",
               完成日期=dt.datetime(2023, 12, 12), **lights),
    ]), now)
    cli("intake", "--data-root", str(root), "--now", now)
    cli("report", "--data-root", str(root), "--week", "2023-W50", "--now", "2023-12-15T13:00:00+08:00",
        "--no-templates")
    w50 = latest_report(root, "2023-W50")
    [entry] = w50["files"]
    assert (entry["outcome"], entry["hazards"]["rows"], entry["hazards"]["new"]) == ("accepted", 1, 0), entry
    assert w50["totals"]["week"]["found"] == 0

    school = school_of(root, first_file)
    later = query(root, "SELECT id, week FROM submissions WHERE week IN ('2023-W49', '2023-W50') ORDER BY id")
    assert [w for _, w in later] == ["2023-W49", "2023-W50"]
    assert [school_of(root, i) for i, _ in later] == [school, school]
    assert len(query(root, "SELECT id FROM schools")) == 4  # the code filled in made no second school
    assert len(query(root, "SELECT id FROM hazards")) == hazard_count  # no hazard numbered anew
    seen = query(root, "SELECT s.week, o.is_new FROM observations o JOIN hazards h ON h.id = o.hazard_id "
                       "JOIN submissions s ON s.id = o.submission_id WHERE h.code = ? ORDER BY s.id", number)
    assert seen == [("2023-W47", 1), ("2023-W48", 0), ("2023-W49", 0), ("2023-W50", 0)]

    cli("rebuild", "--data-root", str(root), "--week", "2023-W48")


def test_a_release_week_rebuilds_from_the_archive(root):
    cli("rebuild", "--data-root", str(root), "--week", "2023-W48")
