"""The `weekly_report` flow (Friday 12:30): the weekly-report job (jobs/report.py) with its steps as tasks; the
UI shows the week by zone, its summary, and what could not be mailed or sent to the group robots."""

from __future__ import annotations

from prefect import flow, get_run_logger

from ..core.weeks import closed_week

from ..jobs import report as job
from .wiring import as_tasks, open_run, publish_failures, publish_markdown, publish_table, run_name


def _week_built(built: dict) -> None:
    if built["skipped"]:
        get_run_logger().info("week %s: no one reports in it (no_report_weeks), nothing built", built["week"])
        return
    outputs = built["manifest"]["outputs"]
    get_run_logger().info(
        "week %s revision %d %s in %s: %s", built["week"], built["revision"],
        "written" if built["written"] else "unchanged (the latest revision stands)", built["folder"],
        ", ".join([*(outputs[k] for k in ("safety_committee", "city_bureau", "zone_report")),
                   *outputs["zone_extracts"].values()]))
    publish_table("weekly-report-status", built["zones"], f"{built['week']} 各片区报送情况和本周数字")
    publish_markdown("weekly-report-summary", built["summary"], f"{built['week']} 周报摘要（第 {built['revision']} 版）")


def _mail_failures(mailed: dict) -> None:
    publish_failures("weekly-report", {"mail": mailed})


def _robot_failures(sent: dict) -> None:
    publish_failures("weekly-report", {"robots": sent})


@flow(name="weekly-report", description="周报：截止后再收件一次，生成区安委办、市教育局、包片包校报表和下周模板，并发送。",
      flow_run_name=run_name("weekly-report", closed_week))
def weekly_report(data_root: str = "data", week: str | None = None, now: str | None = None,
                  templates: bool = True, close_intake: bool = True, roster_current: bool = False) -> dict:
    """周报。

    Args:
        data_root: 数据目录（收件箱 inbox、归档 archive、回执 receipts、报表 reports 所在的文件夹）。
        week: 周次，例如 2023-W47 或 2023年第47周；不填则为最近一个已截止的周。
        now: 把此刻当作这个时间（ISO 8601，例如 2023-11-24T12:30:00+08:00），用于补做；不填则用真实时钟。
        templates: 是否同时生成下周的空白模板和各校预填模板。
        close_intake: 生成报表前是否先收件一次（截止前放入收件箱的文件都会计入）。
        roster_current: 按当前的学校名单归属学校（更正名单后重出报表时用）；不填则按该周所用的名单。
    """
    done = job.weekly_report(open_run(data_root, now), week, templates=templates, close_intake=close_intake,
                             roster_current=roster_current,
                             steps=as_tasks({"build_week": _week_built, "mail_report": _mail_failures,
                                             "robot_report": _robot_failures}))
    return {k: v for k, v in done.items() if k not in ("zones", "summary")}
