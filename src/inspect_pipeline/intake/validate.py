"""Row validation with pandera: every file's hazard rows in one frame, validated once, lazily; failure cases
mapped back to the exact cell each school must change (submission.md §Error codes)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pandera.pandas as pa

from ..core.contracts import (
    ColumnSpec,
    cached,
    enums,
    submission_column,
    submission_columns,
)
from ..core.issues import Issue, make_issue
from ..read.normalize import squash
from .layout import cell_address
from .understand import ParsedFile

ROW_COLUMNS = tuple(c.id for c in submission_columns())


# ---------------------------------------------------------------- the schema


def _is_date(s: pd.Series) -> pd.Series:
    return s.isna() | s.map(lambda v: isinstance(v, dt.date))


def _is_amount(s: pd.Series) -> pd.Series:
    return s.isna() | s.map(lambda v: isinstance(v, int | float) and not isinstance(v, bool) and v >= 0)


def _dates(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as datetimes, anything that is not a date as NaT (so a bad cell never breaks another rule)."""
    return pd.to_datetime(df[col].map(lambda v: v if isinstance(v, dt.date) else None), errors="coerce")


def _holds(spec: ColumnSpec, df: pd.DataFrame) -> pd.Series:
    """Where a conditional column's `when` holds (every clause; a blank cell is no value of any list)."""
    mask = pd.Series(True, index=df.index)
    for clause in spec.when:
        column = df[clause.column]
        if clause.op == "==":
            mask &= column == clause.values[0]
        elif clause.op == "!=":
            mask &= column != clause.values[0]
        elif clause.op == "in":
            mask &= column.isin(clause.values)
        else:
            mask &= ~column.isin(clause.values)
    return mask


@cached
def frame_rules() -> dict[str, tuple]:
    """name → (rule over the frame returning True where the row is fine, the column of the cell to change, code):
    the conditional columns and date orders declared in `schemas/submission.toml` (`when`, `issue`, `not_before`),
    then the rules of submission.md that the contract does not declare per column."""
    rules: dict[str, tuple] = {}
    for spec in submission_columns():
        if spec.required == "conditional":
            name = f"required:{spec.id}" if spec.issue == "required" else spec.issue
            rules[name] = (lambda df, spec=spec: ~_holds(spec, df) | df[spec.id].notna(), spec.id, spec.issue)
        if spec.not_before:
            rules[f"date-order:{spec.id}"] = (
                lambda df, spec=spec: ~(_dates(df, spec.id) < _dates(df, spec.not_before)), spec.id, "date-order")
    return {**rules, **FIXED_RULES}


FIXED_RULES: dict[str, tuple] = {
    "future-date": (
        lambda df: ~(_dates(df, "found_date") > pd.to_datetime(df["_cutoff_date"])),
        "found_date",
        "future-date",
    ),
    "duplicate-hazard": (
        lambda df: df["_identity"].isna() | ~df.duplicated(["_file", "_identity"], keep="first"),
        "description",
        "duplicate-hazard",
    ),
}
COLUMN_CHECK_CODES = {"bad-date", "bad-enum", "bad-number"}


@cached
def row_schema() -> pa.DataFrameSchema:
    """The hazard-row contract of `schemas/submission.toml` as a pandera schema."""
    columns = {}
    for c in submission_columns():
        checks = []
        if c.type == "date":
            checks.append(pa.Check(_is_date, name="bad-date"))
        elif c.type == "enum":
            allowed = frozenset(enums()[c.enum].values)
            checks.append(pa.Check(lambda s, allowed=allowed: s.isna() | s.isin(allowed), name="bad-enum"))
        elif c.type == "decimal":
            checks.append(pa.Check(_is_amount, name="bad-number"))
        columns[c.id] = pa.Column(None, nullable=c.required != "always", checks=checks, description=c.description)
    # ignore_na=False: pandera would otherwise pass rows whose every cell is empty, found by testing the whole frame
    # for NA once per rule (a second per city week); no row is, its _file and _row are always set
    frame_checks = [pa.Check(rule, name=name, ignore_na=False) for name, (rule, _, _) in frame_rules().items()]
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False, name="hazard rows")


# ---------------------------------------------------------------- validating many files at once


def identity(found: object, location: object, description: object) -> str | None:
    """The identity key of a hazard (submission.md §Identity): found date + normalised location + description."""
    if not isinstance(found, dt.date) or not isinstance(location, str) or not isinstance(description, str):
        return None
    return f"{found.isoformat()}|{squash(location)}|{squash(description)}"


def rows_frame(files: list[ParsedFile]) -> pd.DataFrame:
    """One frame of every file's typed hazard rows, flat index, with `_file`, `_row`, `_cutoff_date`, `_identity`."""
    records = []
    for k, parsed in enumerate(files):
        cutoff_date = parsed.cutoff.date() if parsed.cutoff else None
        for rec in parsed.records:
            row = {cid: rec[cid] for cid in ROW_COLUMNS}
            row["_file"] = k
            row["_row"] = rec["_row"]
            row["_cutoff_date"] = cutoff_date
            row["_identity"] = identity(rec["found_date"], rec["location"], rec["description"])
            records.append(row)
    return pd.DataFrame.from_records(records, columns=[*ROW_COLUMNS, "_file", "_row", "_cutoff_date", "_identity"])


def validate_rows(files: list[ParsedFile]) -> list[list[Issue]]:
    """Every row error and warning of every file, as Issues per file (same order as `files`)."""
    out: list[list[Issue]] = [[] for _ in files]
    frame = rows_frame(files)
    if frame.empty:
        return out
    frame = frame.astype(object)
    try:
        row_schema().validate(frame, lazy=True)
        cases = pd.DataFrame(columns=["index", "check", "column"])
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    failures = _failures(cases)
    first_seen = _first_rows(frame)
    starts = [0]
    for parsed in files:
        starts.append(starts[-1] + len(parsed.records))
    conditional_missing: set[tuple[int, str]] = set()
    for idx, code, target in failures:
        k = int(frame.at[idx, "_file"])
        parsed = files[k]
        rec = parsed.records[idx - starts[k]]
        column = parsed.columns.get(target)
        if column is None:
            spec = submission_column(target)
            if spec.required == "conditional" and (k, target) not in conditional_missing:
                conditional_missing.add((k, target))
                out[k].append(
                    make_issue("missing-column", sheet=parsed.sheet, cell=parsed.header_cell, column=spec.header)
                )
            continue  # an always-required column's absence is reported once by `structure_issues`
        source = rec["_notes"]["source"].get(target)
        cell_col = parsed.columns[source] if source else column
        address = cell_address(rec["_row"] - 1, cell_col.index)
        raw = rec["_raw"].get(source or target)
        out[k].append(_row_issue(code, target, parsed, address, cell_col.header, raw, rec, frame, idx, first_seen))
    for k, parsed in enumerate(files):
        out[k].extend(_row_warnings(parsed))
    return out


def _failures(cases: pd.DataFrame) -> list[tuple[int, str, str]]:
    """(frame index, code, target column) of every failure, once each."""
    seen: dict[tuple[int, str, str], None] = {}
    cases = cases[cases["index"].notna()]
    for idx, check, column in zip(cases["index"], cases["check"], cases["column"], strict=True):
        check = str(check)
        if check == "not_nullable":
            key = (int(idx), "required", str(column))
        elif check in COLUMN_CHECK_CODES:
            key = (int(idx), check, str(column))
        elif check in frame_rules():
            _, target, code = frame_rules()[check]
            key = (int(idx), code, target)
        else:
            continue
        seen[key] = None
    return sorted(seen)


def _first_rows(frame: pd.DataFrame) -> dict[tuple[int, str], int]:
    """(file, identity) → Excel row of its first occurrence (for duplicate-hazard messages)."""
    firsts = frame.dropna(subset=["_identity"]).drop_duplicates(["_file", "_identity"], keep="first")
    return {(int(f), i): int(r) for f, i, r in zip(firsts["_file"], firsts["_identity"], firsts["_row"], strict=True)}


def _row_issue(code, target, parsed, address, header, raw, rec, frame, idx, first_seen) -> Issue:
    detail, allowed = "", ""
    if code == "bad-enum":
        spec = enums()[submission_column(target).enum]
        allowed = " / ".join(spec.values)
        if squash(str(rec[target])) in {squash(v) for v in spec.not_values}:
            detail = spec.not_values_note
    elif code == "required":
        detail = submission_column(target).hint
    elif code == "future-date":
        detail = parsed.cutoff.date().isoformat()
    elif code == "duplicate-hazard":
        detail = str(first_seen.get((int(frame.at[idx, "_file"]), frame.at[idx, "_identity"]), ""))
    return make_issue(code, sheet=parsed.sheet, cell=address, column=header, value=raw, detail=detail, allowed=allowed)


def _row_warnings(parsed: ParsedFile) -> list[Issue]:
    """ambiguous-date and old-hazard warnings of a file's rows."""
    issues = []
    cutoff_date = parsed.cutoff.date() if parsed.cutoff else None
    for rec in parsed.records:
        for target, read_as in rec["_notes"]["ambiguous"].items():
            if target in parsed.columns:
                issues.append(parsed.cell_issue("ambiguous-date", rec, target, detail=read_as))
        found = rec["found_date"]
        if cutoff_date and isinstance(found, dt.date) and (cutoff_date - found).days > 365:
            issues.append(parsed.cell_issue("old-hazard", rec, "found_date"))
    return issues


def structure_issues(parsed: ParsedFile) -> list[Issue]:
    """missing-column for always-required columns, and the zero-report warning."""
    issues = []
    if parsed.header_cell is not None:
        for c in submission_columns():
            if c.required == "always" and c.id not in parsed.columns:
                issues.append(make_issue("missing-column", sheet=parsed.sheet, cell=parsed.header_cell, column=c.header))
    if parsed.readable and parsed.sheet is not None and not parsed.records and not parsed.zero_statement:
        if not any(i.code == "no-header-row" for i in parsed.issues):
            issues.append(make_issue("zero-report-assumed", sheet=parsed.sheet))
    return issues
