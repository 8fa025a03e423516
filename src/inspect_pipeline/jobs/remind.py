"""The reminders job (Thursday 15:00, Friday 09:00, `inspect-pipeline remind`): tell each 包校责任人 which of
their schools have not reported this week, or were rejected and have not resubmitted."""

from __future__ import annotations

import datetime as dt

from ..core.weeks import week_of
from ..deliver.delivery import send_mails, send_robot_reminders, summary
from ..deliver.reminders import build_reminders
from .context import Run, Steps, direct


def reminders(run: Run, week: str | None = None, *, round_at: dt.datetime | None = None,
              steps: Steps = direct) -> dict:
    """Write this round's reminders (workbook and markdown) and mail each owner their list. The round is named
    after `round_at` (a scheduled run's own slot, so a retried run names the same round and sends nothing twice),
    else the run's clock; the week defaults to the one that moment belongs to."""
    return steps("remind", remind, run, week, round_at or run.now)


def remind(run: Run, week: str | None, at: dt.datetime) -> dict:
    result = build_reminders(run.paths, run.settings, week or week_of(at, run.settings), at,
                             roster=run.roster, engine=run.engine)
    mailed = send_mails(run.paths, run.settings, result.mails, run.now, engine=run.engine)
    robots = send_robot_reminders(run.paths, run.settings, result, run.now, engine=run.engine)
    return {
        "week": result.week,
        "folder": str(result.folder),
        "markdown": (result.folder / "reminders.md").read_text(encoding="utf-8"),
        "owners": result.owners,
        "mail": summary(mailed),
        "warnings": result.warnings.counts,  # 整改到期预警: days, due_count, due_major, overdue_count, overdue_major, owners
        "warnings_markdown": (result.folder / "warnings.md").read_text(encoding="utf-8"),
        "robots": summary(robots),
    }
