"""Understanding a sheet as a school laid it out: sheet choice, header block, header row (one or two rows),
column mapping, and which rows are hazards (submission.md §Which sheet … §Rows that are not hazards)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from openpyxl.utils.cell import get_column_letter

from ..core.contracts import cached, header_block_fields, row_rules, submission_columns
from ..core.issues import Issue, make_issue
from ..read.grid import CellValue, Sheet
from ..read.normalize import as_text, fold, squash, strip_bracket_tail

MIN_HEADER_MATCHES = 4


def cell_address(row: int, col: int) -> str:
    """Excel address of a 0-based (row, col)."""
    return f"{get_column_letter(col + 1)}{row + 1}"


@dataclass(frozen=True, slots=True)
class Located:
    """A value found in the sheet, with the address of the cell that holds it."""

    value: CellValue
    cell: str | None


@dataclass(frozen=True, slots=True)
class Column:
    """A mapped table column: its id, 0-based index, header as written, header cell, and whether it is in 元."""

    id: str
    index: int
    header: str
    cell: str
    in_yuan: bool = False


@dataclass(slots=True)
class SheetLayout:
    """What a sheet holds: header-block fields, the mapped columns and the hazard rows (Excel row → values)."""

    name: str
    fields: dict[str, Located] = field(default_factory=dict)
    week_mentions: list[tuple[str, Located]] = field(default_factory=list)  # (source, text found)
    columns: dict[str, Column] = field(default_factory=dict)
    header_cell: str | None = None  # first cell of the (lower) header row
    rows: list[tuple[int, dict[str, CellValue]]] = field(default_factory=list)
    zero_statement: bool = False
    issues: list[Issue] = field(default_factory=list)

    @property
    def has_table(self) -> bool:
        return self.header_cell is not None


# ---------------------------------------------------------------- grid helpers


class FilledSheet:
    """A sheet with vertically merged cells filled down from their top cell, plus which cells are merge followers.

    Only the anchor's own column is filled: a header or a description merged across two columns is one column,
    not two copies of it.
    """

    def __init__(self, sheet: Sheet):
        self.sheet = sheet
        self.rows = [list(r) for r in sheet.rows]
        self.anchor: dict[tuple[int, int], tuple[int, int]] = {}
        self.wide_spans: dict[int, list[tuple[int, int]]] = {}  # row → (first, last) column of wide merges
        for r0, c0, r1, c1 in sheet.merged:
            top = self.get(r0, c0)
            if c1 > c0:
                self.wide_spans.setdefault(r0, []).append((c0, c1))
            for r in range(r0, r1 + 1):
                for c in range(c0, c1 + 1):
                    if (r, c) != (r0, c0):
                        self.anchor[(r, c)] = (r0, c0)
                        if c == c0:
                            self._set(r, c, top)

    def _set(self, r: int, c: int, value: CellValue) -> None:
        if r >= len(self.rows):
            return
        row = self.rows[r]
        if c >= len(row):
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value

    def get(self, r: int, c: int) -> CellValue:
        if r < len(self.rows) and c < len(self.rows[r]):
            v = self.rows[r][c]
            return None if v == "" else v
        return None

    def source_cell(self, r: int, c: int) -> str:
        """Address of the cell that really holds the value shown at (r, c) (a merge's top-left)."""
        return cell_address(*self.anchor.get((r, c), (r, c)))

    def is_follower(self, r: int, c: int) -> bool:
        return (r, c) in self.anchor


# ---------------------------------------------------------------- header matching


@cached
def _header_lookup() -> dict[str, str]:
    """Normalised header text → column id (canonical headers and aliases)."""
    table: dict[str, str] = {}
    for col in submission_columns():
        for name in (col.header, *col.aliases):
            table[squash(name)] = col.id
    return table


def header_key(text: str) -> tuple[str, str]:
    """(normalised header, bracketed unit) — white space, width, `*` marks and a trailing bracket ignored."""
    t = squash(text).strip("*※")
    bare, inside = strip_bracket_tail(t)
    return bare.strip("*※"), inside


def match_header(value: CellValue) -> tuple[str | None, bool]:
    """(column id or None, header says 元) for a header cell. `编号` is resolved later (序号 or extra)."""
    text = as_text(value) if not isinstance(value, str) else fold(value)
    if not text:
        return None, False
    key, unit = header_key(text)
    if key == "编号":
        return "编号", False
    col_id = _header_lookup().get(key)
    in_yuan = "元" in unit and "万" not in unit
    return col_id, in_yuan


def _row_matches(grid: FilledSheet, r: int) -> set[str]:
    found = set()
    for c in range(len(grid.rows[r])):
        col_id, _ = match_header(grid.get(r, c))
        if col_id and col_id != "编号":
            found.add(col_id)
    return found


def find_header_row(grid: FilledSheet) -> int | None:
    """Index of the first row where at least four cells match canonical headers or aliases."""
    for r in range(len(grid.rows)):
        # a row of fewer cells cannot hold enough headers (a sheet of a million short rows is skipped in a blink)
        if len(grid.rows[r]) >= MIN_HEADER_MATCHES and len(_row_matches(grid, r)) >= MIN_HEADER_MATCHES:
            return r
    return None


def _is_two_row_header(grid: FilledSheet, r: int) -> bool:
    """The first matching row holds a cell merged across columns, with header matches under it in the next row."""
    if r + 1 >= len(grid.rows):
        return False
    for c0, c1 in grid.wide_spans.get(r, []):
        for c in range(c0, c1 + 1):
            raw = grid.sheet.rows[r + 1][c] if r + 1 < len(grid.sheet.rows) and c < len(grid.sheet.rows[r + 1]) else None
            if match_header(raw)[0]:
                return True
    return False


def map_columns(grid: FilledSheet, top: int, bottom: int, sheet_name: str) -> tuple[dict[str, Column], list[Issue]]:
    """Columns of a header spanning rows top..bottom: each column's header is its lowest filled cell."""
    columns: dict[str, Column] = {}
    issues: list[Issue] = []
    pending_bianhao: list[tuple[int, str, str]] = []
    width = max(len(grid.rows[r]) for r in range(top, bottom + 1))
    for c in range(width):
        value, where = None, None
        for r in range(bottom, top - 1, -1):
            v = grid.get(r, c)
            if as_text(v) is not None or (isinstance(v, str) and v.strip()):
                value, where = v, grid.source_cell(r, c)
                break
        if value is None:
            continue
        header = str(value)
        col_id, in_yuan = match_header(value)
        if col_id == "编号":
            pending_bianhao.append((c, header, where))
            continue
        if col_id is None:
            issues.append(make_issue("extra-column", sheet=sheet_name, cell=where, column=header))
        elif col_id in columns:
            issues.append(make_issue("duplicate-column", sheet=sheet_name, cell=where, column=header))
        else:
            columns[col_id] = Column(col_id, c, header, where, in_yuan)
    for c, header, where in pending_bianhao:
        # 编号 is 序号 when the sheet has neither 隐患编号 nor 序号
        if "hazard_id" not in columns and "seq" not in columns:
            columns["seq"] = Column("seq", c, header, where)
        else:
            issues.append(make_issue("extra-column", sheet=sheet_name, cell=where, column=header))
    return columns, issues


# ---------------------------------------------------------------- header block


@cached
def _label_lookup() -> dict[str, str]:
    table = {}
    for fid, spec in header_block_fields().items():
        for name in (spec["label"], *spec.get("aliases", ())):
            table[name] = fid
    return table


@cached
def _label_pattern() -> re.Pattern:
    names = sorted(_label_lookup(), key=len, reverse=True)
    return re.compile(r"(" + "|".join(map(re.escape, names)) + r")\s*(?:\([^()]*\))?\s*[:：]")


def _exact_label(text: str) -> str | None:
    key, _ = strip_bracket_tail(squash(text).rstrip(":："))
    return _label_lookup().get(key)


def read_header_block(grid: FilledSheet, stop: int) -> tuple[dict[str, Located], list[tuple[str, Located]]]:
    """Header-block fields in rows 0..stop-1 (`标签：值` in one cell or label cell + value cell), and every
    other text cell there (candidates for a week in the title)."""
    fields: dict[str, Located] = {}
    others: list[tuple[str, Located]] = []
    pattern = _label_pattern()
    for r in range(min(stop, len(grid.rows))):
        cells = [(c, grid.get(r, c)) for c in range(len(grid.rows[r])) if not grid.is_follower(r, c)]
        cells = [(c, v) for c, v in cells if v is not None and as_text(v) is not None]
        skip_next = False
        for i, (c, v) in enumerate(cells):
            if skip_next:
                skip_next = False
                continue
            address = cell_address(r, c)
            # without white space: `填 报 单 位：` is a label too, and no value here needs its spaces
            text = squash(str(v)) if isinstance(v, str) else None
            if text is None:
                others.append(("cell", Located(v, address)))
                continue
            label_id = _exact_label(text)
            if label_id is not None:
                nxt = cells[i + 1] if i + 1 < len(cells) else None
                if nxt is not None and (not isinstance(nxt[1], str) or _exact_label(nxt[1]) is None):
                    fields.setdefault(label_id, Located(nxt[1], cell_address(r, nxt[0])))
                    skip_next = True
                continue
            hits = list(pattern.finditer(text))
            if not hits:
                others.append(("title", Located(text, address)))
                continue
            if hits[0].start() > 0:
                others.append(("title", Located(text[: hits[0].start()], address)))
            for k, hit in enumerate(hits):
                end = hits[k + 1].start() if k + 1 < len(hits) else len(text)
                value = text[hit.end() : end].strip()
                fid = _label_lookup()[hit.group(1)]
                if value:
                    fields.setdefault(fid, Located(value, address))
                elif k + 1 == len(hits) and i + 1 < len(cells) and _exact_label(str(cells[i + 1][1])) is None:
                    # `填报单位：` then the value in the next cell
                    nc, nv = cells[i + 1]
                    fields.setdefault(fid, Located(nv, cell_address(r, nc)))
                    skip_next = True
    return fields, others


# ---------------------------------------------------------------- rows


@cached
def _row_vocabulary() -> dict[str, frozenset[str]]:
    rules = row_rules()
    return {k: frozenset(squash(t) for t in rules[k]) for k in ("zero_statements", "end_markers", "total_labels")}


@cached
def _footer_pattern() -> re.Pattern:
    labels = "|".join(map(re.escape, sorted(row_rules()["footer_labels"], key=len, reverse=True)))
    return re.compile(rf"^(?:{labels})\d*(?:签字|签名|\(盖章\))?(?:[:：]|$)")


@lru_cache(maxsize=1 << 14)
def is_zero_statement(text: str) -> bool:
    t = squash(text).rstrip("。.!！")
    return t in _row_vocabulary()["zero_statements"]


def mentions_zero(text: str) -> bool:
    t = squash(text)
    return any(z in t for z in _row_vocabulary()["zero_statements"])


@lru_cache(maxsize=1 << 14)
def is_end_marker(text: str) -> bool:
    """Whether a cell *reads* 以下空白 (or 以下无内容, …), brackets and trailing dots aside — not a description that
    merely starts so (以下为空调外机支架锈蚀 is a hazard)."""
    return squash(text).strip("（）()【】[]〔〕。.…-—_") in _row_vocabulary()["end_markers"]


def read_rows(grid: FilledSheet, start: int, columns: dict[str, Column]) -> tuple[list[tuple[int, dict]], bool, int | None]:
    """Hazard rows below the header (non-hazard rows skipped), whether a zero statement row was seen, and the
    first hidden row that holds data."""
    vocab = _row_vocabulary()
    footer = _footer_pattern()
    out: list[tuple[int, dict]] = []
    zero = False
    in_footer = False
    first_hidden = None
    for r in range(start, len(grid.rows)):
        full = grid.rows[r]
        shown = [as_text(v) for v in full]  # each cell's text, once
        texts = [t for t in shown if t is not None]
        if not texts:
            continue
        if any(is_end_marker(t) for t in texts):
            break
        values = {cid: grid.get(r, col.index) for cid, col in columns.items()}
        filled = {cid for cid, col in columns.items() if col.index < len(shown) and shown[col.index] is not None}
        first = texts[0]
        if first is not None and squash(first) in vocab["total_labels"]:
            continue
        if first is not None and footer.match(squash(first)):
            in_footer = True
            continue
        if in_footer and len(filled - {"seq"}) < 3:
            continue
        if not filled or filled == {"seq"}:
            if any(is_zero_statement(t) for t in texts):
                zero = True
            continue
        description = as_text(values.get("description"))
        if (description and is_zero_statement(description)) or (
            not description and any(is_zero_statement(as_text(values[c]) or "") for c in filled)
        ):
            zero = True
            continue
        if r in grid.sheet.hidden_rows and first_hidden is None:
            first_hidden = r
        out.append((r + 1, values))
    return out, zero, first_hidden


# ---------------------------------------------------------------- one sheet


# A sheet without a hazard table is read for its header block and a zero statement in its first rows only: a zero
# report is a few rows, and this bounds the work on a huge sheet of anything else.
NO_TABLE_SCAN_ROWS = 1_000


def read_layout(sheet: Sheet) -> SheetLayout:
    """Everything the sheet says, before any value is judged."""
    grid = FilledSheet(sheet)
    layout = SheetLayout(name=sheet.name)
    top = find_header_row(grid)
    if top is None:
        layout.fields, others = read_header_block(grid, min(len(grid.rows), NO_TABLE_SCAN_ROWS))
        layout.week_mentions = [(kind, loc) for kind, loc in others if isinstance(loc.value, str)]
        layout.zero_statement = any(mentions_zero(str(loc.value)) for _, loc in others if isinstance(loc.value, str))
        return layout
    bottom = top + 1 if _is_two_row_header(grid, top) else top
    layout.columns, layout.issues = map_columns(grid, top, bottom, sheet.name)
    first_col = min((c.index for c in layout.columns.values()), default=0)
    layout.header_cell = cell_address(bottom, first_col)
    layout.fields, others = read_header_block(grid, top)
    layout.week_mentions = [(kind, loc) for kind, loc in others if isinstance(loc.value, str)]
    layout.rows, zero_row, first_hidden = read_rows(grid, bottom + 1, layout.columns)
    # a statement anywhere in the sheet only matters when the table holds no hazard
    layout.zero_statement = zero_row or (
        not layout.rows
        and any(mentions_zero(t) for row in grid.rows for t in (as_text(v) for v in row) if t is not None)
    )
    if first_hidden is not None:
        hidden_data_rows = sum(1 for r, _ in layout.rows if r - 1 in sheet.hidden_rows)
        layout.issues.append(
            make_issue(
                "hidden-rows",
                sheet=sheet.name,
                cell=cell_address(first_hidden, first_col),
                detail=f"共 {hidden_data_rows} 行，第一行是第 {first_hidden + 1} 行",
            )
        )
    return layout
