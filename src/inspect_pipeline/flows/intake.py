"""The `intake` flow (every 10 minutes): the intake job (jobs/intake.py) with its steps as tasks; the UI shows
the files taken and the receipts that could not be mailed."""

from __future__ import annotations

from prefect import flow

from ..core.weeks import week_of

from ..jobs import intake as job
from ..report.summary import intake_table
from .wiring import as_tasks, open_run, publish_failures, publish_table, run_name


def _files_taken(taken: dict) -> None:
    publish_table("intake-files", intake_table(taken["files"]), "本次收件的文件、结果和错误数")


def _mail_failures(mailed: dict) -> None:
    publish_failures("intake", {"mail": mailed})


@flow(name="intake", description="收件：归档、读取、校验、登记收件箱中的新文件，生成并发送回执。",
      flow_run_name=run_name("intake", week_of))
def intake(data_root: str = "data", now: str | None = None) -> dict:
    """收件。

    Args:
        data_root: 数据目录（收件箱 inbox、归档 archive、回执 receipts 所在的文件夹）。
        now: 把此刻当作这个时间（ISO 8601），收到时间即为此时；不填则用真实时钟。
    """
    done = job.intake(open_run(data_root, now),
                      as_tasks({"take_inbox": _files_taken, "mail_receipts": _mail_failures}))
    return {**done, "files": len(done["files"])}
