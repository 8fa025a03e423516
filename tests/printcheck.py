"""Print checker for tests: print a workbook to PDF with LibreOffice and read the pages back with poppler.

Imported by tests as ``from printcheck import ...`` (like ``support``: pytest puts tests/ on sys.path).
Needs ``soffice`` (LibreOffice), poppler-utils (``pdftotext``, ``pdftocairo``) and a Chinese font;
:func:`missing_tools` tells which are absent so a test can skip. .ci/run installs them (fonts-noto-cjk, and
fonts-crosextra-carlito for Calibri's metrics).

API
    to_pdf(xlsx, out_dir, timeout=120) -> Path        one headless conversion, private profile per call
    read_pdf(pdf) -> list[Page]                        pdftotext -bbox-layout (+ pdftocairo -svg for clipping)
    estimated_pt(word) / smallest_text_pt(pages)       printed font size, in points on paper
    pages_by_sheet(pages, sheet_names)                 by the sheet name printed in the page header (&L&A)
    overlapping_words(page)                            word boxes of different lines printed over each other
    missing_text(xlsx, sheet_name, pages)              characters of the sheet's text cells absent from its pages
    clipped_words(page)                                words cut by a clip (or not painted at all)
    check_print(xlsx, out_dir) -> PrintReport          all of it; PrintReport.problems(min_pt=8)

Measured here (LibreOffice 7.4.7, poppler 22.12, Debian 12; fonts-noto-cjk, fonts-crosextra-carlito, DejaVu).

Fonts. LibreOffice prints 宋体 and 黑体 (Chinese text) with Noto Sans CJK JP (its own substitution table, not
fontconfig's), Latin text of a 宋体 cell with DejaVu Sans, Calibri with Carlito, Arial with DejaVu Sans; Chinese
text of a Calibri cell also falls back to Noto Sans CJK. (Without a Chinese font the tests skip: not measured.)

Font size. A word box from ``pdftotext -bbox`` is ``ascent + descent`` of the font times the font size. LibreOffice
writes ``/Ascent 0 /Descent 0`` into every font descriptor, so poppler falls back to its defaults 0.95 and 0.35:
the box height is 1.30 x the printed size for *every* font. Measured heights (height / pt):

    pt      宋体 CJK   宋体 digits   Calibri CJK   Calibri digits   Arial digits
    6       1.302      1.302         1.302         1.302            1.302
    7       1.300      1.300         1.300         1.300            1.300
    7.5     1.302      1.302         1.302         1.302            1.302
    8       1.299      1.299         1.299         1.299            1.299
    9       1.302      1.302         1.302         1.302            1.302
    10      1.301      1.301         1.301         1.301            1.301
    11      1.300      1.300         1.300         1.300            1.300

so ``estimated_pt = height / 1.30`` is within 0.02 pt of the set size (7 pt reads 7.00, 7.5 reads 7.51, 8 reads
7.99). A print scale multiplies it: 10 pt at ``set_print_scale(70)`` reads 7.00 pt (9.105 / 1.30), and so does
the scale LibreOffice picks for ``fit_to_pages``. Cross-check for Chinese: Noto CJK's advance is 1 em, so a CJK
word is ``len(text) x pt`` wide (6.009, 7.002, 7.512, 7.994, 9.014, 10.006, 10.998 pt per character measured).
The page header (``&A``) prints in the default font, 11 pt, scaled with the sheet.

Too-short rows (a wrapped cell whose text needs more lines than its row holds). LibreOffice never grows a row on
load: a row *without* an explicit height (xlsxwriter's or openpyxl's default) prints at the default 15 pt height,
exactly like a row set to 15 (what Excel or WPS do with such rows was not checked: no one here runs them). So a
writer must set the height of every row whose wrapped text needs more than one line. What LibreOffice prints:

- a row far too short (one line high, 11 lines of text): it paints only the lines near the row, the others are
  not in the PDF at all -> :func:`missing_text` finds them. With ``valign`` top it paints line 1 inside the cell;
  with vcenter the middle lines, spilling over the rows above and below, printed over their text (not clipped)
  -> :func:`overlapping_words` too; with bottom only the last line.
- a row a few lines high (40 pt for 11 lines): it puts more lines into the PDF (top: lines 1-4; vcenter: all 11;
  bottom: lines 4-11), clipped to the cell: the lines outside are invisible, the one across the border is cut in
  half. Text extraction ignores clipping, so :func:`missing_text` sees only the lines left out (none with
  vcenter); where invisible lines lie over other text :func:`overlapping_words` sees them, over empty cells it
  cannot. :func:`clipped_words` sees it in every case:
  it renders the page with ``pdftocairo -svg``, which drops glyphs wholly outside their clip and wraps glyphs
  crossing it in a clip path, and marks words with no painted glyph or a glyph losing > 5 % of its ink box.
- not-wrapped text too long for its cell with a non-empty neighbour: the part past the border is not printed
  (missing + clipped); a 16 pt title in an 8 pt row is cut (clipped only).

Page header: LibreOffice prints ``&A`` as the sheet name, as the top line of the page. A header of Chinese text
*alone* (``&L&A`` with a Chinese sheet name) is cut at the bottom by LibreOffice's header area; the same header with
``&R`` page numbers is not (see tests/test_printcheck.py); :func:`clipped_words` reports it.
"""

from __future__ import annotations

import bisect
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from defusedxml import ElementTree as SafeET

HEIGHT_PER_PT = 1.30  # poppler's default ascent 0.95 + descent 0.35 (LibreOffice writes /Ascent 0 /Descent 0)
BASELINE = 0.95  # baseline below a word box's top, in em
A4 = (595.276, 841.890)  # points
A4_TOLERANCE = 2.0
CLIP_TOLERANCE = 0.05  # share of a glyph's ink box a clip may take before the word counts as clipped
TOOLS = ("soffice", "pdftotext", "pdftocairo")

_XHTML = "{http://www.w3.org/1999/xhtml}"
_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class PrintError(RuntimeError):
    """A conversion or a poppler tool failed; the message carries the tool's output."""


def missing_tools() -> list[str]:
    """What printing needs and this machine lacks: the tools of TOOLS, a Chinese font (a test skips with it)."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    fonts = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                           check=False) if shutil.which("fc-list") else None
    if fonts is None or not fonts.stdout.strip():
        missing.append("a Chinese font (fonts-noto-cjk)")
    return missing


# ---------------------------------------------------------------- LibreOffice


def to_pdf(xlsx: Path, out_dir: Path, timeout: float = 120) -> Path:
    """Print `xlsx` to `out_dir`/<stem>.pdf with headless LibreOffice; returns the PDF's path.

    Each call has its own throwaway profile (-env:UserInstallation), so it neither waits for nor disturbs another
    soffice (a second soffice on a shared profile hands its job to the first or fails). soffice runs in its own
    process group, killed as a whole at `timeout` (soffice is a script starting oosplash and soffice.bin).
    Raises PrintError with soffice's output when it fails, times out, or writes no PDF (it exits 0 when it cannot
    load a file).
    """
    xlsx, out_dir = Path(xlsx).resolve(), Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"{xlsx.stem}.pdf"
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="printcheck-lo-") as profile:
        cmd = ["soffice", "--headless", "--norestore", f"-env:UserInstallation={Path(profile).as_uri()}",
               "--convert-to", "pdf", "--outdir", str(out_dir), str(xlsx)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise PrintError(f"soffice did not print {xlsx.name} within {timeout} s\n"
                             f"command: {' '.join(cmd)}\nstdout: {out}\nstderr: {err}") from None
    if proc.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        raise PrintError(f"soffice did not print {xlsx.name} (exit {proc.returncode})\n"
                         f"command: {' '.join(cmd)}\nstdout: {out}\nstderr: {err}")
    return pdf


# ---------------------------------------------------------------- reading the PDF


@dataclass(frozen=True)
class Word:
    """A word as pdftotext boxes it, in points from the page's top left."""

    text: str
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def height(self) -> float:
        return self.y_max - self.y_min

    @property
    def width(self) -> float:
        return self.x_max - self.x_min


@dataclass(frozen=True)
class Line:
    """A line of words as pdftotext groups them (words of one cell row; far-apart cells are separate lines)."""

    words: tuple[Word, ...]
    x_min: float
    y_min: float
    x_max: float
    y_max: float

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def height(self) -> float:
        return self.y_max - self.y_min


@dataclass
class Page:
    number: int  # 1-based, in the PDF
    width: float
    height: float
    lines: list[Line]
    clipped: list[Word] | None = field(default=None, repr=False)  # None: not known (clipping not read)

    @property
    def words(self) -> list[Word]:
        return [w for line in self.lines for w in line.words]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)

    @property
    def is_a4(self) -> bool:
        size = sorted((self.width, self.height))
        return abs(size[0] - A4[0]) <= A4_TOLERANCE and abs(size[1] - A4[1]) <= A4_TOLERANCE


def _run(cmd: list[str], timeout: float = 120) -> bytes:
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise PrintError(f"{cmd[0]} did not finish within {timeout} s: {' '.join(cmd)}") from None
    if done.returncode != 0:
        raise PrintError(f"{' '.join(cmd)} failed (exit {done.returncode}): "
                         f"{done.stderr.decode(errors='replace')}")
    return done.stdout


def _box(e) -> tuple[float, float, float, float]:
    return tuple(float(e.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))  # type: ignore[return-value]


def read_pdf(pdf: Path, clipping: bool = True) -> list[Page]:
    """The PDF's pages with their lines and words (``pdftotext -bbox-layout``, parsed with defusedxml).

    With `clipping`, also renders the pages with ``pdftocairo -svg`` and sets each page's `clipped` words.
    """
    root = SafeET.fromstring(_run(["pdftotext", "-bbox-layout", str(pdf), "-"]))
    pages = []
    for number, p in enumerate(root.iter(f"{_XHTML}page"), start=1):
        lines = []
        for ln in p.iter(f"{_XHTML}line"):
            words = tuple(Word(w.text or "", *_box(w)) for w in ln.iter(f"{_XHTML}word") if (w.text or "").strip())
            if words:
                lines.append(Line(words, *_box(ln)))
        pages.append(Page(number, float(p.get("width")), float(p.get("height")), lines))
    if clipping and pages:
        for page, glyphs in zip(pages, _painted_glyphs(pdf), strict=True):
            page.clipped = _clipped(page, glyphs)
    return pages


# ---------------------------------------------------------------- font size


def estimated_pt(word: Word) -> float:
    """The printed size of `word` in points on paper (font size x print scale): box height / 1.30."""
    return word.height / HEIGHT_PER_PT


def smallest_text_pt(pages: list[Page]) -> float | None:
    """The smallest printed text size on `pages`: the least, over lines, of the median word size of the line.

    The median per line keeps one odd word box (a symbol from a fallback font) from deciding; a line is the unit
    because pdftotext keeps one font size per line only roughly. None when the pages hold no text.
    """
    sizes = [median(estimated_pt(w) for w in line.words) for page in pages for line in page.lines]
    return min(sizes) if sizes else None


# ---------------------------------------------------------------- pages and sheets


def _squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def header_sheet(page: Page, sheet_names: list[str]) -> str | None:
    """The sheet whose name the page's header prints at its left (``set_header('&L&A')``), or None.

    Looks at the lines starting in the top eighth of the page, top-most first (the header is the top line, but
    clipped overflow of a too-short row may be listed above it), and within a line at the longest run of words
    from its left that spells a sheet name (``&L&A&C…`` may land on one line).
    """
    names = {_squash(n): n for n in sheet_names}
    for line in sorted(page.lines, key=lambda ln: ln.y_min):
        if line.y_min > page.height / 8:
            break
        words = sorted(line.words, key=lambda w: w.x_min)
        found = None
        for n in range(1, len(words) + 1):
            found = names.get(_squash("".join(w.text for w in words[:n])), found)
        if found is not None:
            return found
    return None


def pages_by_sheet(pages: list[Page], sheet_names: list[str]) -> dict[str | None, list[Page]]:
    """Pages grouped by the sheet named in their header; every sheet gets a key, header-less pages go under None."""
    grouped: dict[str | None, list[Page]] = {name: [] for name in sheet_names}
    for page in pages:
        grouped.setdefault(header_sheet(page, sheet_names), []).append(page)
    return grouped


# ---------------------------------------------------------------- overprinted, missing, clipped text


def overlapping_words(page: Page, tolerance: float = 0.2) -> list[tuple[Word, Word]]:
    """Pairs of words of different lines whose boxes overlap: text printed over other text.

    Boxes are 1.30 em tall while LibreOffice's lines are 1.45 em apart, so neighbouring lines never touch;
    `tolerance` (a share of the smaller box's height, and at least 0.5 pt across) lets rows set a little tighter
    than 1.3 em pass.
    """
    items = sorted(((w, i) for i, line in enumerate(page.lines) for w in line.words), key=lambda t: t[0].y_min)
    found = []
    for k, (a, la) in enumerate(items):
        for b, lb in items[k + 1:]:
            if b.y_min >= a.y_max:
                break
            if la == lb:
                continue
            dy = min(a.y_max, b.y_max) - max(a.y_min, b.y_min)
            dx = min(a.x_max, b.x_max) - max(a.x_min, b.x_min)
            if dy > tolerance * min(a.height, b.height) and dx > 0.5:
                found.append((a, b))
    return found


def sheet_text(xlsx: Path, sheet_name: str) -> list[str]:
    """The text (string) cells of a sheet that print: not in hidden rows or columns, inside the print area."""
    import openpyxl
    from openpyxl.utils import column_index_from_string, range_boundaries

    wb = openpyxl.load_workbook(xlsx)  # not read-only: row and column dimensions are needed
    try:
        ws = wb[sheet_name]
        hidden_rows = {r for r, d in ws.row_dimensions.items() if d.hidden}
        hidden_cols = set()
        for key, d in ws.column_dimensions.items():
            if d.hidden:
                lo = d.min or column_index_from_string(key)
                hidden_cols.update(range(lo, (d.max or lo) + 1))
        # "'一片'!$A$1:$D$9,'一片'!$F$1:$G$2"; whole columns or rows leave None bounds
        areas = [range_boundaries(a.replace("$", "")) for a in re.findall(r"!([$A-Za-z0-9:]+)", ws.print_area or "")]
        texts = []
        for row in ws.iter_rows():
            for c in row:
                if not isinstance(c.value, str) or c.row in hidden_rows or c.column in hidden_cols:
                    continue
                if areas and not any((a[0] or 1) <= c.column <= (a[2] or c.column)
                                     and (a[1] or 1) <= c.row <= (a[3] or c.row) for a in areas):
                    continue
                texts.append(c.value)
        return texts
    finally:
        wb.close()


def missing_text(xlsx_path: Path, sheet_name: str, pages: list[Page]) -> Counter:
    """Characters of the sheet's text cells that its printed pages lack, as a multiset (whitespace ignored).

    A character counts as printed as often as it appears on the pages (NFKC on both sides), so text that
    LibreOffice leaves out of the PDF (a too-short row, a clipped overflow) shows up here. Only string cells are
    compared (numbers and dates print through their number format); numbers' digits are not required.
    """
    wanted = Counter(_squash("".join(sheet_text(xlsx_path, sheet_name))))
    printed = Counter(_squash("".join(p.text for p in pages)))
    return wanted - printed


def clipped_words(page: Page) -> list[Word]:
    """Words of the page that a clip cuts or hides (needs `read_pdf(..., clipping=True)`, the default)."""
    if page.clipped is None:
        raise ValueError("page read without clipping: use read_pdf(pdf, clipping=True)")
    return page.clipped


@dataclass(frozen=True)
class _Glyph:
    x: float  # origin (on the baseline)
    y: float
    lost: float  # share of the ink box's height or width outside the clip (0 when unclipped)


def _bbox(numbers: list[float]) -> tuple[float, float, float, float] | None:
    if len(numbers) < 2:
        return None
    xs, ys = numbers[0::2], numbers[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def _path_bbox(d: str) -> tuple[float, float, float, float] | None:
    """Bounding box of a path's points, control points included (cairo writes absolute M/L/C/Z only)."""
    return _bbox([float(n) for n in _NUMBER.findall(d)])


def _union(boxes):
    boxes = [b for b in boxes if b]
    if not boxes:
        return None
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def _intersect(a, b):
    if a is None:
        return b
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def _painted_glyphs(pdf: Path) -> list[list[_Glyph]]:
    """Per page, the glyphs that ``pdftocairo -svg`` paints, each with the share a clip takes from it.

    cairo leaves out glyphs wholly outside their clip, writes glyphs wholly inside without one, and wraps the
    others in ``<g clip-path>`` (a rectangle). Glyph outlines are ``<symbol>`` paths at their size on the page.
    """
    root = SafeET.fromstring(_run(["pdftocairo", "-svg", str(pdf), "-"]))
    ink = {s.get("id"): _union(_path_bbox(p.get("d", "")) for p in s.iter(f"{_SVG}path"))
           for s in root.iter(f"{_SVG}symbol")}
    clips = {}
    for cp in root.iter(f"{_SVG}clipPath"):
        if cp.get("transform") or cp.get("clip-path") or any(k.get("transform") for k in cp):
            raise PrintError(f"unexpected clip path in pdftocairo's SVG: {cp.attrib}")
        clips[cp.get("id")] = _union(_path_bbox(k.get("d", "")) for k in cp)
    pages = list(root.iter(f"{_SVG}page")) or [root]

    def walk(element, clip, out):
        for child in element:
            if child.tag == f"{_SVG}g":
                if child.get("transform"):
                    raise PrintError(f"unexpected transform in pdftocairo's SVG: {child.attrib}")
                ref = child.get("clip-path")
                inner = clip
                if ref:
                    box = clips.get(ref.removeprefix("url(#").removesuffix(")"))
                    inner = _intersect(clip, box) if box else clip
                walk(child, inner, out)
            elif child.tag == f"{_SVG}use":
                box = ink.get((child.get(_XLINK_HREF) or "").lstrip("#"))
                if box is None:  # a space: nothing to paint
                    continue
                x, y = float(child.get("x", 0)), float(child.get("y", 0))
                g = (box[0] + x, box[1] + y, box[2] + x, box[3] + y)
                lost = 0.0
                if clip is not None:
                    v = _intersect(clip, g)
                    w, h = g[2] - g[0], g[3] - g[1]
                    lost_w = 1 - max(0.0, v[2] - v[0]) / w if w > 0 else 0.0
                    lost_h = 1 - max(0.0, v[3] - v[1]) / h if h > 0 else 0.0
                    lost = max(lost_w, lost_h)
                out.append(_Glyph(x, y, lost))

    result = []
    for page in pages:
        out: list[_Glyph] = []
        walk(page, None, out)
        result.append(out)
    return result


def _clipped(page: Page, glyphs: list[_Glyph]) -> list[Word]:
    """Words with no painted glyph on their baseline, or with a glyph a clip cuts by more than CLIP_TOLERANCE."""
    if not glyphs:  # nothing painted as glyphs (text drawn as paths?): no judgement
        return []
    by_y = sorted(glyphs, key=lambda g: g.y)
    ys = [g.y for g in by_y]
    clipped = []
    for w in page.words:
        em = w.height / HEIGHT_PER_PT
        base = w.y_min + BASELINE * em
        lo, hi = bisect.bisect_left(ys, base - 0.25 * em), bisect.bisect_right(ys, base + 0.25 * em)
        mine = [g for g in by_y[lo:hi] if w.x_min - 0.1 * em <= g.x <= w.x_max]
        if not mine or any(g.lost > CLIP_TOLERANCE for g in mine):
            clipped.append(w)
    return clipped


# ---------------------------------------------------------------- the whole check


@dataclass
class SheetPrint:
    name: str
    pages: list[Page]
    smallest_pt: float | None
    overlaps: list[tuple[Word, Word]]
    missing: Counter
    clipped: list[Word]


@dataclass
class PrintReport:
    xlsx: Path
    pdf: Path
    pages: list[Page]
    sheets: dict[str, SheetPrint]
    unassigned: list[Page]  # pages whose header names no sheet

    @property
    def page_count(self) -> int:
        return len(self.pages)

    @property
    def pages_per_sheet(self) -> dict[str, int]:
        return {name: len(s.pages) for name, s in self.sheets.items()}

    @property
    def non_a4(self) -> list[Page]:
        return [p for p in self.pages if not p.is_a4]

    def problems(self, min_pt: float = 8) -> list[str]:
        """Readable problems: pages not A4, pages of no sheet, text under `min_pt`, overprinted/missing/cut text."""
        out = [f"page {p.number} is {p.width:.0f} x {p.height:.0f} pt, not A4" for p in self.non_a4]
        if self.unassigned:
            out.append(f"pages {[p.number for p in self.unassigned]} have no sheet name in their header "
                       f"(set_header('&L&A'))")
        for name, s in self.sheets.items():
            if not s.pages:
                if sum(s.missing.values()):
                    out.append(f"{name}: no printed page has its name in the header")
                continue
            if s.smallest_pt is not None and s.smallest_pt < min_pt - 0.05:
                out.append(f"{name}: smallest text {s.smallest_pt:.1f} pt < {min_pt} pt")
            for a, b in s.overlaps[:5]:
                out.append(f"{name}: {a.text!r} printed over {b.text!r} (at {a.x_min:.0f},{a.y_min:.0f} pt)")
            if len(s.overlaps) > 5:
                out.append(f"{name}: … {len(s.overlaps) - 5} more overprinted words")
            if s.missing:
                chars = "".join(s.missing.elements())  # in the order of the cells
                out.append(f"{name}: {sum(s.missing.values())} characters of its cells are not printed: "
                           f"{chars[:40]}{'…' if len(chars) > 40 else ''}")
            for w in s.clipped[:5]:
                out.append(f"{name}: {w.text!r} is printed cut off (at {w.x_min:.0f},{w.y_min:.0f} pt)")
            if len(s.clipped) > 5:
                out.append(f"{name}: … {len(s.clipped) - 5} more cut-off words")
        return out


def visible_sheets(xlsx: Path) -> list[str]:
    """Names of the sheets that print (not hidden), in workbook order."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True)
    try:
        return [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"]
    finally:
        wb.close()


def check_print(xlsx: Path, out_dir: Path, timeout: float = 120) -> PrintReport:
    """Print `xlsx` with LibreOffice and check every page and sheet (see PrintReport.problems)."""
    pdf = to_pdf(xlsx, out_dir, timeout=timeout)
    pages = read_pdf(pdf)
    names = visible_sheets(xlsx)
    grouped = pages_by_sheet(pages, names)
    sheets = {}
    for name in names:
        mine = grouped[name]
        sheets[name] = SheetPrint(
            name=name, pages=mine, smallest_pt=smallest_text_pt(mine),
            overlaps=[pair for p in mine for pair in overlapping_words(p)],
            missing=missing_text(xlsx, name, mine),
            clipped=[w for p in mine for w in clipped_words(p)],
        )
    return PrintReport(Path(xlsx), pdf, pages, sheets, grouped.get(None, []))
