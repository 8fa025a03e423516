"""Per-file work spread over worker processes (both cores), results in input order.

Reading untrusted workbooks goes through `pmap_isolated`: the native reader can abort its process on some damaged
files, so reading always happens in workers, and an item whose worker dies is retried alone and, if it kills its
worker again, answered by `on_crash(item)` instead of taking the run down.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

MIN_BATCH_FOR_WORKERS = 24


def worker_count(configured: int) -> int:
    return configured if configured > 0 else (os.cpu_count() or 1)


def pmap(fn: Callable[[T], R], items: Iterable[T], workers: int, min_batch: int = MIN_BATCH_FOR_WORKERS) -> list[R]:
    """`[fn(x) for x in items]`, computed by `workers` processes when the batch is big enough to pay for them."""
    items = list(items)
    if workers <= 1 or len(items) < min_batch:
        return [fn(x) for x in items]
    with ProcessPoolExecutor(max_workers=min(workers, len(items))) as pool:
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
        with ProcessPoolExecutor(max_workers=max(workers, 1)) as pool:
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
            with ProcessPoolExecutor(max_workers=1) as pool:
                results[i] = pool.submit(fn, items[i]).result()
        except BrokenProcessPool:
            results[i] = on_crash(items[i])
    return [results[i] for i in range(len(items))]
