"""The `reminders` flow (Thursday 15:00, Friday 09:00): tell each 包校责任人 which of their schools have not
reported this week, or were rejected and have not resubmitted."""

from __future__ import annotations

from prefect import flow, task

from ..core.weeks import week_of
from ..deliver import delivery
from ..deliver.reminders import build_reminders
from .wiring import clock, open_root, publish_markdown, retry_on_io, round_time


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io)
def remind(data_root: str, week: str | None, now: str | None) -> dict:
    """Write this round's reminders (workbook and markdown) and mail each owner their list."""
    settings, paths = open_root(data_root)
    moment = round_time(now, settings)
    result = build_reminders(paths, settings, week or week_of(moment, settings), moment)
    mailed = delivery.send_mails(paths, settings, result.mails, clock(now, settings))
    return {
        "week": result.week,
        "folder": str(result.folder),
        "markdown": (result.folder / "reminders.md").read_text(encoding="utf-8"),
        "owners": result.owners,
        "mail": delivery.summary(mailed),
    }


@flow(name="reminders", description="催报：按包校责任人列出本周未报和退回未重报的学校，并发送提醒。")
def reminders(data_root: str = "data", week: str | None = None, now: str | None = None) -> dict:
    done = remind(data_root, week, now)
    publish_markdown("reminders", done["markdown"], f"{done['week']} 催报提醒")
    return {k: v for k, v in done.items() if k != "markdown"}
