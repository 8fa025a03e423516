"""The 包片包校 roster: who must report and who answers for whom (roster.md). A bad roster stops the run."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from rapidfuzz import fuzz, process

from ..core.contracts import enums, load_toml, roster_columns
from ..core.errors import RosterError
from ..core.settings import Settings
from ..read.books import read_workbook
from ..read.grid import FileRefused, Sheet
from ..read.normalize import as_text, match_enum, parse_date, squash, strip_bracket_tail
from .roster_problems import Problem, not_a_workbook, roster_problems, shown_value, text_not_a_workbook

_ALIAS_SPLIT = re.compile(r"[、;；,，/]")
_CODE = re.compile(r"^\d{10}$")
_MOBILE = re.compile(r"^1\d{10}$")


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
    owner_mobile: str | None = field(default=None, repr=False)  # never logged (roster.md)
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

    @property
    def responsibility(self) -> dict:
        """Who the school is and who answers for it, as listed rows carry it: school_id, school_name, school_code
        ('' without a code), zone, zone_leader, section, section_owner."""
        return {"school_id": self.id, "school_name": self.name, "school_code": self.code or "", "zone": self.zone,
                "zone_leader": self.zone_leader, "section": self.section, "section_owner": self.section_owner}


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

    @cached_property
    def _names(self) -> list[str]:
        return list(self._by_name)

    def closest(self, text: str, n: int = 3) -> list[str]:
        """The schools whose name or alias is most like `text` (similarity 2·common/total of at least 0.5; equals in
        roster order), for a hint: rapidfuzz, a few ms over a province's 30,000 names (difflib took 0.2 s)."""
        hits = process.extract(squash(text), self._names, scorer=fuzz.ratio, limit=n, score_cutoff=50)
        return list(dict.fromkeys(self._by_name[h].name for h, _, _ in hits))

    def due(self, cutoff_day: dt.date) -> list[School]:
        return [s for s in self.schools if s.active_on(cutoff_day)]


# ---------------------------------------------------------------- loading


def _schema(settings: Settings) -> pa.DataFrameSchema:
    """The roster contract as a pandera schema over normalised values (index = Excel row)."""
    cols = {}
    for c in roster_columns():
        checks = []
        if c.type == "enum":
            allowed = frozenset(enums()[c.enum].values)  # a custom check: pandera names built-in ones itself
            checks.append(pa.Check(lambda s, allowed=allowed: s.isin(allowed), name=f"enum:{c.enum}"))
        if c.id == "school_code":
            checks.append(pa.Check(lambda s: s.map(lambda v: bool(_CODE.match(v))), name="code-10-digits"))
            checks.append(pa.Check(lambda s: ~s.duplicated(keep="first"), name="unique"))
        if c.id == "owner_mobile":
            checks.append(pa.Check(lambda s: s.map(lambda v: bool(_MOBILE.match(v))), name="mobile-11-digits"))
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


def load_roster(path: Path, settings: Settings) -> Roster:
    """Load and validate the roster; RosterError if anything is wrong: one line for one problem (file, sheet, row,
    column, what is wrong and what is allowed), one line per problem under a headline for several
    (roster_problems), what the file really is when it is no workbook."""
    import hashlib

    if not path.is_file():
        raise RosterError(f"找不到学校名单 {path}：请先运行 inspect-pipeline init 并填写 roster.xlsx")
    data = path.read_bytes()
    sheet = _first_sheet(data, path, settings)
    table = _frame(sheet, path.name, settings)
    if table.frame.empty:
        raise RosterError(f"学校名单 {path} 中还没有学校：请先在表头下逐行填写应报送的学校，再运行")
    problems = _alias_problems(table)
    try:
        _schema(settings).validate(table.frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        found = _problems(exc.failure_cases, table, settings)
        if not found:  # failures tied to no row (none known): said without a place
            raise RosterError(f"学校名单 {path.name} 格式有误：请对照 inspect-pipeline init 生成的模板检查") from None
        problems += found
    if problems:
        raise roster_problems(path.name, sheet.name, problems)
    frame = table.frame
    schools = tuple(_school(rec, int(idx)) for idx, rec in zip(frame.index, frame.to_dict("records"), strict=True))
    return Roster(schools, path, hashlib.sha256(data).hexdigest())


def _first_sheet(data: bytes, path: Path, settings: Settings) -> Sheet:
    """The roster's first visible sheet; RosterError saying what the file is when it is no workbook (a text file, a
    web page, a PDF or Word document saved under the roster's name)."""
    try:
        workbook = read_workbook(data, path.name, settings.limits)
    except FileRefused as refused:
        if refused.code == "unsupported-format":
            raise not_a_workbook(path.name, path, refused.detail) from None
        raise RosterError(f"学校名单 {path.name} 无法读取：{refused.detail}。"
                          f"请用 Excel 或 WPS 打开检查，另存为“Excel 工作簿（*.xlsx）”后再放到 {path}。") from None
    if workbook.format == "csv" and path.suffix.lower() in WORKBOOK_SUFFIXES:
        raise text_not_a_workbook(path.name, path, data)
    sheet = next((s for s in workbook.sheets if s.visible), None)
    if sheet is None:
        raise RosterError(f"学校名单 {path.name} 没有可见的工作表：请在 Excel 或 WPS 中取消隐藏名单所在的工作表")
    return sheet


WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")


@dataclass(frozen=True)
class _Table:
    """The roster's rows as a frame (index = Excel row) with where each column is and its header as written."""

    frame: pd.DataFrame
    columns: dict[str, int]  # column id → 0-based column index in the sheet
    headers: dict[str, str]  # column id → header as the clerk wrote it

    def header(self, cid: str) -> str:
        return self.headers.get(cid) or next((c.header for c in roster_columns() if c.id == cid), cid)

    def problem(self, row: int, cid: str, text: str) -> Problem:
        return Problem(int(row), self.columns.get(cid, -1), self.header(cid), text)


def _frame(sheet: Sheet, file_name: str, settings: Settings) -> _Table:
    rows = sheet.rows
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
    required = [c.header for c in roster_columns() if c.required == "always"]
    if header_at is None:
        raise RosterError(f"学校名单 {file_name} 的工作表“{sheet.name}”前 20 行中找不到表头：表头行应有"
                          f"{'、'.join(required)}这些列（可用 inspect-pipeline init 生成的 roster.xlsx 作模板）")
    missing = [c.header for c in roster_columns() if c.required == "always" and c.id not in mapping.values()]
    if missing:
        raise RosterError(f"学校名单 {file_name} 工作表“{sheet.name}”第 {header_at + 1} 行的表头缺少必需的列："
                          f"{'、'.join(missing)}（表头应有{'、'.join(required)}）")
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
    headers = {cid: str(rows[header_at][j]).strip() for j, cid in mapping.items()}
    columns = {cid: j for j, cid in mapping.items()}
    frame = pd.DataFrame(records, index=pd.Index(index, name="row"), dtype=object)
    return _Table(frame, columns, headers)


def _roster_value(cid: str, value: object, through: set[str], settings: Settings) -> object:
    if cid in ("active_from", "active_to"):
        if as_text(value) is None:
            return None
        read = parse_date(value, dt.date.today())
        return read.value if read.ok and read.value else as_text(value)
    text = as_text(value)
    if text is None:
        return None
    if cid in ("school_code", "owner_mobile") and isinstance(value, float | int):
        text = str(int(value))
    if cid == "owner_mobile":
        return _mobile(text) or text  # 138-0000-0001, +86 138 0000 0001 → 13800000001
    if cid == "stage":
        if squash(text) in through:
            return settings.through_school_stage
        return match_enum(text, enums()["stage"]) or text
    if cid == "urban_rural":
        return match_enum(text, enums()["urban_rural"]) or text
    return text


# a check of the whole frame fails a row in every column: it is said once, at the column it is about
_FRAME_CHECKS = {"unique-name": "school_name", "one-leader": "zone_leader"}


def _problems(cases: pd.DataFrame, table: _Table, settings: Settings) -> list[Problem]:
    """Every failure case of the roster schema as the problem of one cell."""
    frame = table.frame
    problems = []
    for case in cases[cases["index"].notna()].itertuples(index=False):
        check, row = str(case.check), int(case.index)
        cid = _FRAME_CHECKS.get(check, case.column)
        if (check in _FRAME_CHECKS and case.column != cid) or cid not in frame.columns:
            continue
        problems.append(table.problem(row, cid, _text(check, cid, row, frame.at[row, cid], table, settings)))
    return problems


def _text(check: str, cid: str, row: int, value: object, table: _Table, settings: Settings) -> str:
    """What is wrong in this cell, and what is allowed."""
    frame, header = table.frame, table.header(cid)
    shown = shown_value(value) if value is not None else ""
    if check == "not_nullable":
        return f"没有填写；{header}是必填项，每所学校都要填"
    if check == "enum:stage":
        spec = load_toml("enums.toml")["stage"]
        return (f"“{shown}”不是可选的学段；可填：{'、'.join(enums()['stage'].values)}"
                f"（{'、'.join(spec['through_schools'])}计为{settings.through_school_stage}）")
    if check == "enum:urban_rural":
        return f"“{shown}”不是可选的城乡类别；可填：{'、'.join(enums()['urban_rural'].values)}，或留空"
    if check == "mobile-11-digits":  # the value is not echoed: a mobile number is never logged
        return "不是 11 位手机号码；责任人手机应为 11 位数字（用于在工作群中 @ 提醒），不用可以留空"
    if check == "code-10-digits":
        return f"“{shown}”不是 10 位数字；学校标识码应为 10 位数字，不知道可以留空"
    if check == "unique":
        return f"“{shown}”与第 {_first_row(frame, cid, value, row)} 行重复；每所学校的学校标识码各不相同"
    if check == "date":
        return f"“{shown}”不是日期；应填日期（如 2023-09-01），或留空"
    if check == "unique-name":
        first = _first_row(frame, cid, value, row, key=squash)
        return f"“{shown}”与第 {first} 行重复；学校名称不能重复（同一所学校只写一行）"
    if check == "one-leader":
        zone = frame.at[row, "zone"]
        leaders = frame[(frame["zone"] == zone) & frame[cid].notna()]
        first = int(leaders.index[0])
        return (f"片区“{shown_value(zone)}”的包片领导写作“{shown}”，第 {first} 行写作"
                f"“{shown_value(frame.at[first, cid])}”；每个片区只能有一位包片领导")
    return f"“{shown}”填写有误" if shown else "填写有误"


def _first_row(frame: pd.DataFrame, cid: str, value: object, row: int, key=lambda v: v) -> int:
    """The first Excel row before `row` holding the same value in column `cid` (`row` itself if none)."""
    target = key(value) if isinstance(value, str) else value
    for other, v in frame[cid].items():
        if other >= row:
            break
        if (key(v) if isinstance(v, str) else v) == target:
            return int(other)
    return row


def _alias_problems(table: _Table) -> list[Problem]:
    """Each 简称 must name one school only, and never another school's full name."""
    frame = table.frame
    owner: dict[str, tuple[int, str]] = {}
    for row, name in frame["school_name"].items():
        if isinstance(name, str):
            owner.setdefault(squash(name), (int(row), name))
    problems = []
    for row, name, aliases in zip(frame.index, frame["school_name"], frame["aliases"], strict=True):
        if not isinstance(aliases, str) or not isinstance(name, str):
            continue
        for alias in (a.strip() for a in _ALIAS_SPLIT.split(aliases) if a.strip()):
            key = squash(alias)
            other_row, other_name = owner.get(key, (int(row), name))
            if other_row != row and squash(other_name) != squash(name):
                problems.append(table.problem(
                    row, "aliases", f"简称“{shown_value(alias)}”同时指向第 {other_row} 行的“{shown_value(other_name)}”"
                                    f"和本行的“{shown_value(name)}”；每个简称只能对应一所学校"))
            else:
                owner.setdefault(key, (int(row), name))
    return problems


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
        owner_mobile=_mobile(row.get("owner_mobile")),
        active_from=row["active_from"],
        active_to=row["active_to"],
        row=excel_row,
    )


def _mobile(value: object) -> str | None:
    """The 11 digits of a 责任人手机 cell (spaces, dashes and +86 dropped), else None."""
    if value is None:
        return None
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits if len(digits) == 11 else None


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value)


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
