"""The intake job (every 10 minutes, `inspect-pipeline intake`): take the inbox, then mail the receipts."""

from __future__ import annotations

import logging

from ..core.errors import LockBusy
from ..deliver.delivery import send_receipts, summary
from ..intake.run import Progress, run_intake
from ..record.files import received_files
from .context import Run, Steps, direct

log = logging.getLogger(__name__)


def intake(run: Run, steps: Steps = direct, progress: Progress | None = None) -> dict:
    """Take every new inbox file, then mail the receipts of the weeks it touched."""
    taken = steps("take_inbox", take_inbox, run, progress)
    mailed = steps("mail_receipts", mail_receipts, run, taken["weeks"])
    return {**taken, "mail": mailed}


def take_inbox(run: Run, progress: Progress | None = None) -> dict:
    """One intake run over the whole inbox, with its files as rows. Another run holding the data root's lock past
    the timeout makes this one a no-op (`skipped` says why), not a failure."""
    try:
        result = run_intake(run.paths, run.settings, run.now, progress, roster=run.roster, engine=run.engine)
    except LockBusy as busy:
        log.warning("intake skipped: %s", busy)
        return {"run_id": None, "skipped": str(busy), "outcomes": {}, "weeks": [], "left_for_next_run": 0,
                "recovered": 0, "files": []}
    files = [] if result.run_id is None else received_files(run.paths.root, run.settings, run_id=result.run_id)
    return {"run_id": result.run_id, "skipped": None, "outcomes": result.outcomes, "weeks": result.weeks,
            "left_for_next_run": result.left_for_next_run, "recovered": result.recovered, "files": files}


def mail_receipts(run: Run, weeks: list[str]) -> dict:
    """Mail the receipts of these weeks not yet mailed to their schools, and resend earlier failures (nothing if
    mail is off)."""
    return summary(send_receipts(run.paths, run.settings, weeks, run.now, roster=run.roster, engine=run.engine))
