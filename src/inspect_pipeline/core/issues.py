"""Problems found in a school's file: data, not exceptions (frictionless-style records with stable codes)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Literal

from .contracts import cached, load_toml

Severity = Literal["error", "warning"]
# What an issue is about (issues.toml `scope`), and whether that points at a cell: never, or always — save a
# header-block value that came from the sheet's name.
SCOPES = {"file": False, "sheet": False, "cross-week": False, "header-block": None, "header-row": True,
          "row": True, "cell": True}


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in one file, pointing at the cell the school must change (cell is None where none applies)."""

    severity: Severity
    code: str
    sheet: str | None
    cell: str | None
    column: str | None
    value: str | None
    message: str
    fix: str

    @property
    def scope(self) -> str:
        return issue_texts()[self.code]["scope"]

    @property
    def kind(self) -> str:
        """The problem's type as a school reads it (必填项缺失, 日期无法识别, …)."""
        return issue_texts()[self.code]["kind"]

    @property
    def position(self) -> tuple[int, int] | None:
        """(row, column), 1-based, of the cell the issue points at; None where none applies."""
        return None if self.cell is None else cell_position(self.cell)

    def as_manifest(self) -> dict:
        """The manifest's issue object (outputs.md §6)."""
        d = asdict(self)
        d.pop("fix")
        return d


@cached
def issue_texts() -> dict[str, dict[str, str]]:
    """Code → {severity, scope, kind, message, fix} from `schemas/issues.toml` (ValueError naming a code whose severity
    or scope is not one of the known)."""
    texts = load_toml("issues.toml")
    for code, spec in texts.items():
        if spec.get("severity") not in ("error", "warning") or spec.get("scope") not in SCOPES:
            raise ValueError(f"issues.toml [{code}]: severity must be error or warning, scope one of "
                             f"{', '.join(SCOPES)}")
        if not spec.get("kind"):
            raise ValueError(f"issues.toml [{code}]: kind (the problem's type in Chinese) is missing")
    return texts


_A1 = re.compile(r"\$?([A-Z]{1,3})\$?([1-9][0-9]{0,6})")


def cell_position(cell: str) -> tuple[int, int] | None:
    """An A1 reference (`G7`, `$G$7`) as (row, column), 1-based; None for anything else or beyond Excel's grid."""
    found = _A1.fullmatch(cell.strip().upper())
    if found is None:
        return None
    column = 0
    for ch in found[1]:
        column = column * 26 + ord(ch) - 64
    row = int(found[2])
    return (row, column) if row <= 1_048_576 and column <= 16_384 else None


def make_issue(
    code: str,
    *,
    sheet: str | None = None,
    cell: str | None = None,
    column: str | None = None,
    value: object = None,
    detail: str = "",
    allowed: str = "",
) -> Issue:
    """Build an Issue with its Chinese message and fix from the registry."""
    spec = issue_texts()[code]
    if SCOPES[spec["scope"]] is False:
        cell = None  # the scope decides: a problem of the whole file, sheet or ledger points at no cell
    shown = None if value is None else quoted(display_value(value))
    fields = {"column": column or "", "value": shown or "", "detail": detail, "allowed": allowed}
    return Issue(
        severity=spec["severity"],
        code=code,
        sheet=sheet,
        cell=cell,
        column=column,
        value=shown,
        message=spec["message"].format(**fields),
        fix=spec["fix"].format(**fields),
    )


def display_value(value: object) -> str:
    """The value as the school wrote it, as text (dates as YYYY-MM-DD, whole floats without .0)."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


QUOTE_LIMIT = 200


def quoted(text: str) -> str:
    """A value as a receipt quotes it: whole up to QUOTE_LIMIT characters, else its start and its length."""
    if len(text) <= QUOTE_LIMIT:
        return text
    return f"{text[:QUOTE_LIMIT]}…（共 {len(text):,} 字）"


def has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == "error" for i in issues)
