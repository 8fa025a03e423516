"""Tying a file's rows to the school's hazards: by 隐患编号, else by identity (found date, place, description); new
numbers issued here; the cross-week warnings hazard-dropped and hazard-reopened (submission.md §Identity across
weeks, §Cross-week checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..core.contracts import DONE, OPEN, statuses
from ..core.issues import Issue, make_issue
from ..core.weeks import compact
from ..ledger.hazards import Known, SchoolLedger
from .understand import ParsedFile
from .validate import identity

_CODE_TAIL = re.compile(r"^(.+)-(\d{4}W\d{2})-(\d{3,})$")


@dataclass(slots=True)
class Match:
    """A row of an accepted file tied to its hazard."""

    known: Known
    record: dict
    is_new: bool
    moved: bool = False  # the hazard was known from a later week only: its first week moves back to this one


def match_rows(
    parsed: ParsedFile, ledger: SchoolLedger, prefix: str, next_id, submission_id: int
) -> tuple[list[Match], list[Issue]]:
    """Tie each row to a known hazard or a new one (new numbers issued here, `<prefix>-2023W47-003`: the school's
    学校标识码, or its name while it has none) and give the cross-week warnings. `next_id()` hands out hazard ids."""
    week = parsed.week
    matches: list[Match] = []
    issues: list[Issue] = []
    seen: set[int] = set()
    for rec in parsed.records:
        moved = False
        known = _by_number(rec.get("hazard_id"), ledger)
        ident = identity(rec["found_date"], rec["location"], rec["description"])
        if known is None:
            known = ledger.by_identity.get(ident)
        if known is None:
            code = _new_code(ledger, prefix, week)
            known = Known(next_id(), code, ident, week, rec["found_date"], first_submission_id=submission_id)
            ledger.add(known)
        elif week < known.first_week:
            known.first_week, moved = week, True  # a late file for an earlier week
        seen.add(known.id)
        before = known.state_before(week)
        if before is not None and before[0] in statuses(*DONE) and rec["status"] in statuses(*OPEN):
            issues.append(parsed.cell_issue("hazard-reopened", rec, "description"))
        matches.append(Match(known, rec, is_new=known.first_week == week, moved=moved))
    for known in ledger.by_code.values():
        if known.id in seen:
            continue
        before = known.state_before(week)
        if before is not None and before[0] in statuses(*OPEN):
            issues.append(make_issue("hazard-dropped", sheet=parsed.sheet, value=before[1]))
    return matches, issues


def _by_number(value: object, ledger: SchoolLedger) -> Known | None:
    """The hazard a pipeline-issued 隐患编号 names, if it is one of this school's (else the school's own numbering).
    Numbers issued before the school got its code or a new name keep resolving: they are looked up, not parsed."""
    if not isinstance(value, str) or not _CODE_TAIL.match(value.strip()):
        return None
    return ledger.by_code.get(value.strip())


def _new_code(ledger: SchoolLedger, school_prefix: str, week: str) -> str:
    prefix = f"{school_prefix}-{compact(week)}-"
    taken = [int(c.rsplit("-", 1)[1]) for c in ledger.by_code if c.startswith(prefix)]
    return f"{prefix}{max(taken, default=0) + 1:03d}"
