"""The `reminders` flow (placed relative to the week's cutoff, core/schedule.py): the reminders job
(jobs/remind.py) as a task, its round named after the run's schedule slot; the UI shows the round's list, its
deadline warnings and the mails and robot messages that could not be sent."""

from __future__ import annotations

from prefect import flow

from ..core.weeks import week_of

from ..jobs import remind as job
from .wiring import as_tasks, open_run, publish_failures, publish_markdown, round_time, run_name


def _listed(done: dict) -> None:
    publish_markdown("reminders", done["markdown"], f"{done['week']} 催报提醒")
    publish_markdown("deadline-warnings", done["warnings_markdown"], f"{done['week']} 整改到期预警")
    publish_failures("reminders", done)


@flow(name="reminders", description="催报：按包校责任人列出本周未报和退回未重报的学校，并发送提醒。",
      flow_run_name=run_name("reminders", week_of))
def reminders(data_root: str = "data", week: str | None = None, now: str | None = None) -> dict:
    """催报。

    Args:
        data_root: 数据目录（收件箱 inbox、报表 reports 所在的文件夹）。
        week: 周次，例如 2023-W47；不填则为本周（下一个截止时间所在的周）。
        now: 把此刻当作这个时间（ISO 8601）；不填则用真实时钟。
    """
    run = open_run(data_root, now)
    done = job.reminders(run, week, round_at=round_time(now, run.settings), steps=as_tasks({"remind": _listed}))
    return {k: v for k, v in done.items() if k not in ("markdown", "warnings_markdown")}
