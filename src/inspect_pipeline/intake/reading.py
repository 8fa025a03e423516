"""Reading a run's archived files in bounded workers (settings.limits: watchdog, memory): each file's ParsedFile,
or the unreadable-file answer for one stopped by a limit, too large to read, or a link (never followed)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from ..core.bounded import Bounds, Stopped, bounded_map
from ..core.issues import make_issue
from ..core.paths import Paths
from ..core.settings import Settings
from ..core.weeks import cutoff, week_of
from ..read.sniff import LINK
from .take import Archived
from .understand import ParsedFile, parse_file


def read_files(jobs: list[tuple], workers: int, paths: Paths, known_stops: dict[str, str]) -> list[ParsedFile]:
    """Each job's ParsedFile, in order: read in bounded workers (settings.limits: watchdog, memory), a file stopped
    by a limit or that killed its worker answered as unreadable (`reader_stopped`). Files whose sha256 (the
    archived copy's name, archive.Paths.archived_file) is in `known_stops` are answered so without being read."""
    if not jobs:
        return []
    known = {k: known_stops[sha256_of(job)] for k, job in enumerate(jobs) if sha256_of(job) in known_stops}
    todo = [k for k in range(len(jobs)) if k not in known]
    bounds = Bounds.of(jobs[0][3].limits, paths.log_file)
    settings = jobs[0][3]  # one run's: sent to each worker once, not with every file
    read = dict(zip(todo, bounded_map(partial(parse_with, settings), [jobs[k][:3] for k in todo], workers, bounds),
                    strict=True))
    results = [Stopped(known[k]) if k in known else read[k] for k in range(len(jobs))]
    return [reader_stopped(job, r.reason) if isinstance(r, Stopped) else r for job, r in zip(jobs, results, strict=True)]


def sha256_of(job: tuple) -> str:
    """The sha256 of a read job's archived copy (archived as <sha256><ext>)."""
    return Path(job[0]).name.split(".", 1)[0]


def parse_with(settings: Settings, job: tuple) -> ParsedFile:
    """Worker: `parse_job` of a job given without its settings."""
    return parse_job((*job, settings))


def parse_job(job: tuple) -> ParsedFile:
    """Worker: read one archived file and understand it (oversized files are refused without reading)."""
    path, name, arrival, settings = job
    size = Path(path).stat().st_size
    if size > settings.limits.max_file_bytes:
        return oversized(size, arrival, settings)
    return parse_file(Path(path).read_bytes(), name, arrival, settings)


def reader_stopped(job: tuple, reason: str) -> ParsedFile:
    """The file's reading was stopped by a limit ("watchdog", "memory") or killed its worker ("crash"): it is
    unreadable-file with a detail naming the limit, and its row records `limit_hit` = reason."""
    _, _, arrival, settings = job
    limits = settings.limits
    detail = {
        "watchdog": f"读取超过 {limits.watchdog_seconds:g} 秒的时间上限，已停止",
        "memory": f"读取时超过 {limits.max_memory_mb:g} MB 的内存上限",
    }.get(reason, "文件已损坏，读取时出错")
    parsed = ParsedFile(week=arrival, readable=False, cutoff=cutoff(arrival, settings), limit_hit=reason)
    parsed.issues.append(make_issue("unreadable-file", detail=detail))
    return parsed


def oversized(size: int, arrival: str, settings: Settings) -> ParsedFile:
    """An unreadable-file answer for a file larger than limits.max_file_mb (it is never read)."""
    parsed = ParsedFile(week=arrival, readable=False, cutoff=cutoff(arrival, settings))
    size_mb = size / 1024 / 1024
    parsed.issues.append(
        make_issue("unreadable-file", detail=f"文件过大（{size_mb:.1f} MB，上限 {settings.limits.max_file_mb:g} MB）")
    )
    return parsed


def link_parsed(a: Archived, settings: Settings) -> ParsedFile:
    """A link in the inbox (symlink, junction): recorded and rejected without reading what it points at."""
    arrival = week_of(a.received_at, settings)
    parsed = ParsedFile(week=arrival, readable=False, cutoff=cutoff(arrival, settings))
    parsed.issues.append(make_issue("unsupported-format", detail=LINK))
    return parsed
