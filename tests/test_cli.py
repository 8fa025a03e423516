"""The command line: exit codes, one clear line on failure, the lock, the quiet period, a bad roster."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import openpyxl
import pytest
from filelock import FileLock
from typer.testing import CliRunner

from inspect_pipeline.intake.take import Incoming, scan_inbox, settle
from inspect_pipeline.cli import app
from support import drop, hazard, intake, make_root, manifest, school_book

runner = CliRunner()
NOW = "2023-11-23T10:00:00+08:00"


@pytest.fixture
def root(tmp_path):
    return make_root(tmp_path)


def test_init_creates_a_working_data_root(tmp_path):
    result = runner.invoke(app, ["init", "--data-root", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    for name in ("inbox", "archive", "receipts", "reports", "templates", "config.toml", "roster.xlsx"):
        assert (tmp_path / "d" / name).exists()
    headers = [c.value for c in openpyxl.load_workbook(tmp_path / "d" / "roster.xlsx").active[1]]
    assert headers[:4] == ["学校名称", "学校标识码", "简称", "学段"]
    # the roster template is empty: intake says so instead of calling every school unknown
    result = runner.invoke(app, ["intake", "--data-root", str(tmp_path / "d"), "--now", NOW])
    assert result.exit_code == 3 and "还没有学校" in result.output


def test_intake_exit_code_is_zero_whatever_schools_sent(root):
    drop(root, "a.xlsx", b"")
    drop(root, "b.xlsx", school_book(rows=[hazard(level="较大")]))
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 0, result.output
    assert {f["outcome"] for f in manifest(root)["files"]} == {"rejected"}


def test_bad_roster_stops_the_run_with_one_line_and_touches_nothing(root):
    book = openpyxl.load_workbook(root / "roster.xlsx")
    book.active.append(("丰润区第一实验小学", "2113000009", None, "小学", "一片", "赵局长", "安法科", "钱明"))
    book.save(root / "roster.xlsx")
    inbox_file = drop(root, "a.xlsx", school_book(rows=[hazard()]))
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "第 5 行" in lines[0] and "学校名称" in lines[0], result.output
    assert "Traceback" not in result.output
    assert inbox_file.exists() and not any((root / "archive").iterdir()) and not any((root / "receipts").iterdir())


@pytest.mark.parametrize(
    ("row", "needle"),
    [
        (("丰润区第九小学", "21130000", None, "小学", "一片", "赵局长", "安法科", "钱明"), "10 位数字"),
        (("丰润区第九小学", "2113000001", None, "小学", "一片", "赵局长", "安法科", "钱明"), "重复"),
        (("丰润区第九小学", None, "一实小", "小学", "一片", "赵局长", "安法科", "钱明"), "简称"),
        (("丰润区第九小学", None, None, "大学", "一片", "赵局长", "安法科", "钱明"), "学段"),
        (("丰润区第九小学", None, None, "小学", "一片", "李局长", "安法科", "钱明"), "包片领导"),
        (("丰润区第九小学", None, None, "小学", "一片", "赵局长", "安法科", None), "包校责任人"),
    ],
)
def test_each_roster_defect_is_named(root, row, needle):
    book = openpyxl.load_workbook(root / "roster.xlsx")
    book.active.append(row)
    book.save(root / "roster.xlsx")
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 3 and "第 5 行" in result.output and needle in result.output, result.output


def test_second_intake_waits_then_gives_up_with_a_clear_message(root):
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("lock_timeout_seconds = 300",
                                                                 "lock_timeout_seconds = 0.2"), encoding="utf-8")
    (root / ".state").mkdir(exist_ok=True)
    with FileLock(root / ".state" / "intake.lock"):
        result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 4 and "另一个 intake 正在运行" in result.output


def test_missing_data_root_and_bad_now(tmp_path, root):
    result = runner.invoke(app, ["intake", "--data-root", str(tmp_path / "nope")])
    assert result.exit_code == 5 and "init" in result.output
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", "yesterday"])
    assert result.exit_code == 2 and "--now" in result.output


def test_bad_config_is_one_line(root):
    (root / "config.toml").write_text('cutoff_weekday = 9\n', encoding="utf-8")
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 2 and "“cutoff_weekday” 应不大于 7（现为 9）" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_file_still_being_written_is_left_for_the_next_run(tmp_path):
    inbox = tmp_path / "inbox"
    growing = inbox / "a" / "growing.xlsx"
    growing.parent.mkdir(parents=True)
    growing.write_bytes(b"part")
    quiet = inbox / "b.xlsx"
    quiet.write_bytes(b"done")
    os.utime(quiet, (1_600_000_000, 1_600_000_000))
    files = scan_inbox(inbox)

    def copy_goes_on(seconds):  # the copy into the share continues while we wait
        with growing.open("ab") as fh:
            fh.write(b"more")

    taken = settle(files, quiet_seconds=2, sleep=copy_goes_on)
    assert [f.rel for f in taken] == ["b.xlsx"]
    assert isinstance(taken[0], Incoming)
    # nothing changes on the next look: both are taken
    assert len(settle(scan_inbox(inbox), quiet_seconds=2, sleep=lambda s: None)) == 2


def test_files_lists_the_state_of_every_file(root):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    drop(root, "b.xlsx", b"")
    runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    result = runner.invoke(app, ["files", "--data-root", str(root), "--week", "2023-W47"])
    assert result.exit_code == 0, result.output
    assert "已受理" in result.output and "退回重报" in result.output and "共 2 个文件" in result.output
    assert str(root.resolve() / "receipts") in result.output  # where the receipts are, as a folder one can open


def test_files_says_on_time_or_late_in_a_column_of_its_own(root, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")  # one line per file
    drop(root, "一实小/按时.xlsx", school_book(rows=[hazard()]))
    runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    drop(root, "银中/补报.xlsx", school_book(unit="银中", rows=[hazard()]))
    runner.invoke(app, ["intake", "--data-root", str(root), "--now", "2023-11-24T15:00:00+08:00"])  # after the cutoff
    result = runner.invoke(app, ["files", "--data-root", str(root), "--week", "2023-W47"])
    assert result.exit_code == 0, result.output
    rows = [[c.strip() for c in re.split("[│┃]", line)[1:-1]] for line in result.output.splitlines()
            if re.search("[│┃]", line)]
    header, body = rows[0], rows[1:]
    on_time = header.index("按时/迟报")
    assert header.index("结果") == on_time - 1, header
    assert {r[3]: (r[on_time - 1], r[on_time]) for r in body} == {"按时.xlsx": ("已受理", "按时"),
                                                                   "补报.xlsx": ("已受理", "迟报")}, result.output


def test_intake_prints_the_folders_a_clerk_can_open(root):
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 0, result.output
    said = dict(line.split("：", 1) for line in result.output.splitlines() if line.startswith("2023-W47 "))
    assert Path(said["2023-W47 回执文件夹"]).is_dir() and Path(said["2023-W47 回执文件夹"]).is_absolute(), said
    assert Path(said["2023-W47 收件清单"]).is_file() and Path(said["2023-W47 收件清单"]).name == "manifest.json"


def test_init_lists_what_it_created_in_chinese(tmp_path):
    result = runner.invoke(app, ["init", "--data-root", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    created = [line.split("已创建 ", 1)[1] for line in result.output.splitlines() if line.startswith("  已创建 ")]
    assert {Path(p).name for p in created} >= {"config.toml", "roster.xlsx", "inbox", "archive"}
    assert all(Path(p).is_absolute() and Path(p).exists() for p in created) and "created" not in result.output
    again = runner.invoke(app, ["init", "--data-root", str(tmp_path / "d")])  # nothing new: nothing listed
    assert again.exit_code == 0 and "已创建" not in again.output and "数据目录已就绪" in again.output


# ---------------------------------------------------------------- the command line's own words

CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{2,} [A-Za-z]{2,} [A-Za-z]{2,}")  # three English words in a row: a sentence
TYPER_WORDS = ("Usage", "Options", "Commands", "Show this message", "[default", "[required]", "Try ", "Error")


def test_every_help_text_is_chinese(monkeypatch):
    """The app, each command and each option explain themselves in Chinese, and so do Typer's own words."""
    from typer.main import get_command

    monkeypatch.setenv("COLUMNS", "200")
    group = get_command(app)
    assert CJK.search(group.help)
    pages = [runner.invoke(app, ["--help"])]
    for name, command in group.commands.items():
        assert CJK.search(command.help or "") and not ENGLISH.search(command.help), name
        for param in command.params:
            assert CJK.search(param.help or "") and not ENGLISH.search(param.help), (name, param.name, param.help)
        pages.append(runner.invoke(app, [name, "--help"]))
    for page in pages:
        assert page.exit_code == 0 and "用法：inspect-pipeline" in page.output and "显示本帮助并退出" in page.output
        assert not [w for w in TYPER_WORDS if w in page.output] and not ENGLISH.search(page.output), page.output


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["reprt"], ["没有 reprt 这个命令", "report"]),
        (["report", "--wek", "2023-W47"], ["没有 --wek 这个选项", "--week", "inspect-pipeline report --help"]),
        (["report", "--week"], ["--week 后面要写一个值"]),
        (["files", "--debug=yes"], ["--debug 不跟值"]),
        (["demo", "--units", "很多"], ["--units 的值不对", "正整数"]),
        (["demo", "--units", "0"], ["--units 的值不对"]),
        (["status", "2023-W47"], ["多余的内容：2023-W47", "--week"]),
    ],
)
def test_a_mistyped_command_line_is_one_chinese_line_with_exit_code_2(tmp_path, args, needles):
    result = runner.invoke(app, [args[0], "--data-root", str(tmp_path), *args[1:]])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 2 and len(lines) == 1 and lines[0].startswith("错误："), result.output
    assert all(n in lines[0] for n in needles) and "查看用法" in lines[0], lines[0]
    assert not (tmp_path / "reports").exists()  # nothing ran


def test_report_and_status_commands(tmp_path):
    from test_figures import build

    root = build(tmp_path)
    result = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2023-W47",
                                 "--now", "2023-11-24T16:00:00+08:00"])
    assert result.exit_code == 0, result.output
    assert "第 1 版" in result.output and "区安委办" in result.output
    assert (root / "reports" / "2023-W47" / "r1" / "manifest.json").is_file()
    assert "下周模板 4 个" in result.output and len(list((root / "templates" / "2023-W48").glob("*.xlsx"))) == 4
    result = runner.invoke(app, ["status", "--data-root", str(root), "--week", "2023-W47"])
    assert result.exit_code == 0 and "一片" in result.output and "合计" in result.output, result.output
    # a late file for W47 makes the report stale
    drop(root, "银中/补.xlsx", school_book(unit="银中", rows=[hazard("食堂排烟罩油污")]))
    runner.invoke(app, ["intake", "--data-root", str(root), "--now", "2023-11-24T18:00:00+08:00"])
    result = runner.invoke(app, ["status", "--data-root", str(root), "--week", "2023-W47"])
    assert "第 1 版报表之后又收到 1 个文件" in result.output, result.output
    result = runner.invoke(app, ["report", "--data-root", str(root), "--now", "2023-11-24T19:00:00+08:00"])
    assert result.exit_code == 0 and "2023-W47 报表第 2 版" in result.output, result.output  # default: last closed week
    result = runner.invoke(app, ["report", "--data-root", str(root), "--week", "W47"])
    assert result.exit_code == 2 and "--week" in result.output


def test_demo_runs_two_weeks_and_ends_with_the_workbook_paths(tmp_path):
    folder = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--data-root", str(folder), "--units", "60"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("清单：") and "2023-W48" in lines[-1]
    paths = [line.strip() for line in lines if line.startswith("  ") and line.strip().endswith(".xlsx")]
    assert len(paths) == 6 and all(Path(p).is_file() for p in paths)
    assert "截止后补报" in result.output  # late files in the second week
    assert "已受理" in result.output and "退回重报" in result.output and "accepted" not in result.output
    # running it again replaces the earlier demo; a folder with other data is refused
    assert runner.invoke(app, ["demo", "--data-root", str(folder), "--units", "20"]).exit_code == 0
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x", encoding="utf-8")
    result = runner.invoke(app, ["demo", "--data-root", str(other)])
    assert result.exit_code == 5 and (other / "keep.txt").exists()


def test_template_command(tmp_path):
    from test_figures import build

    root = build(tmp_path)
    result = runner.invoke(app, ["template", "--data-root", str(root), "--week", "2023-W48"])
    assert result.exit_code == 0, result.output
    folder = root / "templates" / "2023-W48"
    assert (folder / "空白模板_2023-W48.xlsx").is_file() and len(list(folder.glob("*.xlsx"))) == 4  # blank + 3
    result = runner.invoke(app, ["template", "--data-root", str(root), "--week", "2023-W48", "--school", "9999"])
    assert result.exit_code == 2 and "9999" in result.output


def test_point_2_a_loosely_written_week_is_the_same_week_and_a_future_week_is_refused(tmp_path):
    """Issue #9 point 2: `report --week 2023-W9` is 2023-W09 (it was compared as text and gave a wrong report);
    `report --week 2031-W10` (not yet begun) is refused with one line instead of writing an official 第1版."""
    root = make_root(tmp_path)
    drop(root, "a.xlsx", school_book(rows=[hazard()]))
    intake(root)
    runner = CliRunner()
    now = "2023-11-24T13:00:00+08:00"  # after W47's cutoff: the current week is W48
    loose = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2023-W47 ", "--now", now,
                                "--no-templates"])
    assert loose.exit_code == 0, loose.output
    assert (root / "reports" / "2023-W47" / "r1" / "manifest.json").is_file()
    future = runner.invoke(app, ["report", "--data-root", str(root), "--week", "2031-W10", "--now", now])
    assert future.exit_code == 2 and "2031-W10 还没有到" in future.output
    assert not (root / "reports" / "2031-W10").exists()
    from inspect_pipeline.cli import _week
    from inspect_pipeline.core.settings import Settings

    assert _week("2023-W9", dt.datetime.fromisoformat(now), Settings(), ahead=0) == "2023-W09"


def test_point_5_status_with_now_shows_the_week_the_real_clock_would_then(tmp_path):
    """Issue #9 point 5: `status --now <a Thursday>` shows that Thursday's week (W47), as `status` does on that
    Thursday without --now; it showed the week before."""
    root = make_root(tmp_path)
    run = CliRunner().invoke(app, ["status", "--data-root", str(root), "--now", "2023-11-23T10:00:00+08:00"])
    assert run.exit_code == 0, run.output
    assert "2023-W47 报送情况" in run.output
