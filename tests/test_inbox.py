"""The inbox is the inbox: links are recorded, never followed; a file's first folder credits it when it names no
school; a file still being copied is left alone; quiet_seconds has a floor."""

from __future__ import annotations

import os
import sys

import openpyxl
import pytest
from pydantic import ValidationError

from inspect_pipeline.intake.take import archive_file, scan_inbox
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import Settings, load_settings
from support import NOW, drop, hazard, intake, make_root, manifest, school_book

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path)


def _entry(root, name):
    return next(f for f in manifest(root)["files"] if f["file"] == name)


def _all_bytes_below(folder) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file() and p.suffix != ".xlsx") + b"".join(
        str(c.value).encode() for p in folder.rglob("*.xlsx") for ws in openpyxl.load_workbook(p).worksheets
        for row in ws.iter_rows() for c in row if c.value is not None
    )


@posix_only
def test_a_link_to_a_file_outside_is_rejected_without_reading_it(root, tmp_path):
    secret = tmp_path / "outside" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:SECRET-CONTENT\n", encoding="utf-8")
    link = root / "inbox" / "passwd.csv"
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(secret)
    drop(root, "good.xlsx", school_book(rows=[hazard()]))
    result = intake(root)
    assert result.outcomes == {"accepted": 1, "rejected": 1}
    entry = _entry(root, "passwd.csv")
    assert entry["outcome"] == "rejected"
    assert [(i["code"], i["message"]) for i in entry["issues"]] == [
        ("unsupported-format", "文件格式不受支持：链接（快捷方式），不是文件本身")]
    assert not link.exists() and not link.is_symlink()  # the link left the inbox …
    assert secret.read_text(encoding="utf-8").endswith("SECRET-CONTENT\n")  # … its target is untouched
    for folder in ("archive", "receipts"):
        assert b"SECRET-CONTENT" not in _all_bytes_below(root / folder)
    assert _entry(root, "good.xlsx")["outcome"] == "accepted"


@posix_only
def test_a_link_to_a_workbook_outside_is_not_a_schools_file_but_its_folder_credits_it(root, tmp_path):
    outside = tmp_path / "elsewhere.xlsx"
    outside.write_bytes(school_book(unit="丰润区第三幼儿园", rows=[hazard()]))
    folder = root / "inbox" / "丰润区第三幼儿园"
    folder.mkdir(parents=True)
    (folder / "周报.xlsx").symlink_to(outside)
    (root / "inbox" / "linked-folder").symlink_to(tmp_path, target_is_directory=True)
    intake(root)
    entry = _entry(root, "周报.xlsx")
    assert (entry["outcome"], entry["school_name"]) == ("rejected", "丰润区第三幼儿园")
    assert [i["code"] for i in entry["issues"]] == ["unsupported-format"]
    linked = _entry(root, "linked-folder")  # a linked folder is one link, never walked
    assert (linked["outcome"], linked["school_name"]) == ("rejected", None)
    assert len(manifest(root)["files"]) == 2
    assert outside.is_file() and (tmp_path / "data").is_dir()
    assert list((root / "receipts" / "2023-W47").glob("*丰润区第三幼儿园/周报_*_问题清单.xlsx"))


@posix_only
def test_the_inbox_itself_may_be_a_link_to_the_share(tmp_path):
    root = make_root(tmp_path)
    share = tmp_path / "share"
    share.mkdir()
    (root / "inbox").rmdir()
    (root / "inbox").symlink_to(share, target_is_directory=True)
    (share / "一实小").mkdir()
    (share / "一实小" / "a.xlsx").write_bytes(school_book(rows=[hazard()]))
    assert intake(root).outcomes == {"accepted": 1}
    assert list(share.rglob("*")) == [share / "一实小"]  # taken from the share; the folder stays


def test_point_7_a_file_that_names_no_school_is_credited_to_its_folder(root):
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
    drop(root, "丰润区第三幼儿园/empty.xlsx", b"")
    drop(root, "丰润区第三幼儿园/scan.pdf", pdf)
    drop(root, "1113000003/by-code.pdf", pdf + b"1")  # the folder may be the code …
    drop(root, "三幼/by-alias.pdf", pdf + b"2")  # … or the 简称
    drop(root, "不认识的学校/unknown-folder.pdf", pdf + b"3")
    drop(root, "at-the-top.pdf", pdf + b"4")
    intake(root)
    got = {f["file"]: (f["school_name"], [i["code"] for i in f["issues"]]) for f in manifest(root)["files"]}
    assert got == {
        "empty.xlsx": ("丰润区第三幼儿园", ["unreadable-file"]),
        "scan.pdf": ("丰润区第三幼儿园", ["unsupported-format"]),
        "by-code.pdf": ("丰润区第三幼儿园", ["unsupported-format"]),
        "by-alias.pdf": ("丰润区第三幼儿园", ["unsupported-format"]),
        "unknown-folder.pdf": (None, ["unsupported-format"]),
        "at-the-top.pdf": (None, ["unsupported-format"]),
    }


def test_a_sheet_that_names_a_school_wins_over_its_folder(root):
    drop(root, "丰润区第三幼儿园/a.xlsx", school_book(unit="丰润区第一实验小学", rows=[hazard()]))
    drop(root, "丰润区第三幼儿园/b.xlsx", school_book(unit="不存在的学校", rows=[hazard()]))
    drop(root, "丰润区第三幼儿园/c.xlsx", school_book(unit="", rows=[hazard()]))
    intake(root)
    got = {f["file"]: (f["outcome"], f["school_name"]) for f in manifest(root)["files"]}
    assert got == {"a.xlsx": ("accepted", "丰润区第一实验小学"),
                   "b.xlsx": ("rejected", None),  # names a school, wrongly: not credited to the folder
                   "c.xlsx": ("rejected", "丰润区第三幼儿园")}  # names none: missing-unit, credited
    assert "missing-unit" in [i["code"] for i in _entry(root, "c.xlsx")["issues"]]


def test_quiet_seconds_has_a_floor():
    with pytest.raises(ValidationError):
        Settings(quiet_seconds=0)
    assert Settings(quiet_seconds=1).quiet_seconds == 1


def test_a_file_that_changes_while_it_is_archived_is_left_for_the_next_run(root):
    path = drop(root, "a.xlsx", school_book(rows=[hazard()]))
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    (found,) = scan_inbox(paths.inbox)
    with path.open("ab") as fh:  # the copy goes on after the scan
        fh.write(b"more")
    os.utime(path, ns=(found.mtime_ns + 10**9, found.mtime_ns + 10**9))
    assert archive_file(found, paths, "2023-W47", NOW) is None
    assert path.is_file() and not list((root / "archive").rglob("*.json"))


def test_a_windows_shortcut_is_a_link_not_a_file(root):
    shortcut = (b"L\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x00\x00\x00F" + bytes(56)
                + "C:\\Users\\学校\\周报.xlsx".encode("utf-16-le"))
    drop(root, "丰润区第三幼儿园/周报.xlsx - 快捷方式.lnk", shortcut)
    intake(root)
    entry = _entry(root, "周报.xlsx - 快捷方式.lnk")
    assert (entry["outcome"], entry["school_name"]) == ("rejected", "丰润区第三幼儿园")
    assert [i["message"] for i in entry["issues"]] == ["文件格式不受支持：链接（快捷方式），不是文件本身"]


@posix_only
def test_rebuild_replays_a_link_as_a_link(root, tmp_path):
    from inspect_pipeline.jobs.rebuild import rebuild_week

    outside = tmp_path / "elsewhere.xlsx"  # followed, it would be 三幼's accepted file
    outside.write_bytes(school_book(unit="丰润区第三幼儿园", rows=[hazard()]))
    (root / "inbox" / "丰润区第三幼儿园").mkdir(parents=True)
    (root / "inbox" / "丰润区第三幼儿园" / "周报.xlsx").symlink_to(outside)
    drop(root, "good.xlsx", school_book(rows=[hazard()]))
    intake(root)
    assert sorted(p.suffix for p in (root / "archive" / "2023-W47").iterdir() if p.suffix != ".json") == [
        ".link", ".xlsx"]
    settings = load_settings(root)
    result = rebuild_week(Paths.at(root, settings), settings, "2023-W47")
    assert result.same and result.files == 2


def test_point_9_only_lock_and_hidden_files_are_ignored_and_status_shows_what_is_left(root):
    """Issue #9 point 9: `~x.xlsx` and `x.tmp` are taken and judged (they were left unseen forever); Office lock
    files and hidden files are ignored and `status` lists them with the reason."""
    import subprocess

    drop(root, "~周报.xlsx", school_book(rows=[hazard()]))
    drop(root, "一实小/周报.tmp", b"")
    drop(root, "~$周报.xlsx", b"lock")
    drop(root, ".~lock.周报.xlsx#", b"lock")
    drop(root, "a/.hidden.xlsx", b"x")
    intake(root)
    assert {f["file"]: f["outcome"] for f in manifest(root)["files"]} == {"~周报.xlsx": "accepted",
                                                                         "周报.tmp": "rejected"}
    run = subprocess.run([sys.executable, "-m", "inspect_pipeline", "status", "--data-root", str(root), "--week",
                          "2023-W47"], capture_output=True, text=True, encoding="utf-8")
    assert run.returncode == 0, run.stderr
    assert "收件箱中还有 3 个文件" in run.stdout
    assert "inbox/~$周报.xlsx：Office/WPS 打开文件时的临时文件，已忽略" in run.stdout
    assert "inbox/a/.hidden.xlsx：隐藏文件，已忽略" in run.stdout
