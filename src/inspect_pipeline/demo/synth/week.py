"""One generated week: `make_week` (the files the due schools send, each with its expected outcome) and
`generate_district` (a roster and one week written to a folder). Each due school is given a kind first (missing,
zero, unreadable, invalid, messy, valid), then its hazards (a fresh ledger, or last week's carried over), the
document of its kind, its workbook's sheets and the issues the spec expects; a few temp files are put next to
real workbooks at the end.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from .defects import DEFECTS, RosterFacts, invalid_doc, pick_defects
from .documents import base_doc, file_name
from .hazards import (
    Hazard,
    SchoolContext,
    fresh_ledger,
    hazard_dict,
    new_hazard,
    school_context,
    share_location,
    week_ledger,
)
from .inbox import SynthFile, SynthWeek, expected_outcome, write_week
from .messy import messy_doc, messy_features
from .other_files import UNREADABLE_VARIANTS, temp_file, unreadable_file, zero_doc
from .rendering import RowStyle
from .roster import make_roster, write_roster
from .sheets import SheetCells, SheetDoc, lay_out
from .vocabulary import OPEN, fold_key, severities
from .week_dates import WeekDates, file_mtime, is_active, parse_week


def make_week(roster: list[dict], week: str = "2023-W47", seed: int = 0, *, hazards_per_school: int = 10,
              share_missing: float = 0.05, share_invalid: float = 0.08, share_messy: float = 0.3,
              prior: dict | None = None) -> SynthWeek:
    """The files the schools of `roster` send in `week`, each with its expected outcome.

    One file per reporting school (`share_missing` of the due schools send nothing); kinds: ~5% zero reports,
    `share_invalid` invalid (one or two defects each; every defect code appears once before any repeats),
    a couple unreadable, `share_messy` messy-but-valid, the rest valid; plus a few ignored temp files.
    `prior` (from `next_prior` of the previous generated week) carries each school's open hazards over.
    """
    wk = parse_week(week)
    rng = random.Random(f"synth-week:{seed}:{wk.label}")
    due = sorted((s for s in roster if is_active(s, wk.cutoff_date)), key=lambda s: s["school_code"])
    prior_schools: dict = (prior or {}).get("schools", {})
    ictx = RosterFacts([s for s in due], frozenset(fold_key(s["school_name"]) for s in roster)
                       | frozenset(fold_key(a) for s in roster for a in (s.get("aliases") or "").split("、") if a),
                       frozenset(s["school_code"] for s in roster))
    carried, known = _carried_over(due, prior_schools)
    kinds = _kinds(rng, due, carried, share_missing, share_invalid, share_messy)
    defect_cycle = list(DEFECTS)
    rng.shuffle(defect_cycle)
    n = len(due)
    n_temp = max(2, round(n / 100)) if n >= 4 else 0

    week_files = _WeekFiles(wk, seed, kinds, carried, known, ictx, defect_cycle, hazards_per_school)
    files = week_files.files
    files.week, files.cutoff, files.seed = wk.label, wk.cutoff.isoformat(), seed
    files.due = [s["school_code"] for s in due]
    files.missing = sorted(c for c, k in kinds.items() if k == "missing")
    week_files.state.update({code: {"ledger": p["ledger"], "known": p.get("known", {})}
                             for code, p in prior_schools.items()})
    for s in due:
        week_files.add_school(s)
    _add_temp_files(files, week_files.temp_hosts, due, wk, seed, n_temp)
    for sf in files:
        sf.mtime = file_mtime(wk, sf.path)
    files.sort(key=lambda f: f.path)
    files.state = {"version": 1, "week": wk.label, "seed": seed, "schools": week_files.state}
    return files


def _carried_over(due: list[dict], prior_schools: dict) -> tuple[dict[str, list[Hazard]], dict[str, dict[str, str]]]:
    """Each school's hazards carried over from the prior state, and what the pipeline knows of them."""
    # hazards of each school this week (carried over from the prior state, or a fresh ledger)
    carried: dict[str, list[Hazard]] = {}
    known: dict[str, dict[str, str]] = {}
    for s in due:
        p = prior_schools.get(s["school_code"])
        if p:
            ledger = [Hazard.from_json(h) for h in p["ledger"]]
            kn = dict(p.get("known", {}))
            # listed again: everything not closed, and whatever the pipeline still holds as open
            carried[s["school_code"]] = [h for h in ledger if h.status != "已销号" or kn.get(h.identity) in OPEN]
            known[s["school_code"]] = kn
    return carried, known


def _kinds(rng: random.Random, due: list[dict], carried: dict[str, list[Hazard]], share_missing: float,
           share_invalid: float, share_messy: float) -> dict[str, str]:
    """The kind of each due school's file: missing, zero, unreadable, invalid, messy or valid."""
    order = [s["school_code"] for s in due]
    rng.shuffle(order)
    n = len(order)
    n_missing = min(n, round(n * share_missing))
    n_unread = min(n - n_missing, max(2, round(n / 200))) if n >= 4 else 0
    n_zero = round(n * 0.05)
    n_invalid = round(n * share_invalid)
    n_messy = round(n * share_messy)
    kinds: dict[str, str] = {}
    for code in order[:n_missing]:
        kinds[code] = "missing"
    rest = order[n_missing:]
    zero_ok = [c for c in rest if not carried.get(c)]
    for code in zero_ok[:n_zero]:
        kinds[code] = "zero"
    rest = [c for c in rest if c not in kinds]
    for kind, k in (("unreadable", n_unread), ("invalid", n_invalid), ("messy", n_messy)):
        for code in rest[:k]:
            kinds[code] = kind
        rest = rest[k:]
    for code in rest:
        kinds[code] = "valid"
    return kinds


@dataclass
class _Draft:
    """One school's workbook while it is made: its document, further sheets and the issues the spec expects."""

    kind: str
    fmt: str
    features: list[str]
    hazards: list[Hazard]
    rows_listed: list[Hazard]  # the hazards the file lists (none for a zero report)
    doc: SheetDoc | None = None
    others: list[SheetCells] = field(default_factory=list)
    issues: list[tuple[str | None, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


class _WeekFiles:
    """The files of one week as they are made, school by school, and the state they leave for the next week."""

    def __init__(self, wk: WeekDates, seed: int, kinds: dict[str, str], carried: dict[str, list[Hazard]],
                 known: dict[str, dict[str, str]], ictx: RosterFacts, defect_cycle: list[str],
                 hazards_per_school: int) -> None:
        self.wk, self.seed, self.kinds, self.carried, self.known, self.ictx = wk, seed, kinds, carried, known, ictx
        self.defect_cycle = defect_cycle
        self.unread_cycle = list(UNREADABLE_VARIANTS)
        self.hazards_per_school = hazards_per_school
        self.files = SynthWeek()
        self.state: dict[str, dict] = {}
        self.n_invalid_seen = self.n_unread_seen = self.n_zero_seen = 0
        self.temp_hosts: list[SynthFile] = []

    def add_school(self, s: dict) -> None:
        """The file one due school sends (none when it is missing)."""
        code = s["school_code"]
        kind = self.kinds[code]
        if kind == "missing":
            return
        srng = random.Random(f"synth-file:{self.seed}:{self.wk.label}:{code}")
        sc = school_context(s)
        fmt, features, hazards = self._hazards(srng, sc, kind)
        kn = self.known.get(code, {})
        if kind == "unreadable":
            self._add_unreadable(srng, sc, hazards, kn)
            return
        draft = _Draft(kind, fmt, features, hazards, list(hazards))
        if kind == "zero":
            self._zero(srng, sc, draft)
        elif kind == "valid":
            draft.doc = base_doc(sc, self.wk, srng, hazards, RowStyle())
        elif kind == "messy":
            self._messy(srng, sc, draft)
        else:  # invalid
            self._invalid(srng, sc, draft)
        self._add_workbook(srng, sc, draft, kn)

    def _hazards(self, srng: random.Random, sc: SchoolContext, kind: str) -> tuple[str, list[str], list[Hazard]]:
        """(format, messy features, hazards) of a school's file this week."""
        wk, code, hps = self.wk, sc.code, self.hazards_per_school
        target = max(0, srng.randint(hps - hps // 2, hps + hps // 2))
        target = max(target, {"valid": 1, "messy": 2, "invalid": 3}.get(kind, 0))
        fmt = "xlsx"
        features: list[str] = []
        if kind == "messy":
            r = srng.random()
            fmt = "csv" if r < 0.15 else "ods" if r < 0.2 else "xlsx"
            features = messy_features(srng, fmt)
        if kind == "zero":
            hazards = list(self.carried.get(code, []))  # empty by construction
        elif code in self.carried:
            hazards = week_ledger(srng, sc, wk, self.carried[code], target)
        else:
            hazards = fresh_ledger(srng, sc, wk, target, old_hazard=kind == "messy" and "old_hazard" in features)
        if kind == "messy" and "merged_cells" in features:
            share_location(srng, hazards, len(self.carried.get(code, [])))
        if kind == "invalid" and len(hazards) < 3:
            hazards += [new_hazard(srng, sc, wk, {(h.location, h.description) for h in hazards},
                                   found_from=wk.monday, found_to=wk.last_day) for _ in range(3 - len(hazards))]
        return fmt, features, hazards

    def _add_unreadable(self, srng: random.Random, sc: SchoolContext, hazards: list[Hazard], kn: dict) -> None:
        variant = self.unread_cycle[self.n_unread_seen % len(self.unread_cycle)]
        if variant == "empty" and self.n_unread_seen >= len(self.unread_cycle):
            variant = "pdf"  # one empty file a week: equal bytes would read as duplicates
        self.n_unread_seen += 1
        name, fmt, data, err = unreadable_file(srng, sc, self.wk, variant)
        sf = SynthFile(f"{sc.name}/{name}", sc.code, sc.name, "unreadable", fmt, [hazard_dict(h) for h in hazards],
                       expected_outcome("rejected", [(None, err)], [], None, [variant], [], kn, []), data)
        self.files.append(sf)
        self.state[sc.code] = {"ledger": [h.to_json() for h in hazards], "known": kn}

    def _zero(self, srng: random.Random, sc: SchoolContext, draft: _Draft) -> None:
        variants = ["row", "above", "no_table", "row", "above", "assumed"]
        variant = variants[self.n_zero_seen % len(variants)]
        self.n_zero_seen += 1
        draft.doc, draft.issues = zero_doc(sc, self.wk, srng, variant)
        draft.features = [variant]
        draft.rows_listed = []

    def _messy(self, srng: random.Random, sc: SchoolContext, draft: _Draft) -> None:
        wk, hazards = self.wk, draft.hazards
        draft.doc, draft.others = messy_doc(sc, wk, srng, hazards, draft.fmt, draft.features, self.ictx.names)
        if "multi_sheet" in draft.features:
            old = base_doc(sc, wk.shifted(-1), srng, hazards[: max(1, len(hazards) // 2)], RowStyle())
            old.sheet_name = f"第{wk.num - 1}周" if wk.num > 1 else "上周"
            old.block[0] = [e for e in old.block[0] if e.field != "week"]
            old_grid, _ = lay_out(old)
            draft.others.insert(0, old_grid)

    def _invalid(self, srng: random.Random, sc: SchoolContext, draft: _Draft) -> None:
        first = self.defect_cycle[self.n_invalid_seen % len(self.defect_cycle)]
        self.n_invalid_seen += 1
        draft.fmt = fmt = "csv" if srng.random() < 0.1 and first != "ambiguous-sheet" else "xlsx"
        draft.defects = defects = pick_defects(srng, first, fmt)
        hazards_view = list(draft.hazards)
        draft.doc, draft.others = invalid_doc(sc, self.wk, srng, hazards_view, fmt, defects, self.ictx)
        if "no-header-row" in defects:
            draft.issues.append((None, "no-header-row"))
        if "ambiguous-sheet" in defects:
            draft.issues.append((None, "ambiguous-sheet"))
        if "missing-unit" in defects:
            draft.issues.append((None, "missing-unit"))

    def _add_workbook(self, srng: random.Random, sc: SchoolContext, draft: _Draft, kn: dict) -> None:
        """Lay the draft out, name and place the file, and record what the pipeline must make of it."""
        code, kind, fmt, features = sc.code, draft.kind, draft.fmt, draft.features
        grid, issues = lay_out(draft.doc)
        if kind == "invalid" and ("no-header-row" in draft.defects or "ambiguous-sheet" in draft.defects):
            issues = []  # no table is read: nothing at cell level
        expected_issues = draft.issues + issues
        sheets = _sheet_order(grid, draft.others, kind, features)
        sheet = grid.name if fmt != "csv" else None
        ext = fmt
        name = file_name(srng, sc, self.wk, ext)
        folder = f"{sc.name}/第{self.wk.num}周" if srng.random() < 0.03 else sc.name
        payload_fmt = fmt
        if fmt == "csv":
            payload_fmt = "csv:" + srng.choice(["utf-8-sig", "utf-8-sig", "utf-8", "gb18030", "gb18030"])
            features = sorted(set(features) | {f"csv-{payload_fmt[4:]}"})
        errors = [i for i in expected_issues if severities()[i[1]] == "error"]
        warnings = [i for i in expected_issues if severities()[i[1]] == "warning"]
        outcome = "rejected" if errors else "accepted"
        if kind in ("valid", "messy", "zero") and errors:  # pragma: no cover - generator bug
            raise AssertionError(f"{kind} file of {code} has errors {errors}")
        rows_listed = draft.rows_listed
        sf = SynthFile(f"{folder}/{name}", code, sc.name, kind, fmt, [hazard_dict(h) for h in rows_listed],
                       expected_outcome(outcome, errors, warnings, sheet, features, draft.defects, kn, rows_listed),
                       (payload_fmt, sheets))
        self.files.append(sf)
        if kind in ("valid", "messy") and fmt == "xlsx":
            self.temp_hosts.append(sf)
        new_known = kn
        if outcome == "accepted":
            new_known = dict(kn)
            for h in rows_listed:
                new_known[h.identity] = h.status
        self.state[code] = {"ledger": [h.to_json() for h in draft.hazards], "known": new_known}


def _sheet_order(grid: SheetCells, others: list[SheetCells], kind: str, features: list[str]) -> list[SheetCells]:
    """The workbook's sheets in order: the table's sheet, with last week's, instruction and hidden sheets first."""
    sheets = [grid] + others
    if kind == "messy" and "multi_sheet" in features:  # last week's sheet first
        sheets = others[:1] + [grid] + others[1:]
    if kind == "messy" and "instructions_sheet" in features:
        instr = next(g for g in sheets if g.name == "填表说明")
        sheets.remove(instr)
        sheets.insert(0, instr)
    if kind == "messy" and "hidden_sheet" in features:
        hid = next(g for g in sheets if g.hidden)
        sheets.remove(hid)
        sheets.insert(0, hid)
    return sheets


def _add_temp_files(files: SynthWeek, temp_hosts: list[SynthFile], due: list[dict], wk: WeekDates, seed: int,
                    n_temp: int) -> None:
    # temp files next to some schools' real workbooks: ignored, never rejected
    trng = random.Random(f"synth-temp:{seed}:{wk.label}")
    for k, host in enumerate(trng.sample(temp_hosts, min(n_temp, len(temp_hosts)))):
        folder, real = host.path.rsplit("/", 1)
        sc = school_context(next(s for s in due if s["school_code"] == host.school_code))
        tname, data = temp_file(sc, real, "owner" if k % 2 == 0 else "lock")
        files.append(SynthFile(f"{folder}/{tname}", host.school_code, host.school_name, "temp",
                               "lock", [], {"outcome": None, "errors": [], "warnings": [], "hazards": None,
                                            "defects": [], "features": ["owner" if k % 2 == 0 else "lock"],
                                            "sheet": None}, data))


def generate_district(root: Path, units: int = 240, zones: int = 6, week: str = "2023-W47", seed: int = 0,
                      hazards_per_school: int = 10) -> dict:
    """Write `root/roster.xlsx` and one week of files under `root/inbox/`; returns the expected outcomes."""
    root = Path(root)
    roster = make_roster(units, zones, seed)
    write_roster(roster, root / "roster.xlsx")
    files = make_week(roster, week, seed, hazards_per_school=hazards_per_school)
    return write_week(files, root / "inbox")