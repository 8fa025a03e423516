"""Publishing outputs so that readers see a whole file or folder or nothing, and removing what a killed run left.

Every temporary name written here has one shape — `.<final name>.<12 hex>.tmp` for a file,
`.building-<final name>-<12 hex>` for a folder — so `sweep` removes exactly our own debris and nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_FILE = re.compile(r"^\..+\.[0-9a-f]{12}\.tmp$")
TEMP_DIR = re.compile(r"^\.building-.+-[0-9a-f]{12}$")


def _tag() -> str:
    return uuid.uuid4().hex[:12]


def temp_file_for(final: Path) -> Path:
    """A temporary name beside `final` that `sweep` recognises."""
    return final.with_name(f".{final.name}.{_tag()}.tmp")


def temp_dir_for(final: Path) -> Path:
    """A temporary folder name beside `final` that `sweep` recognises."""
    return final.with_name(f".building-{final.name}-{_tag()}")


@contextmanager
def staged_file(final: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `final` in one step, on failure it is removed.
    `durable` fsyncs the file before the rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_file_for(final)
    try:
        yield tmp
        if durable:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_file_atomic(final: Path, write: Callable[[str], object], *, durable: bool = False) -> Path:
    """Run `write(temp path as str)` and move the result into place; returns `final`."""
    with staged_file(final, durable=durable) as tmp:
        write(str(tmp))
    return final


def write_bytes_atomic(final: Path, data: bytes, *, durable: bool = False) -> Path:
    with staged_file(final, durable=durable) as tmp:
        tmp.write_bytes(data)
    return final


def write_json_atomic(final: Path, data: object, *, durable: bool = True) -> Path:
    """JSON (UTF-8, Chinese as is) that readers see old or new, never half; `durable=False` leaves flushing to a
    later sync."""
    try:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    except UnicodeEncodeError:  # a name with bytes that are not UTF-8 (kept as surrogates): escaped, exact
        text = json.dumps(data, ensure_ascii=True, indent=2, default=str).encode("ascii")
    return write_bytes_atomic(final, text, durable=durable)


@contextmanager
def staged_dir(final: Path, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary folder to fill; on success it is moved into place in one step, so that `final` appears
    complete or not at all; on failure it is removed. An existing `final` is an error (the rename fails), unless
    `replace`: then it is swapped out and removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir_for(final)
    tmp.mkdir()
    try:
        yield tmp
        if replace and final.exists():
            old = temp_dir_for(final)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def sweep(trees: Iterable[Path], flat: Iterable[Path] = ()) -> list[Path]:
    """Remove our temporary files and folders left below `trees` (recursively) and in `flat` (top level only);
    returns what was removed. Anything not named like our own temporaries is never touched."""
    removed: list[Path] = []
    for top, recursive in [*((t, True) for t in trees), *((f, False) for f in flat)]:
        if not top.is_dir():
            continue
        for folder, dirs, files in os.walk(top, followlinks=False):
            here = Path(folder)
            for name in [d for d in dirs if TEMP_DIR.match(d)]:
                shutil.rmtree(here / name, ignore_errors=True)
                removed.append(here / name)
            dirs[:] = [d for d in dirs if not TEMP_DIR.match(d)] if recursive else []
            for name in files:
                if TEMP_FILE.match(name):
                    (here / name).unlink(missing_ok=True)
                    removed.append(here / name)
    if removed:
        log.info("removed %d temporary files and folders left by an interrupted run", len(removed))
    return removed
