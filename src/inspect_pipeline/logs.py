"""The rotating log file in the data root (`logs/inspect-pipeline.log`), for flows and `serve`."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from .paths import Paths

LOGGERS = ("inspect_pipeline", "flows", "prefect")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_to_file(paths: Paths, *, max_bytes: int = 5_000_000, backups: int = 5) -> RotatingFileHandler:
    """Attach (once per file) a UTF-8 rotating handler for our loggers and Prefect's; returns it."""
    target = paths.log_file.resolve()
    for handler in logging.getLogger(LOGGERS[0]).handlers:
        if isinstance(handler, RotatingFileHandler) and handler.baseFilename == str(target):
            return handler
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(target, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.setLevel(logging.INFO)
    for name in LOGGERS:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    return handler
