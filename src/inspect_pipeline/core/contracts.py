"""The data contracts: declarative files in the project's `schemas/` folder, loaded once.

`schemas/` holds TOML files a domain person can read and amend (headers, aliases, enums and their synonyms,
required-ness, messages); this module finds them (checkout, or the copy packed into the wheel) and exposes them
as plain Python structures. The pandera schemas are built from them in `validate.py` and `roster.py`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

_PACKAGED = Path(__file__).resolve().parents[1] / "_contracts"  # inspect_pipeline/_contracts in a wheel
_CHECKOUT = Path(__file__).resolve().parents[3] / "schemas"


def contracts_dir() -> Path:
    """The folder holding the contract files (packed copy in a wheel, else the checkout's `schemas/`)."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


@cache
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


def _columns(table: str) -> tuple[ColumnSpec, ...]:
    return tuple(
        ColumnSpec(
            id=c["id"],
            header=c["header"],
            aliases=tuple(c.get("aliases", ())),
            type=c["type"],
            required=c.get("required", "optional"),
            description=c["description"],
            enum=c.get("enum"),
        )
        for c in load_toml(f"{table}.toml")["columns"]
    )


@cache
def submission_columns() -> tuple[ColumnSpec, ...]:
    """The hazard table's columns (submission.md §The hazard table)."""
    return _columns("submission")


@cache
def roster_columns() -> tuple[ColumnSpec, ...]:
    """The roster's columns (roster.md)."""
    return _columns("roster")


@cache
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


@cache
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


@cache
def header_block_fields() -> dict[str, dict]:
    """Header-block fields above the table (submission.md §Header block), by id."""
    return {f["id"]: f for f in load_toml("submission.toml")["header_block"]}


@cache
def row_rules() -> dict:
    """Row-level vocabulary: blank tokens, zero-report statements, footer labels, end markers."""
    return load_toml("submission.toml")["rows"]
