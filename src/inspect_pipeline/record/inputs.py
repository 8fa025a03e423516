"""The inputs a run used, kept beside the archive (`archive/_inputs/`, named by content): the roster and config, so
that any week can be rebuilt as it was and a week's report keeps attributing schools by its roster."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from ..core.paths import Paths
from ..core.publish import write_bytes_atomic


def snapshot_inputs(paths: Paths, roster_file: Path) -> dict[str, str]:
    """Keep the roster and config a run used (named by content), so any week can be rebuilt as it was; the SHA-256
    of each kept ("roster", "config": a config file is optional)."""
    folder = paths.archive_root / "_inputs"
    folder.mkdir(parents=True, exist_ok=True)
    kept = {}
    for source, kind in ((roster_file, "roster"), (paths.config_file, "config")):
        if not source.is_file():
            continue
        data = source.read_bytes()
        kept[kind] = hashlib.sha256(data).hexdigest()
        target = folder / f"{kind}-{kept[kind][:16]}{source.suffix.lower()}"
        if not target.exists():
            write_bytes_atomic(target, data)
    return kept


_SHA256 = re.compile(r"[0-9a-f]{64}")


def input_snapshot(paths: Paths, kind: str, sha256: str) -> Path | None:
    """The kept copy of a roster or config (`snapshot_inputs`) with this SHA-256, if it is there."""
    folder = paths.archive_root / "_inputs"
    if not folder.is_dir() or not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        return None
    return next((p for p in sorted(folder.glob(f"{kind}-{sha256[:16]}.*")) if p.is_file()), None)
