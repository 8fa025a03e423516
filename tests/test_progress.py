"""Long work tells its progress through the jobs (jobs.context.Progress: `progress(stage, done, total)`), which the
CLI draws as bars on stderr; the library and the jobs print nothing themselves."""

from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.demo.run import STEPS, WEEKS, run_demo
from inspect_pipeline.jobs.context import open_run
from inspect_pipeline.jobs.rebuild import rebuild_week
from inspect_pipeline.jobs.report import templates, weekly_report
from support import drop, hazard, school_book
from test_figures import build


class Heard(list):
    """Every progress call, in order."""

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.append((stage, done, total))

    def of(self, stage: str) -> list[tuple[int, int]]:
        return [(done, total) for s, done, total in self if s == stage]


def well_formed(heard: Heard) -> None:
    """Each call is sane: 0 ≤ done ≤ total, or a stage begun whose size is unknown (0 of 0)."""
    for stage, done, total in heard:
        assert 0 <= done <= total, (stage, done, total)


def test_the_weekly_report_tells_each_step_begun_and_ended(tmp_path):
    root = build(tmp_path)
    run = open_run(root, "2023-11-24T16:00:00+08:00")
    heard = Heard()
    done = weekly_report(run, "2023-W47", close_intake=False, progress=heard)
    well_formed(heard)
    assert heard.of("report") == [(0, 0), (1, 1)] and heard.of("mail") == [(0, 0), (1, 1)]
    assert heard.of("templates") == [(0, 0), (done["templates"], done["templates"])] and done["templates"] == 4
    assert [s for s, _, _ in heard] == ["report", "report", "templates", "templates", "mail", "mail"]  # in order


def test_the_closing_intake_of_the_weekly_report_tells_its_files(tmp_path):
    root = build(tmp_path)
    drop(root, "银中/补.xlsx", school_book(unit="银中", rows=[hazard("食堂排烟罩油污")]))
    heard = Heard()
    weekly_report(open_run(root, "2023-11-24T18:00:00+08:00"), "2023-W47", templates=False, progress=heard)
    assert heard.of("archive")[-1] == (1, 1) and heard.of("read") == [(0, 1), (1, 1)]
    assert heard.of("receipts")[-1] == (1, 1)


def test_templates_tell_how_many_were_written(tmp_path):
    root = build(tmp_path)
    heard = Heard()
    written = templates(open_run(root, "2023-11-24T16:00:00+08:00"), "2023-W48", progress=heard)
    assert heard == [("templates", 0, 0), ("templates", len(written), len(written))] and len(written) == 4


def test_rebuild_tells_each_replayed_run(tmp_path):
    root = build(tmp_path)  # four intake runs
    settings = load_settings(root)
    heard = Heard()
    result = rebuild_week(Paths.at(root, settings), settings, "2023-W47", progress=heard)
    assert result.same and result.runs == 4
    assert heard.of("replay") == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    assert heard.of("compare") == [(0, 0), (1, 1)]
    assert {s for s, _, _ in heard} == {"replay", "compare"}  # the replayed intakes tell nothing of their own


def test_the_demo_tells_its_steps_and_each_intake(tmp_path):
    heard = Heard()
    said: list[str] = []
    run_demo(tmp_path / "demo", units=12, say=said.append, progress=heard)
    well_formed(heard)
    total = len(WEEKS) * len(STEPS)
    assert heard.of("demo") == [(k, total) for k in range(total + 1)]  # every step, once, in order
    assert heard.of("generate") == [(0, 0), (1, 1)] * len(WEEKS) and heard.of("report") == [(0, 0), (1, 1)] * 2
    assert len([t for t in heard.of("templates") if t == (0, 0)]) == len(WEEKS)
    reads = heard.of("read")
    assert reads[0][0] == 0 and reads[1][0] == reads[1][1] > 0  # begun, then all read
    assert any("收件" in line and "已受理" in line for line in said), said


def test_the_cli_draws_no_bars_when_stderr_is_no_terminal(tmp_path):
    """Under a test (or a redirect) stderr is no terminal: the output is only what the command says."""
    root = build(tmp_path)
    result = CliRunner().invoke(app, ["rebuild", "--data-root", str(root), "--week", "2023-W47"])
    assert result.exit_code == 0 and "重算结果与记录一致" in result.output, result.output
    assert "━" not in result.output and "0:00:0" not in result.output and "\x1b" not in result.output


def test_progress_is_optional_everywhere(tmp_path):
    """A job run without a progress (the flows) behaves as before."""
    root = build(tmp_path)
    run = open_run(root, dt.datetime(2023, 11, 24, 16, tzinfo=dt.timezone(dt.timedelta(hours=8))))
    assert weekly_report(run, "2023-W47", close_intake=False, templates=False)["revision"] == 1


def test_only_the_cli_draws():
    """Typer and Rich's consoles, bars and live displays are the CLI's; the library and the jobs tell their progress
    through a callback (core/terminal.py only escapes text with Rich's markup helpers)."""
    import ast
    from pathlib import Path

    import inspect_pipeline

    package = Path(inspect_pipeline.__file__).parent
    drawing = {}
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                if name.split(".")[0] in ("typer", "click") or (name.startswith("rich") and name not in (
                        "rich.markup", "rich.text")):
                    drawing.setdefault(path.relative_to(package).as_posix(), set()).add(name)
    assert set(drawing) == {"cli.py"}, drawing
