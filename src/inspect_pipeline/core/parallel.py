"""Trusted per-file work spread over worker processes (both cores), results in input order (`pmap`).

Untrusted work (reading a school's file, writing its receipt) goes through `bounded.bounded_map` instead: each item
alone in a worker under a time limit and a memory cap, a worker that dies costing only its own item.

Workers are never forked from the calling process where that can be avoided: under Prefect (or any host with
threads of its own) a fork may copy a lock another thread holds, and the worker hangs. On POSIX they come from a
fork server that has imported the library once (cheap to fork, no foreign threads); on Windows they are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from functools import cache
from typing import TypeVar

from .collector import building

T = TypeVar("T")
R = TypeVar("R")

MIN_BATCH_FOR_WORKERS = 24


PRELOAD = ["inspect_pipeline.intake.run", "inspect_pipeline.core.bounded", "inspect_pipeline.report.templates",
           "inspect_pipeline.report.workbooks"]


@cache
def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def warm_up() -> None:
    """Start the fork server (POSIX) in the background, so that it has imported the library by the time the first
    workers are asked for (about a second and a half otherwise spent waiting); nothing where workers are spawned."""
    if _context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    threading.Thread(target=forkserver.ensure_running, name="forkserver-start", daemon=True).start()


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=_context())


def worker_count(configured: int) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def pmap(fn: Callable[[T], R], items: Iterable[T], workers: int, min_batch: int = MIN_BATCH_FOR_WORKERS) -> list[R]:
    """`[fn(x) for x in items]`, computed by `workers` processes when the batch is big enough to pay for them."""
    items = list(items)
    if workers <= 1 or len(items) < min_batch:
        return [fn(x) for x in items]
    with _pool(min(workers, len(items))) as pool:
        return list(pool.map(fn, items, chunksize=_chunk(len(items), workers)))


class Pool:
    """Worker processes for a few large trusted jobs handed over one at a time (`submit`) while the caller goes on
    preparing the next. They start in the background as soon as the pool is made, so that their start-up (the
    fork server importing the library, about a second) overlaps with the caller's own work. With one worker, a job
    runs in the calling process when it is submitted. Use as a context manager: leaving it waits for the jobs."""

    def __init__(self, workers: int):
        self.workers = workers
        self._executor = _pool(workers) if workers > 1 else None
        if self._executor is not None:
            threading.Thread(target=self._start, name="pool-start", daemon=True).start()

    def _start(self) -> None:
        try:
            for _ in range(self.workers):
                self._executor.submit(int)  # an empty job per worker: each starts one process
        except RuntimeError:  # shut down meanwhile
            pass

    def submit(self, fn: Callable[..., R], *args: object) -> Future:
        """Run `fn(*args)` in a worker: a large job (a workbook of tens of thousands of rows), during which the
        collector is quiet (collector.building: its walks over the growing workbook cost a third of its time)."""
        if self._executor is not None:
            return self._executor.submit(_building, fn, *args)
        done: Future = Future()
        try:
            done.set_result(_building(fn, *args))
        except Exception as exc:  # noqa: BLE001 - raised again by result(), as from a worker
            done.set_exception(exc)
        return done

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=exc[0] is not None)


def _building(fn: Callable[..., R], *args: object) -> R:
    with building():
        return fn(*args)


def _chunk(n: int, workers: int) -> int:
    return max(1, min(64, n // (workers * 8)))
