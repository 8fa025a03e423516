"""One identity per school, whatever its roster row says today (roster.md §Roster changes).

The record's `schools` table gives every school it has known an id for good. Each run matches the roster's rows to
it — by 学校标识码 first, then by any full name the school has had, then by a 简称 that is such a name (a renamed
school keeps its old name as a 简称) — and records codes filled in, names changed and schools new. Everything the
record holds about a school refers to that id, so which school a file or hazard belongs to never depends on the
roster version. An edit that would make two known schools one, or one known school two, stops the run.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..core.errors import RosterError
from ..core.paths import Paths
from ..core.settings import Settings
from ..read.normalize import squash
from ..record.db import reports, schools
from ..record.inputs import input_snapshot
from .roster import Roster, School, load_roster

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _Known:
    id: int
    code: str | None
    name: str
    names: tuple[str, ...]


def identify(conn: Connection, roster: Roster, *, register: bool) -> Roster:
    """The roster with each school's id. With `register`, schools new to the record are added to it and codes and
    names brought up to date (in `conn`'s transaction); without, a new school gets a provisional negative id that
    nothing in the record refers to. RosterError when a row would merge two known schools or split one."""
    known = [_Known(r.id, r.code, r.name, tuple(r.names or ())) for r in conn.execute(sa.select(schools))]
    by_code = {k.code: k for k in known if k.code}
    by_name: dict[str, _Known] = {squash(k.name): k for k in known}
    for k in known:
        for name in k.names:
            by_name.setdefault(squash(name), k)  # a current name wins over another school's former one
    taken: dict[int, School] = {}
    matched: list[tuple[School, _Known | None]] = []
    for school in roster.schools:
        match = _match(school, by_code, by_name, roster.source.name)
        if match is not None and match.id in taken:
            raise RosterError(_split(roster.source.name, taken[match.id], school, match))
        if match is not None:
            taken[match.id] = school
        matched.append((school, match))
    added = iter(_insert(conn, [school for school, match in matched if match is None]) if register else [])
    ids, new = [], -1
    for school, match in matched:
        if match is None:
            if register:
                ids.append(next(added))
            else:
                ids.append(new)
                new -= 1
            continue
        if register:
            _update(conn, school, match)
        ids.append(match.id)
    return dataclasses.replace(
        roster, schools=tuple(dataclasses.replace(s, id=i) for s, i in zip(roster.schools, ids, strict=True))
    )


def _match(school: School, by_code: dict, by_name: dict, file_name: str) -> _Known | None:
    """The known school a roster row is: by code, then full name, then a 简称 that is a known full name."""
    coded = by_code.get(school.code) if school.code else None
    named = by_name.get(squash(school.name))
    if coded is not None and named is not None and coded.id != named.id:
        raise RosterError(
            f"学校名单 {file_name} 第 {school.row} 行：学校标识码 {school.code} 在记录中属于“{coded.name}”，"
            f"而学校名称“{school.name}”在记录中是另一所学校，这会把两所学校合并为一所（学校撤并不受支持）。"
            "请改正这一行；撤销的学校请保留其行并填写停用日期。"
        )
    if coded is not None or named is not None:
        return coded or named
    return next((by_name[squash(a)] for a in school.aliases if squash(a) in by_name), None)


def _split(file_name: str, first: School, second: School, known: _Known) -> str:
    return (
        f"学校名单 {file_name} 第 {first.row} 行“{first.name}”和第 {second.row} 行“{second.name}”都对应记录中的"
        f"同一所学校“{known.name}”（按学校标识码、名称或简称），这会把一所学校拆成两所。请删去或改正其中一行；"
        "新设的学校请用新的名称，不要把已有学校的名称写作它的简称。"
    )


def _insert(conn: Connection, new: list[School]) -> list[int]:
    """Add schools new to the record (one statement for all of them); their ids, in order."""
    if not new:
        return []
    rows = [{"code": school.code, "name": school.name, "names": [school.name]} for school in new]
    return list(conn.execute(schools.insert().returning(schools.c.id, sort_by_parameter_order=True), rows).scalars())


def _update(conn: Connection, school: School, known: _Known) -> None:
    """Bring a known school's code and names up to the roster's (a code is filled in or corrected, never erased)."""
    names = list(dict.fromkeys([*known.names, school.name]))
    code = school.code or known.code
    if code == known.code and school.name == known.name and names == list(known.names):
        return
    if code != known.code:
        log.info("school %d: code %s -> %s", known.id, known.code, code)
    conn.execute(schools.update().where(schools.c.id == known.id).values(code=code, name=school.name, names=names))


# ---------------------------------------------------------------- the roster a command or a week uses


def current_roster(paths: Paths, settings: Settings, engine: Engine, *, register: bool,
                   loaded: Roster | None = None) -> Roster:
    """Today's roster (`loaded`, when the run has read it already), identified (registering new schools when the
    command records anything)."""
    roster = loaded if loaded is not None else load_roster(paths.roster_file, settings)
    with engine.begin() if register else engine.connect() as conn:
        return identify(conn, roster, register=register)


def week_roster(conn: Connection, paths: Paths, settings: Settings, week: str, current: Roster) -> Roster:
    """The roster a week's report attributes schools by: the one its latest revision used (its first, unless the
    clerk regenerated it with today's), kept in archive/_inputs; `current` for a week not yet reported, for a
    revision made before snapshots were recorded, or when the snapshot is gone (logged)."""
    sha = conn.execute(
        sa.select(reports.c.roster_sha256).where(reports.c.week == week).order_by(reports.c.revision.desc()).limit(1)
    ).scalar()
    if sha is None or sha == current.sha256:
        return current
    snapshot = input_snapshot(paths, "roster", sha)
    if snapshot is None:
        log.warning("roster snapshot %s of week %s is missing from archive/_inputs; using today's roster", sha[:16],
                    week)
        return current
    return identify(conn, load_roster(snapshot, settings), register=False)


