"""The `weekly_report` flow (Friday 12:30): the weekly-report job (jobs/report.py) with its steps as tasks; the
UI shows the week by zone, its summary, and the workbooks that could not be mailed."""

from __future__ import annotations

from prefect import flow

from ..jobs import report as job
from .wiring import as_tasks, open_run, publish_markdown, publish_table


def _week_built(built: dict) -> None:
    if built["skipped"]:
        return
    publish_table("weekly-report-status", built["zones"], f"{built['week']} 各片区报送情况和本周数字")
    publish_markdown("weekly-report-summary", built["summary"], f"{built['week']} 周报摘要（第 {built['revision']} 版）")


def _mail_failures(mailed: dict) -> None:
    if mailed["failed"]:
        publish_table("weekly-report-mail-failures", mailed["failed"], "未能发出的报表邮件（下次运行时重发）")


@flow(name="weekly-report", description="周报：截止后再收件一次，生成区安委办、市教育局、包片包校报表和下周模板，并发送。")
def weekly_report(data_root: str = "data", week: str | None = None, now: str | None = None,
                  templates: bool = True, close_intake: bool = True, roster_current: bool = False) -> dict:
    done = job.weekly_report(open_run(data_root, now), week, templates=templates, close_intake=close_intake,
                             roster_current=roster_current,
                             steps=as_tasks({"build_week": _week_built, "mail_report": _mail_failures}))
    return {k: v for k, v in done.items() if k not in ("zones", "summary")}
