"""Worker processes: order kept; a file that kills its reader's process is answered, not fatal."""

import os

from inspect_pipeline.parallel import pmap, pmap_isolated


def square(x: int) -> int:
    return x * x


def die_on_13(x: int) -> int:
    if x == 13:
        os._exit(134)  # what a native abort looks like from Python: the process is gone
    return x * x


def test_pmap_keeps_order():
    assert pmap(square, range(100), 2) == [x * x for x in range(100)]


def test_a_worker_that_dies_costs_only_its_own_item():
    out = pmap_isolated(die_on_13, range(40), 2, on_crash=lambda x: -1)
    assert out == [-1 if x == 13 else x * x for x in range(40)]
