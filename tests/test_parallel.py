"""Worker processes: order kept; a file that kills its reader's process, or overruns its time, is answered, not fatal."""

import os
import time

from inspect_pipeline.core.bounded import Bounds, Stopped, bounded_map
import pytest

from inspect_pipeline.core.parallel import Pool, pmap


def square(x: int) -> int:
    return x * x


def die_on_13(x: int) -> int:
    if x == 13:
        os._exit(134)  # what a native abort looks like from Python: the process is gone
    return x * x


def hang_on_7(x: int) -> int:
    if x == 7:
        time.sleep(60)
    return x * x


def test_pmap_keeps_order():
    assert pmap(square, range(100), 2) == [x * x for x in range(100)]


def fails_on_3(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return os.getpid()


@pytest.mark.parametrize("workers", [1, 2])
def test_a_pool_runs_jobs_submitted_one_by_one_and_raises_their_errors(workers):
    with Pool(workers) as pool:
        jobs = [pool.submit(fails_on_3, x) for x in range(6)]
    pids = {job.result() for k, job in enumerate(jobs) if k != 3}
    with pytest.raises(ValueError, match="three"):
        jobs[3].result()
    assert (os.getpid() in pids) == (workers == 1)  # one worker: the jobs ran here, when submitted


def test_a_worker_that_dies_costs_only_its_own_item():
    out = bounded_map(die_on_13, range(40), 2, Bounds(watchdog_seconds=30))
    assert out == [Stopped("crash") if x == 13 else x * x for x in range(40)]


def test_an_item_past_its_deadline_is_stopped_and_the_rest_done_in_order():
    started = time.monotonic()
    out = bounded_map(hang_on_7, range(20), 2, Bounds(watchdog_seconds=1.0))
    assert out == [Stopped("watchdog") if x == 7 else x * x for x in range(20)]
    assert time.monotonic() - started < 20
