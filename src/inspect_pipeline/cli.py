"""The `inspect-pipeline` command (Typer + Rich), in Chinese: every help text, message, table title and column, and
Typer's own words in `--help` and in a mistyped command line (English stays in logs and developer docs). Every
failure prints one clear line (`错误：…`; a roster with several problems adds one line per problem) and exits with
its code (errors.py, README "Exit codes"); a mistyped command line is one such line too (exit code 2). Log records
go to the data root's log file, never to the terminal; text from outside (file, school and zone names, addresses)
is printed escaped (terminal.py). A console that cannot show a character (GBK) shows `?` instead of failing, and
Rich draws in ASCII there (terminal.tolerant_streams). Long work shows bars on stderr, gone when it ends."""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from typer.core import TyperCommand, TyperGroup

from . import __version__
from .core.errors import ConfigError, LockBusy, PipelineError, as_pipeline_error
from .core.logs import route_cli_logs
from .core.terminal import cell, markup_safe, tolerant_streams

# ---------------------------------------------------------------- Typer's own words, in Chinese

# Typer ≥ 0.29 carries its own copy of click; earlier versions use click itself
_click = getattr(importlib.import_module("typer.core"), "_click", None) or importlib.import_module("click")
_errors = importlib.import_module(f"{_click.__name__}.exceptions")
importlib.import_module(f"{_click.__name__}.formatting")

_TYPER_WORDS = {  # typer.rich_utils: the panels and notes of --help and of a usage error
    "OPTIONS_PANEL_TITLE": "选项",
    "COMMANDS_PANEL_TITLE": "命令",
    "ARGUMENTS_PANEL_TITLE": "参数",
    "ERRORS_PANEL_TITLE": "错误",
    "DEFAULT_STRING": "[默认：{}]",
    "REQUIRED_LONG_STRING": "[必填]",
    "ENVVAR_STRING": "[环境变量：{}]",
    "DEPRECATED_STRING": "（已停用）",
    "ABORTED_TEXT": "已中止。",
    "RICH_HELP": "运行 [blue]{command_path} {help_option}[/] 查看用法。",
}
HELP_OPTION_HELP = "显示本帮助并退出。"


def _typer_in_chinese() -> None:
    from typer import rich_utils

    for name, words in _TYPER_WORDS.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, words)


_typer_in_chinese()


class _Formatter(_click.formatting.HelpFormatter):
    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)


class _Context(_click.core.Context):
    formatter_class = _Formatter


def _chinese_help_option(option):
    if option is not None:
        option.help, option.metavar = HELP_OPTION_HELP, ""
    return option


class _Command(TyperCommand):
    """A command whose help option and usage line speak Chinese."""

    context_class = _Context

    def get_help_option(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        return _chinese_help_option(super().get_help_option(ctx))

    def parse_args(self, ctx, args):  # noqa: ANN001, ANN201
        try:
            return super().parse_args(ctx, args)
        except _errors.UsageError as mistake:  # the parser's own errors name no command: this one
            if mistake.ctx is None:
                mistake.ctx = ctx
            raise


class _App(TyperGroup):
    """The command group: Chinese help option and usage line; an unknown command named with the nearest ones; any
    mistake in the command line said as one line `错误：…` with exit code 2 (a UsageError's), like every failure."""

    context_class = _Context

    def get_help_option(self, ctx):  # noqa: ANN001, ANN201
        return _chinese_help_option(super().get_help_option(ctx))

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, list(self.commands), n=3)
            hint = f"（是否想写 {'、'.join(close)}？）" if close else ""
            raise _errors.UsageError(f"没有 {name} 这个命令{hint}", ctx)
        return super().resolve_command(ctx, args)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode: bool = True,  # noqa: ANN001
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _errors.NoArgsIsHelpError as shown:  # the help has been printed
            sys.exit(shown.exit_code)
        except _errors.UsageError as mistake:
            err_console.print(f"[bold red]错误[/]：{markup_safe(usage_line(mistake))}", soft_wrap=True, highlight=False)
            sys.exit(mistake.exit_code)
        except _errors.ClickException as failure:
            err_console.print(f"[bold red]错误[/]：{markup_safe(failure.format_message())}", soft_wrap=True,
                              highlight=False)
            sys.exit(failure.exit_code)
        except typer.Abort:
            err_console.print("已中止。")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


# what an option takes, for a value that could not be read
_OPTION_VALUES = {"--units": "一个正整数，例如 --units 240"}


def usage_line(mistake: Exception) -> str:
    """A mistake in the command line, in Chinese, with where to find the usage."""
    ctx = getattr(mistake, "ctx", None)
    command = ctx.command_path if ctx is not None else "inspect-pipeline"
    message = getattr(mistake, "message", str(mistake))
    if isinstance(mistake, _errors.NoSuchOption):
        close = sorted(mistake.possibilities or ())
        hint = f"（是否想写 {'、'.join(close)}？）" if close else ""
        what = f"{command} 没有 {mistake.option_name} 这个选项{hint}"
    elif isinstance(mistake, _errors.BadOptionUsage):
        name = mistake.option_name
        what = (f"选项 {name} 不跟值，只写 {name} 即可" if "does not take a value" in message
                else f"选项 {name} 后面要写一个值" if "requires an argument" in message
                else f"选项 {name} 的用法有误（{message}）")
    elif isinstance(mistake, _errors.BadParameter) and getattr(mistake, "param", None) is not None:
        name = "/".join(mistake.param.opts) or mistake.param.name
        allowed = next((v for opt, v in _OPTION_VALUES.items() if opt in mistake.param.opts), None)
        what = f"选项 {name} 的值不对：应为{allowed}" if allowed else f"选项 {name} 的值不对（{message}）"
    elif message.startswith("Got unexpected extra argument"):
        extra = message[message.rfind("(") + 1 : message.rfind(")")] if "(" in message else message
        what = f"多余的内容：{extra}（选项都以 -- 开头，例如 --week 2023-W47）"
    else:
        what = message
    return f"{what}。运行 {command} --help 查看用法。"


app = typer.Typer(
    name="inspect-pipeline",
    help="学校安全隐患排查整治周报流水线：收件、校验、回执、隐患台账、周报、催报。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=_App,
    options_metavar="[选项]",
    subcommand_metavar="命令 [选项]…",
)
console = Console()
err_console = Console(stderr=True)


def command(**kwargs: Any) -> Callable:
    """`app.command` with Chinese usage and help option."""
    return app.command(cls=_Command, options_metavar="[选项]", **kwargs)


DataRoot = Annotated[Path, typer.Option(
    "--data-root", metavar="目录", help="数据目录：收件箱 inbox、归档、回执、报表、模板、学校名单 roster.xlsx 和配置都在其中。")]
Now = Annotated[str | None, typer.Option(
    "--now", metavar="时刻",
    help="把此刻当作现在，ISO 8601 格式（例如 2023-11-23T10:00:00+08:00）；不写则用电脑时钟。")]
Debug = Annotated[bool, typer.Option("--debug", metavar="", help="出错时显示完整的错误追踪和日志（供技术人员排查）。")]
WeekOption = Annotated[str | None, typer.Option(
    "--week", metavar="周次", help="周次，例如 2023-W47 或 2023年第47周；不写则为最近一个已截止的周。")]


# ---------------------------------------------------------------- failures, progress, shared output


def _fail(exc: BaseException, debug: bool, data_root: Path | None = None) -> NoReturn:
    """One line on stderr (a roster's several problems: one more line each) and the failure's exit code
    (errors.as_pipeline_error); `--debug`: the traceback."""
    if debug:
        raise exc
    error = as_pipeline_error(exc, None if isinstance(exc, PipelineError) else _paths_if_any(data_root))
    details = getattr(error, "details", ())
    headline = getattr(error, "headline", error) if details else error
    err_console.print(f"[bold red]错误[/]：{markup_safe(headline)}", soft_wrap=True, highlight=False)
    for line in details:
        err_console.print(f"  {markup_safe(line)}", soft_wrap=True, highlight=False)
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


# the stages of a job's progress (jobs.context.Progress) as the bars name them
_STAGES = {
    "demo": "演示进度",
    "generate": "生成各校报表",
    "archive": "归档",
    "read": "读取",
    "receipts": "回执",
    "report": "生成周报",
    "templates": "生成模板",
    "mail": "发送邮件",
    "replay": "从归档重放",
    "compare": "核对结果",
}


def _progress(on: Console | None = None) -> Progress:
    """Bars on stderr while the work goes on, gone when it ends (transient), none unless stderr is a terminal (so
    that what is printed to stdout, or a test's output, is as it would be without them). Lines printed to stdout
    meanwhile appear above the bars when stdout is a terminal too, and go where stdout goes otherwise."""
    on = on or err_console
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
        console=on, transient=True, disable=not on.is_terminal, redirect_stdout=console.is_terminal,
    )


def _stage_bar(bar: Progress) -> Callable[[str, int, int], None]:
    """A job's progress (jobs.context.Progress) as one bar per stage: `done` of `total` (a moving bar while the
    total is not known); a stage that starts again (the demo's second week) starts its bar and clock again."""
    tasks: dict[str, Any] = {}
    last: dict[str, int] = {}

    def report(stage: str, done: int, total: int) -> None:
        size = total or None
        count = f"{done}/{total}" if total > 1 else ""
        if stage not in tasks:
            tasks[stage] = bar.add_task(_STAGES.get(stage, stage), total=size, count=count)
        elif done < last[stage] or (done == 0 and total == 0):
            bar.reset(tasks[stage], total=size, count=count)
        bar.update(tasks[stage], completed=done, total=size, count=count)
        last[stage] = done

    return report


def _through_prefect() -> bool:
    """One-off runs go through the flows (and appear in the Prefect UI) when a Prefect API is configured."""
    return bool(os.environ.get("PREFECT_API_URL"))


def _flow(name: str):
    """A flow of `inspect_pipeline.flows`, imported only now (Prefect costs seconds to import); its console lines below
    warnings stay out of the terminal (they are in the UI)."""
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    module = importlib.import_module(f"inspect_pipeline.flows.{name}")
    return getattr(module, name)


def _print_mail(mailed: dict, what: str) -> None:
    if mailed["sent"]:
        console.print(f"{what}邮件已发送 {mailed['sent']} 封。")
    for failure in mailed["failed"]:
        err_console.print(f"[yellow]{what}邮件未能发给 {markup_safe(failure['收件人'])}：{markup_safe(failure['错误'])}"
                          "（下次运行时重发）[/]", soft_wrap=True)


def _print_robots(sent: dict | None) -> None:
    """What the group robots were sent (企业微信/钉钉), when any is configured."""
    if not sent:
        return
    if sent["sent"]:
        console.print(f"群机器人消息已发送 {sent['sent']} 条。")
    for failure in sent["failed"]:
        group = failure["收件人"].removeprefix("robot:")
        err_console.print(f"[yellow]群机器人 {markup_safe(group)} 未能收到“{markup_safe(failure['内容'])}”："
                          f"{markup_safe(failure['错误'])}（下次运行时重发）[/]", soft_wrap=True)


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


def _current_at(moment: dt.datetime, settings) -> str:
    from .core.weeks import week_of

    return week_of(moment, settings)


def _ready(data_root: Path, now: str | None, debug: bool):
    """The command's run over the data root (jobs.context.Run); its log records go to the log file from now on."""
    from .jobs.context import open_run

    route_cli_logs(None, debug=debug)
    run = open_run(data_root, now)
    route_cli_logs(run.paths, debug=debug)
    return run


# ---------------------------------------------------------------- the commands


@command()
def init(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """建立数据目录：各个文件夹、默认配置 config.toml、学校名单模板 roster.xlsx 和数据库。

    已有的文件不会被覆盖。"""
    from .jobs.setup import init_data_root

    route_cli_logs(None, debug=debug)
    try:
        created = init_data_root(data_root)
    except Exception as exc:  # noqa: BLE001 - one clear line, never a traceback
        _fail(exc, debug, data_root)
    for path in created:
        console.print(f"  已创建 {markup_safe(path.resolve())}", soft_wrap=True)
    console.print(f"数据目录已就绪：{markup_safe(data_root.resolve())}。请在 roster.xlsx 中填写学校名单，学校报表放入 inbox/。",
                  soft_wrap=True)


@command()
def intake(data_root: DataRoot = Path("data"), now: Now = None, debug: Debug = False) -> None:
    """收件一次：归档、读取、校验、记录收件箱中的新文件，写回执和收件清单。

    配置了邮件时把回执发给学校。设置了 PREFECT_API_URL 时，作为 Prefect 流程 intake 运行。"""
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
    _print_result(done, run.paths)
    _print_mail(done["mail"], "回执")


def _print_result(done: dict, paths) -> None:
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
    for week in done["weeks"]:
        console.print(f"{week} 回执文件夹：{markup_safe(paths.receipts_week(week))}", soft_wrap=True)
        console.print(f"{week} 收件清单：{markup_safe(paths.intake_manifest(week))}", soft_wrap=True)


@command()
def report(
    data_root: DataRoot = Path("data"),
    week: WeekOption = None,
    now: Now = None,
    templates: Annotated[bool, typer.Option(
        "--templates/--no-templates", metavar="", help="是否同时为每所学校生成下周的预填模板。")] = True,
    roster: Annotated[str, typer.Option(
        "--roster", metavar="week|current",
        help="按哪份名单统计学校：week 按该周首次生成报表时的名单；current 按当前名单（用于更正）。")] = "week",
    debug: Debug = False,
) -> None:
    """生成一周的报表（区安委办、市教育局、包片包校）和下周的预填模板。

    报表和清单存为 reports/<周次>/r<版本>/，每次有变化就多一个新版本，旧版本不会被覆盖。配置了邮件时发送报表。
    设置了 PREFECT_API_URL 时，作为 Prefect 流程 weekly-report 运行（不含截止后的那次收件）。"""
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
            with _progress() as bar:
                done = weekly_report(run, chosen, progress=_stage_bar(bar), **options)
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
        console.print(f"  {markup_safe(run.paths.root / path)}", soft_wrap=True)
    console.print(f"  {markup_safe(Path(done['folder']) / 'manifest.json')}", soft_wrap=True)
    if done["templates"]:
        console.print(f"下周模板 {done['templates']} 个（空白模板及各校预填模板）→ "
                      f"{markup_safe(run.paths.templates_root / shift(chosen, 1))}", soft_wrap=True)
    _print_mail(done["mail"], "报表")
    _print_robots(done.get("robots"))


@command()
def status(data_root: DataRoot = Path("data"), week: Annotated[str | None, typer.Option(
        "--week", metavar="周次", help="周次，例如 2023-W47；不写则为本周（下一个截止时间所在的周）。")] = None,
           now: Now = None, debug: Debug = False) -> None:
    """查看报送情况：各片区应报、已报、按时、迟报、未报、退回未重报。

    还列出哪些周的报表需要重新生成，哪些邮件还没发出，收件箱里还留着哪些文件以及原因，以及 serve 接下来何时出周报、催报。"""
    from .core.schedule import upcoming_rows
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
        planned = upcoming_rows(run.settings, run.now)
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
        console.print(f"[yellow]{len(unsent)} 条邮件或群消息尚未发出，下次运行时重发：[/]")
    for m in unsent[:10]:
        console.print(f"  {markup_safe(m['to'])}《{markup_safe(m['subject'])}》已试 {m['attempts']} 次："
                      f"{markup_safe(m['error'] or '')}", soft_wrap=True, highlight=False)
    if left:
        console.print(f"[yellow]收件箱中还有 {len(left)} 个文件：[/]")
    for item in left[:20]:
        console.print(f"  {markup_safe(run.paths.inbox / item['path'])}：{item['reason']}", soft_wrap=True,
                      highlight=False)
    if len(left) > 20:
        console.print(f"  ……另有 {len(left) - 20} 个")
    if planned:
        console.print("接下来（serve 运行时）：" + "；".join(markup_safe(p["text"]) for p in planned), soft_wrap=True,
                      highlight=False)


@command()
def template(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option(
        "--week", metavar="周次", help="模板所属的周次，例如 2023-W48；不写则为本周。")] = None,
    school: Annotated[str | None, typer.Option(
        "--school", metavar="学校", help="只生成这一所学校的模板（学校标识码或全称）。")] = None,
    now: Now = None,
    debug: Debug = False,
) -> None:
    """生成某周的空白模板和各校预填模板。

    存放在 templates/<周次>/；预填模板带上该校尚未整改完的隐患和编号。"""
    from .jobs.report import templates

    try:
        run = _ready(data_root, now, debug)
        chosen = _week(week, run.now, run.settings, ahead=1) if week else _current_at(run.now, run.settings)
        with _progress() as bar:
            written = templates(run, chosen, school, progress=_stage_bar(bar))
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    console.print(f"{chosen} 模板 {len(written)} 个 → {markup_safe(written[0].parent)}", soft_wrap=True)


@command()
def remind(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option(
        "--week", metavar="周次", help="周次，例如 2023-W47；不写则为本周（下一个截止时间所在的周）。")] = None,
    now: Now = None,
    debug: Debug = False,
) -> None:
    """催报：按包校责任人列出尚未报送、被退回后尚未重报的单位。

    名单存为 reports/<周次>/reminders/<时间>/（表格和文本）；配置了邮件时发给各责任人。
    设置了 PREFECT_API_URL 时，作为 Prefect 流程 reminders 运行。"""
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
    w = done.get("warnings")
    if w:
        console.print(f"整改到期预警：{w['days']} 天内到期 {w['due_count']} 项（重大 {w['due_major']}），"
                      f"已逾期 {w['overdue_count']} 项（重大 {w['overdue_major']}）→ warnings.md", soft_wrap=True)
    _print_mail(mailed, "催报")
    _print_robots(done.get("robots"))
    if settings.mail.enabled and settings.mail.reminders:
        no_address = [o["section_owner"] for o in listed if not o["emails"]]
        if no_address:
            console.print(f"[yellow]{markup_safe('、'.join(no_address))} 在名单中没有责任人邮箱，请另行通知。[/]",
                          soft_wrap=True)


@command()
def serve(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """按计划定时收件、催报、生成周报，同时开启工作台网页，直到按 Ctrl+C 停止。

    默认每 10 分钟收件一次，周四 15:00 和周五 09:00 催报，周五 12:30 生成周报（见 config.toml 的 schedule 一节）。
    同时启动并看护本机的 Prefect 服务（界面 http://127.0.0.1:4200，见 server 一节）和工作台网页
    （http://127.0.0.1:8080，见 web 一节）。设置了 PREFECT_API_URL 时则用该服务。"""
    try:
        run = _ready(data_root, None, debug)
        settings, paths = run.settings, run.paths
        # the page first: bound beyond 127.0.0.1 without users it refuses, before Prefect is imported
        page = _PageThread(_web_server(paths, settings, settings.web.host, settings.web.port, prefect_ui=None)) \
            if settings.web.enabled else None
        if settings.server.host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print(f"[yellow]注意：Prefect 界面绑定在 {markup_safe(settings.server.host)}，其他电脑也能打开；它没有登录，"
                              "可以运行和删除定时任务。除非确有需要，请把 config.toml 的 [server] host 改回 127.0.0.1。[/]",
                              soft_wrap=True)
        from .flows.serve import serve_forever

        where = os.environ.get("PREFECT_API_URL") or f"http://{settings.server.host}:{settings.server.port}"
        if page is not None:
            page.start()
            console.print(f"工作台网页 {markup_safe(settings.web.url)}", soft_wrap=True)
        console.print(f"定时运行已启动（Prefect 界面 {markup_safe(where.removesuffix('/api'))}，日志 "
                      f"{markup_safe(paths.log_file)}）；按 Ctrl+C 停止。", soft_wrap=True)
        try:
            serve_forever(paths, settings)
        finally:
            if page is not None:
                page.stop()
    except KeyboardInterrupt:
        console.print("已停止。")
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)


class _PageThread:
    """The web page served by uvicorn in a thread beside `serve`'s schedules, stopped with them."""

    def __init__(self, server):
        import threading

        self.server = server
        self.thread = threading.Thread(target=server.run, name="web-page", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _web_server(paths, settings, host: str, port: int, *, prefect_ui: str | None, now: str | None = None,
                ssl_keyfile: Path | None = None, ssl_certfile: Path | None = None):
    """The page's uvicorn server (not started); ConfigError if bound beyond 127.0.0.1 without users."""
    import uvicorn

    from .web.app import create_app

    ui = prefect_ui or (os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{settings.server.port}")
    app = create_app(paths.root, host=host, now=now, prefect_ui=ui.removesuffix("/api"),
                     https=ssl_certfile is not None)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, log_config=None,
                            ssl_keyfile=str(ssl_keyfile) if ssl_keyfile else None,
                            ssl_certfile=str(ssl_certfile) if ssl_certfile else None)
    return uvicorn.Server(config)


@command(name="robot-test")
def robot_test(
    group: Annotated[str, typer.Argument(metavar="群", help="config.toml 中机器人一节 robots.<群> 的名称。")],
    data_root: DataRoot = Path("data"),
    now: Now = None,
    debug: Debug = False,
) -> None:
    """向一个企业微信/钉钉群机器人发送一条测试消息，并显示机器人的答复。

    测试消息不记入发送记录；密钥不会显示。"""
    import json

    from .deliver.robots import send_test

    try:
        run = _ready(data_root, now, debug)
        answer = send_test(run.settings, group, run.now)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    console.print(f"机器人 {markup_safe(group)} 已收到测试消息，答复：{markup_safe(json.dumps(answer, ensure_ascii=False))}",
                  soft_wrap=True, highlight=False)


@command()
def web(
    data_root: DataRoot = Path("data"),
    host: Annotated[str | None, typer.Option(
        "--host", metavar="地址", help="网页监听的地址；不写则用 config.toml 中 web 一节的 host（默认 127.0.0.1，仅本机）。"
        "绑定到其他地址时必须先用 web-user add 设置用户。")] = None,
    port: Annotated[int | None, typer.Option(
        "--port", metavar="端口", help="网页端口；不写则用 config.toml 中 web 一节的 port（默认 8080）。")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(
        "--ssl-keyfile", metavar="文件", help="HTTPS 私钥文件（与 --ssl-certfile 一起使用）。")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(
        "--ssl-certfile", metavar="文件", help="HTTPS 证书文件。")] = None,
    now: Now = None,
    debug: Debug = False,
) -> None:
    """启动工作台网页：本周报送情况（未报、退回未重报、迟报名单）、学校、隐患台账、周报下载、运行记录。

    管理员还可以在网页上立即收件、发送催报、生成周报、代学校上传文件。默认只有本机可以访问
    （http://127.0.0.1:8080）；按 Ctrl+C 停止。"""
    try:
        run = _ready(data_root, now, debug)
        settings = run.settings
        chosen_host, chosen_port = host or settings.web.host, port or settings.web.port
        if (ssl_keyfile is None) != (ssl_certfile is None):
            raise ConfigError("--ssl-keyfile 和 --ssl-certfile 要一起使用")
        server = _web_server(run.paths, settings, chosen_host, chosen_port, prefect_ui=None, now=now,
                             ssl_keyfile=ssl_keyfile, ssl_certfile=ssl_certfile)
        scheme = "https" if ssl_certfile else "http"
        shown = "127.0.0.1" if chosen_host in ("0.0.0.0", "::") else chosen_host
        console.print(f"工作台网页已启动：{scheme}://{markup_safe(shown)}:{chosen_port}（日志 "
                      f"{markup_safe(run.paths.log_file)}）；按 Ctrl+C 停止。", soft_wrap=True)
        server.run()
    except KeyboardInterrupt:
        console.print("已停止。")
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)


web_user = typer.Typer(
    help="管理工作台网页的用户（密码只以哈希形式存入数据目录的 secrets.toml，不写入 config.toml）。",
    no_args_is_help=True,
    cls=_App,
    options_metavar="[选项]",
    subcommand_metavar="命令 [选项]…",
)
app.add_typer(web_user, name="web-user")


@web_user.command("add", cls=_Command, options_metavar="[选项]")
def web_user_add(
    name: Annotated[str, typer.Argument(metavar="用户名", help="登录用的用户名。")],
    data_root: DataRoot = Path("data"),
    role: Annotated[str, typer.Option(
        "--role", metavar="管理员|只读", help="管理员：查看和全部操作；只读：只能查看。")] = "管理员",
    zone: Annotated[list[str] | None, typer.Option(
        "--zone", metavar="片区", help="只读用户只能看这些片区的学校（可写多次）。")] = None,
    owner: Annotated[str, typer.Option(
        "--owner", metavar="包校责任人", help="只读用户只能看这位包校责任人的学校。")] = "",
    debug: Debug = False,
) -> None:
    """添加工作台用户（已有同名用户则重设其密码和权限）；密码输入两次，不显示。"""
    from .web.security import add_user

    try:
        run = _ready(data_root, None, debug)
        password = typer.prompt("密码", hide_input=True)
        again = typer.prompt("再次输入密码", hide_input=True)
        if password != again:
            raise ConfigError("两次输入的密码不一致，用户未添加")
        user = add_user(run.paths.secrets_file, name, password, role, tuple(zone or ()), owner)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    scope = "、".join(user.zones) if user.zones else (user.owner or "全部学校")
    console.print(f"用户 {markup_safe(user.name)}（{user.role}，{markup_safe(scope)}）已保存到 "
                  f"{markup_safe(run.paths.secrets_file)}。", soft_wrap=True)


# the parts of a week's figures that rebuild compares (jobs.rebuild.FIGURE_PARTS)
_FIGURE_PARTS = {"totals": "合计数", "by_zone": "分片区数", "by_stage": "分学段数", "missing_units": "未报单位"}


@command()
def rebuild(data_root: DataRoot = Path("data"), week: WeekOption = None, now: Now = None, debug: Debug = False) -> None:
    """从归档重算一周，核对结果是否与记录一致。

    在临时的新数据库中按原收件时间把归档的文件重新收件一遍，不改动现有的记录。"""
    from .jobs.rebuild import rebuild_week

    try:
        run = _ready(data_root, now, debug)
        chosen = _week(week, run.now, run.settings)
        with _progress() as bar:
            result = rebuild_week(run.paths, run.settings, chosen, progress=_stage_bar(bar))
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    totals = result.rebuilt["totals"]["cumulative"]
    console.print(f"{chosen}：从归档重放 {result.files} 个文件（{result.runs} 次收件），"
                  f"累计发现隐患 {totals['found']}，已整改 {totals['rectified']}。")
    if result.same:
        console.print("重算结果与记录一致。")
        return
    differing = [_FIGURE_PARTS.get(k, k) for k in result.rebuilt if result.rebuilt[k] != result.recorded[k]]
    err_console.print(f"[bold red]错误[/]：重算结果与记录不一致（{'、'.join(differing)}）；请用 --debug 运行并报告。")
    raise typer.Exit(6)


@command()
def restore(data_root: DataRoot = Path("data"), debug: Debug = False) -> None:
    """从归档重建丢失的数据库。

    数据库已清空、已损坏并移走或被删除时使用：把 archive/ 中收到的每个文件按原收件时间重新收件，记入空的数据库。"""
    from .jobs.restore import restore_record

    try:
        run = _ready(data_root, None, debug)
        with _progress() as bar:
            result = restore_record(run.paths, run.settings, progress=_stage_bar(bar))
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug, data_root)
    console.print(f"已从归档恢复 {result.files} 个文件（{result.runs} 次收件），已有回执 {result.receipts_found} 个，"
                  f"报表版本 {result.revisions} 个。", soft_wrap=True)
    console.print("[yellow]邮件发送记录无法从归档恢复：之后收件或生成报表时，同一周已发过的回执或报表可能会再发一次。[/]",
                  soft_wrap=True)


@command()
def files(
    data_root: DataRoot = Path("data"),
    week: Annotated[str | None, typer.Option("--week", metavar="周次", help="只看这一周，例如 2023-W47。")] = None,
    school: Annotated[str | None, typer.Option(
        "--school", metavar="学校", help="只看名称或标识码中含有这些字的学校。")] = None,
    debug: Debug = False,
) -> None:
    """列出收到的每个文件及其结果。

    结果是已受理、退回重报、重复报送或被替换；另列按时还是迟报，有几处错误和提示。"""
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
    for title in ("结果", "按时/迟报", "错误", "提示"):
        table.add_column(title, no_wrap=True, justify="right" if title in ("错误", "提示") else "left")
    for r in rows:
        table.add_row(
            cell(r["received_at"].replace("T", " ")[:16]), cell(r["week"]), cell(r["school_name"] or "（未识别）"),
            cell(r["file_name"]), cell(OUTCOME_TITLES.get(r["outcome"], r["outcome"])),
            "按时" if r["on_time"] else Text("迟报", style="yellow"), str(r["errors"]), str(r["warnings"]),
        )
    console.print(table)
    console.print(f"共 {len(rows)} 个文件；回执在 {markup_safe(run.paths.receipts_root)} 下，按周次和学校存放。",
                  soft_wrap=True)


@command()
def demo(
    data_root: Annotated[Path, typer.Option(
        "--data-root", metavar="目录", help="演示用的数据目录（会新建；以前的演示目录会被替换）。")] = Path("demo-data"),
    units: Annotated[int, typer.Option("--units", metavar="数量", min=1, help="演示学区的学校数。")] = 240,
    debug: Debug = False,
) -> None:
    """演示：生成一个演示学区，连续两周收件并生成报表，最后列出报表文件的位置。"""
    from .demo.run import run_demo

    route_cli_logs(None, debug=debug)
    try:
        with _progress() as bar:
            results = run_demo(data_root, units=units, say=_say, progress=_stage_bar(bar))
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


def _say(line: str) -> None:
    console.print(markup_safe(line), soft_wrap=True, highlight=False)


@command()
def bundle(
    out: Annotated[Path, typer.Argument(metavar="目录", help="离线安装包写到这个目录（同时生成同名 .zip）。")] = Path(
        "inspect-pipeline-bundle"),
    debug: Debug = False,
) -> None:
    """离线安装包：在能上网的电脑上运行，下载内网电脑（Windows、Linux）不联网安装所需的全部文件、安装脚本和安装说明。"""
    from .jobs.bundle import build_bundle

    route_cli_logs(None, debug=debug)
    try:
        summary = build_bundle(out, progress=_say)
    except Exception as exc:  # noqa: BLE001
        _fail(exc, debug)
    size = summary["bytes"] / 1_000_000
    console.print(f"离线安装包：{markup_safe(Path(summary['out']).resolve())}（{summary['files']} 个文件，{size:.0f} MB）",
                  soft_wrap=True)
    if summary.get("zip"):
        console.print(f"压缩包：{markup_safe(Path(summary['zip']).resolve())}", soft_wrap=True)
    if summary["failed"]:
        for line in summary["failed"]:
            err_console.print(f"[bold red]未完成[/]：{markup_safe(line)}", soft_wrap=True)
        raise typer.Exit(1)


@command()
def version() -> None:
    """显示软件版本。"""
    console.print(__version__)


def main() -> None:
    """Entry point of the `inspect-pipeline` script (and `python -m inspect_pipeline`)."""
    tolerant_streams()
    app()
