"""The `intake` flow (every 10 minutes): take new inbox files, then mail receipts to schools."""

from __future__ import annotations

import logging

from prefect import flow, task

from ..core.errors import LockBusy
from ..deliver import delivery
from ..intake.run import run_intake
from ..record.files import received_files
from ..report.summary import intake_table
from .wiring import clock, open_root, publish_table, retry_on_io

log = logging.getLogger(__name__)


@task(retries=2, retry_delay_seconds=[10, 60], retry_condition_fn=retry_on_io)
def take_inbox(data_root: str, now: str | None = None) -> dict:
    """One intake run over the whole inbox (the library batches the per-file work); its files as rows.
    Another run holding the data root's lock past the timeout makes this run a no-op, not a failure."""
    settings, paths = open_root(data_root)
    try:
        result = run_intake(paths, settings, clock(now, settings))
    except LockBusy as busy:
        log.warning("本次跳过：%s", busy)
        return {"run_id": None, "skipped": str(busy), "outcomes": {}, "weeks": [], "files": []}
    files = received_files(paths.root, settings, run_id=result.run_id) if result.run_id is not None else []
    return {
        "run_id": result.run_id,
        "skipped": None,
        "outcomes": result.outcomes,
        "weeks": result.weeks,
        "left_for_next_run": result.left_for_next_run,
        "files": files,
    }


@task(retries=2, retry_delay_seconds=[30, 120], retry_condition_fn=retry_on_io)
def mail_receipts(data_root: str, weeks: list[str], now: str | None = None) -> dict:
    """Mail the receipts of these weeks not yet mailed to their schools, and resend earlier failures
    (nothing if mail is off)."""
    settings, paths = open_root(data_root)
    return delivery.summary(delivery.send_receipts(paths, settings, weeks, clock(now, settings)))


@flow(name="intake", description="收件：归档、读取、校验、登记收件箱中的新文件，生成并发送回执。")
def intake(data_root: str = "data", now: str | None = None) -> dict:
    taken = take_inbox(data_root, now)
    publish_table("intake-files", intake_table(taken["files"]), "本次收件的文件、结果和错误数")
    mailed = mail_receipts(data_root, taken["weeks"], now)
    if mailed["failed"]:
        publish_table("intake-mail-failures", mailed["failed"], "未能发出的回执邮件（下次运行时重发）")
    return {**{k: v for k, v in taken.items() if k != "files"}, "files": len(taken["files"]), "mail": mailed}
