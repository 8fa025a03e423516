"""The one place that builds paths below the data root. Names that come from outside are made safe here."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from .settings import Settings

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')
MAX_NAME = 60


def safe_name(name: str, fallback: str = "未命名") -> str:
    """A single path component derived from outside text: no separators, no `..`, no reserved Windows names,
    no trailing dots/spaces, at most MAX_NAME characters (a short hash keeps long names distinct)."""
    text = unicodedata.normalize("NFC", name)
    text = _UNSAFE.sub("_", text).strip().strip(".").strip()
    if not text or set(text) <= {".", "_", " "}:
        text = fallback
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext) > 8:
        stem, ext = text, ""
    if stem.split(".")[0].upper().rstrip() in _WINDOWS_RESERVED:
        stem = "_" + stem
    if len(text) > MAX_NAME:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        keep = MAX_NAME - len(ext) - 10
        stem = f"{stem[:keep]}_{digest}"
    return f"{stem}.{ext}" if ext else stem


@dataclass(frozen=True)
class Paths:
    """Every folder and file of a data root (operations.md §Folders)."""

    root: Path
    settings: Settings

    @classmethod
    def at(cls, root: Path, settings: Settings) -> Paths:
        return cls(root.resolve(), settings)

    @property
    def inbox(self) -> Path:
        return self.settings.inbox_dir or self.root / "inbox"

    @property
    def archive_root(self) -> Path:
        return self.root / "archive"

    @property
    def receipts_root(self) -> Path:
        return self.root / "receipts"

    @property
    def reports_root(self) -> Path:
        return self.root / "reports"

    @property
    def templates_root(self) -> Path:
        return self.root / "templates"

    @property
    def config_file(self) -> Path:
        return self.root / "config.toml"

    @property
    def roster_file(self) -> Path:
        if self.settings.roster_file is not None:
            return self.settings.roster_file
        # the one the clerk saved last, if several formats lie there (e.g. a roster.csv beside the template)
        found = [p for p in (self.root / f"roster{ext}" for ext in (".xlsx", ".xls", ".ods", ".csv")) if p.is_file()]
        return max(found, key=lambda p: p.stat().st_mtime_ns) if found else self.root / "roster.xlsx"

    @property
    def state_dir(self) -> Path:
        """Local state (database, locks); never on a network share."""
        return self.root / ".state"

    @property
    def database_url(self) -> str:
        if self.settings.database_url:
            return self.settings.database_url
        return f"sqlite:///{(self.state_dir / 'inspect.db').as_posix()}"

    @property
    def intake_lock(self) -> Path:
        return self.state_dir / "intake.lock"

    @property
    def unfinished_mark(self) -> Path:
        """Present while a run holds the lock; found by the next run only if that one was killed."""
        return self.state_dir / "run.unfinished"

    @property
    def output_trees(self) -> list[Path]:
        """The folders runs write into (swept for temporaries after a killed run)."""
        return [self.archive_root, self.receipts_root, self.reports_root, self.templates_root]

    @property
    def prefect_home(self) -> Path:
        """PREFECT_HOME of the local Prefect server `serve` starts (its database stays on local disk)."""
        return self.state_dir / "prefect"

    @property
    def log_file(self) -> Path:
        """The rotating log of flows and `serve`."""
        return self.root / "logs" / "inspect-pipeline.log"

    @property
    def secrets_file(self) -> Path:
        """Passwords and keys (mail password, the web page's users and cookie key); never config.toml."""
        return self.root / "secrets.toml"

    def inbox_folder(self, school_folder: str) -> Path:
        """A school's folder below the inbox (a file there is credited to it when the file names no school)."""
        return self.inbox / safe_name(school_folder)

    def upload_note(self, sha256: str) -> Path:
        """What the web page's 代报上传 kept of an upload (who, when, the note), by the file's SHA-256: found again
        for the file the record holds after intake, outside the inbox so intake never takes it."""
        return self.state_dir / "uploads" / f"{sha256}.json"

    def reminders_dir(self, week: str, stamp: str) -> Path:
        """One reminder round of a week, e.g. reports/2023-W47/reminders/20231123-1500/."""
        return self.reports_root / week / "reminders" / stamp

    def archive_dir(self, week: str) -> Path:
        return self.archive_root / week

    def archived_file(self, week: str, sha256: str, ext: str) -> Path:
        return self.archive_dir(week) / f"{sha256}{ext}"

    def sidecar(self, week: str, sha256: str, arrival_key: str) -> Path:
        return self.archive_dir(week) / f"{sha256}.{arrival_key}.json"

    def receipts_week(self, week: str) -> Path:
        return self.receipts_root / week

    def receipt(self, week: str, school_folder: str | None, file_name: str) -> Path:
        folder = safe_name(school_folder) if school_folder else "_未识别学校"
        return self.receipts_week(week) / folder / safe_name(file_name)

    def intake_manifest(self, week: str) -> Path:
        return self.receipts_week(week) / "manifest.json"
