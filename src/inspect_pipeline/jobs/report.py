"""The weekly-report job (Friday 12:30, `inspect-pipeline report`): close the week with one more intake, build
its report revision, write next week's templates, mail the workbooks; and the templates job on its own."""

from __future__ import annotations

from pathlib import Path

from ..core.weeks import closed_week, shift
from ..deliver.delivery import send_report, send_robot_report, summary
from ..record.files import report_id
from ..report.build import build_report
from ..report.summary import report_markdown, web_links, zone_table
from ..report.templates import write_templates
from .context import Progress, Run, Steps, direct, no_progress, staged
from .intake import take_inbox


def weekly_report(run: Run, week: str | None = None, *, templates: bool = True, close_intake: bool = True,
                  roster_current: bool = False, steps: Steps = direct, progress: Progress | None = None) -> dict:
    """The week's report (default: the last closed week) and what followed it; only `week` and `skipped` for a
    week in which no one reports. Each step's start and end are told to `progress` (stages report, templates,
    mail; the closing intake's own stages)."""
    if close_intake:  # the schedule closes the week with one more intake; `inspect-pipeline report` does not
        steps("take_inbox", take_inbox, run, progress)
    chosen = week or closed_week(run.now, run.settings)
    built = staged(progress, "report", steps, "build_week", build_week, run, chosen, roster_current)
    if built["skipped"]:
        return built
    written = steps("next_templates", next_templates, run, built["week"], progress) if templates else 0
    mailed = staged(progress, "mail", steps, "mail_report", mail_report, run, built["manifest"])
    robots = steps("robot_report", robot_report, run, built["manifest"])
    return {**built, "templates": written, "mail": mailed, "robots": robots}


def build_week(run: Run, week: str, roster_current: bool = False) -> dict:
    """The week's report revision (a new one only if something changed), with what the UI shows of it."""
    result = build_report(run.paths, run.settings, week, run.now, roster_current=roster_current,
                          roster=run.roster, engine=run.engine)
    if result is None:
        return {"week": week, "skipped": True}
    return {
        "week": result.week,
        "skipped": False,
        "revision": result.revision,
        "written": result.written,
        "left_out": result.left_out,
        "folder": str(result.folder),
        "manifest": result.manifest,
        "zones": zone_table(result.manifest, result.missing),
        "summary": report_markdown(result.manifest, result.majors,
                                   web_links(run.settings.web.url, report_id(run.engine, result.week, result.revision),
                                             result.manifest)),
    }


def next_templates(run: Run, week: str, progress: Progress | None = None) -> int:
    """Next week's blank and pre-filled templates; how many were written."""
    return len(templates(run, shift(week, 1), progress=progress))


def templates(run: Run, week: str, school: str | None = None, progress: Progress | None = None) -> list[Path]:
    """The week's blank template and one pre-filled template per school (or for one school); their writing is the
    stage `templates` of `progress` (begun, then how many were written)."""
    tell = no_progress if progress is None else progress
    tell("templates", 0, 0)
    written = write_templates(run.paths, run.settings, week, school, roster=run.roster, engine=run.engine)
    tell("templates", len(written), len(written))
    return written


def mail_report(run: Run, manifest: dict) -> dict:
    """Mail each workbook to its recipients and each zone extract to its 包片领导 (nothing if mail is off)."""
    return summary(send_report(run.paths, run.settings, manifest, run.now, roster=run.roster, engine=run.engine))


def robot_report(run: Run, manifest: dict) -> dict:
    """The report-ready notice to each reports group robot, once per revision (nothing without robots)."""
    return summary(send_robot_report(run.paths, run.settings, manifest, run.now, engine=run.engine))
