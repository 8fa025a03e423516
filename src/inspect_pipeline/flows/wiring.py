"""What every flow shares: opening the run, a job's steps as tasks, retrying only on I/O, publishing artifacts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.utilities.annotations import quote

from ..core.logs import log_to_file
from ..core.settings import Settings
from ..jobs import context
from ..jobs.context import Run, Steps

T = TypeVar("T")


def open_run(data_root: str, now: str | None) -> Run:
    """The flow run's world (one clear line if the data root or its config is wrong); its log file receives this
    process's log lines from now on."""
    run = context.open_run(data_root, now)
    log_to_file(run.paths)
    return run


def run_name(flow: str, which: Callable[[dt.datetime, Settings], str]) -> Callable[[], str]:
    """A flow run's name that carries its week (`weekly-report 2023-W48`): the `week` parameter, else the week
    `which(moment, settings)` gives for the run's clock. Never fails a run: a data root it cannot read gives the
    flow's name alone."""
    def name() -> str:
        params = flow_run.parameters or {}
        week = params.get("week")
        if not week:
            try:
                from ..core.settings import load_settings
                from ..core.weeks import parse_moment

                settings = load_settings(Path(params.get("data_root") or "data"))
                moment = parse_moment(params["now"], settings.tz) if params.get("now") else dt.datetime.now(settings.tz)
                week = which(moment, settings)
            except Exception:  # noqa: BLE001 - the name is a courtesy; the run says what is wrong
                return flow
        return f"{flow} {week}"

    return name


def round_time(now: str | None, settings: Settings) -> dt.datetime | None:
    """The time a round of mail is named after: a scheduled run's own schedule slot (so a retried or re-run flow
    run names the same round and sends nothing twice); None (the run's clock) otherwise."""
    if now is None and flow_run.get_id() is not None:
        scheduled = flow_run.scheduled_start_time
        if scheduled is not None:
            return scheduled.astimezone(settings.tz)
    return None


def as_tasks(after: dict[str, Callable[[Any], None]] | None = None) -> Steps:
    """A job's steps as Prefect tasks (named as the job names them; retried only on I/O, mail later than the
    rest), each followed by what the flow shows of it in the UI (`after[name](result)`). The run is handed to
    the task as it is (quoted): nothing in it is hashed, cached or copied."""
    def step(name: str, fn: Callable[..., T], /, *args: Any) -> T:
        delays = [30, 120] if name.startswith("mail") else [10, 60]
        as_task = task(fn, name=name, retries=2, retry_delay_seconds=delays, retry_condition_fn=retry_on_io,
                       cache_policy=NO_CACHE)
        result = as_task(*(quote(a) for a in args))
        if after and name in after:
            after[name](result)
        return result

    return step


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


CHANNELS = {"mail": ("mail-failures", "未能发出的邮件（下次运行时重发）"),
            "robots": ("robot-failures", "未能发到群机器人的消息（下次运行时重发）")}


def publish_failures(flow: str, done: dict) -> None:
    """A table artifact per channel of `done` ("mail", "robots": delivery summaries) with failures: recipient
    (an address or robot:<group>), what, and the error — never a webhook key or a mobile number."""
    for channel, (suffix, description) in CHANNELS.items():
        if channel in done and done[channel]["failed"]:
            create_table_artifact(key=f"{flow}-{suffix}", table=done[channel]["failed"], description=description)


def publish_markdown(key: str, text: str, description: str) -> None:
    create_markdown_artifact(key=key, markdown=text, description=description)
