"""Writing a run's receipts in bounded workers: each submission row's receipt (a rejected workbook is read again to
annotate or reproduce it), and the plain receipt the parent writes for a row whose worker failed or was stopped."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

from ..core.bounded import Stopped
from ..core.issues import Issue
from . import receipts as receipt_writer


def receipt_job(job: tuple) -> str | None:
    """Worker: write one receipt; its path, or None if it could not be written (the parent writes the plain one)."""
    try:
        return write_receipt(*job)
    except Exception:  # noqa: BLE001 - one receipt must not stop the others
        logging.getLogger(__name__).exception("receipt for %s could not be written", job[0]["file_name"])
        return None


def receipt_job_with(root_dir: str, limits, row: dict) -> str | None:
    """Worker: `receipt_job` of a row given without the run's root and limits."""
    return receipt_job((row, root_dir, limits))


def receipt_info(row: dict) -> receipt_writer.ReceiptInfo:
    """What a receipt says about a submission row."""
    return receipt_writer.ReceiptInfo(
        file_name=row["file_name"],
        received_at=dt.datetime.fromisoformat(row["received_at"]),
        week=row["week"],
        outcome=row["outcome"] if row["outcome"] != "superseded" else "accepted",
        school_name=row["school_name"],
        school_code=row["school_code"],
        counts={k: row[k] for k in ("rows", "new", "major", "open", "rectified")},
        note=row.get("note") or "",
        on_time=row.get("on_time"),
    )


def write_receipt(row: dict, root_dir: str, limits) -> str:
    """Worker: write the receipt of one submission row; its path. A rejected workbook is read again (calamine) where
    needed: to reproduce it, or to see whether it is too large to annotate (limits.annotate_max_cells: then
    streamed); a small .xlsx is annotated by editing its parts without that."""
    root = Path(root_dir)
    info = receipt_info(row)
    issues = [Issue(**i) for i in row["issues"]]
    out = root / row["receipt_path"]
    if row["outcome"] == "rejected":
        original = root / row["archive_path"]
        fmt = row["format"]

        def load():
            from ..read.books import read_workbook
            from ..read.grid import FileRefused

            try:
                return read_workbook(original.read_bytes(), row["file_name"], limits)
            except FileRefused:
                return None

        receipt_writer.write_rejected(
            info, issues, out, original=original if fmt in ("xlsx", "xlsm") else None, fmt=fmt, workbook=None,
            annotate_max_cells=limits.annotate_max_cells,
            load=load if fmt in ("xlsx", "xlsm", "xls", "ods", "csv") else None,
        )
    else:
        receipt_writer.write_accepted(info, [i for i in issues if i.severity == "warning"], out)
    return str(out)


def plain_receipt(job: tuple, stopped: Stopped | None) -> str | None:
    """Parent: the receipt of a row whose worker failed (None) or was stopped: for a rejected file the plain
    问题清单 saying why the annotated copy is missing, else the short 回执; its path, or None if even that could
    not be written (the row is left for the next run)."""
    row, root_dir, limits = job
    log = logging.getLogger(__name__)
    reason = stopped.reason if stopped is not None else "error"
    log.info("receipt for %r: worker %s, writing the plain receipt", row["file_name"],
             f"stopped ({reason})" if stopped is not None else "failed")
    out = Path(root_dir) / row["receipt_path"]
    issues = [Issue(**i) for i in row["issues"]]
    try:
        if row["outcome"] == "rejected":
            missing = (receipt_writer.copy_missing(reason, limits.watchdog_seconds, limits.max_memory_mb)
                       if row["format"] else None)  # nothing could be read: there never was a copy to make
            receipt_writer.write_explanation(receipt_info(row), issues, out, missing=missing)
        else:
            receipt_writer.write_accepted(receipt_info(row), [i for i in issues if i.severity == "warning"], out)
    except Exception as exc:  # noqa: BLE001 - left for the next run
        log.warning("receipt for %r could not be written (%s); left for the next run", row["file_name"],
                    " ".join(f"{type(exc).__name__}: {exc}".split()))
        return None
    return str(out)
