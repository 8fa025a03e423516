"""Problems found in a school's file: data, not exceptions (frictionless-style records with stable codes)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from .contracts import cached, load_toml

Severity = Literal["error", "warning"]


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

    def as_manifest(self) -> dict:
        """The manifest's issue object (outputs.md §6)."""
        d = asdict(self)
        d.pop("fix")
        return d


@cached
def issue_texts() -> dict[str, dict[str, str]]:
    """Code → {severity, message, fix} from `schemas/issues.toml`."""
    return load_toml("issues.toml")


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
