"""The record takes any value a school can type, the same way on SQLite and PostgreSQL, and never silently starts
over: an empty, damaged, foreign or newer database stops the run with one line (RecordError) and is left as it was."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from alembic import command
from support import NOW, drop, hazard, intake, make_root, manifest, school_book

from inspect_pipeline.record.db import (
    alembic_config,
    hazards,
    make_engine,
    metadata,
    migrate,
    observations,
    runs,
    schools,
    storable_json,
    storable_text,
    submissions,
)
from inspect_pipeline.core.errors import RecordError
from inspect_pipeline.read.normalize import parse_count
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.jobs.setup import init_data_root

W46 = dt.datetime(2023, 11, 13)


# ---------------------------------------------------------------------------------------------- hostile values


def _cjk(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(n))


def _tweak(data: bytes, change) -> bytes:
    """The workbook with `change(sheet)` applied."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    change(book.active)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _replace_in_xml(data: bytes, marker: str, escaped: str) -> bytes:
    """The xlsx with `marker` replaced in its XML parts by `escaped` (Excel's _xHHHH_ escapes of control characters,
    which openpyxl refuses to write)."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item)
            if item.filename.endswith(".xml"):
                body = body.replace(marker.encode(), escaped.encode())
            dst.writestr(item, body)
    return out.getvalue()


def _as_csv(data: bytes, replace: dict[str, str]) -> bytes:
    """The workbook's sheet as a UTF-8 CSV, with texts replaced (raw control characters, NUL)."""
    rows = openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        cells = ["" if v is None else v.date().isoformat() if isinstance(v, dt.datetime) else str(v) for v in row]
        for old, new in replace.items():
            cells = [c.replace(old, new) for c in cells]
        writer.writerow(cells)
    return out.getvalue().encode("utf-8")


def _odd_sheet(sheet) -> None:
    sheet.title = "隐患'排查 😀 (第47周) <>&\"%#@!~{}+=;,é"[:31]


def _long_header(sheet) -> None:
    sheet["E3"] = "填报人：" + "张" * 500
    sheet["K3"] = "联系电话：" + "1" * 250 + "转" * 250


def hostile_files() -> dict[str | bytes, bytes]:
    """Inbox path (bytes: a name that is not UTF-8) → content, built once so both backends get the same bytes."""
    rows = [hazard(found=W46), hazard("插座松动", found=W46, 整改措施="更换CTRLMARK插座")]
    normal = school_book(rows=rows)
    files: dict[str | bytes, bytes] = {
        "a_long_header.xlsx": _tweak(normal, _long_header),
        "b_long_description.xlsx": school_book(rows=[hazard(_cjk(40_000, 1), found=W46, location=_cjk(5_000, 2),
                                                            备注=_cjk(33_000, 3))]),
        "c_control.xlsx": _replace_in_xml(normal, "CTRLMARK", "_x0000__x0001__x0007__x001B__xD800_\t\r\n"),
        "d_control.csv": _as_csv(normal, {"CTRLMARK": "\x01\x07\x1b\x7f\u2028"}),  # with a NUL it is no CSV
        "e_count.xlsx": school_book(unit="银中", rows=rows, checks=99999999999, person_times=-3),
        "f_digits.xlsx": school_book(unit="银中", rows=rows, checks="9" * 5000),
        "h_sheet.xlsx": _tweak(normal, _odd_sheet),
        "z_control.xlsx": school_book(unit="三幼", rows=[hazard(found=W46)]),
    }
    if os.name == "posix":
        files[b"g_\xff\xfe\xe5\xad.xlsx"] = school_book(unit="一实小", rows=[hazard("消防通道堵塞")])
    return files


def drop_all(root: Path, files: dict[str | bytes, bytes]) -> None:
    for rel, data in files.items():
        if isinstance(rel, bytes):
            (Path(os.fsdecode(os.fsencode(root / "inbox") + b"/" + rel))).write_bytes(data)
        else:
            drop(root, rel, data)


def postgres_root(tmp_path: Path, url: str) -> Path:
    """An initialised data root whose record is the (emptied) PostgreSQL database."""
    _empty_postgres(url)
    root = make_root(tmp_path)
    use_database(root, url)
    init_data_root(root)
    return root


def use_database(root: Path, url: str) -> None:
    """Point the data root's record at `url`: a top-level key of config.toml, so before its first [table]."""
    config = root / "config.toml"
    config.write_text(f'database_url = "{url}"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert Paths.at(root, load_settings(root)).database_url == url


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        conn.execute(sa.text("DROP TABLE IF EXISTS stock"))
    engine.dispose()


def _intake_hostile(root: Path, files: dict) -> tuple[dict, dict]:
    drop_all(root, files)
    result = intake(root)
    assert [p for p in (root / "inbox").rglob("*") if p.is_file()] == []  # every file taken
    return result.outcomes, manifest(root)


RECORDED = {
    "submissions": "file_name, inbox_path, outcome, school_code, sheet, unit_name_raw, reporter, phone, checks,"
                   " check_person_times, issues, note, receipt_path, receipt_written, rows, new, open",
    "observations": "submission_id, row, location, description, measures, remarks, funds_wan, status, counted",
    "hazards": "code, identity, first_week",
}


def _recorded(root: Path) -> dict[str, list[tuple]]:
    """What the record holds of the school's values (no ids of runs, times of day or file times)."""
    engine = make_engine(Paths.at(root, load_settings(root)).database_url)
    with engine.connect() as conn:
        out = {table: [tuple(r) for r in conn.execute(sa.text(f"SELECT {cols} FROM {table}"))]
               for table, cols in RECORDED.items()}
    engine.dispose()
    for i, row in enumerate(out["submissions"]):  # JSON read back as text (no column type in a text query)
        out["submissions"][i] = (*row[:10], row[10] if isinstance(row[10], list) else json.loads(row[10]), *row[11:])
    return {table: sorted(rows, key=repr) for table, rows in out.items()}


def test_hostile_values_are_recorded_alike_on_sqlite_and_postgres(tmp_path, postgres_url):
    files = hostile_files()
    lite = make_root(tmp_path / "sqlite")
    pg = postgres_root(tmp_path / "postgres", postgres_url)
    lite_outcomes, lite_manifest = _intake_hostile(lite, files)
    pg_outcomes, pg_manifest = _intake_hostile(pg, files)
    assert pg_manifest == lite_manifest
    assert pg_outcomes == lite_outcomes and sum(lite_outcomes.values()) == len(files)
    assert _recorded(pg) == _recorded(lite)
    by_name = {f["file"]: f for f in lite_manifest["files"]}
    assert len(by_name) == len(lite_manifest["files"]) == len(files)  # every file in exactly one state
    assert by_name["z_control.xlsx"]["outcome"] == "accepted" and by_name["z_control.xlsx"]["hazards"]["rows"] == 1
    if os.name == "posix":
        assert "g_\ufffd\ufffd\ufffd\ufffd.xlsx" in by_name  # readable: each undecodable byte as U+FFFD
    count_issues = {(i["cell"], i["code"]) for i in by_name["e_count.xlsx"]["issues"]}
    assert ("G3", "bad-number") in count_issues and ("I3", "bad-number") in count_issues
    assert ("G3", "bad-number") in {(i["cell"], i["code"]) for i in by_name["f_digits.xlsx"]["issues"]}
    submissions = {r[0]: r for r in _recorded(lite)["submissions"]}
    assert len(submissions["a_long_header.xlsx"][6]) == 500 and len(submissions["a_long_header.xlsx"][7]) == 500
    assert all(r[13] for r in submissions.values())  # every receipt written
    later = school_book(unit="三幼", rows=[hazard(found=W46), hazard("窗户破损", found=W46)])
    for root in (lite, pg):  # nothing poisoned: the same inbox once more, then a new file
        outcomes, again = _intake_hostile(root, files)
        assert sum(outcomes.values()) == len(files) and "accepted" not in outcomes
        assert len(again["files"]) == 2 * len(files)
        drop(root, "next.xlsx", later)
        assert intake(root, NOW + dt.timedelta(hours=1)).outcomes == {"accepted": 1}
    assert manifest(pg) == manifest(lite) and _recorded(pg) == _recorded(lite)


def test_the_record_takes_what_no_reader_lets_through(tmp_path, postgres_url):
    """The column types themselves, on both backends: NUL, lone surrogates, NaN, infinities, huge numbers."""
    stored = []
    for url in (f"sqlite:///{(tmp_path / 'inspect.db').as_posix()}", postgres_url):
        if url == postgres_url:
            _empty_postgres(url)
        engine = make_engine(url)
        migrate(engine, create=True)
        with engine.begin() as conn:
            conn.execute(runs.insert().values(id=1, started_at="a\x00b", now="n", files=1))
            conn.execute(submissions.insert().values(
                id=1, run_id=1, file_name="名\udcff\x00.xlsx", inbox_path="x/名\udcff.xlsx", sha256="s", size=1,
                mtime_ns=2**70, received_at="r", received_epoch=2**70, arrival_week="w", week="w", outcome="rejected",
                on_time=True,
                zero_report=False, rows=0, new=0, major=0, open=0, rectified=0, archive_path="a", receipt_written=False,
                issues=[{"value": "\x00\ud800", "n": float("nan"), "m": [float("-inf"), 2.5]}],
                checks=99999999999, check_person_times=-(2**40), phone="\x00" * 3 + "1" * 10_000,
            ))
            conn.execute(schools.insert().values(id=1, name="\x00名\udcff", names=["\ud800"]))
            conn.execute(hazards.insert().values(id=1, school_id=1, code="c", identity=_cjk(20_000, 9),
                                                 found_date=dt.date(2023, 11, 20), first_week="w",
                                                 first_submission_id=1))
            conn.execute(observations.insert().values(hazard_id=1, submission_id=1, week="w", row=5, is_new=True,
                                                      status="整改中", funds_wan=float("nan"), description="\x00"))
        with engine.connect() as conn:
            row = conn.execute(sa.select(submissions)).mappings().one()
            obs = conn.execute(sa.select(observations.c.funds_wan, observations.c.description)).one()
            stored.append({**{k: row[k] for k in ("file_name", "inbox_path", "mtime_ns", "issues", "checks",
                                                  "check_person_times", "phone")}, "obs": tuple(obs)})
        engine.dispose()
    assert stored[0] == stored[1]
    assert stored[0]["file_name"] == "名\ufffd.xlsx" and stored[0]["mtime_ns"] == 2**63 - 1
    assert stored[0]["issues"] == [{"value": "\ufffd", "n": None, "m": [None, 2.5]}]
    assert stored[0]["checks"] is None and stored[0]["check_person_times"] is None
    assert stored[0]["phone"] == "1" * 10_000 and stored[0]["obs"] == (None, "")
    _empty_postgres(postgres_url)


def test_the_record_stores_long_values_as_read(tmp_path, postgres_url):
    files = {"b_long_description.xlsx": hostile_files()["b_long_description.xlsx"]}
    stored = []
    for root in (make_root(tmp_path / "sqlite"), postgres_root(tmp_path / "postgres", postgres_url)):
        assert _intake_hostile(root, files)[0] == {"accepted": 1}
        stored.append(_recorded(root))
    assert stored[0] == stored[1]
    (_, _, location, description, *_), = stored[0]["observations"]
    assert location == _cjk(5_000, 2) and description == _cjk(40_000, 1)[: len(description)]
    assert len(description) >= 32_767 and len(stored[0]["hazards"][0][1]) > len(description)


def test_storable_values():
    assert storable_text("a\x00b\udcff.xlsx") == "ab\ufffd.xlsx"
    assert storable_text("隐患") == "隐患"
    value = {"a\x00": [float("nan"), float("inf"), 1.5, "x\ud800"], "n": None}
    assert storable_json(value) == {"a": [None, None, 1.5, "x\ufffd"], "n": None}


@pytest.mark.parametrize(("value", "count"), [("3次", 3), ("1000000000", 10**9), (10**9, 10**9), ("0007", 7)])
def test_a_count_is_read(value, count):
    assert parse_count(value) == (count, True)


@pytest.mark.parametrize("value", ["99999999999", 99999999999, 1e12, "9" * 5000, float("inf"), -1, "1000000001"])
def test_a_number_beyond_any_count_is_not_a_count(value):
    assert parse_count(value) == (None, False)


# ---------------------------------------------------------------------------------------------- no silent reset


def _sqlite_db(root: Path) -> Path:
    return root / ".state" / "inspect.db"


def _foreign_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE stock (item TEXT, qty INTEGER)")
    conn.execute("INSERT INTO stock VALUES ('粉笔', 12)")
    conn.commit()
    conn.close()


def _newer_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
    conn.execute("INSERT INTO alembic_version VALUES ('9999')")
    conn.execute("CREATE TABLE submissions (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


BROKEN = {
    "empty": (lambda p: p.write_bytes(b""), "是空的（0 字节）"),
    "random": (lambda p: p.write_bytes(random.Random(5).randbytes(8192)), "不是 SQLite 数据库"),
    "foreign": (_foreign_sqlite, "不是本软件的记录"),
    "newer": (_newer_sqlite, "比本软件新"),
    "malformed": (lambda p: p.write_bytes(b"SQLite format 3\x00" + random.Random(6).randbytes(8176)), "无法使用"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_sqlite_record_stops_the_run_untouched(tmp_path, kind):
    root = make_root(tmp_path)
    db = _sqlite_db(root)
    for extra in (db.with_name("inspect.db-wal"), db.with_name("inspect.db-shm")):
        extra.unlink(missing_ok=True)
    db.unlink()
    BROKEN[kind][0](db)
    before = db.read_bytes()
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    with pytest.raises(RecordError) as caught:
        intake(root)
    message = str(caught.value)
    assert str(db.as_posix()) in message and BROKEN[kind][1] in message and "\n" not in message
    if kind != "newer":
        assert "inspect-pipeline restore" in message and "备份" in message
    assert caught.value.exit_code == 7
    assert db.read_bytes() == before
    assert (root / "inbox" / "a.xlsx").exists()  # nothing taken
    with pytest.raises(RecordError):  # init does not take it over either
        init_data_root(root)
    assert db.read_bytes() == before


def test_a_missing_sqlite_record_is_created(tmp_path):
    root = make_root(tmp_path)
    for p in _sqlite_db(root).parent.glob("inspect.db*"):
        p.unlink()
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    assert intake(root).outcomes == {"accepted": 1}


def test_a_sqlite_record_without_tables_is_set_up_by_init_only(tmp_path):
    root = make_root(tmp_path)
    db = _sqlite_db(root)
    for p in db.parent.glob("inspect.db*"):
        p.unlink()
    conn = sqlite3.connect(db)  # a valid file without tables: what a crash during the very first set-up leaves
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    assert db.stat().st_size > 0
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    with pytest.raises(RecordError, match="没有任何记录表"):
        intake(root)
    init_data_root(root)
    assert intake(root).outcomes == {"accepted": 1}


# ---------------------------------------------------------------------------------------------- PostgreSQL


def test_postgres_empty_database_is_set_up_by_init_only(tmp_path, postgres_url):
    _empty_postgres(postgres_url)
    root = make_root(tmp_path)
    use_database(root, postgres_url)
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    with pytest.raises(RecordError, match="inspect-pipeline init") as caught:
        intake(root)
    assert "\n" not in str(caught.value) and "@" in str(caught.value)
    assert (root / "inbox" / "a.xlsx").exists()
    init_data_root(root)
    assert intake(root).outcomes == {"accepted": 1}


def test_postgres_foreign_tables_are_refused(tmp_path, postgres_url):
    _empty_postgres(postgres_url)
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE stock (item text, qty integer)"))
    engine.dispose()
    root = make_root(tmp_path)
    use_database(root, postgres_url)
    for run in (init_data_root, intake):
        with pytest.raises(RecordError, match="不属于本软件的表（stock）"):
            run(root)
    _empty_postgres(postgres_url)


def test_postgres_newer_schema_is_refused(tmp_path, postgres_url):
    postgres_root(tmp_path, postgres_url)
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(RecordError, match="结构版本 9999 比本软件新"):
        migrate(engine)
    engine.dispose()
    _empty_postgres(postgres_url)


# ---------------------------------------------------------------------------------------------- migration 0005


def _upgrade_keeps_data(engine: sa.Engine) -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0004")
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO runs (id, started_at, now, files) VALUES (1, 'a', 'b', 1)"))
        conn.execute(sa.text(
            "INSERT INTO submissions (id, run_id, file_name, inbox_path, sha256, size, mtime_ns, received_at,"
            " arrival_week, week, outcome, on_time, zero_report, rows, new, major, open, rectified, issues,"
            " archive_path, receipt_written, phone) VALUES (1, 1, '报表.xlsx', '报表.xlsx', 'ab', 10, 20, 'c',"
            " '2023-W47', '2023-W47', 'accepted', true, false, 0, 0, 0, 0, 0, '[]', 'archive/x', false, '123')"
        ))
        # a school of the 0004 record (keyed by its name: no code) with a hazard and its current page
        conn.execute(sa.text(
            "INSERT INTO submissions (id, run_id, file_name, inbox_path, sha256, size, mtime_ns, received_at,"
            " arrival_week, week, school_key, school_name, outcome, on_time, zero_report, rows, new, major, open,"
            " rectified, issues, archive_path, receipt_written) VALUES (2, 1, 'b.xlsx', 'b.xlsx', 'cd', 10, 20,"
            " '2023-11-23T10:00:00+08:00', '2023-W47', '2023-W47', '三幼', '丰润区第三幼儿园', 'accepted', true,"
            " false, 1, 1, 0, 1, 0, '[]', 'archive/y', true)"
        ))
        conn.execute(sa.text(
            "INSERT INTO hazards (id, school_key, code, identity, found_date, first_week, first_submission_id)"
            " VALUES (1, '三幼', '三幼-2023W47-001', 'i', '2023-11-20', '2023-W47', 2)"
        ))
        conn.execute(sa.text(
            "INSERT INTO observations (id, hazard_id, submission_id, week, row, is_new, counted, status)"
            " VALUES (1, 1, 2, '2023-W47', 5, true, true, '整改中')"
        ))
        conn.execute(sa.text(
            "INSERT INTO hazard_state (hazard_id, school_key, first_week, week, observation_id, status)"
            " VALUES (1, '三幼', '2023-W47', '2023-W47', 1, '整改中')"
        ))
    migrate(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.text("SELECT file_name, phone, limit_hit FROM submissions WHERE id = 1")).one()
        assert tuple(row) == ("报表.xlsx", "123", None)
        conn.execute(sa.text("UPDATE submissions SET phone = :p, limit_hit = 'watchdog'"), {"p": "1" * 500})
        assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == "0007"  # and on to the head
        spans = conn.execute(sa.text("SELECT hazard_id, status, week_from, week_to FROM hazard_spans")).all()
        assert [tuple(r) for r in spans] == [(1, "整改中", "2023-W47", None)]  # 0007 fills them from the history
        (school,) = conn.execute(sa.select(schools)).mappings().all()
        assert (school["code"], school["name"], school["names"]) == (None, "丰润区第三幼儿园", ["丰润区第三幼儿园", "三幼"])
        for table in ("submissions WHERE id = 2", "hazards", "hazard_state"):
            assert conn.execute(sa.text(f"SELECT school_id FROM {table}")).scalar_one() == school["id"], table
        epochs = dict(conn.execute(sa.text("SELECT id, received_epoch FROM submissions")).all())
        assert epochs == {1: 0, 2: int(dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00").timestamp())}


def test_0005_and_0006_keep_the_data_of_a_0004_sqlite_record(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'inspect.db').as_posix()}")
    _upgrade_keeps_data(engine)
    engine.dispose()


def test_0005_and_0006_keep_the_data_of_a_0004_postgres_record(postgres_url):
    _empty_postgres(postgres_url)
    engine = make_engine(postgres_url)
    _upgrade_keeps_data(engine)
    with engine.connect() as conn:
        types = dict(conn.execute(sa.text(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'submissions'"
        )).all())
    engine.dispose()
    assert types["phone"] == "text" and types["file_name"] == "text" and types["limit_hit"] == "text"
    _empty_postgres(postgres_url)
