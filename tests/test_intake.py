"""Intake end to end on small inline workbooks: outcomes, the record, manifest, archive, receipts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

import openpyxl
import pytest
import sqlalchemy as sa

from inspect_pipeline.record.db import make_engine, submissions
from support import NOW, cells, drop, hazard, intake, make_root, manifest, outcomes, school_book


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path)


def test_accepted_file_is_archived_recorded_and_receipted(root):
    data = school_book(rows=[hazard(), hazard("插座松动", level="重大")])
    drop(root, "一实小/周报.xlsx", data)
    result = intake(root)
    assert result.outcomes == {"accepted": 1}
    m = manifest(root)
    assert set(m) == {"week", "cutoff", "files"} and m["cutoff"] == "2023-11-24T12:00:00+08:00"
    (entry,) = m["files"]
    assert entry["outcome"] == "accepted" and entry["on_time"] is True
    assert entry["school_code"] == "2113000001" and entry["school_name"] == "丰润区第一实验小学"
    assert entry["hazards"] == {"rows": 2, "new": 2, "major": 1, "open": 2, "rectified": 0}
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    assert entry["received_at"] == "2023-11-23T10:00:00+08:00"
    archived = root / "archive" / "2023-W47" / f"{entry['sha256']}.xlsx"
    assert archived.read_bytes() == data  # byte for byte
    sidecars = list(archived.parent.glob(f"{entry['sha256']}.*.json"))
    assert json.loads(sidecars[0].read_text(encoding="utf-8"))["inbox_path"] == "一实小/周报.xlsx"
    assert not (root / "inbox" / "一实小" / "周报.xlsx").exists()
    receipts = list((root / "receipts" / "2023-W47" / "2113000001_丰润区第一实验小学").glob("*回执.xlsx"))
    assert len(receipts) == 1 and openpyxl.load_workbook(receipts[0]).sheetnames == ["回执"]


def test_rejected_file_lists_every_error_with_its_cell(root):
    bad = hazard("插座松动", level="较大", 整改责任人=None, 整改时限="本周内")
    drop(root, "a.xlsx", school_book(rows=[hazard(), bad]))
    intake(root)
    (entry,) = manifest(root)["files"]
    assert entry["outcome"] == "rejected"
    assert cells(entry) == [("H6", "bad-enum"), ("K6", "required"), ("L6", "bad-date")]
    assert entry["hazards"] == {"rows": 0, "new": 0, "major": 0, "open": 0, "rectified": 0}
    issue = next(i for i in entry["issues"] if i["code"] == "bad-enum")
    assert issue["column"] == "隐患等级" and issue["value"] == "较大" and issue["sheet"] == "隐患排查"
    assert "风险等级" in issue["message"]


def test_duplicate_superseded_and_rejected_after_accepted(root):
    first = school_book(rows=[hazard()])
    drop(root, "a/1.xlsx", first)
    intake(root)
    drop(root, "a/2.xlsx", first)  # the same bytes again
    intake(root, NOW + dt.timedelta(hours=1))
    drop(root, "a/3.xlsx", school_book(rows=[hazard(), hazard("插座松动")]))  # a corrected file
    intake(root, NOW + dt.timedelta(hours=2))
    drop(root, "a/4.xlsx", school_book(rows=[hazard(level="较大")]))  # a bad one after it
    intake(root, NOW + dt.timedelta(hours=3))
    assert outcomes(root) == {"1.xlsx": "superseded", "2.xlsx": "duplicate", "3.xlsx": "accepted", "4.xlsx": "rejected"}
    files = {f["file"]: f for f in manifest(root)["files"]}
    assert files["3.xlsx"]["hazards"]["new"] == 2  # both first recorded this week
    assert files["2.xlsx"]["received_at"] == "2023-11-23T11:00:00+08:00"


def test_files_of_one_run_are_taken_in_path_order(root):
    drop(root, "b/later.xlsx", school_book(rows=[hazard(), hazard("插座松动")]))
    drop(root, "a/earlier.xlsx", school_book(rows=[hazard()]))
    assert intake(root).outcomes == {"accepted": 1, "superseded": 1}
    assert outcomes(root) == {"earlier.xlsx": "superseded", "later.xlsx": "accepted"}


def test_late_file_and_wrong_week(root):
    drop(root, "late.xlsx", school_book(rows=[hazard()]))
    drop(root, "stale.xlsx", school_book(unit="丰润区第三幼儿园", rows=[hazard()], week="2023年第40周"))
    intake(root, dt.datetime.fromisoformat("2023-11-24T15:00:00+08:00"))  # after the W47 cutoff
    late = manifest(root)["files"][0]
    assert late["outcome"] == "accepted" and late["on_time"] is False  # stated W47, arrived in W48
    (stale,) = manifest(root, "2023-W48")["files"]  # listed under its arrival week
    assert stale["outcome"] == "rejected" and cells(stale) == [("A3", "wrong-week")]


def test_unknown_school_names_the_closest(root):
    drop(root, "x.xlsx", school_book(unit="丰润区第一实验小", rows=[hazard()]))
    intake(root)
    (entry,) = manifest(root)["files"]
    assert cells(entry) == [("A2", "unknown-school")] and "丰润区第一实验小学" in entry["issues"][0]["message"]
    assert (root / "receipts" / "2023-W47" / "_未识别学校").is_dir()


def test_zero_reports(root):
    drop(root, "a.xlsx", school_book(rows=[], zero=True))
    drop(root, "b.xlsx", school_book(unit="三幼", rows=[]))
    intake(root)
    files = {f["file"]: f for f in manifest(root)["files"]}
    assert files["a.xlsx"]["outcome"] == "accepted" and files["a.xlsx"]["issues"] == []
    assert files["b.xlsx"]["outcome"] == "accepted" and cells(files["b.xlsx"]) == [(None, "zero-report-assumed")]


def test_hazards_keep_their_identity_across_weeks(root):
    d = dt.datetime(2023, 11, 13)
    week46 = [hazard(found=d), hazard("插座松动", found=d),
              hazard("门锁坏", found=d, status="已整改", 完成日期=dt.datetime(2023, 11, 15))]
    drop(root, "w46.xlsx", school_book(rows=week46, week="2023年第46周"))
    intake(root, dt.datetime.fromisoformat("2023-11-16T10:00:00+08:00"))
    assert outcomes(root, "2023-W46") == {"w46.xlsx": "accepted"}
    week47 = [hazard(found=d, status="已整改", 完成日期=dt.datetime(2023, 11, 22)),  # rectified now
              hazard("门锁坏", found=d, status="整改中"),  # reopened
              hazard("楼梯扶手松动", found=dt.datetime(2023, 11, 21))]  # new; 插座松动 dropped
    drop(root, "w47.xlsx", school_book(rows=week47))
    intake(root)
    (entry,) = manifest(root)["files"]
    assert entry["outcome"] == "accepted"
    assert entry["hazards"] == {"rows": 3, "new": 1, "major": 0, "open": 2, "rectified": 1}
    assert cells(entry) == [(None, "hazard-dropped"), ("G6", "hazard-reopened")]


def test_running_again_with_no_new_files_changes_nothing(root):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    intake(root)
    before = manifest(root)
    engine = make_engine(f"sqlite:///{(root / '.state' / 'inspect.db').as_posix()}")
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar()
    result = intake(root, NOW + dt.timedelta(hours=1))
    assert result.files == 0 and manifest(root) == before
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(submissions)).scalar() == count


def test_temp_and_hidden_files_are_ignored(root):
    drop(root, "~$周报.xlsx", b"lock")
    drop(root, ".~lock.周报.xlsx#", b"lock")
    drop(root, "a/.hidden.xlsx", b"x")
    result = intake(root)
    assert result.files == 0 and (root / "inbox" / "~$周报.xlsx").exists()


def test_file_names_never_escape_the_data_root(root):
    drop(root, "a/CON.xlsx", school_book(rows=[hazard()]))
    drop(root, "b/" + "长" * 80 + ".xlsx", school_book(unit="三幼", rows=[hazard()]))
    intake(root)
    written = [p for p in root.rglob("*") if p.is_file()]
    assert all(root in p.parents for p in written)
    assert all(len(p.name) <= 60 for p in written if "receipts" in p.parts)
    assert not any(p.stem.upper() == "CON" for p in written)


def test_school_text_never_becomes_a_formula(root):
    drop(root, "a.xlsx", school_book(rows=[hazard(隐患描述="=HYPERLINK(\"http://x\",\"y\")", 隐患等级="较大")]))
    intake(root)
    (receipt,) = (root / "receipts").rglob("*问题清单.xlsx")
    book = openpyxl.load_workbook(receipt)
    issues = book["问题清单"]
    assert all(c.data_type != "f" for row in issues.iter_rows() for c in row)


def test_a_receipt_that_cannot_be_written_is_retried_by_the_next_run(root):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    # receipts are written in worker processes (monkeypatch does not reach them): a file where the school's
    # receipt folder belongs makes every write fail, in the worker and in the parent's plain fallback alike
    blocker = root / "receipts" / "2023-W47" / "2113000001_丰润区第一实验小学"
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"")
    assert intake(root).outcomes == {"accepted": 1}  # the run completes, the file is recorded
    assert not list((root / "receipts").rglob("*回执.xlsx"))
    blocker.unlink()
    intake(root, NOW + dt.timedelta(minutes=10))
    assert len(list((root / "receipts").rglob("*回执.xlsx"))) == 1
    assert [f["outcome"] for f in manifest(root)["files"]] == ["accepted"]


def test_a_run_that_fails_before_its_record_commits_leaves_no_receipt(root, monkeypatch):
    from inspect_pipeline.intake import run as intake_run

    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    drop(root, "b.xlsx", school_book(unit="丰润区第三幼儿园", rows=[hazard(level="较大")]))
    staged = []

    def failing_refresh(conn, touched):  # fails once the receipts written beside the record are there
        deadline = time.monotonic() + 30
        while len(staged) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            staged[:] = list((root / ".state").rglob("*.xlsx"))
        raise RuntimeError("disk gone")

    monkeypatch.setattr(intake_run, "refresh_state", failing_refresh)
    with pytest.raises(RuntimeError):
        intake(root)
    assert len(staged) == 2  # both receipts had been written, into the staging folder
    assert not list((root / "receipts").rglob("*.xlsx")) and not list((root / ".state").rglob("*.xlsx"))
    assert not [p for p in (root / ".state").iterdir() if p.name.startswith(".building-")]
    monkeypatch.undo()
    assert intake(root).outcomes == {"accepted": 1, "rejected": 1}
    assert len(list((root / "receipts").rglob("*回执.xlsx"))) == 1
    assert len(list((root / "receipts").rglob("*问题清单.xlsx"))) == 1


def test_roster_in_another_format_saved_after_the_template_is_used(root):
    (root / "roster.csv").write_text(
        "学校名称,学校标识码,学段,片区,包片领导,包校科室,包校责任人\n丰润区第九小学,2113000009,小学,三片,冯局长,安法科,陈静\n",
        encoding="utf-8",
    )
    drop(root, "a.xlsx", school_book(unit="丰润区第九小学", rows=[hazard()]))
    intake(root)
    assert manifest(root)["files"][0]["school_code"] == "2113000009"


def test_each_run_keeps_the_roster_and_config_it_used(root):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    intake(root)
    kept = sorted(p.name.split("-")[0] for p in (root / "archive" / "_inputs").iterdir())
    assert kept == ["config", "roster"]
    assert any(p.read_bytes() == (root / "roster.xlsx").read_bytes() for p in (root / "archive" / "_inputs").iterdir())


def test_a_stamp_note_after_the_unit_name_still_names_the_school(root):
    drop(root, "a.xlsx", school_book(unit="丰润区第三幼儿园（盖章）", rows=[hazard()]))
    intake(root)
    assert manifest(root)["files"][0]["school_code"] == "1113000003"


def test_point_8_a_unit_name_that_is_the_schools_code_names_the_school(root):
    """Issue #9 point 8: 填报单位 resolves by name, 简称 or 学校标识码 (submission.md §Header block)."""
    drop(root, "a.xlsx", school_book(unit="2113000001", rows=[hazard()]))
    drop(root, "b.xlsx", school_book(unit="9999999999", rows=[hazard()]))
    intake(root)
    got = {f["file"]: (f["outcome"], f["school_code"]) for f in manifest(root)["files"]}
    assert got == {"a.xlsx": ("accepted", "2113000001"), "b.xlsx": ("rejected", None)}
