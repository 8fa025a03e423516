"""`demo`: a generated district through two consecutive weeks — intake and report with the clock set for each
step — so carry-over, rectification, rejected and late files are all visible in the workbooks."""

from __future__ import annotations

import datetime as dt
import random
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import DataRootError
from ..core.paths import Paths
from ..core.settings import load_settings
from ..core.weeks import cutoff, shift
from ..intake.run import Progress, run_intake
from ..jobs.context import no_progress
from ..jobs.setup import init_data_root
from ..report.build import ReportResult, build_report
from ..report.summary import OUTCOME_TITLES
from ..report.templates import write_templates
from . import synth

WEEKS = ("2023-W47", "2023-W48")
MARKER = ".inspect-pipeline-demo"
LATE_SHARE = 0.06
STEPS = ("generate", "intake", "late intake", "report", "templates")  # of each week (no late intake in the first)


def run_demo(root: Path, units: int = 240, seed: int = 2023, say: Callable[[str], None] = print,
             progress: Progress | None = None) -> list[ReportResult]:
    """Build the demo under `root` (a fresh folder, or one an earlier demo made) and return both weeks' reports.
    What it did is said line by line (`say`); how far it has got goes to `progress` (`_Outline`)."""
    outline = _Outline(progress, len(WEEKS) * len(STEPS))
    _fresh(root)
    init_data_root(root)
    (root / MARKER).write_text("made by inspect-pipeline demo; `demo` may delete this folder\n", encoding="utf-8")
    config = root / "config.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        .replace('bureau_name = "区教育局"', 'bureau_name = "演示区教育局"'),
        encoding="utf-8",
    )
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    roster = synth.make_roster(units, 6, seed=seed)
    synth.write_roster(roster, paths.roster_file)
    say(f"演示学区：{len(roster)} 所学校，6 个片区 → {paths.roster_file}")
    prior, results = None, []
    rng = random.Random(f"demo-late-{seed}")
    for week in WEEKS:
        stage = root / ".demo-stage"
        with outline.step("generate"):
            files = synth.make_week(roster, week, seed=seed, prior=prior)
            expected = synth.write_week(files, stage)
        on_time_now = dt.datetime.fromisoformat(expected["suggested_now"])
        week_cutoff = cutoff(week, settings)
        late = set() if prior is None else {p for p in expected["files"] if rng.random() < LATE_SHARE}
        with outline.step(None):  # intake tells its own stages
            _move(stage, paths.inbox, exclude=late)
            _intake(paths, settings, on_time_now, say, progress)
        with outline.step(None):
            if late:
                _move(stage, paths.inbox)
                _intake(paths, settings, week_cutoff + dt.timedelta(hours=3), say, progress, label="截止后补报")
        shutil.rmtree(stage, ignore_errors=True)
        with outline.step("report"):
            result = build_report(paths, settings, week, week_cutoff + dt.timedelta(hours=4))
        say(f"{week} 报表第 {result.revision} 版 → {result.folder}")
        with outline.step("templates") as count:
            templates = count(write_templates(paths, settings, shift(week, 1)))
        say(f"{shift(week, 1)} 预填模板 {len(templates)} 个 → {templates[0].parent}")
        results.append(result)
        prior = synth.next_prior(files, prior)
    return results


class _Outline:
    """The demo's steps as `progress` hears of them: the stage `demo` (steps done of all, STEPS per week), and
    each step's own stage begun and ended (a step given no stage tells its own: intake's archive, read, receipts)."""

    def __init__(self, progress: Progress | None, total: int):
        self.tell, self.total, self.done = no_progress if progress is None else progress, total, 0
        self.tell("demo", 0, total)

    @contextmanager
    def step(self, stage: str | None) -> Iterator[Callable[[list], list]]:
        """The step's stage told begun, then ended with the count of what the step made (`count(items)`, else 1)."""
        made = [1]

        def count(items: list) -> list:
            made[0] = len(items)
            return items

        if stage:
            self.tell(stage, 0, 0)
        yield count
        if stage:
            self.tell(stage, made[0], made[0])
        self.done += 1
        self.tell("demo", self.done, self.total)


def _fresh(root: Path) -> None:
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).exists():
            raise DataRootError(f"{root} 不是空目录，也不是演示目录：请换一个目录（--data-root）以免覆盖数据")
        shutil.rmtree(root)


def _move(stage: Path, inbox: Path, exclude: set[str] = frozenset()) -> None:
    for path in sorted(p for p in stage.rglob("*") if p.is_file()):
        rel = path.relative_to(stage).as_posix()
        if rel in exclude:
            continue
        target = inbox / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)


def _intake(paths: Paths, settings, now: dt.datetime, say, progress: Progress | None, label: str = "收件") -> None:
    result = run_intake(paths, settings, now, progress, settle=False)  # the demo wrote its inbox just before
    counts = "，".join(f"{OUTCOME_TITLES.get(k, k)} {v}" for k, v in sorted(result.outcomes.items()))
    say(f"{now:%Y-%m-%d %H:%M} {label}：{result.files} 个文件（{counts}）")
