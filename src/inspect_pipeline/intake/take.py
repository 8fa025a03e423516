"""Taking files from the inbox: which files count, waiting until they are quiet, and archiving them
byte-for-byte (named by SHA-256, with a sidecar) before anything reads them."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..core.paths import Paths, safe_name
from ..core.publish import temp_file_for, write_json_atomic

CHUNK = 1 << 20
LINK_SUFFIX = ".link"  # an archived link: the link's own target text, never the target's bytes


@dataclass(frozen=True, slots=True)
class Incoming:
    """A file found in the inbox, or a link there (symlink, junction), which is never followed."""

    path: Path
    rel: str  # path below the inbox, POSIX separators
    size: int
    mtime_ns: int
    link: str | None = None  # a link's own target text; the target is never read

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrival_key(self) -> str:
        """Identifies this copy of the file in the inbox (path, size, mtime): the same drop seen again after
        a crash has the same key, a re-sent file a new one."""
        text = f"{self.rel}|{self.size}|{self.mtime_ns}"
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def ignored_because(rel_parts: tuple[str, ...], attrs: int = 0) -> str | None:
    """Why an inbox entry is never taken, or None: the lock and temporary files Office, WPS and LibreOffice keep
    beside an open workbook (`~$*`, `.~lock.*#`) and hidden files or folders (submission.md §File formats).
    Anything else is taken and judged by its content, so nothing a school drops stays unseen."""
    name = rel_parts[-1]
    if name.startswith("~$") or name.startswith(".~lock."):
        return "Office/WPS 打开文件时的临时文件，已忽略"
    if any(p.startswith(".") for p in rel_parts) or attrs & FILE_ATTRIBUTE_HIDDEN or name in HIDDEN_SYSTEM_FILES:
        return "隐藏文件，已忽略"
    return None


FILE_ATTRIBUTE_HIDDEN, FILE_ATTRIBUTE_REPARSE_POINT = 0x2, 0x400  # Windows st_file_attributes
HIDDEN_SYSTEM_FILES = frozenset({"Thumbs.db", "desktop.ini", ".DS_Store"})  # hidden by the system that writes them


def scan_inbox(inbox: Path) -> list[Incoming]:
    """Every file below the inbox that counts, in code-point order of its path below the inbox. Links below the
    inbox (symlinks, junctions) are listed as links and never followed; the inbox folder itself may be one."""
    return [f for f, reason in walk_inbox(inbox) if reason is None]


def walk_inbox(inbox: Path) -> list[tuple[Incoming, str | None]]:
    """Every entry below the inbox (links as links, never followed) with the reason it is ignored, or None for
    the entries a run takes; in code-point order of the path below the inbox."""
    if not inbox.is_dir():
        return []
    found: list[tuple[Incoming, str | None]] = []
    pending: list[tuple[Path, tuple[str, ...]]] = [(inbox, ())]
    while pending:
        folder, parts = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue  # a folder removed or unreadable meanwhile: the next run sees it again
        for entry in entries:
            rel_parts = (*parts, entry.name)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            attrs = getattr(st, "st_file_attributes", 0)
            path, rel = Path(entry.path), "/".join(rel_parts)
            reason = ignored_because(rel_parts, attrs)
            if entry.is_symlink() or attrs & FILE_ATTRIBUTE_REPARSE_POINT:
                found.append((Incoming(path, rel, st.st_size, st.st_mtime_ns, link=_link_text(path)), reason))
            elif entry.is_dir(follow_symlinks=False):
                if reason is None:
                    pending.append((path, rel_parts))
            elif entry.is_file(follow_symlinks=False):
                found.append((Incoming(path, rel, st.st_size, st.st_mtime_ns), reason))
    return sorted(found, key=lambda f: f[0].rel)


def _link_text(path: Path) -> str:
    """What a link points at, as text (read from the link itself; the target is never opened)."""
    try:
        return os.readlink(path)
    except (OSError, ValueError):
        return "（无法读取链接目标）"


def settle(files: list[Incoming], quiet_seconds: float, *, clock=time.time, sleep=time.sleep) -> list[Incoming]:
    """The files whose size and mtime stayed unchanged for `quiet_seconds` (real clock). Waits at most that long
    once for files touched too recently; files still changing are left for the next run."""
    if not files:
        return files
    now = clock()
    youngest = max(f.mtime_ns for f in files) / 1e9
    if now - youngest < quiet_seconds:
        sleep(min(quiet_seconds, quiet_seconds - (now - youngest)))
    stable = []
    for f in files:
        try:
            st = os.stat(f.path, follow_symlinks=False)
        except OSError:
            continue
        if st.st_size == f.size and st.st_mtime_ns == f.mtime_ns:
            stable.append(f)
    return stable


@dataclass(frozen=True, slots=True)
class Archived:
    """A file safely in the archive."""

    incoming: Incoming
    sha256: str
    path: Path  # the archived copy
    received_at: dt.datetime  # first time an intake run saw this drop


def extension(name: str) -> str:
    suffix = Path(safe_name(name)).suffix.lower()
    return suffix if 1 < len(suffix) <= 8 else ""


def archive_file(f: Incoming, paths: Paths, week: str, received_at: dt.datetime,
                 inputs: dict[str, str] | None = None) -> Archived | None:
    """Copy one inbox file into `archive/<week>/<sha256><ext>` with its sidecar (naming the `inputs`, the SHA-256
    of the roster and config snapshots the run uses); None if it changed meanwhile. A sidecar left by a crashed run
    for the same drop keeps its first received time."""
    try:
        source = _open(f)
    except OSError:
        return None  # gone, or replaced by a link, since the scan: the next run sees what is there then
    folder = paths.archive_dir(week)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = temp_file_for(folder / "incoming")
    try:
        with tmp.open("xb") as out, source:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if _changed(f):
            tmp.unlink(missing_ok=True)
            return None
        sha = digest.hexdigest()
        target = paths.archived_file(week, sha, LINK_SUFFIX if f.link is not None else extension(f.name))
        if target.exists() and target.stat().st_size == f.size:
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write (disk full) names no file: the message names the archive folder
            raise OSError(exc.errno, exc.strerror, str(folder)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    received_at = _earlier_sighting(f, paths, week, sha) or received_at
    sidecar = {
        **({"link": f.link} if f.link is not None else {}),
        "file_name": f.name,
        "inbox_path": f.rel,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "sha256": sha,
        "received_at": received_at.isoformat(),
        **({"inputs": inputs} if inputs else {}),
    }
    write_json_atomic(paths.sidecar(week, sha, f.arrival_key), sidecar, durable=False)
    return Archived(f, sha, target, received_at)


def _open(f: Incoming) -> BinaryIO:
    """The bytes to archive: a file's own (never through a link: O_NOFOLLOW where the OS has it), or a link's
    target text."""
    if f.link is not None:
        return io.BytesIO(f.link.encode("utf-8", "surrogateescape"))
    fd = os.open(f.path, os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0))
    return os.fdopen(fd, "rb")


def _changed(f: Incoming) -> bool:
    """Whether the inbox entry's size or mtime moved since the scan (a copy still going on)."""
    try:
        st = os.stat(f.path, follow_symlinks=False)
    except OSError:
        return True
    return st.st_size != f.size or st.st_mtime_ns != f.mtime_ns


def _earlier_sighting(f: Incoming, paths: Paths, week: str, sha: str) -> dt.datetime | None:
    """The received time recorded by an earlier (crashed) run that archived the same drop."""
    from ..core.weeks import shift

    for w in (week, shift(week, -1)):
        side = paths.sidecar(w, sha, f.arrival_key)
        if side.is_file():
            try:
                return dt.datetime.fromisoformat(json.loads(side.read_text(encoding="utf-8"))["received_at"])
            except (ValueError, KeyError, json.JSONDecodeError):
                return None
    return None


def remove_from_inbox(f: Incoming) -> None:
    """Remove a taken entry from the inbox: the file, or the link itself (never what it points at)."""
    try:
        os.unlink(f.path)
    except FileNotFoundError:
        pass
    except (IsADirectoryError, PermissionError):
        if f.link is None:
            raise
        os.rmdir(f.path)  # a junction or directory link on Windows: removes the link, not the folder's contents


def flush_in_background(files: list[Path]) -> threading.Thread:
    """Start writing the archived files out while the run goes on (reading them), so that the `flush_to_disk` before
    the inbox is cleared finds little left to write; join the thread before that flush."""
    flushing = threading.Thread(target=flush_to_disk, args=(list(files),), name="archive-flush", daemon=True)
    flushing.start()
    return flushing


def flush_to_disk(files: list[Path]) -> None:
    """Make archived files durable before their inbox copies are removed: one system-wide sync where the OS has
    it (thousands of fsyncs cost seconds), else an fsync per file."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in files:
        with path.open("rb+") as fh:
            os.fsync(fh.fileno())
