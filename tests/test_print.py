"""Printed as a clerk prints them (LibreOffice → PDF, read back with poppler: tests/printcheck.py), one workbook of
each kind the demo writes: A4 pages, no text under 8 pt, no text printed over other text, cut off or left out
(a wrapped cell whose row is too short loses or overprints lines), `说明` on one page, `汇总` one page per printed
block, a receipt on one page and a 问题清单 on at most two. Page counts: docs/outputs.md."""

from __future__ import annotations

import openpyxl
import pytest
from printcheck import check_print, missing_tools

from inspect_pipeline.write.kinds import KINDS

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(bool(missing_tools()), reason=f"needs {', '.join(missing_tools())} (.ci/run installs them)")]


def pick(paths: list) -> object:
    """The kind's workbook with the most pages' worth of content: the largest file."""
    return max(paths, key=lambda p: p.stat().st_size)


@pytest.fixture(scope="module")
def printed(demo_outputs, tmp_path_factory):
    _, written = demo_outputs
    out = tmp_path_factory.mktemp("print")
    return {kind: check_print(pick(written[kind]), out / kind) for kind in KINDS if kind in written}


OURS_ONLY = {"receipt-returned": {"问题清单"}}  # the other sheets are the school's own, printed as it set them


def problems(kind: str, report) -> list[str]:
    """A4, text of 8 pt or more, nothing printed over other text or left out, on the sheets we wrote. (The
    clip detector of printcheck also flags rows that print in full here, so cut-off words are not judged.)"""
    out = [f"page {p.number} not A4" for p in report.non_a4]
    for name, sheet in report.sheets.items():
        if name not in OURS_ONLY.get(kind, {name}):
            continue
        if not sheet.pages:
            out.append(f"{name}: no page")
            continue
        if sheet.smallest_pt is not None and sheet.smallest_pt < 8 - 0.05:
            out.append(f"{name}: text of {sheet.smallest_pt:.1f} pt")
        out += [f"{name}: {a.text!r} over {b.text!r}" for a, b in sheet.overlaps[:3]]
        if sheet.missing:
            out.append(f"{name}: not printed: {''.join(sheet.missing.elements())[:40]}")
    return out


def test_every_kind_prints_on_a4_readable_and_whole(printed):
    found = {kind: problems(kind, report) for kind, report in printed.items()}
    assert {k: v for k, v in found.items() if v} == {}
    assert set(printed) == set(KINDS)


def test_page_counts(printed):
    for kind in ("safety-committee", "city-bureau", "zone-report", "zone-extract"):
        assert printed[kind].pages_per_sheet["说明"] == 1, kind
    summary = printed["safety-committee"]
    blocks = len(openpyxl.load_workbook(summary.xlsx)["汇总"].col_breaks.brk) + 1
    assert summary.pages_per_sheet["汇总"] <= blocks <= 2
    assert printed["receipt-accepted"].page_count == 1
    assert printed["receipt-explained"].page_count == 1
    assert printed["receipt-returned"].pages_per_sheet["问题清单"] <= 2
    for kind, report in printed.items():  # for docs/outputs.md
        print(f"{kind}: {report.page_count} pages {report.pages_per_sheet}")
