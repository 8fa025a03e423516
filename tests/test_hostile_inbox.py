"""One inbox holding everything a hostile user or an unlucky clerk can put there, taken by one intake run on SQLite
(the real CLI in a subprocess, its process tree's memory sampled) and on PostgreSQL: every file ends in exactly one
state, within the per-file limits, with the same outcome on both backends, and the good file of the run is accepted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostile
from support import NOW, drop, hazard, intake, make_root, manifest, school_book, tree_rss
from test_record import hostile_files, postgres_root

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="samples memory from /proc")
MB = 1024 * 1024


def _contents() -> tuple[dict[str, bytes], dict[str, str]]:
    """The files of the inbox (path below it → bytes) and what must happen to each file (name → 'accepted',
    'rejected', an error code, or 'any')."""
    files: dict[str, bytes] = {}
    want: dict[str, str] = {}
    for builder, ext in hostile.CATALOGUE:
        files[f"{builder}{ext}"] = getattr(hostile, builder)()
        want[f"{builder}{ext}"] = "rejected"
    for rel, data in hostile_files().items():
        if isinstance(rel, str):
            files[f"values/{rel}"] = data
            want[rel] = "accepted" if rel == "z_control.xlsx" else "any"
    files["丰润区第三幼儿园/empty.xlsx"] = b""
    want["empty.xlsx"] = "unreadable-file"
    files["name\x1b[2J\u202eclear.xlsx"] = school_book(rows=[hazard("楼梯扶手松动")])
    want["name\x1b[2J\u202eclear.xlsx"] = "any"  # 一实小: a later file of the same school may supersede it
    files["good.xlsx"] = school_book(unit="银中", rows=[hazard("配电箱未上锁")])
    want["good.xlsx"] = "accepted"
    if os.name == "posix":
        want["passwd.xlsx"] = "unsupported-format"
    return files, want


def _inbox(root: Path, outside: Path, files: dict[str, bytes]) -> None:
    """Drop the files, and a link to a file outside the data root in a school's folder."""
    for rel, data in files.items():
        drop(root, rel, data)
    if os.name == "posix":
        secret = outside / "passwd"
        secret.write_text("root:x:0:0:SECRET\n", encoding="utf-8")
        (root / "inbox" / "丰润区第三幼儿园" / "passwd.xlsx").symlink_to(secret)


def _check(files: dict[str, dict], want: dict[str, str]) -> None:
    assert set(files) == set(want), "every file in exactly one state"
    for name, expected in want.items():
        entry = files[name]
        codes = [i["code"] for i in entry["issues"]]
        if expected in ("accepted", "rejected"):
            assert entry["outcome"] == expected, (name, codes)
        elif expected != "any":
            assert entry["outcome"] == "rejected" and codes[0] == expected, (name, codes)
    for builder, ext in hostile.CATALOGUE:
        issues = files[f"{builder}{ext}"]["issues"]
        if issues[0]["code"] == "unreadable-file":  # refused: the message says what and which limit
            assert issues[0]["message"].startswith("文件无法打开："), issues[0]


@linux_only
@pytest.mark.slow
def test_one_run_takes_every_hostile_file_within_the_limits(tmp_path, postgres_url):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = make_root(tmp_path / "sqlite")
    files, want = _contents()
    _inbox(root, outside, files)
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "inspect_pipeline", "intake", "--data-root", str(root), "--now", NOW.isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    peak_total = peak_one = 0
    while proc.poll() is None and time.monotonic() - started < 600:
        total, one = tree_rss(proc.pid)
        peak_total, peak_one = max(peak_total, total), max(peak_one, one)
        time.sleep(0.02)
    out, err = proc.communicate(timeout=60)
    seconds = time.monotonic() - started
    stderr = err.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr and "panicked" not in stderr
    assert b"\x1b[2J" not in out and "\u202e" not in out.decode("utf-8", "replace")
    # the limits: no process near the 1 GB a file may take, the whole run far from a 4 GB office PC
    assert peak_one < 1200 * MB, f"largest process {peak_one / MB:.0f} MB"
    assert peak_total < 2500 * MB, f"process tree {peak_total / MB:.0f} MB"
    assert seconds < 180, f"{seconds:.0f} s"
    lite = {f["file"]: f for f in manifest(root)["files"]}
    _check(lite, want)
    assert not [p for p in (root / "inbox").rglob("*") if p.is_file() or p.is_symlink()]
    assert (outside / "passwd").read_text(encoding="utf-8") == "root:x:0:0:SECRET\n"

    pg_root = postgres_root(tmp_path / "postgres", postgres_url)
    _inbox(pg_root, outside, files)
    intake(pg_root)
    pg = {f["file"]: f for f in manifest(pg_root)["files"]}
    volatile = ("received_at",)
    assert {n: {k: v for k, v in f.items() if k not in volatile} for n, f in pg.items()} == {
        n: {k: v for k, v in f.items() if k not in volatile} for n, f in lite.items()}
