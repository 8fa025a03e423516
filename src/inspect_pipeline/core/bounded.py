"""Bounded, isolated per-item work: each item runs alone in a long-lived worker process under a time limit and,
on Linux, an address-space cap; an item that overruns or kills its worker costs only itself.

`bounded_map(fn, items, workers, bounds)` keeps `workers` processes (from the fork server on POSIX, spawned on
Windows: see parallel.py) and hands each ONE item at a time. The parent waits on the workers' pipes and process
sentinels together (`multiprocessing.connection.wait`), so it notices at once a result, a worker that died, or an
item past its deadline. The result for an item is `fn(item)`, or a `Stopped` saying why there is none:

- "watchdog": still running after `bounds.watchdog_seconds` (counted from when its worker was ready: a new
  worker's start-up, up to STARTUP_GRACE, is not the item's); its worker was killed and is replaced (if it then
  sat at its address-space cap, the item is "memory": a failed allocation may hang native code instead of raising);
- "memory": it raised MemoryError (on Linux: it hit the address-space cap), or its worker died of a native
  allocation failure (Rust aborts the process): seen as the worker's VmSize near the cap when last sampled, or as
  Rust's "memory allocation of N bytes failed" in what the log file gained while the item ran; the worker is
  replaced either way;
- "crash": its worker died (a native abort or segfault in a reader, `os._exit`, a signal).

An ordinary exception raised by `fn` is raised again in the parent, as `pmap` would (it is a bug, not a file).

Memory: on Linux each worker, once at start, sets RLIMIT_AS to its VmSize at that moment plus
`bounds.max_memory_bytes` (never above an existing hard limit), so an item may allocate about that much before
allocations fail. On Windows and macOS there is no address-space cap (macOS does not enforce RLIMIT_AS, Windows
would need a job object): there only the watchdog bounds an item.

Output: each worker points its fd 1 and 2 (and, on Windows, the process's standard handles) at `bounds.log_file`,
opened for appending, and logs through a file handler on it with no console handler and no `logging.lastResort`:
a Rust panic message, a native library's complaint or a stray traceback lands in the log file, never on the
terminal of a run that succeeds. Workers ignore Ctrl-C; the parent stops them. On POSIX each item also arms an
alarm (watchdog + ORPHAN_GRACE) that ends its worker should the parent itself have been killed meanwhile.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any, TypeVar

from .parallel import _context

T = TypeVar("T")
R = TypeVar("R")

WATCHDOG, MEMORY, CRASH = "watchdog", "memory", "crash"
MEMORY_EXIT = 86  # a worker's exit code after it could not even report a MemoryError
NATIVE_OOM = re.compile(rb"memory allocation of \d+ bytes failed")  # what Rust writes to fd 2 before it aborts
NEAR_CAP = 0.9  # a worker that dies having used this share of its allowance (VmSize above its start) ran out of memory
ORPHAN_GRACE = 10.0  # seconds past its deadline after which a worker's own alarm ends it (its parent is gone)
STARTUP_GRACE = 60.0  # seconds a new worker may take to start (imports on a cold disk) before its first item's time
SAMPLE_AFTER = 0.25  # seconds an item runs before the parent starts sampling its worker's VmSize (Linux)
DEPTH = 2  # items a ready worker holds at once: the one it runs and the next, waiting in its pipe


@dataclass(frozen=True, slots=True)
class Stopped:
    """The result of an item that was stopped: `reason` is "watchdog", "memory" or "crash"."""

    reason: str


@dataclass(frozen=True)
class Bounds:
    """What bounds one item: its time, its memory (None: no cap), and the file workers' output goes to
    (None: workers keep the parent's stderr and logging)."""

    watchdog_seconds: float = 60.0
    max_memory_bytes: int | None = None
    log_file: Path | None = None

    @classmethod
    def of(cls, limits, log_file: Path | None) -> Bounds:
        """The bounds of settings.limits (watchdog_seconds, max_memory_bytes) with workers' output in `log_file`."""
        return cls(limits.watchdog_seconds, limits.max_memory_bytes, log_file)


def bounded_map(fn: Callable[[T], R], items: Iterable[T], workers: int, bounds: Bounds) -> list[R | Stopped]:
    """`[fn(x) for x in items]` in input order, each item alone in a worker process within `bounds`; a `Stopped`
    in place of the result of an item that overran its time or memory or killed its worker. Never runs `fn` in
    this process."""
    items = list(items)
    if not items:
        return []
    with BoundedPool(min(max(workers, 1), len(items)), bounds) as pool:
        return pool.map(fn, items)


# ---------------------------------------------------------------------------------------------------- parent side


class _Worker:
    """One worker process as the parent sees it: its pipe, and the item it is busy with."""

    def __init__(self, bounds: Bounds):
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        log_file = str(bounds.log_file) if bounds.log_file is not None else None
        self.process = ctx.Process(target=_serve, args=(child, log_file, bounds.max_memory_bytes,
                                                         bounds.watchdog_seconds), daemon=True)
        self.process.start()
        child.close()
        self.given: deque[int] = deque()  # the items it was given, in order: the first is running, the next waits
        self.started = self.deadline = 0.0
        self.watchdog = bounds.watchdog_seconds
        self.ready = False  # it has set itself up (imports, cap) and said so
        self.fn: Callable | None = None  # the function it was last sent (sent again only when it changes)
        self.cap: int | None = None  # its address-space cap, once it said so
        self.base = 0  # its VmSize when it set the cap
        self.vm = 0  # its VmSize when last sampled while busy (Linux)
        self.log_file = bounds.log_file
        self.log_from = 0  # the log file's size when its item started

    @property
    def index(self) -> int | None:
        """The item it is running (None: idle)."""
        return self.given[0] if self.given else None

    def give(self, fn: Callable, item: object, index: int, watchdog: float) -> None:
        self.conn.send((None if fn is self.fn else fn, item))  # a function, with what it binds, goes once
        self.fn = fn
        self.watchdog = watchdog
        self.given.append(index)
        if len(self.given) == 1:
            self.log_from = _size(self.log_file)
            self._start_next(grace=not self.ready)

    def _start_next(self, grace: bool = False) -> None:
        """The item now first in `given` starts: its time is counted from now."""
        self.started, self.vm = time.monotonic(), 0
        self.deadline = self.started + self.watchdog + (STARTUP_GRACE if grace else 0.0)

    def finished(self) -> None:
        """Its running item has answered: the next one given, if any, is running now (it may have begun before
        this process heard: what the log file gained is looked at from where the answered item began, which
        cannot have written an allocation failure, as it did not abort)."""
        self.given.popleft()
        if self.given:
            self._start_next()

    def stop(self) -> None:
        """Kill the process (if still there) and release its pipe."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.conn.close()
        self.process.close()


class BoundedPool:
    """A few long-lived bounded workers (see the module docstring); use as a context manager."""

    def __init__(self, size: int, bounds: Bounds):
        self.size, self.bounds = max(size, 1), bounds
        self._workers: list[_Worker] = []
        if bounds.log_file is not None:
            Path(bounds.log_file).parent.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> BoundedPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Ask idle workers to finish, kill busy ones; wait for all."""
        for w in self._workers:
            if not w.given:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        deadline = time.monotonic() + 2.0
        for w in self._workers:
            if not w.given:
                w.process.join(max(0.0, deadline - time.monotonic()))
            w.stop()
        self._workers = []

    def map(self, fn: Callable[[T], R], items: list[T]) -> list[R | Stopped]:
        """Results of `fn` over `items` in input order (see `bounded_map`)."""
        results: list[Any] = [None] * len(items)
        queue = deque(range(len(items)))
        remaining = len(items)
        try:
            while remaining:
                self._hand_out(fn, items, queue)
                for index, result in self._collect(queue):
                    results[index] = result
                    remaining -= 1
        except BaseException:
            self._kill_busy()
            raise
        return results

    # ---- handing out

    def _hand_out(self, fn: Callable, items: list, queue: deque) -> None:
        """Give the next items to idle workers, starting workers up to the pool's size, then one more each to
        workers that are ready (it waits in their pipe, so they go on without waiting for this process)."""
        failures = 0
        while queue:
            w = next((w for w in self._workers if not w.given), None)
            if w is None and len(self._workers) < self.size:
                w = _Worker(self.bounds)
                self._workers.append(w)
            if w is None:
                w = next((w for w in self._workers if w.ready and len(w.given) < DEPTH), None)
            if w is None:
                return
            index = queue.popleft()
            try:
                w.give(fn, items[index], index, self.bounds.watchdog_seconds)
            except (OSError, EOFError):  # it died: the item never started; give it to a successor
                queue.appendleft(index)
                if w.given:  # it died running an item: waiting on it tells why
                    return
                self._retire(w)
                failures += 1
                if failures > 2 * self.size:
                    raise RuntimeError("worker processes die as soon as they start") from None

    # ---- collecting

    def _collect(self, queue: deque) -> list[tuple[int, object]]:
        """Wait for the next results, deaths or deadlines; return (item index, result or Stopped) of each. Items a
        stopped worker had been given but not started go back to the front of `queue`."""
        busy = [w for w in self._workers if w.given]
        now = time.monotonic()
        timeout = max(0.0, min(w.deadline for w in busy) - now)
        for w in busy:  # wake to sample the VmSize of capped workers whose item runs longer than SAMPLE_AFTER
            if w.cap is not None:
                timeout = min(timeout, max(SAMPLE_AFTER - (now - w.started), 0.0) or SAMPLE_AFTER)
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        done: list[tuple[int, object]] = []
        now = time.monotonic()
        for w in busy:
            index = w.index
            if w.conn in ready or w.process.sentinel in ready:
                result = self._receive(w, queue)
            elif now >= w.deadline:
                result = self._retire(w, self._cause_of_overrun(w), queue)
            else:
                if w.cap is not None and now - w.started >= SAMPLE_AFTER:
                    w.vm = max(w.vm, _vm_size(w.process.pid) or 0)
                continue
            if result is not _NOT_YET:
                done.append((index, result))
        return done

    def _receive(self, w: _Worker, queue: deque) -> object:
        """The busy worker's next result, a Stopped if it died, or _NOT_YET if it only said it is ready."""
        try:
            while w.conn.poll():
                kind, *rest = w.conn.recv()
                if kind == "ready":  # the item's time starts now: a worker's start-up is not the item's
                    w.cap, w.base = rest
                    w.ready = True
                    if w.given:
                        w._start_next()
                    continue
                if kind == "ok":
                    w.finished()
                    return rest[0]
                if kind == "memory":
                    return self._retire(w, MEMORY, queue)
                if kind == "error":
                    w.finished()
                    raise _rebuilt(*rest)
        except (EOFError, OSError):  # the pipe closed: the process is gone or going
            return self._retire(w, self._cause_of_death(w), queue)
        if w.process.is_alive():
            return _NOT_YET
        return self._retire(w, self._cause_of_death(w), queue)

    def _cause_of_overrun(self, w: _Worker) -> str:
        """Why a busy worker is still at it past its deadline: "memory" if it sits at its address-space cap (an
        allocation failure can leave native code or a lock stuck rather than raise), else "watchdog"."""
        if w.cap is not None:
            w.vm = max(w.vm, _vm_size(w.process.pid) or 0)
            if w.vm - w.base >= NEAR_CAP * (w.cap - w.base):
                return MEMORY
        return WATCHDOG

    def _cause_of_death(self, w: _Worker) -> str:
        w.process.join(1.0)
        code = w.process.exitcode
        if code is not None and code == -getattr(signal, "SIGALRM", 0):
            return WATCHDOG  # its own alarm ended it before this process did
        if code == MEMORY_EXIT or (w.cap is not None and w.vm - w.base >= NEAR_CAP * (w.cap - w.base)):
            return MEMORY
        return MEMORY if w.cap is not None and NATIVE_OOM.search(_tail(w.log_file, w.log_from)) else CRASH

    def _retire(self, w: _Worker, reason: str | None = None, queue: deque | None = None) -> Stopped | None:
        """Remove a worker (killed if alive; a new one is started when work is handed out); Stopped(reason) for
        its running item. The items it was given after that one never started: back to the front of `queue`."""
        w.stop()
        self._workers.remove(w)
        if queue is not None:
            queue.extendleft(reversed(list(w.given)[1 if reason else 0 :]))
        return Stopped(reason) if reason else None

    def _kill_busy(self) -> None:
        for w in [w for w in self._workers if w.given]:
            self._retire(w)


_NOT_YET = object()


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker (attached as __cause__ of the exception raised here)."""

    def __str__(self) -> str:
        return self.args[0]


def _rebuilt(payload: bytes | None, text: str, tb: str) -> BaseException:
    """The worker's exception as an object of this process, its traceback as cause."""
    exc: BaseException | None = None
    if payload is not None:
        try:
            exc = pickle.loads(payload)
        except Exception:  # noqa: BLE001 - fall back to its text
            exc = None
    if exc is None:
        exc = RuntimeError(text)
    exc.__cause__ = RemoteTraceback(tb)
    return exc


def _size(path: Path | None) -> int:
    """The size of a file in bytes; 0 if there is none."""
    try:
        return os.stat(path).st_size if path is not None else 0
    except OSError:
        return 0


def _tail(path: Path | None, start: int, most: int = 1 << 20) -> bytes:
    """What `path` holds from byte `start` (from 0 if it shrank: rotated), at most `most` bytes of its end."""
    if path is None:
        return b""
    try:
        with open(path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            fh.seek(max(start if start <= end else 0, end - most))
            return fh.read()
    except OSError:
        return b""


def _vm_size(pid: int) -> int | None:
    """VmSize of a process in bytes (Linux /proc); None where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


# ---------------------------------------------------------------------------------------------------- worker side


def _serve(conn, log_file: str | None, max_memory_bytes: int | None, watchdog: float) -> None:
    """Worker main loop: set up once, then run one (fn, item) at a time until told to stop (None) or recycled."""
    _ignore_interrupts()
    if log_file is not None:
        _output_to(Path(log_file))
    cap, base = _cap_address_space(max_memory_bytes)
    conn.send(("ready", cap, base))
    fn = None
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        fn = task[0] if task[0] is not None else fn
        _alarm(watchdog + ORPHAN_GRACE)
        reply = _run_one(fn, task[1])
        _alarm(None)
        try:
            conn.send(reply)
        except MemoryError:
            os._exit(MEMORY_EXIT)
        except (OSError, EOFError):
            return
        except Exception as exc:  # noqa: BLE001 - the result cannot be pickled: a bug, reported as an error
            conn.send(("error", *_portable(exc)))
        if reply[0] == "memory":
            return  # recycled: its heap may stay fragmented or a native library may have leaked


def _run_one(fn: Callable, item: object) -> tuple:
    """("ok", result), ("memory",) or ("error", pickled exception, text, traceback)."""
    try:
        return ("ok", fn(item))
    except MemoryError:
        pass  # leave the except block first: its traceback holds the frames that hold the memory
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - incl. pyo3's PanicException (a BaseException)
        return ("error", *_portable(exc))
    return ("memory",)


def _portable(exc: BaseException) -> tuple[bytes | None, str, str]:
    """The exception pickled (None if it cannot be), its one-line text, and its traceback."""
    try:
        payload: bytes | None = pickle.dumps(exc)
    except Exception:  # noqa: BLE001
        payload = None
    text = f"{type(exc).__name__}: {exc}"
    return payload, text, "".join(traceback.format_exception(exc))


def _ignore_interrupts() -> None:
    """Ctrl-C goes to the whole process group: the parent decides, the workers do not print tracebacks. SIGALRM
    keeps its default action (end the process: see `_alarm`)."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
    except (ValueError, OSError):
        pass


def _alarm(seconds: float | None) -> None:
    """POSIX: arm (or, with None, disarm) an alarm whose default action ends this process: a worker whose parent
    was killed while it ran a hanging item (even one stuck in native code) does not outlive its deadline by more
    than ORPHAN_GRACE. A live parent kills it at the deadline first. Nothing on Windows."""
    if not hasattr(signal, "alarm"):
        return
    signal.alarm(0 if seconds is None else max(1, math.ceil(seconds)))


def _output_to(log_file: Path) -> None:
    """Send fd 1 and 2 (native output: Rust panics, C libraries) and Python logging to `log_file` only."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOINHERIT", 0)
        fd = os.open(log_file, flags, 0o644)
    except OSError:
        return  # keep the inherited output rather than fail every item
    for target in (1, 2):
        os.dup2(fd, target)
    os.close(fd)
    if sys.platform == "win32":
        _point_windows_std_handles()
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    _log_only_to(log_file)


def _point_windows_std_handles() -> None:
    """Native code on Windows writes to the process's standard handles, not to fd 2: point them at the file."""
    try:
        import ctypes
        import msvcrt

        kernel32 = ctypes.WinDLL("kernel32")
        kernel32.SetStdHandle(-11, msvcrt.get_osfhandle(1))  # STD_OUTPUT_HANDLE
        kernel32.SetStdHandle(-12, msvcrt.get_osfhandle(2))  # STD_ERROR_HANDLE
    except (OSError, AttributeError, ImportError):
        pass


def _log_only_to(log_file: Path) -> None:
    """One UTF-8 file handler on the root logger; no other handler, no last-resort console output."""
    from .logs import FORMAT, LOGGERS

    for name in (None, *LOGGERS):
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
    handler = logging.FileHandler(log_file, mode="a", encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    logging.getLogger().addHandler(handler)
    logging.lastResort = None
    logging.captureWarnings(True)


def _cap_address_space(limit: int | None) -> tuple[int | None, int]:
    """On Linux: cap this process's address space at its VmSize now plus `limit`. Returns (the cap in bytes, that
    VmSize), or (None, 0) where there is no cap (no limit asked, not Linux, or VmSize unknown)."""
    if limit is None or not sys.platform.startswith("linux"):
        return None, 0
    import resource

    size = _vm_size(os.getpid())
    if size is None:
        return None, 0
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = size + limit
    for existing in (soft, hard):
        if existing != resource.RLIM_INFINITY:
            cap = min(cap, existing)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    return cap, size
