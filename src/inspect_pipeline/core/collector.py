"""The garbage collector during a run that builds a large, long-lived set of objects (a city's files, a report's
record): collections that would walk millions of objects none of which is garbage are not run.

Python collects its oldest generation each time it has grown by a quarter: on a heap growing to millions of
objects (rows read, none in a reference cycle) that is a dozen walks over all of them (2-3 s of a city's intake).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def building() -> Iterator[None]:
    """Within: what lives at the start (the library, the settings) is never walked, and no collection runs until
    `built()`; afterwards everything is as before (objects still alive are collected normally again)."""
    was_enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()


def built() -> None:
    """What the run has built so far lives until it ends: frozen too, and collections run again for what follows
    (within `building`)."""
    gc.freeze()
    gc.enable()
