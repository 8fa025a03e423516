"""The `inspect-pipeline` command (Typer + Rich). Every failure prints one clear line and exits with its code
(errors.py, README "Exit codes"); log records go to the data root's log file, never to the terminal; text from
outside (file, school and zone names, addresses) is printed escaped (terminal.py)."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from . import __version__
from .core.errors import ConfigError, LockBusy, PipelineError, as_pipeline_error
from .core.logs import route_cli_logs
from .core.terminal import cell, markup_safe

app = typer.Typer(
    name="inspect-pipeline",
    help="学校安全隐患排查整治周报流水线 — weekly school safety-inspection pipeline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DataRoot = Annotated[Path, typer.Option("--data-root", help="Data root folder (inbox/, archive/, receipts/ …).")]
Now = Annotated[
    str | None,
    typer.Option("--now", help="The current time, ISO 8601 (e.g. 2023-11-23T10:00:00+08:00); default: the real clock."),
]
Debug = Annotated[bool, typer.Option("--debug", help="Show the full traceback of a failure, and log lines.")]


def _fail(exc: BaseException, debug: bool, data_root: Path | None = None) -> NoReturn:
    """One line on stderr and the failure's exit code (errors.as_pipeline_error); `--debug`: the traceback."""
    if debug:
        raise exc
    error = as_pipeline_error(exc, None if isinstance(exc, PipelineError) else _paths_if_any(data_root))
    err_console.print(f"[bold red]错误[/]：{markup_safe(error)}", soft_wrap=True, highlight=False)
    raise typer.Exit(error.exit_code)


def _paths_if_any(data_root: Path | None):
    """The data root's paths for naming its folders and database in an error line; None if it cannot be opened."""
    from .core.paths import Paths
    from .core.settings import load_settings

    if data_root is None or not data_root.is_dir():
        return None
    try:
        return Paths.at(data_root, load_settings(data_root))
    except Exception:  # noqa: BLE001 - the error line is said without them
        return None


@app.command()
def init(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """Create a working data root: folders, default config.toml, a roster template, the database."""
    from .jobs.setup import init_data_root

    route_cli_logs(None, debug=debug)
    try:
        created = init_data_root(data_root)
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        _fail(exc, debug, data_root)
    for path in created:
        console.print(f"  created {markup_safe(path)}")
    console.print(f"数据目录已就绪：{markup_safe(data_root.resolve())}。请在 roster.xlsx 中填写学校名单，学校报表放入 inbox/。")


@app.command()
def intake(data_root: DataRoot = Path("data"), now: Now = None, debug: Debug = False) -> None:
    """Process the inbox once: archive, read, validate, record, receipts, manifests; mail receipts if mail is set.
    Runs as the Prefect flow `intake` when PREFECT_API_URL is set."""
    from .jobs.intake import intake as intake_job

    try:
        run = _ready(data_root, now, debug)
        if _through_prefect():
            done = _flow("intake")(data_root=str(run.paths.root), now=run.now.isoformat())
        else:
            with _progress() as bar:
                done = intake_job(run, progress=_stage_bar(bar))
        if done["skipped"]:
            raise LockBusy(done["skipped"])
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    _print_result(done)
    _print_mail(done["mail"], "回执")


def _stage_bar(bar: Progress):
    tasks: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=total or 1)
        bar.update(tasks[stage], completed=done, total=total or 1)

    return report


def _through_prefect() -> bool:
    """One-off runs go through the flows (and appear in the Prefect UI) when a Prefect API is configured."""
    return bool(os.environ.get("PREFECT_API_URL"))


def _flow(name: str):
    """A flow of `inspect_pipeline.flows`, imported only now (Prefect costs seconds to import); its console lines below
    warnings stay out of the terminal (they are in the UI)."""
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    import importlib

    module = importlib.import_module(f"inspect_pipeline.flows.{name}")
    return getattr(module, name)


def _print_mail(mailed: dict, what: str) -> None:
    if mailed["sent"]:
        console.print(f"{what}邮件已发送 {mailed['sent']} 封。")
    for failure in mailed["failed"]:
        err_console.print(f"[yellow]{what}邮件未能发给 {markup_safe(failure['收件人'])}：{markup_safe(failure['错误'])}"
                          "（下次运行时重发）[/]", soft_wrap=True)


_STAGES = {"archive": "归档", "read": "读取", "receipts": "回执"}


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(), console=err_console, transient=True, disable=not err_console.is_terminal,
    )


def _print_result(done: dict) -> None:
    from .report.summary import OUTCOME_TITLES

    if done["run_id"] is None and not done["recovered"]:
        console.print("收件箱中没有新文件。")
    table = Table(title="本次收件", show_header=True)
    table.add_column("结果")
    table.add_column("文件数", justify="right")
    for outcome, count in sorted(done["outcomes"].items()):
        table.add_row(OUTCOME_TITLES.get(outcome, outcome), str(count))
    if done["outcomes"]:
        console.print(table)
    if done["left_for_next_run"]:
        console.print(f"{done['left_for_next_run']} 个文件仍在写入，留待下次处理。")
    if done["weeks"]:
        console.print("清单：" + "，".join(f"receipts/{w}/manifest.json" for w in done["weeks"]))


WeekOption = Annotated[str | None, typer.Option("--week", help="The week, e.g. 2023-W47; default: the last closed week.")]


def _week(week: str | None, moment: dt.datetime, settings, ahead: int | None = None) -> str:
    """The week of a --week option (`2023-W9`, `2023w09`, `2023年第9周`) as its label (`2023-W09`), default the
    last closed week; with `ahead`, refused when later than the current week + `ahead`."""
    from .core.weeks import Week, week_of

    current = Week.parse(week_of(moment, settings))
    if week is None:
        return current.shift(-1).label  # the last week whose cutoff has passed
    try:
        chosen = Week.parse(week)
    except ValueError:
        raise ConfigError(f"--week “{week}” 不是周次（例如 2023-W47 或 2023年第47周）") from None
    if ahead is not None and chosen > current.shift(ahead):
        raise ConfigError(f"--week {chosen} 还没有到：现在是 {current}，此命令最晚只能用于 {current.shift(ahead)}")
    return chosen.label


def _ready(data_root: Path, now: str | None, debug: bool):
    """The command's run over the data root (jobs.context.Run); its log records go to the log file from now on."""
    from .jobs.context import open_run

    route_cli_logs(None, debug=debug)
    run = open_run(data_root, now)
    route_cli_logs(run.paths, debug=debug)
    return run


@app.command()
def report(
    data_root: DataRoot = Path("data"),
    week: WeekOption = None,
    now: Now = None,
    templates: Annotated[bool, typer.Option(help="Also write next week's templates for every school.")] = True,
    roster: Annotated[str, typer.Option(
        "--roster", help="week: attribute schools by the roster the week was first reported with; current: by "
                         "today's roster (a correction).")] = "week",
    debug: Debug = False,
) -> None:
    """Write the week's workbooks (区安委办, 市教育局, 包片包校) and manifest as reports/<week>/r<N>/, and next
    week's pre-filled templates; mail them if mail is set. Runs as the Prefect flow `weekly-report` (without
    its closing intake) when PREFECT_API_URL is set."""
    from .core.weeks import shift
    from .jobs.report import weekly_report

    try:
        run = _ready(data_root, now, debug)
        chosen = _week(week, run.now, run.settings, ahead=0)
        if roster not in ("week", "current"):
            raise ConfigError(f"--roster “{roster}” 不是可选的值：week（按该周首次报告时的名单）或 current（按当前名单）")
        options = {"templates": templates, "close_intake": False, "roster_current": roster == "current"}
        if _through_prefect():
            done = _flow("weekly_report")(data_root=str(run.paths.root), week=chosen, now=run.now.isoformat(),
                                          **options)
        else:
            done = weekly_report(run, chosen, **options)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    if done["skipped"]:
        console.print(f"{chosen} 是不报送周（config.toml 的 no_report_weeks），不生成周报。")
        return
    outputs = done["manifest"]["outputs"]
    if not done["manifest"]["files"]:
        console.print(f"注意：{chosen} 没有收到任何文件，报表中所有应报单位都计为未报。")
    if done["left_out"]:
        console.print(f"注意：按 --now 时刻的记录生成；此后收到的 {done['left_out']} 个本周或更早周次的文件未计入。")
    if not done["written"]:
        console.print(f"{chosen} 的报表没有变化，仍是第 {done['revision']} 版：")
    else:
        console.print(f"{chosen} 报表第 {done['revision']} 版已生成：")
    for path in (*(outputs[key] for key in ("safety_committee", "city_bureau", "zone_report")),
                 *outputs["zone_extracts"].values()):
        console.print(f"  {markup_safe(run.paths.root / path)}")
    console.print(f"  {markup_safe(Path(done['folder']) / 'manifest.json')}")
    if done["templates"]:
        console.print(f"下周模板 {done['templates']} 个（空白模板及各校预填模板）→ "
                      f"{markup_safe(run.paths.templates_root / shift(chosen, 1))}", soft_wrap=True)
    _print_mail(done["mail"], "报表")


@app.command()
def status(data_root: DataRoot = Path("data"), week: WeekOption = None, now: Now = None, debug: Debug = False) -> None:
    """Who has reported this week, per zone; which reports are stale; which mails are still unsent; which files
    are still in the inbox, and why."""
    from .report.status import (
        inbox_left,
        stale_reports,
        unsent_mail,
        week_status_by_zone,
    )

    try:
        run = _ready(data_root, now, debug)  # --now means "as if it were then": the same week as the real clock then
        chosen = _week(week, run.now, run.settings) if week else _current_at(run.now, run.settings)
        rows = week_status_by_zone(run.paths, run.settings, chosen, as_of=run.now)
        stale = stale_reports(run.paths, run.settings)
        unsent = unsent_mail(run.paths)
        left = inbox_left(run.paths)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    table = Table(title=f"{chosen} 报送情况")
    for title in ("片区", "应报", "已报", "按时", "迟报", "未报", "退回未重报"):
        table.add_column(title, justify="left" if title == "片区" else "right", no_wrap=True)
    for r in rows:
        table.add_row(cell(r["zone"]), *(str(r[k]) for k in ("due", "received", "on_time", "late", "missing", "rejected")),
                      style="bold" if r["zone"] == "合计" else None)
    console.print(table)
    for stale_report in stale:
        week_label = markup_safe(stale_report["week"])
        console.print(f"[yellow]{week_label} 第 {stale_report['revision']} 版报表之后又收到 {stale_report['newer_files']} "
                      f"个文件：请运行 inspect-pipeline report --week {week_label} 生成新版本[/]")
    if unsent:
        console.print(f"[yellow]{len(unsent)} 封邮件尚未发出，下次运行时重发：[/]")
    for m in unsent[:10]:
        console.print(f"  {markup_safe(m['recipient'])}《{markup_safe(m['subject'])}》已试 {m['attempts']} 次："
                      f"{markup_safe(m['error'] or '')}", soft_wrap=True, highlight=False)
    if left:
        console.print(f"[yellow]收件箱中还有 {len(left)} 个文件：[/]")
    for item in left[:20]:
        console.print(f"  inbox/{markup_safe(item['path'])}：{item['reason']}", soft_wrap=True, highlight=False)


@app.command()
def template(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option("--week", help="The week the templates are for; default: this week.")] = None,
    school: Annotated[str | None, typer.Option("--school", help="Only this school (code or full name).")] = None,
    now: Now = None,
    debug: Debug = False,
) -> None:
    """Write templates/<week>/: the blank template and a pre-filled one per school (open hazards and their numbers)."""
    from .jobs.report import templates

    try:
        run = _ready(data_root, now, debug)
        chosen = _week(week, run.now, run.settings, ahead=1) if week else _current_at(run.now, run.settings)
        written = templates(run, chosen, school)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    console.print(f"{chosen} 模板 {len(written)} 个 → {markup_safe(written[0].parent)}", soft_wrap=True)


def _current_at(moment: dt.datetime, settings) -> str:
    from .core.weeks import week_of

    return week_of(moment, settings)


@app.command()
def remind(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option("--week", help="The week, e.g. 2023-W47; default: this week (the next cutoff).")] = None,
    now: Now = None,
    debug: Debug = False,
) -> None:
    """List, per 包校责任人, the units not yet reported and those rejected and not resubmitted, as
    reports/<week>/reminders/<stamp>/ (workbook and markdown), and mail each owner their list if mail is set.
    Runs as the Prefect flow `reminders` when PREFECT_API_URL is set."""
    from .core.weeks import is_reported
    from .jobs.remind import reminders

    try:
        run = _ready(data_root, now, debug)
        settings = run.settings
        chosen = _week(week, run.now, settings, ahead=0) if week else _current_at(run.now, settings)
        if _through_prefect():
            done = _flow("reminders")(data_root=str(run.paths.root), week=chosen, now=run.now.isoformat())
        else:
            done = reminders(run, chosen)
        owners, folder, mailed = done["owners"], Path(done["folder"]), done["mail"]
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    listed = [o for o in owners if o["units"]]
    if listed:
        table = Table(title=f"{chosen} 催报提醒")
        for title in ("包校科室", "包校责任人", "未报", "退回未重报", "邮箱"):
            table.add_column(title, justify="right" if title in ("未报", "退回未重报") else "left",
                             no_wrap=title != "邮箱", overflow="fold")
        for o in listed:
            table.add_row(cell(o["section"]), cell(o["section_owner"]), str(o["unreported"]), str(o["rejected"]),
                          cell(o["owner_email"]) if o["owner_email"] else Text("（未填）", style="yellow"))
        console.print(table)
    else:
        console.print(f"{chosen}：{'本周不需报送' if not is_reported(chosen, settings) else '全部已报'}，无需催报。")
    console.print(f"催报名单 → {markup_safe(folder)}", soft_wrap=True)
    _print_mail(mailed, "催报")
    if settings.mail.enabled and settings.mail.reminders:
        no_address = [o["section_owner"] for o in listed if not o["emails"]]
        if no_address:
            console.print(f"[yellow]{markup_safe('、'.join(no_address))} 在名单中没有责任人邮箱，请另行通知。[/]",
                          soft_wrap=True)


@app.command()
def serve(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """Run the flows on their schedules until stopped (Ctrl+C): intake every 10 minutes, reminders Thursday
    15:00 and Friday 09:00, the weekly report Friday 12:30 (section `schedule` of config.toml). Starts and supervises
    a local Prefect server (UI at http://127.0.0.1:4200, section `server`) unless PREFECT_API_URL is set."""
    try:
        run = _ready(data_root, None, debug)
        settings, paths = run.settings, run.paths
        from .flows.serve import serve_forever

        where = os.environ.get("PREFECT_API_URL") or f"http://{settings.server.host}:{settings.server.port}"
        console.print(f"定时运行已启动（Prefect 界面 {markup_safe(where.removesuffix('/api'))}，日志 "
                      f"{markup_safe(paths.log_file)}）；按 Ctrl+C 停止。", soft_wrap=True)
        serve_forever(paths, settings)
    except KeyboardInterrupt:
        console.print("已停止。")
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)


@app.command()
def rebuild(data_root: DataRoot = Path("data"), week: WeekOption = None, now: Now = None, debug: Debug = False) -> None:
    """Recompute a week from the archive into a fresh database and check it gives the record's figures."""
    from .jobs.rebuild import rebuild_week

    try:
        run = _ready(data_root, now, debug)
        chosen = _week(week, run.now, run.settings)
        result = rebuild_week(run.paths, run.settings, chosen)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    totals = result.rebuilt["totals"]["cumulative"]
    console.print(f"{chosen}：从归档重放 {result.files} 个文件（{result.runs} 次收件），"
                  f"累计发现隐患 {totals['found']}，已整改 {totals['rectified']}。")
    if result.same:
        console.print("重算结果与记录一致。")
        return
    differing = [k for k in result.rebuilt if result.rebuilt[k] != result.recorded[k]]
    err_console.print(f"[bold red]错误[/]：重算结果与记录不一致（{'、'.join(differing)}）；请用 --debug 运行并报告。")
    raise typer.Exit(6)


@app.command()
def restore(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """从归档重建丢失的数据库：把 archive/ 中收到的每个文件按原收件时间重新收件，记入空的数据库。
    Rebuild a lost record (empty, damaged and moved away, or deleted database) from the archive."""
    from .jobs.restore import restore_record

    try:
        run = _ready(data_root, None, debug)
        result = restore_record(run.paths, run.settings)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    console.print(f"已从归档恢复 {result.files} 个文件（{result.runs} 次收件），已有回执 {result.receipts_found} 个，"
                  f"报表版本 {result.revisions} 个。", soft_wrap=True)
    console.print("[yellow]邮件发送记录无法从归档恢复：之后收件或生成报表时，同一周已发过的回执或报表可能会再发一次。[/]",
                  soft_wrap=True)


@app.command()
def files(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option("--week", help="Only this week, e.g. 2023-W47.")] = None,
    school: Annotated[str | None, typer.Option("--school", help="Only schools whose name or code contains this.")] = None,
    debug: Debug = False,
) -> None:
    """The state of every file received (received → accepted | rejected | duplicate | superseded)."""
    from .record.files import received_files
    from .report.summary import OUTCOME_TITLES

    try:
        run = _ready(data_root, None, debug)
        rows = received_files(data_root, run.settings, week=week, school=school)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    table = Table(title=f"收到的文件（{markup_safe(week or '全部周次')}）")
    for title in ("收到时间", "周次", "学校", "文件"):
        table.add_column(title, overflow="fold")
    for title in ("结果", "按时", "错误", "提示"):
        table.add_column(title, no_wrap=True)
    for r in rows:
        table.add_row(
            cell(r["received_at"].replace("T", " ")[:16]), cell(r["week"]), cell(r["school_name"] or "（未识别）"),
            cell(r["file_name"]), cell(OUTCOME_TITLES.get(r["outcome"], r["outcome"])), "是" if r["on_time"] else "迟报",
            str(r["errors"]), str(r["warnings"]),
        )
    console.print(table)
    console.print(f"共 {len(rows)} 个文件；回执在 {markup_safe(data_root / 'receipts')} 下按周次和学校存放。")




@app.command()
def demo(
    data_root: Annotated[Path, typer.Option("--data-root", help="Folder for the demo (created; an earlier demo's is replaced).")] = Path("demo-data"),
    units: Annotated[int, typer.Option("--units", help="Schools in the generated district.")] = 240,
    debug: Debug = False,
) -> None:
    """Generate a district, run intake and report for two weeks, and print where the workbooks are."""
    from .demo.run import run_demo

    route_cli_logs(None, debug=debug)
    try:
        results = run_demo(data_root, units=units, say=console.print)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    last = results[-1]
    console.print("\n[bold]报表已生成：[/]")
    for r in results:
        outputs = r.manifest["outputs"]
        for key in ("safety_committee", "city_bureau", "zone_report"):
            console.print(f"  {markup_safe((data_root / outputs[key]).resolve())}", soft_wrap=True)
    console.print(f"回执：{markup_safe((data_root / 'receipts').resolve())}", soft_wrap=True)
    console.print(f"清单：{markup_safe((last.folder / 'manifest.json').resolve())}", soft_wrap=True)


@app.command()
def version() -> None:
    """Print the software version."""
    console.print(__version__)


def main() -> None:
    """Entry point of the `inspect-pipeline` script."""
    if sys.platform == "win32":
        sys.stdout.reconfigure(encoding="utf-8")  # Chinese on the Windows console
    app()
