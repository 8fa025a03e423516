"""The schools of one district and their names, for the roster: made stage by stage (学段, in the spec's order)
as district-level schools on the city's streets (numbered, 实验, 机关, private ones with a nice name), township
central schools, and village schools to fill up; `UniqueNames` keeps names and aliases unique across the roster.
"""

from __future__ import annotations

import random

from .vocabulary import (
    DISTRICTS,
    NICE_NAMES,
    STAGE_SHARES,
    STREETS,
    SURNAMES,
    TOWN_HEADS,
    TOWN_TAILS,
    VILLAGE_HEADS,
    VILLAGE_TAILS,
    cn_number,
    fold_key,
)


def _stage_counts(n: int) -> dict[str, int]:
    raw = {s: n * f for s, f in STAGE_SHARES.items()}
    counts = {s: int(v) for s, v in raw.items()}
    for s in sorted(raw, key=lambda s: (counts[s] - raw[s], list(raw).index(s)))[: n - sum(counts.values())]:
        counts[s] += 1
    return counts


class UniqueNames:
    """Keeps school names and aliases unique across the roster."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def take(self, name: str) -> bool:
        key = fold_key(name)
        if key in self.names:
            return False
        self.names.add(key)
        return True


def district_list(n: int, rng: random.Random) -> list[str]:
    pool = list(DISTRICTS)
    out = pool[:1] + rng.sample(pool[1:], min(n - 1, len(pool) - 1))
    i = 0
    while len(out) < n:  # more than the pool: compose further county names
        name = f"{TOWN_HEADS[i % len(TOWN_HEADS)]}{TOWN_TAILS[(i // len(TOWN_HEADS)) % len(TOWN_TAILS)]}县"
        if name not in out:
            out.append(name)
        i += 1
    return out[:n]


def township_bases(rng: random.Random):
    fixed = ["新军屯", "银城铺"]
    combos = [h + t for h in TOWN_HEADS for t in TOWN_TAILS if len(h + t) >= 2]
    rng.shuffle(combos)
    seen = set(fixed)
    yield from fixed
    for c in combos:
        if c not in seen and len(c) >= 2:
            seen.add(c)
            yield c
    n = 0
    while True:  # practically unreachable
        n += 1
        yield f"新{cn_number(n % 99 + 1)}屯"


def _village_names(rng: random.Random):
    combos = [h + s + t for h in VILLAGE_HEADS for s in SURNAMES for t in VILLAGE_TAILS]
    rng.shuffle(combos)
    seen: set[str] = set()
    for c in combos:
        if c not in seen:
            seen.add(c)
            yield c


class _DistrictSchools:
    """One district's schools as they are made: its towns, streets, villages and nice names drawn once."""

    def __init__(self, rng, names: UniqueNames, di: int, district: str, n_d: int, towns_iter) -> None:
        self.rng, self.names, self.district = rng, names, district
        short = district[:-1] if len(district) > 2 else district
        self.dpre = "" if di == 0 else short  # alias prefix outside the first district
        n_towns = max(2, round(n_d / 13))
        self.towns = []
        for _ in range(n_towns):
            base = next(towns_iter)
            self.towns.append((base, base + rng.choice(["镇", "镇", "镇", "乡"])))
        self.streets = [s + "街道" for s in rng.sample(STREETS, min(len(STREETS), max(1, round(n_towns / 5))))]
        self.villages = {t[1]: _village_names(random.Random(f"{rng.random()}")) for t in self.towns}
        nice = list(NICE_NAMES)
        rng.shuffle(nice)
        self.nice_iter = iter(nice)
        self.counts = _stage_counts(n_d)
        self.out: list[dict] = []

    def add(self, name, stage, ur, township, group, aliases=(), through=False) -> bool:
        if not self.names.take(name):
            return False
        self.out.append({"school_name": name, "stage": stage, "urban_rural": ur, "township": township,
                         "_group": group, "_alias_candidates": list(aliases), "_through": through})
        return True

    def city(self):
        st = self.rng.choice(self.streets)
        return st, f"{self.district}:{st}"

    def village_school(self, suffix, stage, through=False, alias_p=0.25):
        t_base, town = self.rng.choice(self.towns)
        for _ in range(50):
            v = next(self.villages[town])
            name = f"{town}{v}{suffix}"
            aliases = [f"{v}{suffix}"] if self.rng.random() < alias_p else []
            if self.add(name, stage, "乡村", town, f"{self.district}:{town}", aliases, through):
                return True
        return False

    def numbered(self, stage, pattern, alias_pattern, n):
        made = 0
        i = 1
        while made < n and i < 99:
            st, g = self.city()
            name = pattern.format(d=self.district, n=cn_number(i))
            alias = alias_pattern.format(p=self.dpre, n=cn_number(i)) if alias_pattern else None
            if self.add(name, stage, "城区", st, g, [alias] if alias else []):
                made += 1
            i += 1
        return made

    def private(self, stage, suffix, n, alias_suffix=None):
        made = 0
        for nm in self.nice_iter:
            if made >= n:
                break
            st, g = self.city()
            if self.add(f"{self.district}{nm}{suffix}", stage, self.rng.choice(["城区", "镇区"]), st, g,
                        [f"{nm}{alias_suffix}"] if alias_suffix else []):
                made += 1
        return made

    def fixed(self, stage, name, aliases):
        st, g = self.city()
        return self.add(name, stage, "城区", st, g, aliases)

    def central(self, stage, suffix, alias_suffix, n, prefix_district=False):
        made = 0
        for t_base, town in self.towns:
            if made >= n:
                break
            name = f"{self.district}{town}{suffix}" if prefix_district else f"{town}{suffix}"
            if self.add(name, stage, "镇区", town, f"{self.district}:{town}", [f"{t_base}{alias_suffix}"]):
                made += 1
        return made

    def through(self, r, through_n):
        made = 0
        for _ in range(min(r, through_n)):
            made += self.village_school("学校", "初中", through=True, alias_p=0)
        return made

    def fill(self, stage, k, plan):
        made = 0
        for step in plan:
            if made >= k:
                break
            made += step(k - made)
        while made < k:  # villages never run out
            if not self.village_school(*_VILLAGE_FALLBACK[stage]):
                break
            made += 1


# The plan of each stage: steps tried in order, each given how many schools are still to make (r) and returning
# how many it made; `k` is the stage's count in the district. Villages fill up what the steps leave.


def _kindergartens(ds: _DistrictSchools, k: int) -> list:
    district, dpre = ds.district, ds.dpre
    return [
        lambda r: ds.numbered("幼儿园", "{d}第{n}幼儿园", "{p}{n}幼", min(r, max(1, round(k * 0.12)))),
        lambda r: int(ds.fixed("幼儿园", f"{district}实验幼儿园", [f"{dpre}实验幼", f"{dpre}实幼"])) if k >= 6 else 0,
        lambda r: int(ds.fixed("幼儿园", f"{district}机关幼儿园", [f"{dpre}机关园"])) if k >= 8 else 0,
        lambda r: ds.central("幼儿园", "中心幼儿园", "中心园", min(r, round(k * 0.25))),
        lambda r: ds.private("幼儿园", "幼儿园", min(r, round(k * 0.2)), "幼儿园"),
    ]


def _primary_schools(ds: _DistrictSchools, k: int) -> list:
    district, dpre = ds.district, ds.dpre
    return [
        lambda r: ds.numbered("小学", "{d}第{n}实验小学", "{p}{n}实小", min(r, max(1, min(6, round(k * 0.05))))),
        lambda r: int(ds.fixed("小学", f"{district}实验小学", [f"{dpre}实验小学", f"{dpre}实小"])) if k >= 10 else 0,
        lambda r: ds.numbered("小学", "{d}第{n}小学", "{p}{n}小", min(r, round(k * 0.05))),
        lambda r: ds.central("小学", "中心小学", "中心校", min(r, round(k * 0.3))),
    ]


def _middle_schools(ds: _DistrictSchools, k: int) -> list:
    district, dpre = ds.district, ds.dpre
    through_n = round(k * 0.25)
    return [
        lambda r: ds.numbered("初中", "{d}第{n}中学", "{p}{n}中", min(r, max(1, round(k * 0.2)))),
        lambda r: int(ds.fixed("初中", f"{district}实验中学", [f"{dpre}实验中学", f"{dpre}实中"])) if k >= 5 else 0,
        lambda r: ds.through(r, through_n),
        lambda r: ds.central("初中", "中学", "中学", r, prefix_district=True),
    ]


def _high_schools(ds: _DistrictSchools, k: int) -> list:
    return [
        lambda r: ds.numbered("高中", "{d}第{n}高级中学", "{p}{n}高", min(r, 4)),
        lambda r: ds.private("高中", "高级中学", r),
    ]


def _vocational_schools(ds: _DistrictSchools, k: int) -> list:
    district, dpre = ds.district, ds.dpre
    return [
        lambda r: int(ds.fixed("中职", f"{district}职业技术教育中心", [f"{dpre}职教中心"])),
        lambda r: ds.numbered("中职", "{d}第{n}职业中学", "{p}{n}职中", min(r, 3)),
        lambda r: ds.private("中职", "职业学校", r),
    ]


def _special_schools(ds: _DistrictSchools, k: int) -> list:
    district, dpre = ds.district, ds.dpre
    return [
        lambda r: int(ds.fixed("特教", f"{district}特殊教育学校", [f"{dpre}特校"])),
        lambda r: int(ds.fixed("特教", f"{district}启智学校", [f"{dpre}启智"])),
        lambda r: ds.private("特教", "特殊教育学校", r),
    ]


_STAGE_PLANS = {"幼儿园": _kindergartens, "小学": _primary_schools, "初中": _middle_schools, "高中": _high_schools,
                "中职": _vocational_schools, "特教": _special_schools}

_VILLAGE_FALLBACK = {
    "幼儿园": ("幼儿园", "幼儿园"),
    "小学": ("小学", "小学"),
    "初中": ("学校", "初中", True, 0),
    "高中": ("高级中学", "高中", False, 0),
    "中职": ("职业学校", "中职", False, 0),
    "特教": ("特殊教育学校", "特教", False, 0),
}


def district_schools(rng, names: UniqueNames, di: int, district: str, n_d: int, towns_iter) -> list[dict]:
    """The schools of one district: district-level schools in the city streets, then township schools."""
    ds = _DistrictSchools(rng, names, di, district, n_d, towns_iter)
    for stage, plan in _STAGE_PLANS.items():
        k = ds.counts[stage]
        ds.fill(stage, k, plan(ds, k))
    return ds.out
