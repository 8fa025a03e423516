"""The generated inbox: its files (`SynthFile`, a week's `SynthWeek`), their expected outcomes, writing them
under an inbox folder (`write_week`), and the state a week leaves for the next (`next_prior`).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from .hazards import Hazard
from .vocabulary import OPEN, RECTIFIED
from .week_dates import TZ, parse_week
from .writers import csv_bytes, ods_bytes, xlsx_bytes


@dataclass
class SynthFile:
    """One file of the synthetic inbox and what the pipeline must make of it.

    `path` is relative to the inbox (POSIX separators); `rows` are the hazards the file lists (the truth, as
    dicts keyed by submission column ids, before any deliberate defect); `expected` holds `outcome`
    (accepted | rejected | None for ignored temp files), `errors` and `warnings` (sorted `[cell, code]` lists),
    plus `hazards` (the manifest's per-file counts), `defects`, `features`, `sheet`.
    """

    path: str
    school_code: str | None
    school_name: str | None
    kind: str  # valid | messy | zero | invalid | unreadable | temp
    format: str  # xlsx | csv | ods | xls | docx | jpg | lock
    rows: list[dict]
    expected: dict
    payload: object = field(default=None, repr=False, compare=False)  # sheets to write, or raw bytes
    mtime: float = field(default=0.0, repr=False, compare=False)

    @property
    def school(self) -> tuple[str | None, str | None]:
        return (self.school_code, self.school_name)

    def content(self) -> bytes:
        """The file's bytes."""
        if isinstance(self.payload, bytes):
            return self.payload
        fmt, sheets = self.payload
        if fmt == "xlsx":
            return xlsx_bytes(sheets)
        if fmt == "ods":
            return ods_bytes(sheets)
        if fmt.startswith("csv:"):
            return csv_bytes(sheets[0], fmt.split(":", 1)[1])
        raise ValueError(fmt)


class SynthWeek(list):
    """The files of one generated week (a list of SynthFile) with the week's facts and the state for the next."""

    week: str = ""
    cutoff: str = ""
    seed: int = 0
    due: list[str]
    missing: list[str]
    state: dict


def expected_outcome(outcome: str | None, errors, warnings, sheet, features, defects, known: dict,
                     rows: list[Hazard]) -> dict:
    """A file's `expected`: outcome, sorted [cell, code] errors and warnings, the manifest's hazard counts."""

    def key(item):
        return (item[0] or "", item[1])

    accepted = outcome == "accepted"
    counts = {
        "rows": len(rows) if accepted else 0,
        "new": sum(1 for h in rows if h.identity not in known) if accepted else 0,
        "major": sum(1 for h in rows if h.level == "重大") if accepted else 0,
        "open": sum(1 for h in rows if h.status in OPEN) if accepted else 0,
        "rectified": sum(1 for h in rows if h.status in RECTIFIED) if accepted else 0,
    }
    return {
        "outcome": outcome,
        "errors": sorted(([c, code] for c, code in errors), key=key),
        "warnings": sorted(([c, code] for c, code in warnings), key=key),
        "hazards": counts,
        "defects": list(defects),
        "features": list(features),
        "sheet": sheet,
    }


def next_prior(files: list[SynthFile], prior: dict | None = None) -> dict:
    """The state to pass as `prior` to the next week's `make_week` (JSON-serialisable).

    Per school: its hazards as of this week (`ledger`) and what the pipeline knows of them (`known`: identity →
    status from the school's accepted files). Schools that sent nothing keep their earlier state.
    """
    state = getattr(files, "state", None)
    if state is not None:
        return {"version": 1, "week": state["week"], "seed": state["seed"],
                "schools": {k: {"ledger": list(v["ledger"]), "known": dict(v["known"])}
                            for k, v in state["schools"].items()}}
    schools = {k: dict(v) for k, v in (prior or {}).get("schools", {}).items()}
    for f in files:
        if f.kind == "temp" or f.school_code is None:
            continue
        kn = dict(schools.get(f.school_code, {}).get("known", {}))
        hazards = [Hazard(**r) for r in f.rows]
        if f.expected["outcome"] == "accepted":
            kn.update({h.identity: h.status for h in hazards})
        schools[f.school_code] = {"ledger": [h.to_json() for h in hazards], "known": kn}
    return {"version": 1, "week": None, "seed": None, "schools": schools}


def write_week(files: list[SynthFile], inbox: Path) -> dict:
    """Write every file under `inbox/<path>`; returns the expected outcomes (JSON-serialisable).

    Returns:
        {"week", "cutoff", "suggested_now", "seed", "due", "missing", "counts", "files": {path: {...}}} where each
        file entry has school_code, school_name, kind, format, outcome, errors, warnings, hazards, defects,
        features, sheet.
    """
    inbox = Path(inbox)
    out_files: dict[str, dict] = {}
    counts: dict[str, int] = {}
    made_dirs: set[Path] = set()
    for f in files:
        target = inbox / f.path
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        target.write_bytes(f.content())
        if f.mtime:
            os.utime(target, (f.mtime, f.mtime))
        counts[f.kind] = counts.get(f.kind, 0) + 1
        out_files[f.path] = {"school_code": f.school_code, "school_name": f.school_name, "kind": f.kind,
                             "format": f.format, **f.expected}
    week = getattr(files, "week", None)
    result: dict = {"week": week, "cutoff": getattr(files, "cutoff", None), "seed": getattr(files, "seed", None)}
    if week:
        wk = parse_week(week)
        result["suggested_now"] = dt.datetime.combine(wk.last_day, dt.time(18, 0), tzinfo=TZ).isoformat()
    due = getattr(files, "due", None)
    missing = getattr(files, "missing", None)
    result["due"] = len(due) if due is not None else None
    result["missing"] = list(missing) if missing is not None else None
    if missing is not None:
        counts["missing"] = len(missing)
    result["counts"] = dict(sorted(counts.items()))
    result["files"] = out_files
    return result
