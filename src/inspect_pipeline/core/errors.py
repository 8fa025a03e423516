"""Failures that stop a run (problems inside a school's file are data: see issues.py).

One base class; each subclass carries the process exit code the CLI returns (as click does). `as_pipeline_error`
turns any exception into one of them: the one line a run's failure prints.
"""

from __future__ import annotations

import errno
import getpass
import os
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .paths import Paths


class PipelineError(Exception):
    """A run could not complete. The message is one clear line: what, where, what to do."""

    exit_code = 1


class ConfigError(PipelineError):
    exit_code = 2


class RosterError(PipelineError):
    exit_code = 3


class LockBusy(PipelineError):
    exit_code = 4


class DataRootError(PipelineError):
    exit_code = 5


class RebuildMismatch(PipelineError):
    exit_code = 6


class RecordError(PipelineError):
    """The database cannot be used: empty, damaged, not ours, or newer than this software."""

    exit_code = 7


class DiskFull(PipelineError):
    exit_code = 8


class NotWritable(PipelineError):
    """A folder or file of the data root cannot be written (read-only, no permission)."""

    exit_code = 9


# ---------------------------------------------------------------- any exception as one line with an exit code

HEADLINE_CHARS = 200
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_ACCESS = {errno.EACCES, errno.EPERM}
_SHARING_VIOLATIONS = {32, 33}  # Windows: the file is open in another program (Excel, WPS)
# SQLite primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = (
    5, 6, 8, 11, 13, 14, 26)


def as_pipeline_error(exc: BaseException, paths: Paths | None = None) -> PipelineError:
    """The failure of a run as one line with its exit code: a PipelineError as it is; a full disk (DiskFull), a
    read-only or forbidden path (NotWritable), an unusable database (RecordError) said in words, found also as the
    cause of another exception; anything else as `意外错误` with the first line of its text (never SQL, links or a
    traceback). `paths` (when known) names the data root and the database."""
    if isinstance(exc, PipelineError):
        return exc
    for cause in _causes(exc):
        mapped = _from_os_error(cause, paths) or _from_database_error(cause, paths)
        if mapped is not None:
            mapped.__cause__ = exc
            return mapped
    return PipelineError(f"意外错误：{headline(exc)}（加 --debug 查看详情）")


def headline(exc: BaseException) -> str:
    """`Type: first line of the text`, at most HEADLINE_CHARS characters of text."""
    lines = str(exc).strip().splitlines()
    if not lines:
        return type(exc).__name__
    first = lines[0] if len(lines[0]) <= HEADLINE_CHARS else lines[0][: HEADLINE_CHARS - 1] + "…"
    return f"{type(exc).__name__}: {first}"


def _causes(exc: BaseException, depth: int = 8) -> list[BaseException]:
    """`exc` and what it was raised from or while handling (a wrapped OSError, a driver's error)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < depth and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _from_os_error(exc: BaseException, paths: Paths | None) -> PipelineError | None:
    if not isinstance(exc, OSError):
        return None
    where = exc.filename or (paths.root if paths is not None else None)
    if exc.errno in _DISK_FULL:
        return disk_full(where)
    if getattr(exc, "winerror", None) in _SHARING_VIOLATIONS:
        return NotWritable(f"无法写入 {where or '文件'}：它正被其他程序（如 Excel、WPS）打开。请关闭它后重新运行。")
    if exc.errno == errno.EROFS:
        return not_writable(where, "它所在的磁盘或共享是只读的")
    if isinstance(exc, PermissionError) or exc.errno in _NO_ACCESS:
        return not_writable(where, f"{_user()}没有写入权限（或它是只读的）")
    return None


def disk_full(where: object) -> DiskFull:
    place = where if where is not None else "数据目录"
    return DiskFull(f"磁盘空间不足，无法写入 {place}{_free_space(where)}：请清理磁盘空间后重新运行。"
                    "已收到的文件不会丢失，尚未处理完的文件仍留在收件箱中。")


def not_writable(where: object, why: str) -> NotWritable:
    place = where if where is not None else "数据目录"
    return NotWritable(f"无法写入 {place}：{why}。请把它改为当前用户可写（或换一个可写的数据目录）后重新运行，"
                       "已收到的文件不会丢失。")


def _free_space(where: object) -> str:
    """`（该磁盘剩余 1.2 GB）` for the disk holding `where`, or nothing if that cannot be measured."""
    try:
        folder = Path(os.fsdecode(where))
        while not folder.exists() and folder.parent != folder:
            folder = folder.parent
        free = shutil.disk_usage(folder).free
    except (OSError, TypeError, ValueError):
        return ""
    return f"（该磁盘剩余 {format_size(free)}）"


def format_size(size: int) -> str:
    """Free space as the clerk reads it: `1.2 GB`, `35 MB`, `不足 1 MB`."""
    if size >= 1024**3:
        return f"{size / 1024**3:.1f} GB"
    if size >= 1024**2:
        return f"{size // 1024**2} MB"
    return "不足 1 MB"


def _user() -> str:
    try:
        return f"当前用户（{getpass.getuser()}）"
    except Exception:  # noqa: BLE001 - no user name known to the OS: say it without one
        return "当前用户"


def _from_database_error(exc: BaseException, paths: Paths | None) -> PipelineError | None:
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.DBAPIError):
        driver_error = exc.orig
    elif isinstance(exc, sqlite3.DatabaseError):
        driver_error = exc
    else:
        return None
    database = _database_name(paths)
    reason = headline(driver_error) if driver_error is not None else type(exc).__name__
    code = getattr(driver_error, "sqlite_errorcode", None)
    if code is not None:
        return _from_sqlite_code(code & 0xFF, database, reason, paths)
    if isinstance(exc, sa_exc.OperationalError):
        return RecordError(f"无法使用数据库 {database}（{reason}）：请确认数据库服务已启动、database_url 正确，"
                           "然后重新运行。")
    return RecordError(f"数据库 {database} 出错（{reason}）：{_restore(paths)}")


def _from_sqlite_code(code: int, database: str, reason: str, paths: Paths | None) -> PipelineError:
    file = _database_file(paths)
    if code == _SQLITE_FULL:
        return disk_full(file)
    if code == _SQLITE_READONLY:
        return not_writable(file or database, f"数据库是只读的，或{_user()}没有写入权限")
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED):
        return LockBusy(f"数据库 {database} 正被另一个程序使用（{reason}）：请稍后重新运行。")
    if code == _SQLITE_CANTOPEN:
        return RecordError(f"无法打开数据库 {database}（{reason}）：请确认它所在的文件夹存在且{_user()}可写。")
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return RecordError(f"数据库 {database} 已损坏（{reason}）：{_restore(paths)}")
    return RecordError(f"数据库 {database} 出错（{reason}）：{_restore(paths)}")


def _restore(paths: Paths | None) -> str:
    root = f" --data-root {paths.root}" if paths is not None else ""
    return (f"请从备份恢复数据库；或把它移到别处后运行 inspect-pipeline init{root}，"
            f"再运行 inspect-pipeline rebuild{root} 从归档重建。")


def _database_file(paths: Paths | None) -> Path | None:
    if paths is None or not paths.database_url.startswith("sqlite:///"):
        return None
    return Path(paths.database_url.removeprefix("sqlite:///"))


def _database_name(paths: Paths | None) -> str:
    """The SQLite file, or the URL without its password."""
    if paths is None:
        return "（数据目录中的数据库）"
    file = _database_file(paths)
    if file is not None:
        return str(file)
    from sqlalchemy.engine import make_url

    try:
        return make_url(paths.database_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL: never print it, it may hold a password
        return "database_url 所指的数据库"
