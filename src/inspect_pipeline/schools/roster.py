"""The 包片包校 roster: who must report and who answers for whom (roster.md). A bad roster stops the run."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from ..core.contracts import enums, load_toml, roster_columns
from ..core.errors import RosterError
from ..core.settings import Settings
from ..read.books import read_workbook
from ..read.grid import FileRefused
from ..read.normalize import as_text, match_enum, parse_date, squash, strip_bracket_tail

_ALIAS_SPLIT = re.compile(r"[、;；,，/]")
_CODE = re.compile(r"^\d{10}$")


@dataclass(frozen=True, slots=True)
class School:
    """One reporting unit of the roster. Its `id` is the record's (schools.identify): None until identified."""

    name: str
    code: str | None
    aliases: tuple[str, ...]
    stage: str
    zone: str
    zone_leader: str
    section: str
    section_owner: str
    urban_rural: str | None = None
    township: str | None = None
    school_email: str | None = None
    owner_email: str | None = None
    active_from: dt.date | None = None
    active_to: dt.date | None = None
    row: int = 0
    id: int | None = None

    def active_on(self, day: dt.date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (self.active_to is None or day <= self.active_to)

    @property
    def folder(self) -> str:
        """Folder name for this school's receipts."""
        return f"{self.code}_{self.name}" if self.code else self.name


@dataclass(frozen=True)
class Roster:
    """Every school, with lookups by name, alias and code."""

    schools: tuple[School, ...]
    source: Path
    sha256: str

    @cached_property
    def by_code(self) -> dict[str, School]:
        return {s.code: s for s in self.schools if s.code}

    @cached_property
    def by_id(self) -> dict[int, School]:
        return {s.id: s for s in self.schools}

    @cached_property
    def _by_name(self) -> dict[str, School]:
        """Squashed full names, then aliases (validated to name one school each)."""
        by_name = {squash(s.name): s for s in self.schools}
        for s in self.schools:
            for a in s.aliases:
                by_name.setdefault(squash(a), s)
        return by_name

    def resolve_name(self, text: str) -> School | None:
        """The school named by full name or alias (white space, width and a trailing `（盖章）` ignored)."""
        key = squash(text)
        return self._by_name.get(key) or self._by_name.get(strip_bracket_tail(key)[0])

    def named(self, text: str) -> School | None:
        """The one school a text names — full name, 简称 or 学校标识码 (a 填报单位 cell, an inbox folder) — else None."""
        return self.resolve_name(text) or self.by_code.get(squash(text))

    def closest(self, text: str, n: int = 3) -> list[str]:
        hits = difflib.get_close_matches(squash(text), list(self._by_name), n=n, cutoff=0.5)
        return list(dict.fromkeys(self._by_name[h].name for h in hits))

    def due(self, cutoff_day: dt.date) -> list[School]:
        return [s for s in self.schools if s.active_on(cutoff_day)]


# ---------------------------------------------------------------- loading


def _schema(settings: Settings) -> pa.DataFrameSchema:
    """The roster contract as a pandera schema over normalised values (index = Excel row)."""
    cols = {}
    for c in roster_columns():
        checks = []
        if c.type == "enum":
            checks.append(pa.Check.isin(list(enums()[c.enum].values), name=f"enum:{c.enum}"))
        if c.id == "school_code":
            checks.append(pa.Check(lambda s: s.map(lambda v: bool(_CODE.match(v))), name="code-10-digits"))
            checks.append(pa.Check(lambda s: ~s.duplicated(keep="first"), name="unique"))
        if c.type == "date":
            checks.append(pa.Check(lambda s: s.map(lambda v: isinstance(v, dt.date)), name="date"))
        cols[c.id] = pa.Column(None, nullable=c.required != "always", checks=checks, description=c.description)
    return pa.DataFrameSchema(
        cols,
        checks=[
            pa.Check(_unique_active_names, name="unique-name"),
            pa.Check(_one_leader_per_zone, name="one-leader"),
        ],
        strict=False,
    )


def _unique_active_names(df: pd.DataFrame) -> pd.Series:
    return ~df["school_name"].map(lambda v: squash(v) if isinstance(v, str) else v).duplicated(keep="first")


def _one_leader_per_zone(df: pd.DataFrame) -> pd.Series:
    first = df.groupby("zone", dropna=True)["zone_leader"].transform("first")
    return df["zone"].isna() | df["zone_leader"].isna() | (df["zone_leader"] == first)


_MESSAGES = {
    "not_nullable": "“{header}”不能为空",
    "enum:stage": "学段“{value}”不是允许的选项（幼儿园、小学、初中、高中、中职、特教，或九年一贯制等）",
    "enum:urban_rural": "城乡“{value}”不是允许的选项（城区、镇区、乡村）",
    "code-10-digits": "学校标识码“{value}”应为 10 位数字",
    "unique": "学校标识码“{value}”与前面的学校重复",
    "date": "“{value}”不是可识别的日期",
    "unique-name": "学校名称与前面的学校重复",
    "one-leader": "同一片区的包片领导与前面的行不一致（每个片区只能有一位包片领导）",
}


def load_roster(path: Path, settings: Settings) -> Roster:
    """Load and validate the roster; RosterError (one line: file, row, problem) if anything is wrong."""
    import hashlib

    if not path.is_file():
        raise RosterError(f"找不到学校名单 {path}：请先运行 inspect-pipeline init 并填写 roster.xlsx")
    data = path.read_bytes()
    try:
        workbook = read_workbook(data, path.name, settings.limits)
    except FileRefused as refused:
        raise RosterError(f"学校名单 {path.name} 无法读取：{refused.detail}") from None
    sheet = next((s for s in workbook.sheets if s.visible), None)
    if sheet is None:
        raise RosterError(f"学校名单 {path.name} 没有可见的工作表")
    frame, headers = _frame(sheet.rows, path.name, settings)
    if frame.empty:
        raise RosterError(f"学校名单 {path} 中还没有学校：请先在表头下逐行填写应报送的学校，再运行")
    try:
        _schema(settings).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise RosterError(_describe(exc.failure_cases, frame, headers, path.name)) from None
    schools = tuple(_school(rec, int(idx)) for idx, rec in zip(frame.index, frame.to_dict("records"), strict=True))
    _check_aliases(schools, path.name)
    return Roster(schools, path, hashlib.sha256(data).hexdigest())


def _frame(rows: list[list], file_name: str, settings: Settings) -> tuple[pd.DataFrame, dict[str, str]]:
    lookup = {}
    for c in roster_columns():
        for name in (c.header, *c.aliases):
            lookup[squash(name)] = c.id
    header_at, mapping = None, {}
    for i, row in enumerate(rows[:20]):
        found = {j: lookup[squash(str(v))] for j, v in enumerate(row) if isinstance(v, str) and squash(v) in lookup}
        if len(found) >= 3:
            header_at, mapping = i, found
            break
    if header_at is None:
        raise RosterError(f"学校名单 {file_name} 中找不到表头（学校名称、学段、片区、包片领导、包校科室、包校责任人）")
    missing = [c.header for c in roster_columns() if c.required == "always" and c.id not in mapping.values()]
    if missing:
        raise RosterError(f"学校名单 {file_name} 缺少必需的列：{'、'.join(missing)}")
    through = set(load_toml("enums.toml")["stage"]["through_schools"])
    records, index = [], []
    for i in range(header_at + 1, len(rows)):
        row = rows[i]
        values = {cid: (row[j] if j < len(row) else None) for j, cid in mapping.items()}
        if all(as_text(v) is None for v in values.values()):
            continue
        rec = {c.id: None for c in roster_columns()}
        for cid, v in values.items():
            rec[cid] = _roster_value(cid, v, through, settings)
        records.append(rec)
        index.append(i + 1)
    headers = {cid: str(rows[header_at][j]) for j, cid in mapping.items()}
    return pd.DataFrame(records, index=pd.Index(index, name="row"), dtype=object), headers


def _roster_value(cid: str, value: object, through: set[str], settings: Settings) -> object:
    if cid in ("active_from", "active_to"):
        if as_text(value) is None:
            return None
        read = parse_date(value, dt.date.today())
        return read.value if read.ok and read.value else as_text(value)
    text = as_text(value)
    if text is None:
        return None
    if cid == "school_code" and isinstance(value, float | int):
        text = str(int(value))
    if cid == "stage":
        if squash(text) in through:
            return settings.through_school_stage
        return match_enum(text, enums()["stage"]) or text
    if cid == "urban_rural":
        return match_enum(text, enums()["urban_rural"]) or text
    return text


def _describe(cases: pd.DataFrame, frame: pd.DataFrame, headers: dict[str, str], file_name: str) -> str:
    cases = cases[cases["index"].notna()]
    if cases.empty:
        return f"学校名单 {file_name} 格式有误"
    cases = cases.assign(index=cases["index"].astype(int)).sort_values(["index", "column"])
    first = cases.iloc[0]
    check = str(first["check"])
    column = str(first["column"]) if first["column"] in frame.columns else None
    value = frame.at[first["index"], column] if column else None
    template = _MESSAGES.get(check, "“{header}”填写有误")
    problem = template.format(header=headers.get(column or "", column or ""), value=value)
    more = cases["index"].nunique() - 1
    tail = f"（另有 {more} 行有问题）" if more > 0 else ""
    return f"学校名单 {file_name} 第 {first['index']} 行：{problem}{tail}。请修改后重新运行。"


def _school(row: dict, excel_row: int) -> School:
    row = {k: (None if _missing(v) else v) for k, v in row.items()}
    aliases = tuple(a.strip() for a in _ALIAS_SPLIT.split(row["aliases"] or "") if a.strip())
    name = row["school_name"]
    return School(
        name=name,
        code=row["school_code"],
        aliases=aliases,
        stage=row["stage"],
        zone=row["zone"],
        zone_leader=row["zone_leader"],
        section=row["section"],
        section_owner=row["section_owner"],
        urban_rural=row["urban_rural"],
        township=row["township"],
        school_email=row["school_email"],
        owner_email=row["owner_email"],
        active_from=row["active_from"],
        active_to=row["active_to"],
        row=excel_row,
    )


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _check_aliases(schools: tuple[School, ...], file_name: str) -> None:
    """Each alias must resolve to one school only (and never be another school's name)."""
    owner: dict[str, School] = {squash(s.name): s for s in schools}
    for s in schools:
        for a in s.aliases:
            key = squash(a)
            other = owner.get(key)
            if other is not None and other is not s:
                raise RosterError(
                    f"学校名单 {file_name} 第 {s.row} 行：简称“{a}”同时指向“{other.name}”和“{s.name}”，"
                    "每个简称只能对应一所学校。请修改后重新运行。"
                )
            owner[key] = s


def resolve_unit(roster: Roster, fields: dict, sheet: str | None) -> tuple[School | None, list]:
    """The school a submission's header block names (学校标识码 wins over 填报单位), with the issues of
    submission.md §Header block. `fields` maps field id → Located(value, cell)."""
    from ..core.issues import make_issue

    issues = []
    code_loc, name_loc = fields.get("school_code"), fields.get("unit_name")
    code = _code_text(code_loc.value) if code_loc is not None else None
    name = as_text(name_loc.value) if name_loc is not None else None
    if code is None and name is None:
        return None, [make_issue("missing-unit", sheet=sheet)]
    by_name = roster.named(name) if name else None
    if code is not None:
        school = roster.by_code.get(code)
        if school is None:
            issues.append(
                make_issue("unknown-school", sheet=sheet, cell=code_loc.cell, column="学校标识码", value=code_loc.value,
                           detail="（学校标识码不在名单中）")
            )
            return None, issues
        if name and by_name is None:
            issues.append(
                make_issue("unit-name-mismatch", sheet=sheet, cell=name_loc.cell, column="填报单位", value=name,
                           detail=school.name)
            )
        elif by_name is not None and by_name is not school:
            issues.append(
                make_issue("school-code-mismatch", sheet=sheet, cell=code_loc.cell, column="学校标识码", value=code,
                           detail=f"“{school.name}”，填报单位是“{by_name.name}”")
            )
            return None, issues
        return school, issues
    if by_name is None:
        close = roster.closest(name)
        hint = f"。名单中相近的学校：{'、'.join(close)}" if close else ""
        issues.append(
            make_issue("unknown-school", sheet=sheet, cell=name_loc.cell, column="填报单位", value=name, detail=hint)
        )
        return None, issues
    return by_name, issues


def _code_text(value: object) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value)
    return text.replace(" ", "") if text else None
