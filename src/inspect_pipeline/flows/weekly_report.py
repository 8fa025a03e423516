"""The `weekly_report` flow (Friday 12:30): close the week with one more intake, build every report and next
week's templates, show the week in the UI, and mail the workbooks."""

from __future__ import annotations

from prefect import flow, task

from ..core.weeks import closed_week, shift
from ..deliver import delivery
from ..report.build import build_report
from ..report.summary import report_markdown, zone_table
from ..report.templates import write_templates
from .intake import take_inbox
from .wiring import clock, open_root, publish_markdown, publish_table, retry_on_io


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io)
def build_week(data_root: str, week: str | None, now: str | None, roster_current: bool = False) -> dict:
    """The week's report revision (a new one only if something changed), with what the UI shows of it; only the
    week for a week in which no one reports."""
    settings, paths = open_root(data_root)
    moment = clock(now, settings)
    chosen = week or closed_week(moment, settings)
    result = build_report(paths, settings, chosen, moment, roster_current=roster_current)
    if result is None:
        return {"week": chosen, "skipped": True}
    return {
        "week": result.week,
        "revision": result.revision,
        "written": result.written,
        "left_out": result.left_out,
        "folder": str(result.folder),
        "manifest": result.manifest,
        "zones": zone_table(result.manifest, result.missing),
        "summary": report_markdown(result.manifest, result.majors, paths.root),
    }


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io)
def next_templates(data_root: str, week: str) -> int:
    """Next week's blank and pre-filled templates; how many were written."""
    settings, paths = open_root(data_root)
    return len(write_templates(paths, settings, shift(week, 1)))


@task(retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=retry_on_io)
def mail_report(data_root: str, manifest: dict, now: str | None) -> dict:
    """Mail each workbook to its recipients and each zone extract to its 包片领导 (nothing if mail is off)."""
    settings, paths = open_root(data_root)
    return delivery.summary(delivery.send_report(paths, settings, manifest, clock(now, settings)))


@flow(name="weekly-report", description="周报：截止后再收件一次，生成区安委办、市教育局、包片包校报表和下周模板，并发送。")
def weekly_report(data_root: str = "data", week: str | None = None, now: str | None = None,
                  templates: bool = True, close_intake: bool = True, roster_current: bool = False) -> dict:
    if close_intake:  # the schedule closes the week with one more intake; `inspect-pipeline report` does not
        take_inbox(data_root, now)
    built = build_week(data_root, week, now, roster_current)
    if built.get("skipped"):  # a week in which no one reports gets no report
        return {"week": built["week"], "skipped": True}
    publish_table("weekly-report-status", built["zones"], f"{built['week']} 各片区报送情况和本周数字")
    publish_markdown("weekly-report-summary", built["summary"], f"{built['week']} 周报摘要（第 {built['revision']} 版）")
    written = next_templates(data_root, built["week"]) if templates else 0
    mailed = mail_report(data_root, built["manifest"], now)
    if mailed["failed"]:
        publish_table("weekly-report-mail-failures", mailed["failed"], "未能发出的报表邮件（下次运行时重发）")
    return {
        "week": built["week"], "revision": built["revision"], "written": built["written"],
        "left_out": built["left_out"],
        "folder": built["folder"], "templates": written, "mail": mailed,
    }
