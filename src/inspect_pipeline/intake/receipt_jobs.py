"""Writing a run's receipts in bounded workers: each submission row's receipt (a rejected workbook is read again to
annotate or reproduce it), the plain receipt the parent writes for a row whose worker failed or was stopped, and
`EarlyReceipts`: a run's receipts written while its record is still being written, published once it commits."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import threading
from functools import partial
from pathlib import Path

from ..core.bounded import Bounds, Stopped, bounded_map
from ..core.issues import Issue
from ..core.paths import Paths
from ..core.publish import temp_dir_for
from . import receipts as receipt_writer

log = logging.getLogger(__name__)


def receipt_job(job: tuple) -> str | None:
    """Worker: write one receipt; its path, or None if it could not be written (the parent writes the plain one)."""
    try:
        return write_receipt(*job)
    except Exception:  # noqa: BLE001 - one receipt must not stop the others
        log.exception("receipt for %s could not be written", job[0]["file_name"])
        return None


def receipt_job_with(root_dir: str, limits, out_dir: str | None, row: dict) -> str | None:
    """Worker: `receipt_job` of a row given without the run's root, limits and the folder receipts go to (None:
    the root itself)."""
    return receipt_job((row, root_dir, limits, out_dir))


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


def write_receipt(row: dict, root_dir: str, limits, out_dir: str | None = None) -> str:
    """Worker: write the receipt of one submission row (at its receipt_path below `out_dir`, by default the root);
    its path. A rejected workbook is read again (calamine) where needed: to reproduce it, or to see whether it is
    too large to annotate (limits.annotate_max_cells: then streamed); a small .xlsx is annotated by editing its
    parts without that."""
    root = Path(root_dir)
    info = receipt_info(row)
    issues = [Issue(**i) for i in row["issues"]]
    out = Path(out_dir or root_dir) / row["receipt_path"]
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
    row, root_dir, limits = job[:3]
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


class EarlyReceipts:
    """A run's receipts, written by bounded workers (in a thread of this process) while the run's record is still
    being written: into a staging folder of the state directory, moved into place by `finish` once the record has
    committed, or removed with everything in it by `abandon` if the run fails before. A killed run's staging folder
    is swept by the next run (core.lock). `rows` are submission rows as the record will hold them."""

    def __init__(self, paths: Paths, limits, workers: int, rows: list[dict]):
        self.root, self.limits, self.rows = paths.root, limits, rows
        self.staging = temp_dir_for(paths.state_dir / "receipts")
        self.results: list | None = None
        job = partial(receipt_job_with, str(self.root), limits, str(self.staging))
        bounds = Bounds.of(limits, paths.log_file)
        self._thread = threading.Thread(target=self._run, args=(job, workers, bounds), name="receipts", daemon=True)
        self._thread.start()

    def _run(self, job, workers: int, bounds: Bounds) -> None:
        try:
            self.results = bounded_map(job, self.rows, workers, bounds)
        except Exception:  # noqa: BLE001 - the run writes them after its record instead
            log.exception("receipts written beside the record failed; they are written after it")

    def finish(self) -> set[int]:
        """Wait for the workers and move each receipt into place (the plain one written here for a row whose worker
        failed or was stopped); the ids of the rows whose receipt is in place."""
        self._thread.join()
        done: set[int] = set()
        try:
            for row, result in zip(self.rows, self.results or [], strict=False):
                if isinstance(result, str):
                    try:
                        _move(Path(result), self.root / row["receipt_path"])
                    except OSError as exc:  # written again after the record, or by the next run
                        log.warning("receipt for %r could not be put in place (%s)", row["file_name"], exc)
                        continue
                    done.add(row["id"])
                elif plain_receipt((row, str(self.root), self.limits), result) is not None:
                    done.add(row["id"])
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        return done

    def abandon(self) -> None:
        """The run failed before its record committed: wait for the workers and drop what they wrote."""
        self._thread.join()
        shutil.rmtree(self.staging, ignore_errors=True)


def _move(staged: Path, final: Path) -> None:
    """Move a staged receipt into place (copied if the two lie on different file systems)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staged, final)
    except OSError:
        shutil.move(staged, final)
