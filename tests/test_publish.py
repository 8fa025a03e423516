"""Outputs appear whole or not at all, and a killed run's temporaries — only ours — are removed by the next run."""

from __future__ import annotations

import pytest

from inspect_pipeline.core.lock import run_lock
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.publish import staged_dir, staged_file, sweep, temp_dir_for, temp_file_for, write_json_atomic
from inspect_pipeline.core.settings import load_settings
from support import make_root


def test_a_failed_write_leaves_neither_the_file_nor_its_temporary(tmp_path):
    final = tmp_path / "out" / "回执.xlsx"
    with pytest.raises(RuntimeError), staged_file(final) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list((tmp_path / "out").iterdir()) == []
    with pytest.raises(RuntimeError), staged_dir(tmp_path / "reports" / "r1") as folder:
        (folder / "a.xlsx").write_bytes(b"x")
        raise RuntimeError("killed")
    assert list((tmp_path / "reports").iterdir()) == []


def test_json_with_an_undecodable_file_name_round_trips(tmp_path):
    import json

    name = b"\xd6\xdc\xb1\xa8.xlsx".decode("utf-8", "surrogateescape")  # GBK bytes on a UTF-8 file system
    write_json_atomic(tmp_path / "side.json", {"file_name": name, "学校": "一实小"})
    assert json.loads((tmp_path / "side.json").read_text(encoding="utf-8"))["file_name"] == name


def test_sweep_removes_our_temporaries_and_nothing_else(tmp_path):
    week = tmp_path / "receipts" / "2023-W47" / "一实小"
    week.mkdir(parents=True)
    ours = [temp_file_for(week / "a_回执.xlsx"), temp_dir_for(tmp_path / "receipts" / "r2")]
    ours[0].write_bytes(b"half")
    ours[1].mkdir()
    (ours[1] / "inside.xlsx").write_bytes(b"x")
    theirs = [week / "a_回执.xlsx", week / ".a_回执.xlsx.tmp", week / "notes.tmp", week / ".hidden",
              tmp_path / "receipts" / ".building-r2", week / ".x.0123456789ab.tmp.keep"]
    for path in theirs:
        path.write_bytes(b"keep")
    removed = sweep([tmp_path / "receipts"])
    assert sorted(removed) == sorted(ours)
    assert all(p.read_bytes() == b"keep" for p in theirs)


def test_the_run_after_a_killed_run_sweeps_and_a_clean_run_leaves_no_mark(tmp_path):
    root = make_root(tmp_path)
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    debris = temp_file_for(paths.receipts_root / "2023-W47" / "x" / "a.xlsx")
    debris.parent.mkdir(parents=True)
    debris.write_bytes(b"half")
    with run_lock(paths, settings, "busy"):  # no mark: the last run ended well, nothing is swept
        assert paths.unfinished_mark.exists()
    assert debris.exists() and not paths.unfinished_mark.exists()
    paths.unfinished_mark.write_text("4242", encoding="utf-8")  # as a killed run leaves it
    with run_lock(paths, settings, "busy"):
        assert not debris.exists()
    assert not paths.unfinished_mark.exists()
