"""What every flow shares: opening the data root, the run's clock, retrying only on I/O, publishing artifacts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from ..core.logs import log_to_file
from ..core.paths import Paths
from ..core.settings import Settings
from ..core.weeks import parse_moment
from ..jobs.setup import open_data_root


def open_root(data_root: str) -> tuple[Settings, Paths]:
    """The data root's settings and paths (one clear line if it or its config is wrong); its log file receives
    this process's log lines from now on."""
    settings, paths = open_data_root(Path(data_root))
    log_to_file(paths)
    return settings, paths


def clock(now: str | None, settings: Settings) -> dt.datetime:
    """The run's time: `now` (ISO 8601) when given, else the real clock, in the settings' zone."""
    moment = dt.datetime.now(settings.tz) if now is None else parse_moment(now, settings.tz)
    return moment.astimezone(settings.tz)


def round_time(now: str | None, settings: Settings) -> dt.datetime:
    """The time a round of mail is named after: a scheduled run's own schedule slot (so a retried or re-run flow
    run names the same round and sends nothing twice), else the run's clock."""
    if now is None and flow_run.get_id() is not None:
        scheduled = flow_run.scheduled_start_time
        if scheduled is not None:
            return scheduled.astimezone(settings.tz)
    return clock(now, settings)


def retry_on_io(task, task_run, state) -> bool:
    """Retry a task only when it failed on I/O (disk, network share, mail server); never on bad data."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:  # noqa: BLE001 - anything else is not transient
        return False
    return False


def publish_table(key: str, rows: list[dict], description: str) -> None:
    """A table artifact (keys: lowercase letters, digits, dashes); an empty table becomes a one-line note."""
    if rows:
        create_table_artifact(key=key, table=rows, description=description)
    else:
        create_markdown_artifact(key=key, markdown=f"{description}：无。", description=description)


def publish_markdown(key: str, text: str, description: str) -> None:
    create_markdown_artifact(key=key, markdown=text, description=description)
