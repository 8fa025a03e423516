"""The real `inspect-pipeline` on a console whose encoding is GBK (a Chinese Windows console, or its output
redirected to a file): every command speaks Chinese there, and a character GBK lacks (an emoji in a file name)
is shown as `?` — never a UnicodeEncodeError or a traceback. Each run is a subprocess with PYTHONIOENCODING=gbk."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from support import drop, hazard, make_root, school_book

NOW = "2023-11-23T10:00:00+08:00"


def run(*args: str, tty: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    """`inspect-pipeline …` as a clerk's GBK console runs it (the installed script, else `python -m`); output
    decoded as GBK, strictly: a byte that is not GBK fails the test. `tty`: Rich draws as on a terminal (colours,
    progress bars)."""
    script = shutil.which("inspect-pipeline", path=str(Path(sys.executable).parent))
    command = [script] if script else [sys.executable, "-m", "inspect_pipeline"]
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "FORCE_COLOR", "NO_COLOR",
                                                              "TTY_COMPATIBLE", "PYTHONUTF8")}
    env.update(PYTHONIOENCODING="gbk", COLUMNS="160")
    if tty:
        env.update(FORCE_COLOR="1", TTY_COMPATIBLE="1")
    done = subprocess.run([*command, *args], capture_output=True, env=env, timeout=timeout)
    out, err = done.stdout.decode("gbk"), done.stderr.decode("gbk")
    for stream in (out, err):
        assert "Traceback" not in stream and "UnicodeEncodeError" not in stream, stream
    return subprocess.CompletedProcess(done.args, done.returncode, out, err)


def test_everything_the_cli_says_of_its_own_is_in_gbk():
    """The CLI's own words (messages, help, the roster's problems, the demo's lines, failure lines) need no `?`:
    every string constant of the modules that write to the terminal encodes in GBK."""
    import ast

    import inspect_pipeline

    package = Path(inspect_pipeline.__file__).parent
    lacking = []
    for rel in ("cli.py", "core/errors.py", "core/terminal.py", "schools/roster.py", "schools/roster_problems.py",
                "demo/run.py", "read/sniff.py", "report/summary.py"):
        for node in ast.walk(ast.parse((package / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                try:
                    node.value.encode("gbk")
                except UnicodeEncodeError:
                    lacking.append((rel, node.lineno, node.value))
    assert lacking == [], lacking


def test_help_is_chinese_in_gbk():
    done = run("--help")
    assert done.returncode == 0, done.stderr
    assert "用法：inspect-pipeline" in done.stdout and "命令" in done.stdout and "演示" in done.stdout, done.stdout
    assert "Usage" not in done.stdout and "Show this message" not in done.stdout
    done = run("report", "--help")
    assert done.returncode == 0 and "周次" in done.stdout and "显示本帮助并退出" in done.stdout, done.stdout


def test_init_status_files_and_a_name_outside_gbk(tmp_path):
    """init, then intake of a file whose name holds an emoji (not in GBK), files and status: exit 0, Chinese,
    the emoji shown as `?`."""
    fresh = tmp_path / "新建"
    done = run("init", "--data-root", str(fresh))
    assert done.returncode == 0, done.stderr
    assert "已创建" in done.stdout and "数据目录已就绪" in done.stdout and str(fresh.resolve()) in done.stdout

    root = make_root(tmp_path)
    drop(root, "一实小/周报😀.xlsx", school_book(rows=[hazard()]))
    done = run("intake", "--data-root", str(root), "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert "已受理" in done.stdout and str((root / "receipts" / "2023-W47").resolve()) in done.stdout, done.stdout
    done = run("files", "--data-root", str(root))
    assert done.returncode == 0, done.stderr
    assert "周报?.xlsx" in done.stdout and "按时" in done.stdout and "共 1 个文件" in done.stdout, done.stdout
    done = run("status", "--data-root", str(root), "--now", NOW)
    assert done.returncode == 0, done.stderr
    assert "2023-W47 报送情况" in done.stdout and "合计" in done.stdout and "+--" in done.stdout, done.stdout


def test_failures_are_one_chinese_line_in_gbk(tmp_path):
    done = run("status", "--data-root", str(tmp_path / "没有这个目录"))
    assert done.returncode == 5 and done.stderr.startswith("错误：数据目录") and "init" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    done = run("report", "--wek", "2023-W47")  # a mistyped option
    assert done.returncode == 2 and done.stderr.startswith("错误：") and "--week" in done.stderr, done.stderr
    root = make_root(tmp_path)
    book = openpyxl.load_workbook(root / "roster.xlsx")
    book.active.append(("丰润区第九小学😀", "21130000", None, "大学", "一片", "赵局长", "安法科", "钱明"))
    book.save(root / "roster.xlsx")
    done = run("intake", "--data-root", str(root), "--now", NOW)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 3 and lines[0].startswith("错误：学校名单 roster.xlsx 有 2 处问题"), done.stderr
    assert "第 5 行 B 列（学校标识码）" in lines[1] and "第 5 行 D 列（学段）" in lines[2], done.stderr


@pytest.mark.slow
def test_demo_with_progress_bars_on_a_gbk_terminal(tmp_path):
    """The demo as on a GBK terminal (Rich forced to draw as on one): its bars go to stderr, drawn in ASCII."""
    done = run("demo", "--data-root", str(tmp_path / "演示"), "--units", "12", tty=True)
    assert done.returncode == 0, done.stderr
    shown = done.stdout + done.stderr
    assert "演示进度" in done.stderr and "读取" in done.stderr and "----" in done.stderr, done.stderr
    assert "━" not in shown and "已受理" in shown and "报表已生成" in done.stdout, shown
