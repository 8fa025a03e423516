"""The data root's run lock: intake and report never run at once (the second waits, then gives up clearly).

Holding the lock also marks a run as unfinished until it ends: the next holder that finds the mark knows a run was
killed, and sweeps the temporary files and folders it left (publish.sweep) before it starts.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from filelock import FileLock, Timeout

from .errors import LockBusy
from .paths import Paths
from .publish import sweep
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
        if paths.unfinished_mark.exists():
            sweep(paths.output_trees, flat=[paths.state_dir])
        paths.unfinished_mark.write_text(str(os.getpid()), encoding="utf-8")
        yield
        paths.unfinished_mark.unlink(missing_ok=True)
    finally:
        lock.release()
