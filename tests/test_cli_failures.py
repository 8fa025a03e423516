"""A run's failure through the real CLI is one Chinese line with its exit code (never a traceback, SQL or link);
text from outside cannot drive the terminal; log records go to the data root's log file, not to the terminal."""

from __future__ import annotations

import errno
import io
import logging
import os
import re
import sqlite3
import subprocess
import sys
import zipfile
from contextlib import closing
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.core.errors import (
    DiskFull, LockBusy, NotWritable, PipelineError, RecordError, RosterError, as_pipeline_error, format_size,
)
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import Settings
from inspect_pipeline.core.terminal import printable
from support import drop, hazard, make_root, school_book

runner = CliRunner()
NOW = "2023-11-23T10:00:00+08:00"
ESC = "\x1b"


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # table cells on one line each
    return make_root(tmp_path)


def one_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output and "[SQL" not in result.output and "http" not in result.output
    return lines[0]


def failing(monkeypatch, target: str, exc: BaseException) -> None:
    def fail(*args, **kwargs):
        raise exc

    monkeypatch.setattr(target, fail)


# ---------------------------------------------------------------- exit codes through the CLI


def test_a_full_disk_is_exit_8_naming_the_folder_and_its_free_space(root, monkeypatch):
    folder = root / "receipts" / "2023-W47"
    failing(monkeypatch, "inspect_pipeline.jobs.intake.run_intake",
            OSError(errno.ENOSPC, "No space left on device", str(folder)))
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 8
    line = one_line(result)
    assert "磁盘空间不足" in line and str(folder) in line and "收件箱" in line, line
    assert re.search(r"剩余 (\d+(\.\d)? [MG]B|不足 1 MB)", line), line


def test_a_full_disk_found_as_the_cause_of_another_error_is_exit_8(root, monkeypatch):
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            raise RuntimeError("could not save the workbook") from exc
    except RuntimeError as wrapped:
        failing(monkeypatch, "inspect_pipeline.record.files.received_files", wrapped)
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 8 and str(root.resolve()) in one_line(result)


def test_a_folder_that_cannot_be_written_is_exit_9(root, monkeypatch):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    archive = root / "archive"
    if os.geteuid() == 0:  # root ignores permissions: the error anyone else gets
        failing(monkeypatch, "inspect_pipeline.jobs.intake.run_intake",
                PermissionError(errno.EACCES, "Permission denied", str(archive / "2023-W47")))
    archive.chmod(0o500)
    try:
        result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    finally:
        archive.chmod(0o700)
    assert result.exit_code == 9
    line = one_line(result)
    assert str(archive) in line and "没有写入权限" in line, line
    assert (root / "inbox" / "a.xlsx").exists()


def test_a_read_only_disk_is_exit_9(root, monkeypatch):
    failing(monkeypatch, "inspect_pipeline.record.files.received_files",
            OSError(errno.EROFS, "Read-only file system", str(root / "receipts")))
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 9 and "只读" in one_line(result)


def test_a_database_error_is_exit_7_without_its_sql(root, monkeypatch):
    statement = "SELECT submissions.file_name FROM submissions WHERE submissions.week = ?"
    error = sa.exc.DatabaseError(statement, ("2023-W47",), sqlite3.DatabaseError("database disk image is malformed"))
    assert "[SQL:" in str(error) and "sqlalche.me" in str(error)  # what must not be printed
    failing(monkeypatch, "inspect_pipeline.record.files.received_files", error)
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 7
    line = one_line(result)
    assert "SELECT" not in line and "database disk image is malformed" in line, line
    assert str(root.resolve() / ".state" / "inspect.db") in line and "rebuild" in line and "备份" in line, line


def test_anything_else_is_exit_1_with_the_first_line_of_its_text(root, monkeypatch):
    failing(monkeypatch, "inspect_pipeline.record.files.received_files", ValueError("first line\nSELECT secret FROM x"))
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 1
    line = one_line(result)
    assert "意外错误：ValueError: first line" in line and "--debug" in line and "SELECT" not in result.output


def test_debug_shows_the_traceback(root, monkeypatch):
    failing(monkeypatch, "inspect_pipeline.record.files.received_files", OSError(errno.ENOSPC, "No space left"))
    result = runner.invoke(app, ["files", "--data-root", str(root), "--debug"])
    assert isinstance(result.exception, OSError) and result.exception.errno == errno.ENOSPC


def test_an_error_line_with_outside_text_is_escaped(root, monkeypatch):
    failing(monkeypatch, "inspect_pipeline.record.files.received_files", RosterError(f"工作表 “名单{ESC}[2J” 有误 [bold]x"))
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 3
    assert ESC not in result.output and "名单\\x1b[2J" in result.output and "[bold]x" in result.output


# ---------------------------------------------------------------- the mapping itself


def paths_of(root: Path, **settings) -> Paths:
    return Paths.at(root, Settings(**settings))


def test_errors_of_sqlite_say_what_to_do(tmp_path):
    paths = paths_of(tmp_path)
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not a database, only some text long enough to be read" * 20)
    with pytest.raises(sqlite3.DatabaseError) as raised, closing(sqlite3.connect(garbage)) as connection:
        connection.execute("SELECT 1 FROM sqlite_master").fetchall()
    corrupt = as_pipeline_error(raised.value, paths)
    assert isinstance(corrupt, RecordError) and "已损坏" in str(corrupt) and "rebuild" in str(corrupt)
    for code, kind in ((13, DiskFull), (8, NotWritable), (5, LockBusy), (11, RecordError)):
        driver = sqlite3.OperationalError("some sqlite error")
        driver.sqlite_errorcode = code
        mapped = as_pipeline_error(sa.exc.OperationalError("UPDATE runs SET x = 1", {}, driver), paths)
        assert isinstance(mapped, kind) and "UPDATE" not in str(mapped), (code, mapped)


def test_a_database_url_is_named_without_its_password(tmp_path):
    paths = paths_of(tmp_path, database_url="postgresql+psycopg://anquan:mima@db.example/inspect")
    refused = sa.exc.OperationalError(None, None, Exception("connection failed: Connection refused\nIs the server running?"))
    mapped = as_pipeline_error(refused, paths)
    assert isinstance(mapped, RecordError) and "mima" not in str(mapped) and "anquan:***@db.example" in str(mapped)
    assert "Is the server" not in str(mapped)


def test_a_long_unexpected_message_is_cut():
    mapped = as_pipeline_error(RuntimeError("x" * 1000))
    assert type(mapped) is PipelineError and mapped.exit_code == 1 and len(str(mapped)) < 260


def test_free_space_is_said_in_gb_or_mb():
    assert (format_size(3 * 1024**3 // 2), format_size(35 * 1024**2), format_size(1000)) == ("1.5 GB", "35 MB", "不足 1 MB")


def test_printable_escapes_controls_and_bidi_and_keeps_the_rest():
    assert printable(f"a{ESC}[2Jb\t\n\x7f\x85\u202e\u2066\u200f中文 é ✓") == "a\\x1b[2Jb\\x09\\x0a\\x7f\\x85\\u202e\\u2066\\u200f中文 é ✓"


# ---------------------------------------------------------------- what reaches the terminal


def test_files_prints_outside_names_escaped(root):
    drop(root, f"一实小/a{ESC}[2Jb.xlsx", school_book(rows=[hazard()]))
    drop(root, "三幼/报表\u202excod.xlsx", school_book(unit="丰润区第三幼儿园", rows=[hazard()]))
    drop(root, "银中/银城铺镇中学周报.xlsx", school_book(unit="丰润区银城铺镇中学", rows=[hazard()]))
    assert runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW]).exit_code == 0
    result = runner.invoke(app, ["files", "--data-root", str(root), "--week", "2023-W47"])
    assert result.exit_code == 0, result.output
    assert ESC not in result.stdout and "\u202e" not in result.stdout
    assert "a\\x1b[2Jb.xlsx" in result.stdout and "报表\\u202excod.xlsx" in result.stdout
    assert "银城铺镇中学周报.xlsx" in result.stdout and "丰润区第三幼儿园" in result.stdout


def test_log_records_go_to_the_log_file_and_to_the_terminal_only_with_debug(root, monkeypatch):
    def logging_rows(*args, **kwargs):
        logging.getLogger("inspect_pipeline.record.files").warning("a note for the log %s", f"x{ESC}y")
        logging.getLogger("openpyxl.reader").warning("a library's complaint")
        return []

    monkeypatch.setattr("inspect_pipeline.record.files.received_files", logging_rows)
    result = runner.invoke(app, ["files", "--data-root", str(root)])
    assert result.exit_code == 0 and "a note" not in result.output and "complaint" not in result.output
    log = (root / "logs" / "inspect-pipeline.log").read_text(encoding="utf-8")
    assert "a note for the log x\\x1by" in log and "a library's complaint" in log
    result = runner.invoke(app, ["files", "--data-root", str(root), "--debug"])
    assert "a note for the log x\\x1by" in result.output and ESC not in result.output


def rejected_xlsx_openpyxl_cannot_open() -> bytes:
    """A rejected school workbook (较大 is no 隐患等级) whose document properties openpyxl fails on."""
    source = zipfile.ZipFile(io.BytesIO(school_book(rows=[hazard(level="较大")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, b"<broken" if item.filename == "docProps/core.xml" else source.read(item.filename))
    return out.getvalue()


@pytest.mark.slow
def test_a_library_failing_on_a_rejected_file_prints_no_traceback(root):
    """In a subprocess: under pytest the root logger has handlers, so logging.lastResort would never show."""
    drop(root, "bad.xlsx", rejected_xlsx_openpyxl_cannot_open())
    env = {**{k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "inspect_pipeline", "intake", "--data-root", str(root), "--now", NOW],
                          capture_output=True, text=True, encoding="utf-8", env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "退回重报" in done.stdout
    assert "Traceback" not in done.stderr + done.stdout and "bad.xlsx" not in done.stderr, done.stderr
    log = (root / "logs" / "inspect-pipeline.log").read_text(encoding="utf-8")
    assert "WARNING" in log and "bad.xlsx" in log, log
