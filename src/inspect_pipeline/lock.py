"""The data root's run lock: intake and report never run at once (the second waits, then gives up clearly)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from .errors import LockBusy
from .paths import Paths
from .settings import Settings


@contextmanager
def run_lock(paths: Paths, settings: Settings, busy: str) -> Iterator[None]:
    """Hold the run lock; LockBusy with `busy` (plus the lock file) if it stays taken past the timeout."""
    paths.state_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(paths.intake_lock, timeout=settings.lock_timeout_seconds)
    try:
        lock.acquire()
    except Timeout:
        raise LockBusy(f"{busy}（锁文件 {paths.intake_lock}，已等待 {settings.lock_timeout_seconds:.0f} 秒）") from None
    try:
        yield
    finally:
        lock.release()
