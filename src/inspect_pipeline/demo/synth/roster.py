"""The synthetic 包片包校 roster: `make_roster` draws the districts and their schools (school_names), then gives
each school its code, aliases, zone (片区) with the zone's leader, section (包校科室) with its owner, and whether it
is due this term; `write_roster` writes the rows as the roster workbook the pipeline reads.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from ...core.contracts import roster_columns
from .school_names import UniqueNames, district_list, district_schools, township_bases
from .sheets import SheetCells
from .vocabulary import SECTIONS, STAGE_CODE_PREFIX, ZONE_NAMES, cn_number, fold_key, unique_person
from .writers import xlsx_bytes


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def make_roster(units: int = 240, zones: int = 6, seed: int = 0) -> list[dict]:
    """A synthetic 包片包校 roster: `units` schools over `zones` 片区, rows keyed by the roster's column ids.

    Names, codes (10 digits: stage prefix, `13`, six digits) and aliases (简称, `、`-separated) are unique across
    the roster, and no alias equals a school name. One 包片领导 per zone, several 包校科室/包校责任人 per zone.
    Rosters over ~300 units span several districts (a city).
    """
    rng = random.Random(f"synth-roster:{seed}")
    if units <= 0:
        return []
    zones = max(1, min(zones, units))
    names = UniqueNames()
    n_districts = max(1, -(-units // 300))
    districts = district_list(n_districts, rng)
    towns_iter = township_bases(rng)
    schools: list[dict] = []  # internal records
    for di, (district, n_d) in enumerate(zip(districts, _split(units, n_districts))):
        schools.extend(district_schools(rng, names, di, district, n_d, towns_iter))
    _give_codes(rng, schools)
    _give_aliases(schools, names.names)
    ordered, zone_of, zone_names = _zones(rng, schools, units, zones)
    _give_people(rng, ordered, zone_of, zone_names, zones)
    _give_activity(rng, schools)
    ids = [c.id for c in roster_columns()]
    return [{k: s.get(k) for k in ids} for s in ordered]


def _give_codes(rng: random.Random, schools: list[dict]) -> None:
    # codes: stage prefix + 13 + six unique digits
    sixes = rng.sample(range(100000, 1000000), len(schools))
    for s, six in zip(schools, sixes):
        s["school_code"] = f"{STAGE_CODE_PREFIX[s['stage']]}13{six:06d}"


def _give_aliases(schools: list[dict], name_keys: set[str]) -> None:
    # aliases: unique, never another school's name
    taken_alias: set[str] = set()
    for s in schools:
        kept = []
        for a in s.pop("_alias_candidates"):
            key = fold_key(a)
            if key in name_keys or key in taken_alias or key == fold_key(s["school_name"]):
                continue
            taken_alias.add(key)
            kept.append(a)
            if len(kept) == 2:
                break
        s["aliases"] = "、".join(kept) if kept else None


def _zones(rng: random.Random, schools: list[dict], units: int, zones: int
           ) -> tuple[list[dict], list[int], list[str]]:
    """(schools in roster order, the zone index of each, the zone names)."""
    # zones: contiguous groups (a township's schools together, district-level schools first)
    groups: dict[str, list[dict]] = {}
    for s in schools:
        groups.setdefault(s.pop("_group"), []).append(s)
    zone_names = (
        ZONE_NAMES[:zones] if zones <= len(ZONE_NAMES) and rng.random() < 0.5
        else [f"{cn_number(i + 1)}片" if i < 99 else f"{i + 1}片" for i in range(zones)]
    )
    ordered = [s for g in groups.values() for s in g]
    zone_of: list[int] = []
    z, count, target = 0, 0, units / zones
    for g in groups.values():
        if count >= target * (z + 1) - len(g) / 2 and z < zones - 1:
            z += 1
        zone_of.extend([z] * len(g))
        count += len(g)
    if len(set(zone_of)) < zones:  # tiny rosters: deal schools out one by one
        zone_of = [i * zones // units for i in range(units)]
    return ordered, zone_of, zone_names


def _give_people(rng: random.Random, ordered: list[dict], zone_of: list[int], zone_names: list[str],
                 zones: int) -> None:
    """Each zone's leader (包片领导), and each school's section and owner (包校科室, 包校责任人)."""
    people: set[str] = set()
    leaders = [unique_person(rng, people) for _ in range(zones)]
    section_names = list(SECTIONS)
    by_zone: dict[int, list[dict]] = {}
    for s, zi in zip(ordered, zone_of):
        s["zone"] = zone_names[zi]
        s["zone_leader"] = leaders[zi]
        by_zone.setdefault(zi, []).append(s)
    owner_no = 0
    for zi, members in by_zone.items():
        n_owners = max(1, min(len(members), max(2, min(5, round(len(members) / 12)))))
        sections = rng.sample(section_names, min(n_owners, len(section_names)))
        while len(sections) < n_owners:
            sections.append(rng.choice(section_names))
        owners = []
        for sec in sections:
            owner_no += 1
            owners.append((sec, unique_person(rng, people), f"jyj.{SECTIONS[sec]}{owner_no:03d}@example.com",
                           f"1390000{owner_no:04d}"))  # 责任人手机: fictitious, drawn without the generator
        for s, part in zip(members, _chunk_index(len(members), n_owners)):
            sec, owner, mail, mobile = owners[part]
            s["section"], s["section_owner"], s["owner_email"], s["owner_mobile"] = sec, owner, mail, mobile


def _give_activity(rng: random.Random, schools: list[dict]) -> None:
    # a few schools opened this school year, a few closed (撤并) before the term: not due
    for s in schools:
        s["active_from"] = None
        s["active_to"] = None
        s["school_email"] = f"xx{s['school_code']}@school.example.com"
    village = [s for s in schools if s["urban_rural"] == "乡村"]
    for s in rng.sample(schools, len(schools) // 60):
        s["active_from"] = dt.date(2023, 9, 1)
    for s in rng.sample(village, min(len(village), len(schools) // 100)):
        s["active_from"] = None
        s["active_to"] = dt.date(2023, 7, 31)


def _chunk_index(n: int, parts: int) -> list[int]:
    return [i * parts // n for i in range(n)]


def write_roster(rows: list[dict], path: Path) -> Path:
    """Write the roster as `roster.xlsx`: first sheet, the Chinese headers of schemas/roster.toml in row 1."""
    cols = roster_columns()
    grid = SheetCells("包片包校安排表")
    for c, col in enumerate(cols):
        grid.put(0, c, col.header)
    grid.header_rows.add(0)
    for r, row in enumerate(rows, start=1):
        for c, col in enumerate(cols):
            v = row.get(col.id)
            if v is not None and v != "":
                grid.put(r, c, v)
    grid.widths = {0: 34, 1: 13, 2: 16, 6: 8, 7: 10, 8: 12, 9: 10, 10: 34, 11: 30}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(xlsx_bytes([grid]))
    return path
