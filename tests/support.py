"""Helpers for intake tests: a small data root and school workbooks built inline."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import openpyxl

from inspect_pipeline.intake.run import IntakeResult, run_intake
from inspect_pipeline.core.paths import Paths
from inspect_pipeline.core.settings import load_settings
from inspect_pipeline.jobs.setup import init_data_root

ROSTER = [
    ("学校名称", "学校标识码", "简称", "学段", "片区", "包片领导", "包校科室", "包校责任人"),
    ("丰润区第一实验小学", "2113000001", "一实小", "小学", "一片", "赵局长", "安法科", "钱明"),
    ("丰润区第三幼儿园", "1113000003", "三幼", "幼儿园", "一片", "赵局长", "安法科", "孙丽"),
    ("丰润区银城铺镇中学", "3113000005", "银中", "初中", "二片", "周局长", "教育科", "吴刚"),
]
HEADERS = ["序号", "隐患编号", "排查日期", "排查来源", "隐患部位", "隐患类别", "隐患描述", "隐患等级", "整改方式",
           "整改措施", "整改责任人", "整改时限", "整改资金（万元）", "临时管控措施", "整改状态", "完成日期", "验收人", "备注"]
NOW = dt.datetime.fromisoformat("2023-11-23T10:00:00+08:00")


def make_root(tmp_path: Path) -> Path:
    """An initialised data root with the small roster and no quiet period."""
    root = tmp_path / "data"
    init_data_root(root)
    book = openpyxl.Workbook()
    for row in ROSTER:
        book.active.append(row)
    book.save(root / "roster.xlsx")
    config = root / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("quiet_seconds = 2", "quiet_seconds = 1"),
                      encoding="utf-8")
    return root


def hazard(desc="灭火器过期", found=dt.datetime(2023, 11, 20), status="整改中", level="一般", **kw) -> dict:
    row = {"排查日期": found, "隐患部位": kw.pop("location", "教学楼"), "隐患类别": "消防", "隐患描述": desc,
           "隐患等级": level, "整改方式": "限期整改", "整改措施": "更换", "整改责任人": "李四",
           "整改时限": dt.datetime(2023, 11, 30), "整改状态": status}
    if level == "重大":
        row["临时管控措施"] = "设置警示"
    row.update(kw)
    return row


def school_book(unit="丰润区第一实验小学", rows=(), week="2023年第47周", code=None, zero=False, checks=None,
                person_times=None) -> bytes:
    """A school's weekly workbook laid out like the official template."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "隐患排查"
    ws.append([f"{unit}安全隐患排查整治台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    ws.append([f"填报单位：{unit}", None, None, None, "学校标识码", code])
    ws.append([f"周次：{week}" if week else None, None, None, None, "填报人：张三", None,
               f"本周排查次数：{checks}" if checks is not None else None, None,
               f"检查人次：{person_times}" if person_times is not None else None])
    ws.append(HEADERS)
    for i, r in enumerate(rows, start=1):
        ws.append([i, *[r.get(h) for h in HEADERS[1:]]])
    if zero:
        ws.append([None, None, None, None, None, None, "本周无隐患"])
    ws.append(["填报人：张三    审核人：李四    校长签字："])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def drop(root: Path, rel: str, data: bytes) -> Path:
    path = root / "inbox" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def intake(root: Path, now: dt.datetime = NOW) -> IntakeResult:
    settings = load_settings(root)
    return run_intake(Paths.at(root, settings), settings, now, settle=False)


def manifest(root: Path, week: str = "2023-W47") -> dict:
    return json.loads((root / "receipts" / week / "manifest.json").read_text(encoding="utf-8"))


def outcomes(root: Path, week: str = "2023-W47") -> dict[str, str]:
    return {f["file"]: f["outcome"] for f in manifest(root, week)["files"]}


def cells(entry: dict) -> list[tuple[str | None, str]]:
    return sorted(((i["cell"], i["code"]) for i in entry["issues"]), key=lambda x: (x[0] or "", x[1]))


def tree_rss(session: int) -> tuple[int, int]:
    """(sum, largest) resident size in bytes of the processes of a session — a CLI run started with
    start_new_session=True, its fork server and workers (Linux: read from /proc)."""
    import os

    page = os.sysconf("SC_PAGE_SIZE")
    total = largest = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text(encoding="ascii", errors="replace").rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session:  # field 6 of /proc/<pid>/stat: the session id
            rss = int(fields[21]) * page
            total, largest = total + rss, max(largest, rss)
    return total, largest
