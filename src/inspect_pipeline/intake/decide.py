"""What each file of a run is: its outcome (accepted, rejected, duplicate; an earlier one superseded), and for each
row of an accepted file the hazard it is and whether that hazard is new (submission.md §Identity across weeks,
§Resubmission and duplicates).

One function of the run's files (read, credited to a school, with their problems), the schools' ledgers and the
state of their weeks, all loaded before; no database or file inside. The record, the receipts and the manifests are
written from what it returns. "New" here is new as the files are taken, in path order; ledger.recount_new then makes
it new in week order over the whole record, whatever order the files arrived in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.issues import Issue, has_errors
from ..ledger.hazards import SchoolLedger
from ..schools.roster import School
from .match import Match, match_rows
from .take import Archived
from .understand import ParsedFile

SchoolWeek = tuple[int, str]  # (school id, week label)


@dataclass
class WeekState:
    """Per (school, week): its counted (accepted) file so far, and the SHA-256 of every file received."""

    accepted: dict[SchoolWeek, int] = field(default_factory=dict)
    accepted_name: dict[SchoolWeek, str] = field(default_factory=dict)
    shas: dict[SchoolWeek, set[str]] = field(default_factory=dict)
    superseded: set[int] = field(default_factory=set)  # submissions this run replaced


@dataclass
class Credited:
    """A file of the run as read and credited: the school it counts for (None: none) and all its problems."""

    archived: Archived
    parsed: ParsedFile
    school: School | None
    issues: list[Issue]


@dataclass
class Decision:
    """A file with its outcome, ready to record."""

    archived: Archived
    parsed: ParsedFile
    school: School | None
    issues: list[Issue]
    outcome: str
    submission_id: int
    matches: list[Match] = field(default_factory=list)
    note: str = ""


def decide(files: list[Credited], ledgers: dict[int, SchoolLedger], state: WeekState, first_submission_id: int,
           next_hazard_id: Callable[[], int]) -> list[Decision]:
    """Each file's decision, in order (`ledgers` and `state` are brought up to date as files are taken: a later
    file of the run sees the earlier ones). Submission ids are handed out from `first_submission_id`, hazard ids
    by `next_hazard_id()`."""
    decisions = []
    for k, f in enumerate(files):
        d = Decision(f.archived, f.parsed, f.school, f.issues, "rejected", first_submission_id + k)
        _decide_one(d, state, ledgers, next_hazard_id)
        decisions.append(d)
    return decisions


def _decide_one(d: Decision, state: WeekState, ledgers: dict[int, SchoolLedger], next_hazard_id) -> None:
    p, school = d.parsed, d.school
    key = (school.id, p.week) if school else None
    if key and d.archived.sha256 in state.shas.get(key, set()):
        d.outcome, d.issues = "duplicate", []
        d.note = "本文件与此前已收到的文件完全相同，未重复计入。"
        return
    if key:
        state.shas.setdefault(key, set()).add(d.archived.sha256)
    if has_errors(d.issues) or school is None:
        d.outcome = "rejected"
        if key and key in state.accepted:
            d.note = f"本周此前已受理的报表（{state.accepted_name[key]}）仍然有效，本文件未计入。"
        d.issues = sorted_issues(d.issues)
        return
    ledger = ledgers[school.id]
    matches, cross = match_rows(p, ledger, school.code or school.name, next_hazard_id, d.submission_id)
    d.matches, d.outcome = matches, "accepted"
    d.issues = sorted_issues([*d.issues, *cross])
    previous = state.accepted.get(key)
    if previous is not None:
        state.superseded.add(previous)
        ledger.forget(previous)
        d.note = f"本文件替换了本周此前受理的报表（{state.accepted_name[key]}）。"
    ledger.record([(m.known, m.record) for m in matches], p.week, d.submission_id)
    state.accepted[key] = d.submission_id
    state.accepted_name[key] = d.archived.incoming.name


def sorted_issues(issues: list[Issue]) -> list[Issue]:
    """File-level problems first, then by row and column; errors before warnings at the same cell."""
    def key(i: Issue):
        if i.position is None:
            return (0, 0, 0, i.severity != "error")
        return (1, *i.position, i.severity != "error")

    return sorted(issues, key=key)
