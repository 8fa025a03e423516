"""`init`: a working data root (folders, default config, a roster template, the database)."""

from __future__ import annotations

from pathlib import Path

import xlsxwriter

from ..core.contracts import roster_columns
from ..core.default_config import DEFAULT_CONFIG
from ..core.errors import DataRootError
from ..core.paths import Paths
from ..core.settings import CONFIG_FILE_NAME, Settings, load_settings
from ..record.db import make_engine, migrate
from ..write import kinds
from ..write.paging import apply_xlsxwriter, plan


def open_data_root(root: Path) -> tuple[Settings, Paths]:
    """An existing data root's settings and paths, or one clear line: no such root (DataRootError), or what is
    wrong in its config.toml, secrets.toml or INSPECT_PIPELINE_* variables (ConfigError), for the CLI and the
    flows alike."""
    if not root.is_dir():
        raise DataRootError(f"数据目录 {root} 不存在：请先运行 inspect-pipeline init --data-root {root}")
    settings = load_settings(root)
    return settings, Paths.at(root, settings)


def init_data_root(root: Path) -> list[Path]:
    """Create what is missing below `root`; never overwrite the clerk's files. Returns what was created."""
    created: list[Path] = []
    root.mkdir(parents=True, exist_ok=True)
    config = root / CONFIG_FILE_NAME
    if not config.exists():
        config.write_text(DEFAULT_CONFIG, encoding="utf-8")
        created.append(config)
    settings = load_settings(root)
    paths = Paths.at(root, settings)
    for folder in (paths.inbox, paths.archive_root, paths.receipts_root, paths.reports_root, paths.templates_root,
                   paths.state_dir):
        if not folder.exists():
            folder.mkdir(parents=True)
            created.append(folder)
    if not paths.roster_file.exists():
        write_roster_template(paths.roster_file)
        created.append(paths.roster_file)
    migrate(make_engine(paths.database_url), create=True)
    return created


def write_roster_template(path: Path) -> Path:
    """An empty roster with the contract's headers and a sheet explaining each column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    book.set_properties({kinds.PROPERTY: "roster-template"})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    sheet = book.add_worksheet("包片包校安排表")
    notes = book.add_worksheet("填写说明")
    notes.write_row(0, 0, ["列名", "是否必填", "说明"], head)
    wrap = book.add_format({"text_wrap": True, "valign": "vcenter"})
    for j, col in enumerate(roster_columns()):
        sheet.write_string(0, j, col.header, head)
        sheet.set_column(j, j, 14)
        required = "必填" if col.required == "always" else "选填"
        notes.write_row(j + 1, 0, [col.header, required, _ROSTER_HELP.get(col.id, "")], wrap)
    sheet.freeze_panes(1, 0)
    notes.set_column(0, 0, 14)
    notes.set_column(2, 2, 70)
    apply_xlsxwriter(sheet, plan([14] * len(roster_columns())), repeat_rows=(0, 0))
    apply_xlsxwriter(notes, plan([14, 8.43, 70], landscape=False), repeat_rows=(0, 0))
    for ws in (sheet, notes):
        ws.set_header("&L&A&R学校名单（包片包校安排）")
    book.close()
    return path


_ROSTER_HELP = {
    "school_name": "学校全称，不可重复",
    "school_code": "10 位学校标识码，不可重复；填写后以标识码识别学校",
    "aliases": "简称或别名，多个用 、 ; , / 分隔；每个简称只能对应一所学校",
    "stage": "幼儿园、小学、初中、高中、中职、特教（九年一贯制等按配置计入初中）",
    "urban_rural": "城区、镇区、乡村",
    "township": "所在乡镇或街道",
    "zone": "所属片区",
    "zone_leader": "包片领导；同一片区只能有一位",
    "section": "包校科室，如 安法科",
    "section_owner": "包校责任人",
    "school_email": "学校邮箱，用于发送回执",
    "owner_email": "包校责任人邮箱，用于催报提醒",
    "owner_mobile": "包校责任人手机号（11 位），仅用于在企业微信/钉钉群中 @ 提醒",
    "active_from": "启用日期（此日期后的周需报送）",
    "active_to": "停用日期（此日期后不再需要报送）",
}
