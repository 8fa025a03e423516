"""The data contracts: declarative files in the project's `schemas/` folder, loaded once.

`schemas/` holds TOML files a domain person can read and amend (headers, aliases, enums and their synonyms,
required-ness, messages); this module finds them (checkout, or the copy packed into the wheel) and exposes them
as plain Python structures. The pandera schemas are built from them in `validate.py` and `roster.py`.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

_CACHED: list = []


def cached(fn):
    """`functools.cache` for what is read or derived from the contract files; `reload()` forgets them all."""
    fn = cache(fn)
    _CACHED.append(fn)
    return fn


def reload() -> None:
    """Forget everything read from the contract files (e.g. after a test points `contracts_dir` at a copy)."""
    for fn in _CACHED:
        fn.cache_clear()


_CHECKOUT = Path(__file__).resolve().parents[3] / "schemas"  # the repo's source of truth (an editable install)


def contracts_dir() -> Traversable:
    """The folder holding the contract files: the package's data `inspect_pipeline/_contracts` in an installed
    wheel (read through importlib.resources, read-only), else the checkout's `schemas/`."""
    packaged = resources.files("inspect_pipeline") / "_contracts"
    return packaged if packaged.is_dir() else _CHECKOUT


@cached
def load_toml(name: str) -> dict:
    """Parse one contract file of `schemas/`."""
    with (contracts_dir() / name).open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of a table contract."""

    id: str
    header: str
    aliases: tuple[str, ...]
    type: str  # text | date | enum | decimal | int
    required: str  # always | optional | conditional
    description: str
    enum: str | None = None
    when: tuple[Clause, ...] = ()  # conditional: the rows that need a value (all clauses hold)
    issue: str = "required"  # the issue code of a row that needs a value and has none
    hint: str = ""  # what the message adds about the rule, in Chinese
    not_before: str | None = None  # a date column this date may not precede (date-order)


@dataclass(frozen=True, slots=True)
class Clause:
    """One clause of a `when`: `status in (已整改, 已销号)`, `mode != 立即整改` …"""

    column: str
    op: str  # == | != | in | not in
    values: tuple[str, ...]


_CLAUSE = re.compile(r"^\s*(\w+)\s+(==|!=|not\s+in|in)\s+(.+?)\s*$")


def parse_when(text: str, columns: set[str], where: str) -> tuple[Clause, ...]:
    """The clauses of a `when` (`<column> ==|!=|in|not in <value or (v1, v2)>`, joined by `and`); ValueError naming
    `where` for anything else or a column the table does not have."""
    clauses = []
    for part in re.split(r"\s+and\s+", text.strip()):
        found = _CLAUSE.match(part)
        if found is None or found[1] not in columns:
            raise ValueError(f"{where}: when = {text!r} is not `<column> ==|!=|in|not in <value>` joined by `and` "
                             f"(columns: {', '.join(sorted(columns))})")
        op = " ".join(found[2].split())
        raw = found[3].strip()
        if op in ("in", "not in"):
            if not (raw.startswith("(") and raw.endswith(")")):
                raise ValueError(f"{where}: when = {text!r}: `{op}` takes a list in parentheses, e.g. (已整改, 已销号)")
            values = tuple(v.strip() for v in raw[1:-1].split(",") if v.strip())
        else:
            values = (raw,)
        clauses.append(Clause(found[1], op, values))
    return tuple(clauses)


def _columns(table: str) -> tuple[ColumnSpec, ...]:
    raw = load_toml(f"{table}.toml")["columns"]
    ids = {c["id"] for c in raw}
    specs = []
    for c in raw:
        where = f"{table}.toml column {c['id']}"
        if c.get("not_before") is not None and c["not_before"] not in ids:
            raise ValueError(f"{where}: not_before = {c['not_before']!r} is not a column of the table")
        specs.append(ColumnSpec(
            id=c["id"],
            header=c["header"],
            aliases=tuple(c.get("aliases", ())),
            type=c["type"],
            required=c.get("required", "optional"),
            description=c["description"],
            enum=c.get("enum"),
            when=parse_when(c["when"], ids, where) if c.get("when") else (),
            issue=c.get("issue", "required"),
            hint=c.get("hint", ""),
            not_before=c.get("not_before"),
        ))
    return tuple(specs)


@cached
def submission_columns() -> tuple[ColumnSpec, ...]:
    """The hazard table's columns (submission.md §The hazard table)."""
    return _columns("submission")


@cached
def roster_columns() -> tuple[ColumnSpec, ...]:
    """The roster's columns (roster.md)."""
    return _columns("roster")


@cached
def submission_column(col_id: str) -> ColumnSpec:
    return {c.id: c for c in submission_columns()}[col_id]


@dataclass(frozen=True, slots=True)
class EnumSpec:
    """An enumeration: canonical values, their synonyms, optional two-letter codes."""

    name: str
    values: tuple[str, ...]
    synonyms: dict[str, str]  # synonym → canonical (canonical values map to themselves)
    codes: dict[str, str]  # code → canonical
    not_values: tuple[str, ...]  # values that look plausible but are explicitly not allowed (e.g. 较大 as a level)
    not_values_note: str


@cached
def enums() -> dict[str, EnumSpec]:
    """Every enum of the submission and roster contracts, by name."""
    out: dict[str, EnumSpec] = {}
    raw = load_toml("enums.toml")
    for name, spec in raw.items():
        synonyms: dict[str, str] = {}
        codes: dict[str, str] = {}
        values: list[str] = []
        for item in spec["values"]:
            canonical = item["value"]
            values.append(canonical)
            synonyms[canonical] = canonical
            for s in item.get("synonyms", ()):
                synonyms[s] = canonical
            if "code" in item:
                codes[item["code"]] = canonical
        out[name] = EnumSpec(
            name=name,
            values=tuple(values),
            synonyms=synonyms,
            codes=codes,
            not_values=tuple(spec.get("not_values", ())),
            not_values_note=spec.get("not_values_note", ""),
        )
    return out


STATUS_MEANINGS = ("not_rectified", "in_progress", "rectified", "closed")
OPEN = ("not_rectified", "in_progress")  # the meanings of a hazard still to be rectified
DONE = ("rectified", "closed")  # ... and of one rectified (counted as 已整改 in the reports)


@cached
def status_meanings() -> dict[str, str]:
    """Each status value's meaning (enums.toml [status] `meaning`: one of STATUS_MEANINGS, each used)."""
    meanings = {item["value"]: item.get("meaning") for item in load_toml("enums.toml")["status"]["values"]}
    wrong = [f"{v} = {m!r}" for v, m in meanings.items() if m not in STATUS_MEANINGS]
    unused = set(STATUS_MEANINGS) - set(meanings.values())
    if wrong or unused:
        raise ValueError(f"enums.toml [status]: every value needs a meaning out of {', '.join(STATUS_MEANINGS)} "
                         f"and each meaning a value (wrong: {', '.join(wrong) or '-'}; "
                         f"unused: {', '.join(sorted(unused)) or '-'})")
    return meanings


@cached
def statuses(*meanings: str) -> tuple[str, ...]:
    """The status values with these meanings, in the contract's order: `statuses(*DONE)` → (已整改, 已销号)."""
    return tuple(value for value, meaning in status_meanings().items() if meaning in meanings)


@cached
def header_block_fields() -> dict[str, dict]:
    """Header-block fields above the table (submission.md §Header block), by id."""
    return {f["id"]: f for f in load_toml("submission.toml")["header_block"]}


@cached
def row_rules() -> dict:
    """Row-level vocabulary: blank tokens, zero-report statements, footer labels, end markers."""
    return load_toml("submission.toml")["rows"]
