"""The `reminders` flow (Thursday 15:00, Friday 09:00): the reminders job (jobs/remind.py) as a task, its round
named after the run's schedule slot; the UI shows the round's list."""

from __future__ import annotations

from prefect import flow

from ..jobs import remind as job
from .wiring import as_tasks, open_run, publish_markdown, round_time


def _listed(done: dict) -> None:
    publish_markdown("reminders", done["markdown"], f"{done['week']} 催报提醒")


@flow(name="reminders", description="催报：按包校责任人列出本周未报和退回未重报的学校，并发送提醒。")
def reminders(data_root: str = "data", week: str | None = None, now: str | None = None) -> dict:
    run = open_run(data_root, now)
    done = job.reminders(run, week, round_at=round_time(now, run.settings), steps=as_tasks({"remind": _listed}))
    return {k: v for k, v in done.items() if k != "markdown"}
