"""The same intake on PostgreSQL (database_url in config.toml): outcomes, cross-week identity, idempotency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from support import (
    NOW,
    cells,
    drop,
    hazard,
    intake,
    make_root,
    manifest,
    outcomes,
    school_book,
)

from inspect_pipeline.record import bulk as record_bulk
from inspect_pipeline.record.db import make_engine, metadata
from inspect_pipeline.report.build import build_report
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.jobs.setup import init_data_root


@pytest.fixture
def root(tmp_path, postgres_url):
    engine = make_engine(postgres_url)
    with engine.begin() as conn:  # each test starts from an empty database
        metadata.drop_all(conn)
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    root = make_root(tmp_path)
    use_database(root, postgres_url)
    init_data_root(root)  # an empty PostgreSQL database is set up by init only (runs refuse it)
    return root


def use_database(root: Path, url: str) -> None:
    """Point the data root's record at `url`: a top-level key of config.toml, so before its first [table]."""
    config = root / "config.toml"
    config.write_text(f'database_url = "{url}"\n' + config.read_text(encoding="utf-8"), encoding="utf-8")
    assert Paths.at(root, load_settings(root)).database_url == url


@pytest.mark.parametrize("in_list", [500, 1])
def test_intake_on_postgres(root, monkeypatch, in_list):
    """in_list=1: every set of ids the record is asked about goes through a temporary table (record.db.id_set)."""
    monkeypatch.setattr(record_bulk, "IN_LIST", in_list)
    d = dt.datetime(2023, 11, 13)
    drop(root, "w46.xlsx", school_book(rows=[hazard(found=d), hazard("插座松动", found=d)], week="2023年第46周"))
    intake(root, dt.datetime.fromisoformat("2023-11-16T10:00:00+08:00"))
    drop(root, "a/1.xlsx", school_book(rows=[hazard(found=d, status="已整改", 完成日期=dt.datetime(2023, 11, 22))]))
    drop(root, "a/2.xlsx", school_book(rows=[hazard(found=d, status="已整改", 完成日期=dt.datetime(2023, 11, 22)),
                                             hazard("插座松动", found=d)]))
    drop(root, "b.xlsx", school_book(unit="三幼", rows=[hazard(level="较大")]))
    intake(root)
    assert outcomes(root) == {"1.xlsx": "superseded", "2.xlsx": "accepted", "b.xlsx": "rejected"}
    files = {f["file"]: f for f in manifest(root)["files"]}
    assert cells(files["1.xlsx"]) == [(None, "hazard-dropped")]
    assert files["2.xlsx"]["hazards"] == {"rows": 2, "new": 0, "major": 0, "open": 1, "rectified": 1}
    before = manifest(root)
    assert intake(root, NOW + dt.timedelta(hours=1)).files == 0
    assert manifest(root) == before
    engine = make_engine(postgres_url_of(root))
    with engine.connect() as conn:  # the record really is the PostgreSQL database
        assert conn.execute(sa.text("SELECT count(*) FROM submissions")).scalar_one() == 4
        assert conn.execute(sa.text("SELECT count(*) FROM hazard_state")).scalar_one() == 2
    engine.dispose()
    settings = load_settings(root)
    report = build_report(Paths.at(root, settings), settings, "2023-W47", NOW + dt.timedelta(days=1))
    assert report.written and report.manifest["totals"]["cumulative"]["found"] == 2


def postgres_url_of(root: Path) -> str:
    return Paths.at(root, load_settings(root)).database_url


def test_bulk_insert_stores_what_executemany_stores(postgres_url):
    """record.bulk.insert_rows goes by COPY on PostgreSQL: every value is stored as the row-by-row INSERT stores it
    (text with tabs, newlines, backslashes, NUL and a lone surrogate; JSON with CJK text and NaN; a count no integer
    column holds; NaN funds; dates; booleans; NULLs)."""
    engine = make_engine(postgres_url)
    with engine.begin() as conn:
        metadata.drop_all(conn)
        metadata.create_all(conn)
    hostile = "a\tb\nc\\N\r\x00d\udcff 隐患“引号”"
    base = {"run_id": 1, "file_name": hostile, "inbox_path": "x/\\y.xlsx", "sha256": "0" * 64, "size": 2**70,
            "mtime_ns": -(2**70), "received_at": "2023-11-20T10:00:00+08:00", "received_epoch": 1700445600,
            "arrival_week": "2023-W47", "week": "2023-W47", "school_id": None, "school_code": None,
            "school_name": "\\N", "format": "xlsx", "sheet": "", "outcome": "accepted", "on_time": True,
            "zero_report": False, "rows": 0, "new": 0, "major": 0, "open": 0, "rectified": 0,
            "unit_name_raw": "\t", "reporter": None, "phone": "", "approver": None,
            "report_date": dt.date(2023, 11, 20), "checks": 2**40, "check_person_times": 7,
            "issues": [{"message": "第 3 行：“状态”不在允许值中", "nan": float("nan"), "k\x00": ["\udc80"]}],
            "limit_hit": None, "note": "\\", "archive_path": "archive/a", "receipt_path": None,
            "receipt_written": False}
    rows = [{**base, "id": i} for i in (1, 2)]
    stored = {}
    with engine.begin() as conn:
        conn.execute(sa.insert(metadata.tables["runs"]).values(id=1, started_at="s", now="n", files=0))
        conn.execute(sa.insert(metadata.tables["submissions"]), rows[:1])  # row by row
        record_bulk.insert_rows(conn, metadata.tables["submissions"], rows[1:])  # COPY
        for row in conn.execute(sa.select(metadata.tables["submissions"])).mappings():
            stored[row["id"]] = {k: v for k, v in row.items() if k != "id"}
    engine.dispose()
    assert stored[1] == stored[2]
    assert stored[2]["file_name"] == "a\tb\nc\\N\rd\ufffd 隐患“引号”" and stored[2]["school_name"] == "\\N"
    assert stored[2]["checks"] is None and stored[2]["size"] == 2**63 - 1
    assert stored[2]["issues"][0]["nan"] is None and stored[2]["issues"][0]["message"].startswith("第 3 行")
