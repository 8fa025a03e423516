"""The synthetic district: deterministic, realistic, and its expected outcomes really follow the spec.

The files are read back with python-calamine (or the csv module) and checked by a small independent reading of
submission.md: accepted files must hold no error, every expected (cell, code) must point at a cell that shows
the problem.
"""

from __future__ import annotations

import collections
import csv
import datetime as dt
import hashlib
import io
import json
import re
import shutil
import subprocess
import unicodedata
import zipfile
from pathlib import Path

import pytest
import python_calamine as pc

from inspect_pipeline.demo import synth
from inspect_pipeline.core.contracts import enums, header_block_fields, roster_columns, row_rules, submission_columns

WEEK = "2023-W47"
CUTOFF = dt.date(2023, 11, 24)


# --------------------------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def roster() -> list[dict]:
    return synth.make_roster(240, 6, seed=0)


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("district")
    return root, synth.generate_district(root, units=240, zones=6, week=WEEK, seed=0)


@pytest.fixture(scope="module")
def many_invalid(roster) -> list[synth.SynthFile]:
    """Several weeks' worth of files with many invalid ones, for the issue-cell checks."""
    files = []
    for seed in range(3):
        files += synth.make_week(roster, WEEK, seed, share_invalid=0.3, share_messy=0.4)
    return files


# --------------------------------------------------------------------------------------------------------------
# roster
# --------------------------------------------------------------------------------------------------------------


def _aliases(row: dict) -> list[str]:
    return [a for a in re.split(r"[、;,/]", row["aliases"] or "") if a]


@pytest.mark.parametrize("units,zones", [(240, 6), (1200, 8), (25, 6)])
def test_roster_constraints(units, zones):
    rows = synth.make_roster(units, zones, seed=1)
    assert len(rows) == units
    assert all(set(r) == {c.id for c in roster_columns()} for r in rows)
    names = [r["school_name"] for r in rows]
    assert len(set(names)) == units
    codes = [r["school_code"] for r in rows]
    assert len(set(codes)) == units
    prefix = {"幼儿园": "11", "小学": "21", "初中": "31", "高中": "34", "中职": "36", "特教": "51"}
    for r in rows:
        assert re.fullmatch(r"\d{10}", r["school_code"])
        assert r["school_code"][:2] == prefix[r["stage"]] and r["school_code"][2:4] == "13"
        assert r["urban_rural"] in enums()["urban_rural"].values
        for key in ("school_name", "stage", "zone", "zone_leader", "section", "section_owner"):
            assert r[key], key
    folded_names = {unicodedata.normalize("NFKC", n) for n in names}
    all_aliases = [a for r in rows for a in _aliases(r)]
    assert len(set(all_aliases)) == len(all_aliases)  # each alias resolves to one school only
    assert not folded_names & {unicodedata.normalize("NFKC", a) for a in all_aliases}
    by_zone: dict[str, list[dict]] = collections.defaultdict(list)
    for r in rows:
        by_zone[r["zone"]].append(r)
    assert len(by_zone) == zones
    leaders = {z: {r["zone_leader"] for r in members} for z, members in by_zone.items()}
    assert all(len(v) == 1 for v in leaders.values())  # one 包片领导 per zone
    assert len({next(iter(v)) for v in leaders.values()}) == zones
    for members in by_zone.values():
        owners = {(r["section"], r["section_owner"]) for r in members}
        assert len(owners) >= min(2, len(members))  # several 包校责任人 per zone
    owner_section = collections.defaultdict(set)
    for r in rows:
        owner_section[r["section_owner"]].add(r["section"])
    assert all(len(s) == 1 for s in owner_section.values())


def test_roster_is_realistic(roster):
    stages = collections.Counter(r["stage"] for r in roster)
    share = {s: n / len(roster) for s, n in stages.items()}
    assert 0.30 <= share["幼儿园"] <= 0.40 and 0.35 <= share["小学"] <= 0.45 and 0.12 <= share["初中"] <= 0.18
    assert 0.03 <= share["高中"] <= 0.05 and 0.02 <= share["中职"] <= 0.04 and stages["特教"] >= 1
    names = {r["school_name"] for r in roster}
    assert {"丰润区第一实验小学", "丰润区第一幼儿园", "丰润区职业技术教育中心", "丰润区特殊教育学校"} <= names
    assert any(n.endswith("镇中心小学") for n in names) and any(re.search(r"镇.+小学$", n) for n in names)
    assert any(r["stage"] == "初中" and r["school_name"].endswith("学校") for r in roster)  # 九年一贯制
    assert {"一实小", "一幼"} <= {a for r in roster for a in _aliases(r)}
    inactive = [r for r in roster if r["active_to"] and r["active_to"] < CUTOFF]
    assert 0 < len(inactive) < 10


def test_roster_is_deterministic():
    assert synth.make_roster(240, 6, 7) == synth.make_roster(240, 6, 7)
    assert synth.make_roster(240, 6, 7) != synth.make_roster(240, 6, 8)


def test_roster_file(roster, tmp_path):
    path = synth.write_roster(roster, tmp_path / "roster.xlsx")
    book = pc.CalamineWorkbook.from_path(str(path))
    rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
    assert rows[0] == [c.header for c in roster_columns()]
    assert len(rows) == len(roster) + 1
    code_col = rows[0].index("学校标识码")
    assert [r[code_col] for r in rows[1:]] == [r["school_code"] for r in roster]  # text, not numbers
    from_col = rows[0].index("启用日期")
    assert any(isinstance(r[from_col], dt.date) for r in rows[1:])


# --------------------------------------------------------------------------------------------------------------
# the week: kinds, counts, outcomes
# --------------------------------------------------------------------------------------------------------------


def test_week_kinds_and_counts(district, roster):
    root, expected = district
    files = expected["files"]
    due = [r for r in roster if synth.is_active(r, CUTOFF)]
    assert expected["due"] == len(due) and expected["week"] == WEEK
    assert expected["cutoff"] == "2023-11-24T12:00:00+08:00"
    counts = expected["counts"]
    n = len(due)
    assert counts["missing"] == round(n * 0.05) == len(expected["missing"])
    assert counts["invalid"] == round(n * 0.08)
    assert counts["messy"] == round(n * 0.3)
    assert counts["zero"] == round(n * 0.05)
    assert counts["unreadable"] >= 2 and counts["temp"] >= 2
    # valid is the rest (~51% of due units, ~54% of received files with the default shares)
    assert counts["valid"] == n - sum(counts[k] for k in ("missing", "invalid", "messy", "zero", "unreadable"))
    assert counts["valid"] / n > 0.45
    reporting = collections.Counter(f["school_code"] for f in files.values() if f["kind"] != "temp")
    assert set(reporting.values()) == {1}  # one file per reporting school
    assert not set(reporting) & set(expected["missing"])
    assert set(reporting) | set(expected["missing"]) == {r["school_code"] for r in due}
    for path, f in files.items():
        folder = path.split("/")[0]
        assert folder == f["school_name"]
        assert (root / "inbox" / path).is_file()
        if f["kind"] in ("valid", "messy", "zero"):
            assert f["outcome"] == "accepted" and f["errors"] == [], path
        elif f["kind"] in ("invalid", "unreadable"):
            assert f["outcome"] == "rejected" and f["errors"], path
        else:
            assert f["kind"] == "temp" and f["outcome"] is None
            assert Path(path).name.startswith(("~$", ".~lock."))
        if f["kind"] == "valid":
            assert all(code == "old-hazard" for _, code in f["warnings"]), path
        if f["kind"] == "zero":
            assert f["hazards"]["rows"] == 0
            assert f["warnings"] in ([], [[None, "zero-report-assumed"]])
        if f["kind"] == "invalid":
            assert 1 <= len(f["defects"]) <= 2
            assert {code for _, code in f["errors"]} == set(f["defects"])
    temps = [Path(p).name for p, f in files.items() if f["kind"] == "temp"]
    assert any(t.startswith("~$") for t in temps) and any(t.startswith(".~lock.") and t.endswith("#") for t in temps)
    defects = {d for f in files.values() for d in f["defects"]}
    assert defects == set(synth.DEFECTS)  # every error code of the generator appears in one week
    unreadable = {tuple(f["errors"][0]) for f in files.values() if f["kind"] == "unreadable"}
    assert unreadable <= {(None, "unreadable-file"), (None, "unsupported-format")}
    assert json.loads(json.dumps(expected, ensure_ascii=False)) == expected


def test_week_formats_and_messy_features(roster):
    files = synth.make_week(roster, WEEK, 0, share_messy=0.6)
    messy = [f for f in files if f.kind == "messy"]
    formats = collections.Counter(f.format for f in messy)
    assert formats["xlsx"] > formats["csv"] > 0 and formats["ods"] > 0
    features = collections.Counter(x for f in messy for x in f.expected["features"])
    for feature in ("alias_headers", "reordered", "two_row_header", "header_breaks", "enum_synonyms", "text_dates",
                    "fullwidth", "unit_alias", "template_rows", "total_row", "end_marker", "funds_yuan",
                    "merged_cells", "extra_column", "csv-gb18030"):
        assert features[feature] > 0, feature
    warnings = collections.Counter(code for f in messy for _, code in f.expected["warnings"])
    assert warnings["extra-column"] > 0 and warnings["old-hazard"] > 0


def test_temp_files_sit_next_to_a_real_workbook(district):
    _, expected = district
    for path, f in expected["files"].items():
        if f["kind"] == "temp":
            folder, name = path.rsplit("/", 1)
            real = name.removeprefix("~$").removeprefix(".~lock.").removesuffix("#")
            assert f"{folder}/{real}" in expected["files"]


# --------------------------------------------------------------------------------------------------------------
# determinism
# --------------------------------------------------------------------------------------------------------------


def _read_all(path: Path) -> dict:
    if path.suffix in (".xlsx", ".ods"):
        book = pc.CalamineWorkbook.from_path(str(path))
        return {m.name: book.get_sheet_by_name(m.name).to_python(skip_empty_area=False)
                for m in book.sheets_metadata}
    return {"bytes": path.read_bytes()}


def test_same_seed_same_district(tmp_path):
    a = synth.generate_district(tmp_path / "a", units=120, zones=4, seed=3)
    b = synth.generate_district(tmp_path / "b", units=120, zones=4, seed=3)
    assert a == b
    for rel in ["roster.xlsx", *(f"inbox/{p}" for p in a["files"])]:
        pa, pb = tmp_path / "a" / rel, tmp_path / "b" / rel
        assert hashlib.sha256(pa.read_bytes()).digest() == hashlib.sha256(pb.read_bytes()).digest(), rel
        if a["files"].get(rel.removeprefix("inbox/"), {}).get("kind") not in ("unreadable", "temp"):
            assert _read_all(pa) == _read_all(pb), rel
    c = synth.generate_district(tmp_path / "c", units=120, zones=4, seed=4)
    assert c["files"] != a["files"]


# --------------------------------------------------------------------------------------------------------------
# every file opens
# --------------------------------------------------------------------------------------------------------------


def _csv_encoding(features: list[str]) -> str:
    return next(f.removeprefix("csv-") for f in features if f.startswith("csv-"))


def test_every_file_opens(district):
    root, expected = district
    for path, f in expected["files"].items():
        p = root / "inbox" / path
        if f["kind"] == "temp":
            continue
        if f["kind"] == "unreadable":
            with pytest.raises(Exception):
                pc.CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python()
            continue
        if f["format"] == "csv":
            rows = list(csv.reader(io.StringIO(p.read_bytes().decode(_csv_encoding(f["features"])))))
            assert len(rows) > 3
            continue
        book = pc.CalamineWorkbook.from_path(str(p))
        visible = [m.name for m in book.sheets_metadata if m.visible == pc.SheetVisibleEnum.Visible]
        assert visible and (f["sheet"] in visible)
        assert book.get_sheet_by_name(f["sheet"]).to_python()


@pytest.mark.slow
def test_libreoffice_opens_generated_workbooks(district, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        pytest.skip("LibreOffice not installed")
    root, expected = district
    picks = [root / "roster.xlsx"]
    for fmt, kind in (("xlsx", "valid"), ("xlsx", "messy"), ("ods", "messy")):
        path = next(p for p, f in expected["files"].items() if f["format"] == fmt and f["kind"] == kind)
        picks.append(root / "inbox" / path)
    for k, p in enumerate(picks):
        shutil.copy(p, tmp_path / f"f{k}{p.suffix}")
    subprocess.run([soffice, "--headless", "--convert-to", "csv", "--outdir", str(tmp_path / "out"),
                    *sorted(str(x) for x in tmp_path.glob("f*"))], check=True, capture_output=True, timeout=180)
    assert len(list((tmp_path / "out").glob("*.csv"))) == len(picks)


# --------------------------------------------------------------------------------------------------------------
# an independent reading of the spec: accepted files hold no error, expected cells show their problem
# --------------------------------------------------------------------------------------------------------------


def _fold(v) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(v)))


def _norm_header(v) -> str:
    return re.sub(r"[(][^()]*[)]$", "", _fold(v))


HEADER_IDS = {"编号": "seq"}
for _c in submission_columns():
    HEADER_IDS[_norm_header(_c.header)] = _c.id
    HEADER_IDS.update({_norm_header(a): _c.id for a in _c.aliases})
ALWAYS = {c.id for c in submission_columns() if c.required == "always"}
DATE_COLS = {"found_date", "deadline", "done_date"}
ENUM_COLS = {c.id: c.enum for c in submission_columns() if c.enum}
BLANKS = {_fold(t) for t in row_rules()["blank_tokens"]}
ZERO = {_fold(t) for t in row_rules()["zero_statements"]}
FOOTER = re.compile(r"^(注|说明|填报人|审核人|校长|签字|盖章|联系电话)($|[:：]|签字|签名|\(盖章\))")


def _blank(v) -> bool:
    return v is None or v == "" or _fold(v) in BLANKS or _fold(v) == ""


def _enum_ok(name: str, v) -> str | None:
    spec = enums()[name]
    s = _fold(v)
    syn = {_fold(k): c for k, c in spec.synonyms.items()}
    for cand in (s, re.sub(r"\([^()]*\)$", "", s), re.sub(r"(隐患|安全|问题)$", "", s)):
        if cand in syn:
            return syn[cand]
    return spec.codes.get(s)


def _date(v, role: str, found: dt.date | None = None) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)):
        if v > 19000000:
            v = int(v)
            return dt.date(v // 10000, v // 100 % 100, v % 100)
        if float(v).is_integer():
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(v))
        month, day = repr(float(v)).split(".")  # the digits as typed: 11.3 is November 3rd
        return _yearless(int(month), int(day), role, found)
    s = _fold(v)
    for pat in (r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", r"(\d{4})年(\d{1,2})月(\d{1,2})日", r"(\d{4})(\d{2})(\d{2})"):
        m = re.fullmatch(pat, s)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})(?:月|\.|-)(\d{1,2})日?", s)
    if m:
        return _yearless(int(m[1]), int(m[2]), role, found)
    return None


def _yearless(month: int, day: int, role: str, found: dt.date | None) -> dt.date:
    if role == "deadline":
        d = dt.date(found.year, month, day)
        return d if d >= found else dt.date(found.year + 1, month, day)
    d = dt.date(CUTOFF.year, month, day)
    return d if d <= CUTOFF else dt.date(CUTOFF.year - 1, month, day)


def _sheets(data: bytes, fmt: str, features: list[str]) -> list[tuple[str, bool, list[list], list]]:
    """(name, visible, rows, merged ranges) of each sheet."""
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode(_csv_encoding(features)))))
        return [("csv", True, [[v if v != "" else None for v in r] for r in rows], [])]
    book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = []
    for m in book.sheets_metadata:
        sheet = book.get_sheet_by_name(m.name)
        rows = [[None if v == "" else v for v in r] for r in sheet.to_python(skip_empty_area=False)]
        out.append((m.name, m.visible == pc.SheetVisibleEnum.Visible, rows, sheet.merged_cell_ranges or []))
    return out


def _header_row(rows: list[list]) -> int | None:
    for i, row in enumerate(rows):
        if sum(1 for v in row if v is not None and _norm_header(v) in HEADER_IDS) >= 4:
            return i
    return None


class _Table:
    """The hazard table of one sheet as the spec reads it."""

    def __init__(self, rows: list[list], merged: list):
        self.rows = rows
        self.top = _header_row(rows)
        below = rows[self.top + 1] if self.top is not None and self.top + 1 < len(rows) else []
        merged_across = any(r1 == self.top and c2 > c1 for (r1, c1), (_, c2) in merged)
        self.two_row = merged_across and any(v is not None and _norm_header(v) in HEADER_IDS for v in below)
        self.header = self.top + 1 if self.two_row else self.top
        width = max(len(r) for r in rows)
        self.ids: dict[int, str] = {}
        for c in range(width):
            for r in (self.header, self.top):
                v = self._cell(r, c, merged)
                if v is not None:
                    key = HEADER_IDS.get(_norm_header(v))
                    if key:
                        self.ids[c] = key
                    break
        self.col = {}
        for c, key in sorted(self.ids.items()):
            self.col.setdefault(key, c)
        # data cells merged vertically are filled down
        self.filled = [list(r) + [None] * (width - len(r)) for r in rows]
        for (r1, c1), (r2, c2) in merged:
            if r1 > self.header:
                for r in range(r1, r2 + 1):
                    for c in range(c1, c2 + 1):
                        self.filled[r][c] = rows[r1][c1]

    def _cell(self, r, c, merged):
        for (r1, c1), (r2, c2) in merged:
            if r1 <= r <= r2 and c1 <= c <= c2:
                return self.rows[r1][c1]
        return self.rows[r][c] if c < len(self.rows[r]) else None

    def data_rows(self):
        """(row index, {col id: value}) of the hazard rows."""
        for i in range(self.header + 1, len(self.filled)):
            row = self.filled[i]
            filled = [v for v in row if v is not None]
            if not filled:
                continue
            first = _fold(filled[0])
            if first in ("以下空白", "以下无内容", "以下为空"):
                return
            if first in ("合计", "小计", "总计") or FOOTER.match(first):
                continue
            values = {key: row[c] for c, key in self.ids.items() if c < len(row)}
            if all(key == "seq" for c, key in self.ids.items() if row[c] is not None):
                continue  # pre-numbered template row
            if values.get("description") is not None and _fold(values["description"]) in ZERO:
                continue
            yield i, values


def _pick_sheet(sheets):
    with_table = [s for s in sheets if s[1] and _header_row(s[2]) is not None]
    if len(with_table) > 1:
        with_table = [s for s in with_table if s[0] in ("第47周", "本周")]
    return with_table[0] if with_table else None


def _check_accepted(f: synth.SynthFile) -> None:
    """An accepted file, read as the spec says, holds no error and lists exactly the file's hazards."""
    sheets = _sheets(f.content(), f.format, f.expected["features"])
    picked = _pick_sheet(sheets)
    if picked is None:  # a zero report without a table: the sheet says so
        assert f.kind == "zero" and any(_fold(v) in ZERO for s in sheets for r in s[2] for v in r if v), f.path
        return
    name, _, rows, merged = picked
    table = _Table(rows, merged)
    assert len(table.col) == len(table.ids), f"duplicate column in {f.path}"
    identities = set()
    count = 0
    for i, v in table.data_rows():
        count += 1
        where = f"{f.path} row {i + 1}"
        for key in ALWAYS:
            assert not _blank(v.get(key)), (where, key)
        canon = {key: _enum_ok(ENUM_COLS[key], v[key]) for key in ENUM_COLS if not _blank(v.get(key))}
        assert all(canon.values()), (where, canon)
        status = canon["status"]
        embedded = re.search(r"\((\d{1,2})\.(\d{1,2})\)$", _fold(v["status"]))
        found = _date(v["found_date"], "found_date")
        assert found and found <= CUTOFF, where
        deadline = None if _blank(v.get("deadline")) or _fold(v["deadline"]) == "立即" else _date(
            v["deadline"], "deadline", found)
        done = _date(v["done_date"], "done_date") if not _blank(v.get("done_date")) else (
            _yearless(int(embedded[1]), int(embedded[2]), "done_date", None) if embedded else None)
        immediate = canon.get("mode") == "立即整改" or _fold(v.get("deadline") or "") == "立即"
        rectified = status in ("已整改", "已销号")
        assert deadline is not None or immediate or rectified, where
        assert deadline is None or deadline >= found, where
        assert done is not None or not rectified, where
        assert done is None or done >= found, where
        assert rectified or not _blank(v.get("measures")), where
        assert status != "已销号" or not _blank(v.get("verifier")), where
        if canon["level"] == "重大" and not rectified:
            assert not _blank(v.get("interim_control")), where
        if not _blank(v.get("funds_wan")):
            float(_fold(v["funds_wan"]))
        key = (found, _fold(v["location"]), _fold(v["description"]))
        assert key not in identities, where
        identities.add(key)
    assert count == len(f.rows), f.path
    assert {(h["found_date"], _fold(h["location"]), _fold(h["description"])) for h in f.rows} == identities


def _check_issue(f: synth.SynthFile, cell: str | None, code: str, sheets, roster_keys: set[str]) -> None:
    """The cell of an expected issue shows the problem the code names."""
    where = (f.path, cell, code)
    if cell is None:
        assert code in ("unreadable-file", "unsupported-format", "no-header-row", "ambiguous-sheet", "missing-unit",
                        "zero-report-assumed", "hazard-dropped"), where
        return
    name, _, rows, merged = next(s for s in sheets if s[0] == f.expected["sheet"]) if f.format != "csv" else sheets[0]
    m = re.fullmatch(r"([A-Z]+)(\d+)", cell)
    c = sum((ord(ch) - 64) * 26 ** k for k, ch in enumerate(reversed(m[1]))) - 1
    r = int(m[2]) - 1
    table = _Table(rows, merged)
    value = rows[r][c] if c < len(rows[r]) else None
    block = {"unknown-school", "school-code-mismatch", "unit-name-mismatch", "wrong-week"}
    if code in block:
        assert r < table.top, where
        text = re.sub(r"^[^:：]*[:：]", "", str(value)) if isinstance(value, str) else str(value)
        text = _fold(text).removesuffix(".0")
        if code == "wrong-week":
            assert re.search(r"(第|W)(\d+)周?", text) and "47" not in text, where
        elif code == "school-code-mismatch":
            assert text in roster_keys and text != f.school_code, where
        else:
            assert text not in roster_keys, where
        return
    if code in ("missing-column", "duplicate-column", "extra-column"):
        assert r == table.header, where
        if code == "missing-column":
            assert c == 0 and len(table.ids) >= 4, where
        elif code == "duplicate-column":
            key = HEADER_IDS[_norm_header(value)]
            assert key in [table.ids.get(k) for k in range(c)], where
        else:
            assert value is not None and _norm_header(value) not in HEADER_IDS, where
        return
    if code == "hidden-rows":
        with zipfile.ZipFile(io.BytesIO(f.content())) as z:
            xml = z.read("xl/worksheets/sheet%d.xml" % ([s[0] for s in sheets].index(name) + 1)).decode()
        assert f'<row r="{r + 1}" hidden="1"' in xml and c == 0, where
        return
    assert r > table.header, where
    key = table.ids[c]
    row = {k: table.filled[r][cc] for cc, k in table.ids.items()}
    found = _date(row.get("found_date"), "found_date") if row.get("found_date") is not None else None
    if code == "bad-enum":
        assert key in ENUM_COLS and not _blank(value) and _enum_ok(ENUM_COLS[key], value) is None, where
    elif code == "bad-date":
        assert key in DATE_COLS and isinstance(value, str) and _date(value, key, found) is None, where
    elif code == "required":
        assert _blank(value), where
    elif code == "date-order":
        assert key in ("deadline", "done_date") and _date(value, key, found) < found, where
    elif code == "future-date":
        assert key == "found_date" and found > CUTOFF, where
    elif code == "major-needs-control":
        assert key == "interim_control" and _blank(value) and _enum_ok("level", row["level"]) == "重大", where
    elif code == "duplicate-hazard":
        def ident(rr):
            return tuple(_fold(table.filled[rr][table.col[k]]) for k in ("found_date", "location", "description"))

        assert key == "description" and any(ident(k) == ident(r) for k in range(table.header + 1, r)), where
    elif code == "bad-number":
        assert key == "funds_wan" and not re.fullmatch(r"\d+(\.\d+)?", _fold(value)), where
    elif code == "old-hazard":
        assert key == "found_date" and (CUTOFF - found).days > 365, where
    elif code == "ambiguous-date":
        assert key in ("found_date", "done_date") and isinstance(value, float) and not value.is_integer(), where
    else:  # pragma: no cover
        raise AssertionError(where)


def _roster_keys(roster) -> set[str]:
    return ({_fold(r["school_name"]) for r in roster} | {r["school_code"] for r in roster}
            | {_fold(a) for r in roster for a in _aliases(r)})


def test_accepted_files_hold_no_error(roster):
    for seed in range(2):
        for f in synth.make_week(roster, WEEK, seed, share_messy=0.5):
            if f.expected["outcome"] == "accepted":
                _check_accepted(f)


def test_expected_cells_show_their_problem(many_invalid, roster):
    keys = _roster_keys(roster)
    seen = collections.Counter()
    for f in many_invalid:
        if f.kind in ("temp", "unreadable"):
            continue
        sheets = _sheets(f.content(), f.format, f.expected["features"])
        for cell, code in f.expected["errors"] + f.expected["warnings"]:
            _check_issue(f, cell, code, sheets, keys)
            seen[code] += 1
    assert set(seen) >= set(synth.DEFECTS) | {"extra-column", "old-hazard"}


def test_each_defect_makes_one_error(many_invalid):
    """An invalid file is a good one plus its defects: one error per defect, each at its own cell."""
    for f in many_invalid:
        if f.kind != "invalid":
            continue
        assert len(f.expected["errors"]) == len(f.expected["defects"]), f.path
        cells = [c for c, _ in f.expected["errors"]]
        assert len(cells) == len(set(cells)), f.path


def test_block_cells_hold_the_block_values(district):
    """The unit/code cells named by block issues are where the school wrote them (label：value or label | value)."""
    root, expected = district
    labels = {f["label"] for f in header_block_fields().values()} | {
        a for f in header_block_fields().values() for a in f["aliases"]}
    for path, f in expected["files"].items():
        for cell, code in f["errors"] + f["warnings"]:
            if code in ("unknown-school", "school-code-mismatch", "unit-name-mismatch", "wrong-week"):
                rows = pc.CalamineWorkbook.from_path(str(root / "inbox" / path)).get_sheet_by_name(
                    f["sheet"]).to_python(skip_empty_area=False) if f["format"] != "csv" else None
                if rows is None:
                    continue
                m = re.fullmatch(r"([A-Z]+)(\d+)", cell)
                r, c = int(m[2]) - 1, ord(m[1]) - 65
                value = str(rows[r][c])
                label = re.match(r"^([^:：]+)[:：]", value)
                assert (label and label[1] in labels) or str(rows[r][c - 1]) in labels, (path, cell)


# --------------------------------------------------------------------------------------------------------------
# the rows themselves: dates of the week, statuses, 五落实
# --------------------------------------------------------------------------------------------------------------


def test_rows_are_consistent_with_the_week(roster):
    week = synth.make_week(roster, WEEK, 0)
    monday = dt.date(2023, 11, 20)
    levels = collections.Counter()
    for f in week:
        if f.kind not in ("valid", "messy"):
            continue
        assert any(h["found_date"] >= monday for h in f.rows) or len(f.rows) <= 2
        for h in f.rows:
            levels[h["level"]] += 1
            assert h["found_date"] < CUTOFF
            assert h["done_date"] is None or h["found_date"] <= h["done_date"] < CUTOFF
            assert h["deadline"] is None or h["deadline"] >= h["found_date"]
            if h["mode"] == "立即整改":
                assert h["deadline"] is None
            if h["status"] in ("已整改", "已销号"):
                assert h["done_date"] is not None
            if h["status"] == "已销号":
                assert h["verifier"]
            if h["level"] == "重大":
                assert h["interim_control"]
    assert 0.02 <= levels["重大"] / sum(levels.values()) <= 0.08
    assert {h["status"] for f in week for h in f.rows} == {"未整改", "整改中", "已整改", "已销号"}


def test_valid_file_layout(district):
    root, expected = district
    path, f = next((p, f) for p, f in expected["files"].items() if f["kind"] == "valid")
    rows = pc.CalamineWorkbook.from_path(str(root / "inbox" / path)).get_sheet_by_index(0).to_python(
        skip_empty_area=False)
    assert rows[0][0] == f"{f['school_name']}安全隐患排查整治台账（2023年第47周）"
    assert rows[1][0] == f"填报单位：{f['school_name']}"
    assert rows[1][rows[1].index("学校标识码") + 1] == f["school_code"]
    assert "周次：2023年第47周" in rows[1]
    assert rows[3] == ["序号", "隐患编号", "排查日期", "排查来源", "隐患部位", "隐患类别", "隐患描述", "隐患等级", "整改方式",
                       "整改措施", "整改责任人", "整改时限", "整改资金（万元）", "临时管控措施", "整改状态", "完成日期", "验收人",
                       "备注"]
    n = f["hazards"]["rows"]
    assert [r[0] for r in rows[4:4 + n]] == [float(k) for k in range(1, n + 1)]
    assert rows[-1][0].startswith("填报人：") and "校长签字：" in rows[-1][0]


# --------------------------------------------------------------------------------------------------------------
# two weeks
# --------------------------------------------------------------------------------------------------------------


def test_second_week_carries_hazards_over(roster):
    week1 = synth.make_week(roster, WEEK, 5)
    prior = json.loads(json.dumps(synth.next_prior(week1), ensure_ascii=False))  # survives JSON
    week2 = synth.make_week(roster, "2023-W48", 5, prior=prior)
    assert synth.make_week(roster, "2023-W48", 5, prior=prior)[0].expected == week2[0].expected
    first = {f.school_code: f for f in week1 if f.kind != "temp"}
    carried = 0
    for f in week2:
        if f.kind not in ("valid", "messy") or f.school_code not in first:
            continue
        before = first[f.school_code]
        now = {synth.Hazard(**h).identity: h for h in f.rows}
        for h in before.rows:
            ident = synth.Hazard(**h).identity
            if h["status"] == "已销号":
                continue
            assert ident in now, (f.path, ident)  # every hazard not closed is listed again
            order = ["未整改", "整改中", "已整改", "已销号"]
            assert order.index(now[ident]["status"]) >= order.index(h["status"])  # never reopened
            carried += 1
        new_rows = [h for h in f.rows if h["found_date"] >= dt.date(2023, 11, 27)]
        assert all(h["found_date"] < dt.date(2023, 12, 1) for h in new_rows)
        if before.expected["outcome"] == "accepted":
            assert f.expected["hazards"]["new"] == len(new_rows)
        else:
            assert f.expected["hazards"]["new"] == len(f.rows)
        assert not any(code in ("hazard-dropped", "hazard-reopened") for _, code in f.expected["warnings"])
    assert carried > 100
    zero2 = [f for f in week2 if f.kind == "zero"]
    assert zero2 and all(not prior["schools"].get(f.school_code, {}).get("ledger") or all(
        h["status"] == "已销号" for h in prior["schools"][f.school_code]["ledger"]) for f in zero2)


def test_next_prior_from_plain_files(roster):
    """Without the week's state (e.g. a filtered list), the prior is rebuilt from the files themselves."""
    week1 = synth.make_week(roster, WEEK, 2)
    prior = synth.next_prior([f for f in week1 if f.kind != "temp"])
    reporting = {f.school_code for f in week1 if f.kind != "temp"}
    assert set(prior["schools"]) == reporting
    accepted = next(f for f in week1 if f.kind == "valid")
    known = prior["schools"][accepted.school_code]["known"]
    assert set(known) == {synth.Hazard(**h).identity for h in accepted.rows}
    week2 = synth.make_week(roster, "2023-W48", 2, prior=json.loads(json.dumps(prior, ensure_ascii=False)))
    again = next(f for f in week2 if f.school_code == accepted.school_code)
    if again.kind in ("valid", "messy"):
        listed = {synth.Hazard(**h).identity for h in again.rows}
        assert {synth.Hazard(**h).identity for h in accepted.rows if h["status"] != "已销号"} <= listed
