"""Taking files from the inbox: which files count, waiting until they are quiet, and archiving them
byte-for-byte (named by SHA-256, with a sidecar) before anything reads them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .paths import Paths, safe_name
from .publish import temp_file_for, write_bytes_atomic, write_json_atomic

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Incoming:
    """A file found in the inbox."""

    path: Path
    rel: str  # path below the inbox, POSIX separators
    size: int
    mtime_ns: int

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def arrival_key(self) -> str:
        """Identifies this copy of the file in the inbox (path, size, mtime): the same drop seen again after
        a crash has the same key, a re-sent file a new one."""
        return hashlib.sha256(f"{self.rel}|{self.size}|{self.mtime_ns}".encode()).hexdigest()[:16]


def is_ignored(rel_parts: tuple[str, ...]) -> bool:
    """Lock/temp files of Office, WPS and LibreOffice, and hidden files or folders, are never taken."""
    name = rel_parts[-1]
    return (
        any(p.startswith(".") for p in rel_parts)
        or name.startswith("~$")
        or name.startswith(".~lock.")
        or name.startswith("~")
        or name.lower().endswith((".tmp", ".crdownload", ".part"))
        or name in {"Thumbs.db", "desktop.ini"}
    )


def scan_inbox(inbox: Path) -> list[Incoming]:
    """Every file below the inbox that counts, in code-point order of its path below the inbox."""
    if not inbox.is_dir():
        return []
    found = []
    for path in inbox.rglob("*"):
        rel_parts = path.relative_to(inbox).parts
        if is_ignored(rel_parts) or not path.is_file() or _is_hidden(path):
            continue
        st = path.stat()
        found.append(Incoming(path, "/".join(rel_parts), st.st_size, st.st_mtime_ns))
    return sorted(found, key=lambda f: f.rel)


def _is_hidden(path: Path) -> bool:
    attrs = getattr(path.stat(), "st_file_attributes", 0)  # Windows only
    return bool(attrs & 2)  # FILE_ATTRIBUTE_HIDDEN


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
            st = f.path.stat()
        except FileNotFoundError:
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


def archive_file(f: Incoming, paths: Paths, week: str, received_at: dt.datetime) -> Archived | None:
    """Copy one inbox file into `archive/<week>/<sha256><ext>` with its sidecar; None if it changed meanwhile.
    A sidecar left by a crashed run for the same drop keeps its first received time."""
    folder = paths.archive_dir(week)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    tmp = temp_file_for(folder / "incoming")
    try:
        with tmp.open("xb") as out, f.path.open("rb") as src:
            while chunk := src.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        st = f.path.stat()
        if st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
            tmp.unlink(missing_ok=True)
            return None
        sha = digest.hexdigest()
        target = paths.archived_file(week, sha, extension(f.name))
        if target.exists() and target.stat().st_size == f.size:
            tmp.unlink()
        else:
            os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    received_at = _earlier_sighting(f, paths, week, sha) or received_at
    sidecar = {
        "file_name": f.name,
        "inbox_path": f.rel,
        "size": f.size,
        "mtime_ns": f.mtime_ns,
        "sha256": sha,
        "received_at": received_at.isoformat(),
    }
    write_json_atomic(paths.sidecar(week, sha, f.arrival_key), sidecar, durable=False)
    return Archived(f, sha, target, received_at)


def _earlier_sighting(f: Incoming, paths: Paths, week: str, sha: str) -> dt.datetime | None:
    """The received time recorded by an earlier (crashed) run that archived the same drop."""
    from .weeks import shift

    for w in (week, shift(week, -1)):
        side = paths.sidecar(w, sha, f.arrival_key)
        if side.is_file():
            try:
                return dt.datetime.fromisoformat(json.loads(side.read_text(encoding="utf-8"))["received_at"])
            except (ValueError, KeyError, json.JSONDecodeError):
                return None
    return None


def flush_to_disk(files: list[Path]) -> None:
    """Make archived files durable before their inbox copies are removed: one system-wide sync where the OS has
    it (thousands of fsyncs cost seconds), else an fsync per file."""
    if hasattr(os, "sync"):
        os.sync()
        return
    for path in files:
        with path.open("rb+") as fh:
            os.fsync(fh.fileno())


def snapshot_inputs(paths: Paths, roster_file: Path) -> None:
    """Keep the roster and config a run used (named by content), so any week can be rebuilt as it was."""
    folder = paths.archive_root / "_inputs"
    folder.mkdir(parents=True, exist_ok=True)
    for source, kind in ((roster_file, "roster"), (paths.config_file, "config")):
        if not source.is_file():
            continue
        data = source.read_bytes()
        target = folder / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}{source.suffix.lower()}"
        if not target.exists():
            write_bytes_atomic(target, data)
