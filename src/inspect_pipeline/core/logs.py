"""The rotating log file in the data root (`logs/inspect-pipeline.log`).

Flows and `serve` attach it to our loggers and Prefect's (`log_to_file`). A CLI run sends every log record, ours
and the libraries' (openpyxl, SQLAlchemy, warnings), to that file and none to the terminal (`route_cli_logs`): a
handler on the root logger means logging.lastResort never prints a library's warning with its traceback on a run
that succeeds. With `--debug` the records are shown on stderr as well. Prefect's own console logging is left as
Prefect configures it.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path

from .paths import Paths
from .terminal import PrintableFormatter

LOGGERS = ("inspect_pipeline", "prefect")
OURS = ("inspect_pipeline",)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
CONSOLE_FORMAT = "%(levelname)s %(name)s: %(message)s"

_files: dict[str, LogFile] = {}  # one handler per log file in this process


class LogFile(RotatingFileHandler):
    """The data root's log: its folder is created with the first record; a record that cannot be written (a full
    disk, a read-only data root) is dropped without a traceback on the terminal (the run's own failure, if any,
    says what is wrong)."""

    def __init__(self, path: Path, *, max_bytes: int = 5_000_000, backups: int = 5) -> None:
        super().__init__(path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
        self.setFormatter(PrintableFormatter(FORMAT))
        self.setLevel(logging.INFO)

    def _open(self):  # noqa: ANN202 - logging's signature
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass


def file_handler(paths: Paths) -> LogFile:
    """This process's handler of the data root's log file (created once, attached nowhere by this call)."""
    key = str(paths.log_file.resolve())
    if key not in _files:
        _files[key] = LogFile(Path(key))
    return _files[key]


def log_to_file(paths: Paths) -> LogFile:
    """Attach (once per file) the data root's log file to our loggers and Prefect's; returns its handler."""
    handler = file_handler(paths)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if handler not in logger.handlers:
            logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return handler


class _Router(logging.Handler):
    """On the root logger in CLI runs: each record that reaches it goes to the current log file, unless a logger
    it passed on its way up already wrote it there (flows run in-process attach the file to our loggers)."""

    def __init__(self) -> None:
        super().__init__()
        self.target: LogFile | None = None

    def emit(self, record: logging.LogRecord) -> None:
        target = self.target
        if target is not None and not _written_on_the_way(record, target):
            target.handle(record)


def _written_on_the_way(record: logging.LogRecord, handler: logging.Handler) -> bool:
    logger: logging.Logger | None = logging.getLogger(record.name)
    while logger is not None and logger is not logging.root:
        if handler in logger.handlers:
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


class _Console(logging.StreamHandler):
    """`--debug`: records on the stderr of the moment (not the one at creation), escaped; Prefect's own records
    are left to Prefect's console handler."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(PrintableFormatter(CONSOLE_FORMAT))
        self.addFilter(lambda record: not (record.name == "prefect" or record.name.startswith("prefect.")))

    @property
    def stream(self):  # noqa: ANN201
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:  # noqa: ANN001 - StreamHandler.__init__ assigns it
        pass


def route_cli_logs(paths: Paths | None, *, debug: bool) -> None:
    """A CLI command's logging: every record to `paths`' log file (none yet: dropped), to stderr only if `debug`;
    never logging.lastResort. Called again once the data root is open; each call replaces the last one's."""
    root = logging.getLogger()
    router = next((h for h in root.handlers if isinstance(h, _Router)), None)
    if router is None:
        router = _Router()
        root.addHandler(router)
    previous, router.target = router.target, file_handler(paths) if paths is not None else None
    if previous is not None and previous is not router.target:
        _release(previous)
    for name in OURS:
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
    consoles = [h for h in root.handlers if isinstance(h, _Console)]
    if debug and not consoles:
        root.addHandler(_Console())
    for handler in consoles if not debug else ():
        root.removeHandler(handler)
    logging.captureWarnings(True)  # a library's warning goes to the log, not to the terminal


def _release(handler: LogFile) -> None:
    """Close a log file the CLI no longer routes to, unless a flow attached it to a logger."""
    if any(handler in logging.getLogger(name).handlers for name in LOGGERS):
        return
    handler.close()
    _files.pop(handler.baseFilename, None)
