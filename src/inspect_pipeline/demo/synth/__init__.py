"""A synthetic district: a roster and a week of school workbooks, with the outcome the spec expects for each file.

Used by tests, benchmarks and the demo. Everything is deterministic by `seed` (one `random.Random` per purpose,
seeded by strings; no global random state, no clock): the same arguments give the same roster, the same files
byte for byte, and the same expected outcomes.

    roster = make_roster(240, 6, seed=0)
    write_roster(roster, root / "roster.xlsx")
    week = make_week(roster, "2023-W47", seed=0)           # list[SynthFile] (a SynthWeek)
    expected = write_week(week, root / "inbox")            # files under inbox/<school>/..., outcomes by path
    week2 = make_week(roster, "2023-W48", seed=0, prior=next_prior(week))   # hazards carried over

Each file's `expected` follows the spec (submission.md): `outcome` accepted | rejected | None (ignored temp
file), `errors` and `warnings` as sorted lists of `[cell, code]` with Excel addresses (`G7`) or None, computed by
the cell rules of §"Which cell an issue points at". The expectations assume the files arrive in the named week
before its cutoff (an intake run with e.g. `--now` = `expected["suggested_now"]`).

Workbooks are written by a small built-in SpreadsheetML/ODF writer (fast, byte-reproducible, and independent of
the libraries the pipeline reads with).

Kinds of file (`SynthFile.kind`):
- valid: the official layout (merged title, header block, canonical headers in row 4, real Excel dates, footer).
- messy: accepted files written the way schools write them; `expected["features"]` names what was done
  (aliases, reordering, two-row 五落实 header, line breaks, synonyms, text/full-width/year-less dates, 简称 as unit,
  template rows, 合计, 以下空白, 元 column, merged 部位 cells, CSV in UTF-8/GB18030, ODS, extra columns → warning
  `extra-column`, hidden row → `hidden-rows`, `11.3` numbers → `ambiguous-date`, a >365-day-old hazard →
  `old-hazard`, a misspelt unit with a correct code → `unit-name-mismatch`, a running workbook with last week's
  sheet, hidden/instruction sheets).
- zero: 零报告 (statement as a data row, above the table, or a sheet without table); one in six says nothing and
  expects `zero-report-assumed`.
- invalid: one or two `DEFECTS`, each with the cell of submission.md §"Which cell an issue points at".
- unreadable: 0-byte xlsx, truncated xlsx (`unreadable-file`); PDF or HTML renamed .xls, .docx, .jpg
  (`unsupported-format`).
- temp: `~$…xlsx` and `.~lock.…#` next to a school's workbook (ignored: outcome None).

Readings of the spec this generator relies on (kept to cases every reasonable reading agrees on):
- Shares: missing, zero, invalid, unreadable and messy are drawn first; valid is the rest (~51% of due units).
- Defects never depend on an interpretation: a row given a bad level/status has every conditional field filled;
  `missing-column` never drops 整改状态; duplicated columns repeat the same values; an unknown name comes without a
  code (the code would win); a wrong week always carries its year (a bare 第N周 may be a teaching week); an empty
  填报单位 label stands alone on its row (or is deleted) so no neighbouring cell reads as its value; sheet-level
  defects (no-header-row, ambiguous-sheet) come alone and imply no cell-level issue.
- `ambiguous-date` is generated only for one-digit days (`11.3` → November 3rd, warned under every reading);
  whether an unambiguous `11.23` number also warns is left open.
- A running workbook (sheets 第46周 then 第47周, no 周次 field, week in each title) is accepted on sheet 第47周:
  for the sheet choice the spec names the 周次 field, else the arrival week (titles do not take part).
- Extra columns never sit in a two-row header (which of the two rows the warning names is not fixed).
- Dates of valid files end the day before the cutoff date; year-less dates appear only where the spec's year rules
  read them back to the same day. 隐患编号 is empty or the school's own numbering (never the pipeline's form), so
  identity across weeks is (排查日期, 部位, 描述).
- Weeks chained with `next_prior`: a file lists every hazard not yet 已销号 (and any the pipeline still holds
  open), statuses only move forward, and zero reports come only from schools with nothing to carry, so no
  `hazard-dropped`/`hazard-reopened` is expected. `expected["hazards"]["new"]` assumes every earlier generated week
  of the chain went through the pipeline.

Not generated (no offline writer): real `.xls`/`.xlsm`/`.et` and password-protected workbooks.

The package, by concern: `vocabulary` (names, hazards, what is read from schemas/), `week_dates`, `school_names`
and `roster` (make_roster, write_roster), `hazards` (Hazard, a school's ledger week by week), `sheets` (the sheet
model and its layout), `rendering` (how a school writes each value), `documents` (a valid file), `messy`,
`defects` (invalid files), `other_files` (zero reports, unreadable and temp files), `inbox` (SynthFile, SynthWeek,
write_week, next_prior), `week` (make_week, generate_district) and `writers` (xlsx, ods, csv). This module keeps
the names importers use.
"""

from __future__ import annotations

from .defects import BLOCK_DEFECTS as BLOCK_DEFECTS
from .defects import DEFECTS as DEFECTS
from .defects import ROW_DEFECTS as ROW_DEFECTS
from .defects import SHEET_DEFECTS as SHEET_DEFECTS
from .defects import TABLE_DEFECTS as TABLE_DEFECTS
from .hazards import Hazard
from .inbox import SynthFile, SynthWeek, next_prior, write_week
from .roster import make_roster, write_roster
from .week import generate_district, make_week
from .week_dates import is_active as is_active

__all__ = [
    "Hazard",
    "SynthFile",
    "SynthWeek",
    "generate_district",
    "make_roster",
    "make_week",
    "next_prior",
    "write_roster",
    "write_week",
]
