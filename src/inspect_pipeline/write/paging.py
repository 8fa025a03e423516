"""Print set-up decided from the measured sheet: A4; portrait when the columns fit its width with text at 8 pt
or more, else landscape; fitted to the page width when that keeps text at 8 pt or more, otherwise printed at a
readable scale in blocks of columns (never splitting a block), each page repeating the label columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from .measure import BASE_PT, MIN_PT, printed_points

A4_PORTRAIT = (595.0, 842.0)
MARGIN_IN = {"left": 0.4, "right": 0.4, "top": 0.75, "bottom": 0.75, "header": 0.3, "footer": 0.25}
SAFETY = 1.08  # a readable scale keeps the planned text this much above 8 pt
FIT_SAFETY = 1.14  # fitting to the page width, more: LibreOffice fits tighter than columns need (8.3 pt planned, 7.9 printed)
FILL = 0.92  # a block fills at most this share of the page width (office programs measure columns a little wider)


@dataclass(frozen=True)
class PagePlan:
    landscape: bool
    fit_width: bool  # fit all columns to one page width
    scale: int  # percent, when not fitted
    breaks: list[int] = field(default_factory=list)  # first column of each printed block after the first
    one_page: bool = False  # the whole sheet on one page (fit both ways)


def printable_width(landscape: bool) -> float:
    width = A4_PORTRAIT[1] if landscape else A4_PORTRAIT[0]
    return width - 72 * (MARGIN_IN["left"] + MARGIN_IN["right"])


def min_scale(size: float = BASE_PT) -> float:
    return MIN_PT / size * SAFETY


def plan(widths: list[float], *, size: float = BASE_PT, blocks: list[tuple[int, int]] | None = None,
         labels: int = 0, one_page: bool = False, landscape: bool | None = None) -> PagePlan:
    """The page set-up for columns of `widths` (units) with body text of `size` points. `blocks` are column spans
    (first, last) that must print together (default: each column); the first `labels` columns repeat on every
    page of a split sheet."""
    total = sum(printed_points(w) for w in widths)
    smallest = min_scale(size)
    for wide in ((False, True) if landscape is None else (landscape,)):
        if total * MIN_PT / size * FIT_SAFETY <= printable_width(wide):
            return PagePlan(landscape=wide, fit_width=True, scale=100, one_page=one_page)
    room = printable_width(True) / smallest * FILL
    label_pt = sum(printed_points(w) for w in widths[:labels])
    spans = blocks or [(c, c) for c in range(labels, len(widths))]
    breaks, used = [], label_pt
    for first, last in spans:
        span_pt = sum(printed_points(w) for w in widths[first:last + 1])
        if used + span_pt > room and used > label_pt:
            breaks.append(first)
            used = label_pt
        used += span_pt
    widest = max(_block_widths(widths, spans, breaks, label_pt), default=total)
    scale = min(100, int(printable_width(True) * FILL / widest * 100))
    return PagePlan(landscape=True, fit_width=False, scale=max(scale, int(smallest * 100 + 0.999)), breaks=breaks)


def _block_widths(widths: list[float], spans: list[tuple[int, int]], breaks: list[int], label_pt: float):
    starts = [spans[0][0], *breaks] if spans else []
    ends = [*[b - 1 for b in breaks], spans[-1][1]] if spans else []
    for first, last in zip(starts, ends):
        yield label_pt + sum(printed_points(w) for w in widths[first:last + 1])


def apply_xlsxwriter(ws, page: PagePlan, *, repeat_rows: tuple[int, int] | None, labels: int = 0) -> None:
    ws.set_paper(9)  # A4
    ws.set_landscape() if page.landscape else ws.set_portrait()
    ws.set_margins(**{k: v for k, v in MARGIN_IN.items() if k not in ("header", "footer")})
    if page.one_page:
        ws.fit_to_pages(1, 1)
    elif page.fit_width:
        ws.fit_to_pages(1, 0)
    else:
        ws.set_print_scale(page.scale)
        ws.set_v_pagebreaks(page.breaks)
        if labels:
            ws.repeat_columns(0, labels - 1)
    if repeat_rows is not None:
        ws.repeat_rows(*repeat_rows)


def apply_openpyxl(ws, page: PagePlan, *, repeat_rows: tuple[int, int] | None) -> None:
    """The same set-up on an openpyxl sheet (the 问题清单 of an annotated receipt)."""
    from openpyxl.worksheet.pagebreak import Break

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if page.landscape else "portrait"
    for side, inches in MARGIN_IN.items():
        setattr(ws.page_margins, side, inches)
    if page.fit_width or page.one_page:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if page.one_page else 0
    else:
        ws.page_setup.scale = page.scale
        for col in page.breaks:
            ws.col_breaks.append(Break(id=col))
    if repeat_rows is not None:
        ws.print_title_rows = f"{repeat_rows[0] + 1}:{repeat_rows[1] + 1}"
