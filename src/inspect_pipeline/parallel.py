"""Per-file work spread over worker processes (both cores), results in input order.

Reading untrusted workbooks goes through `pmap_isolated`: the native reader can abort its process on some damaged
files, so reading always happens in workers, and an item whose worker dies is retried alone and, if it kills its
worker again, answered by `on_crash(item)` instead of taking the run down.

Workers are never forked from the calling process where that can be avoided: under Prefect (or any host with
threads of its own) a fork may copy a lock another thread holds, and the worker hangs. On POSIX they come from a
fork server that has imported the library once (cheap to fork, no foreign threads); on Windows they are spawned.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import cache
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_BATCH_FOR_WORKERS = 24


PRELOAD = ["inspect_pipeline.intake", "inspect_pipeline.templates", "inspect_pipeline.workbooks"]


@cache
def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


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


def _chunk(n: int, workers: int) -> int:
    return max(1, min(64, n // (workers * 8)))


def _apply(fn: Callable[[T], R], batch: list[T]) -> list[R]:
    return [fn(x) for x in batch]


def pmap_isolated(fn: Callable[[T], R], items: Iterable[T], workers: int, on_crash: Callable[[T], R]) -> list[R]:
    """Like `pmap`, but always in worker processes, surviving workers that die."""
    items = list(items)
    results: dict[int, R] = {}
    if not items:
        return []
    size = _chunk(len(items), max(workers, 1))
    batches = [list(range(i, min(i + size, len(items)))) for i in range(0, len(items), size)]
    try:
        with _pool(max(workers, 1)) as pool:
            futures = [(b, pool.submit(_apply, fn, [items[i] for i in b])) for b in batches]
            for batch, future in futures:
                try:
                    results.update(zip(batch, future.result(), strict=True))
                except BrokenProcessPool:
                    continue  # the rest of this pool's work is redone below
    except BrokenProcessPool:
        pass
    failed = [i for i in range(len(items)) if i not in results]
    for i in failed:  # one at a time, each in a fresh worker, to find the file that kills it
        try:
            with _pool(1) as pool:
                results[i] = pool.submit(fn, items[i]).result()
        except BrokenProcessPool:
            results[i] = on_crash(items[i])
    return [results[i] for i in range(len(items))]
