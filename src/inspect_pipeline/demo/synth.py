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
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import re
import unicodedata
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ..core.contracts import enums, load_toml, roster_columns, submission_columns

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

TZ = ZoneInfo("Asia/Shanghai")
CUTOFF_WEEKDAY = 5  # Friday (the default of settings.py)
CUTOFF_TIME = dt.time(12, 0)

OPEN = ("未整改", "整改中")
RECTIFIED = ("已整改", "已销号")

# ----------------------------------------------------------------------------------------------------------------
# Vocabulary pools (all names are synthetic)
# ----------------------------------------------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
_GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建国 建华 志强 海燕 丽娟 文静 晓东 春梅 "
    "国庆 红梅 振华 玉兰 立新 淑珍 宏伟 俊杰 雪梅 卫东 永刚 秀英 凤英 德华 晓燕 玉梅 金凤 树林 长青 建军 海涛 "
    "志刚 爱华 少华 春燕 文华 子涵 宇航 梓萱 浩然 欣怡 佳琪 思远 明轩 雨桐 一鸣 嘉怡 晓峰 红霞 丽萍 志明 永红"
).split()

_DISTRICTS = (
    "丰润区 还乡区 浭阳区 陡河区 燕南区 沙河县 双桥区 龙泉县 凤山区 青龙湾区 金沙县 玉泉县 兴安区 太平县 "
    "柳河县 石城区 白马县 黄台区 梁山县 新城区 云岭县 清水县 泉州湾区 东丰县"
).split()

_TOWN_HEADS = (
    "新 老 东 西 南 北 大 小 石 沙 柳 杨 李 王 张 刘 韩 白 黄 高 马 丰 泉 银 火 七 三 双 龙 凤 金 玉 青 兴 安 常 梁 侯 "
    "姜 唐 宋 孟 田 左 任 岔 欢 曹 潘"
).split()
_TOWN_TAILS = (
    "军屯 城铺 登坞 家营 各庄 官营 河头 树庄 流河 家坞 官屯 庄子 家寨 坨 店 桥 湾 峪 林 集 堡 口 台 洼 河 庄"
).split()
_STREETS = (
    "浭阳 太平路 燕山路 光华道 新华道 建设路 文化路 龙华 兴华 幸福道 曹雪芹 还乡河 光明 和平 团结 胜利"
).split()
_VILLAGE_TAILS = "家庄 各庄 官营 家坞 庄子 家寨 家屯 家沟 家店 家峪 家营 官屯 家湾 家堡".split()
_VILLAGE_HEADS = ["", "", "", "东", "西", "南", "北", "前", "后", "大", "小"]
_NICE = (
    "阳光 童心 蓝天 爱心 小天使 金色摇篮 启明星 育英 英才 博文 明德 春蕾 七彩虹 小太阳 新星 智慧树 贝贝 育才 晨曦 "
    "未来星 小博士 彩虹桥 启航 春苗 希望 文昌 知行 弘毅 致远 树人 德才 星河 朝阳 雨露 百灵鸟 快乐岛 小白鸽 童乐 "
    "金太阳 新苗"
).split()
_CN_DIGITS = "零一二三四五六七八九"

_SECTIONS = {
    "安法科": "afk",
    "教育科": "jyk",
    "基础教育科": "jjk",
    "学前教育办": "xqb",
    "职成科": "zck",
    "后勤办": "hqb",
    "信访办": "xfb",
    "人事科": "rsk",
    "计财科": "jck",
    "督导室": "dds",
    "办公室": "bgs",
    "体卫艺科": "twk",
    "教研室": "jys",
    "电教站": "djz",
}
_ZONE_NAMES = ["城区片", "东部片", "西部片", "南部片", "北部片", "中部片", "东北片", "西南片"]

# Stage mix of the roster (学段), the order of the spec; fractions sum to 1.
_STAGE_SHARES = {"幼儿园": 0.36, "小学": 0.41, "初中": 0.15, "高中": 0.04, "中职": 0.03, "特教": 0.01}
_STAGE_PREFIX = {"幼儿园": "11", "小学": "21", "初中": "31", "高中": "34", "中职": "36", "特教": "51"}

# Hazards per category: (description, measures) pairs, locations, and major hazards (description, measures,
# interim control). Category codes are those of schemas/enums.toml.
_HAZARDS: dict[str, dict] = {
    "XF": {
        "loc": ["教学楼一楼走廊", "教学楼二楼楼梯间", "教学楼三楼东侧", "学生宿舍楼", "食堂操作间", "图书室", "多功能厅",
                "办公楼", "车棚", "综合楼"],
        "items": [("灭火器压力不足", "更换灭火器"), ("灭火器过期未检", "送检并更换过期灭火器"),
                  ("消火栓水带缺失", "补齐消火栓水带和水枪"), ("疏散指示标志损坏", "更换疏散指示标志"),
                  ("应急照明灯不亮", "维修更换应急照明灯"), ("安全出口堆放杂物", "清理杂物保持畅通"),
                  ("电动车在楼道内充电", "设置集中充电区并清理楼道"), ("防火门闭门器损坏", "维修防火门闭门器"),
                  ("烟感报警器故障", "维修烟感报警器"), ("消防通道被车辆占用", "施划禁停标线并专人管理")],
        "major": [("消防给水系统瘫痪，消火栓无水", "维修消防水泵及管网", "配备临时灭火器材，专人每日巡查"),
                  ("学生宿舍安全出口被封堵", "拆除封堵设施，恢复安全出口", "宿舍楼安排专人夜间值守")],
    },
    "JZ": {
        "loc": ["教学楼北墙", "学校东侧围墙", "学生宿舍楼顶", "食堂屋面", "操场看台", "教学楼外廊护栏", "校门门垛",
                "平房教室"],
        "items": [("墙体出现裂缝", "聘请专业单位检测并修补"), ("护栏松动", "加固护栏"), ("屋顶漏水", "修缮屋面防水"),
                  ("围墙局部倾斜", "拆除重建倾斜墙段"), ("外墙瓷砖脱落", "清除松动瓷砖并修复"),
                  ("楼梯扶手松动", "加固楼梯扶手"), ("窗户限位器缺失", "加装窗户限位器")],
        "major": [("教学楼墙体贯通裂缝，经鉴定为C级危房", "申请维修资金，暑期加固改造", "停止使用该区域，设置警戒线"),
                  ("围墙外倾严重，临近学生通道", "拆除重建围墙", "封闭学生通道，设置警示标志，专人值守")],
    },
    "YD": {
        "loc": ["配电室", "教学楼二楼教室", "计算机教室", "学生宿舍", "食堂操作间", "办公室", "多媒体教室"],
        "items": [("电线老化裸露", "更换老化线路"), ("插座破损", "更换破损插座"), ("私拉乱接电线", "拆除私接线路"),
                  ("配电箱未上锁", "配电箱加锁并张贴警示"), ("漏电保护器失灵", "更换漏电保护器"),
                  ("照明灯具松动", "紧固灯具")],
        "major": [("配电室线路严重老化，多次跳闸冒烟", "整体更换配电线路", "限制用电负荷，专人每日巡查")],
    },
    "RQ": {
        "loc": ["食堂操作间", "锅炉房", "开水房", "食堂库房"],
        "items": [("燃气管道未安装泄漏报警器", "安装燃气泄漏报警器"), ("燃气软管老化", "更换燃气软管"),
                  ("液化气瓶与灶具距离不足", "调整气瓶位置"), ("燃气阀门锈蚀", "更换燃气阀门")],
        "major": [("燃气管道接口泄漏", "更换燃气管道", "关闭燃气总阀，暂停使用燃气灶具")],
    },
    "SP": {
        "loc": ["食堂操作间", "食堂库房", "食堂售饭间", "学生餐厅", "饮水间"],
        "items": [("食品留样记录不全", "完善留样记录"), ("从业人员健康证过期", "组织从业人员办理健康证"),
                  ("明厨亮灶摄像头故障", "维修明厨亮灶摄像头"), ("生熟刀具未分开", "分开存放生熟刀具"),
                  ("库房食品离地离墙不足", "加装货架整改"), ("饮水机滤芯未按期更换", "更换饮水机滤芯")],
        "major": [],
    },
    "JT": {
        "loc": ["学校门口", "校门外道路", "校车停放点", "学校南门"],
        "items": [("校门口减速带损坏", "更换减速带"), ("校车安全锤缺失", "补齐校车安全锤"),
                  ("上下学时段校门口车辆拥堵", "协调交警加强疏导"), ("交通警示标志缺失", "设置交通警示标志")],
        "major": [],
    },
    "SY": {
        "loc": ["化学实验室", "物理实验室", "生物实验室", "危化品储存室", "科学实验室"],
        "items": [("危化品未双人双锁管理", "落实双人双锁管理"), ("通风橱故障", "维修通风橱"),
                  ("实验室应急洗眼器缺失", "安装应急洗眼器"), ("危化品台账不全", "完善危化品台账")],
        "major": [("危化品储存室混存强氧化剂和易燃品", "分类分库存放", "封存问题试剂，专人管理")],
    },
    "TZ": {
        "loc": ["锅炉房", "教学楼电梯", "食堂", "综合楼电梯"],
        "items": [("锅炉压力表未检定", "送检锅炉压力表"), ("电梯年检过期", "联系检验机构年检"),
                  ("压力容器安全阀未校验", "校验安全阀"), ("司炉工证件过期", "组织司炉工复审")],
        "major": [("锅炉超期未检验且安全阀失效", "停用锅炉并检验维修", "停止锅炉运行，改用临时供暖")],
    },
    "TY": {
        "loc": ["操场", "篮球场", "体育器材室", "户外活动场地", "风雨操场"],
        "items": [("篮球架底座松动", "加固篮球架"), ("单杠锈蚀", "除锈并加固单杠"), ("滑梯螺丝松动", "紧固滑梯螺丝"),
                  ("跑道破损", "修补跑道"), ("足球门未固定", "固定足球门")],
        "major": [],
    },
    "AB": {
        "loc": ["门卫室", "学校大门", "监控室", "学校周界", "校门口"],
        "items": [("一键报警装置故障", "联系厂家维修一键报警装置"), ("视频监控存在盲区", "增设监控摄像头"),
                  ("防冲撞设施缺失", "安装防冲撞隔离桩"), ("门卫登记不规范", "规范来访登记"),
                  ("保安器械配备不全", "补齐保安防护器械"), ("监控录像保存不足30天", "扩容监控存储")],
        "major": [],
    },
    "ZH": {
        "loc": ["学校周边河道", "操场排水沟", "校园低洼处", "学校后山坡"],
        "items": [("防溺水警示牌缺失", "设置防溺水警示牌"), ("排水沟堵塞", "清理排水沟"),
                  ("汛期排水不畅", "疏通排水管网")],
        "major": [("学校后山坡有滑坡迹象", "请专业机构评估治理", "划定危险区域，禁止学生进入")],
    },
    "ZB": {
        "loc": ["学校门口", "学校周边", "校门外200米"],
        "items": [("校门口流动摊贩聚集", "协调市场监管部门清理"), ("周边网吧违规接纳学生", "报告文化执法部门"),
                  ("校门口占道经营", "协调城管部门整治")],
        "major": [],
    },
    "SG": {
        "loc": ["新建教学楼工地", "操场改造工地", "食堂改造现场"],
        "items": [("施工区域未封闭", "设置硬质围挡封闭施工区"), ("动火作业无审批", "落实动火审批制度"),
                  ("施工材料堆放占用通道", "清理施工材料")],
        "major": [("施工区域与学生活动区未隔离", "设置硬质隔离", "施工期间调整学生活动路线，专人值守")],
    },
    "GL": {
        "loc": ["安全办公室", "学校办公室", "政教处", "校长室"],
        "items": [("安全台账不完善", "完善安全台账"), ("应急演练记录缺失", "补充演练记录并组织演练"),
                  ("安全制度未上墙", "制度上墙公示"), ("教职工安全培训记录不全", "组织安全培训并记录"),
                  ("安全责任书未签订", "签订安全责任书")],
        "major": [],
    },
    "WS": {
        "loc": ["医务室", "保健室", "学生宿舍", "教室"],
        "items": [("晨午检记录不全", "规范晨午检登记"), ("消毒记录缺失", "落实消毒并记录"),
                  ("传染病报告制度未落实", "落实传染病报告制度")],
        "major": [],
    },
    "QT": {
        "loc": ["校园西北角", "学校仓库", "锅炉房旁空地"],
        "items": [("杂物堆放过多", "清理杂物"), ("废旧桌椅未及时处置", "清运废旧桌椅")],
        "major": [],
    },
}
_CATEGORY_WEIGHTS = {"XF": 20, "YD": 15, "JZ": 12, "AB": 12, "SP": 8, "GL": 8, "TY": 6, "JT": 4, "RQ": 3, "SY": 3,
                     "TZ": 2, "ZH": 2, "ZB": 2, "SG": 1, "WS": 2, "QT": 1}
_REMARKS = ["已上报教育局", "待资金到位", "已申请维修资金", "已联系厂家", "持续跟踪", "已通知家长委员会", "等待配件"]
_FOOTER_NOTES = [
    "注：隐患等级填写一般或重大；整改状态填写未整改、整改中、已整改、已销号。",
    "说明：本表每周五12时前报送教育局安法科。",
]
# Header texts that match no canonical header or alias (extra columns → warning extra-column).
_EXTRA_HEADERS = ["检查人员", "隐患照片", "是否上报", "整改前照片", "整改后照片", "联系方式", "督办情况"]


# ----------------------------------------------------------------------------------------------------------------
# Public data types
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Hazard:
    """One hazard as the school means it (the truth behind a row); fields are submission column ids."""

    found_date: dt.date
    source: str
    location: str
    category: str  # canonical (消防安全 …)
    description: str
    level: str  # 一般 | 重大
    mode: str | None  # 立即整改 | 限期整改
    measures: str | None
    owner: str
    deadline: dt.date | None
    funds_wan: float | None
    interim_control: str | None
    status: str
    done_date: dt.date | None
    verifier: str | None
    remarks: str | None

    @property
    def identity(self) -> str:
        """The spec's cross-week identity (found_date, location, description), as one string."""
        return f"{self.found_date.isoformat()}|{_fold_key(self.location)}|{_fold_key(self.description)}"

    def to_json(self) -> dict:
        d = asdict(self)
        for k in ("found_date", "deadline", "done_date"):
            d[k] = d[k].isoformat() if d[k] else None
        return d

    @classmethod
    def from_json(cls, d: dict) -> Hazard:
        d = dict(d)
        for k in ("found_date", "deadline", "done_date"):
            d[k] = dt.date.fromisoformat(d[k]) if d[k] else None
        return cls(**d)


@dataclass
class SynthFile:
    """One file of the synthetic inbox and what the pipeline must make of it.

    `path` is relative to the inbox (POSIX separators); `rows` are the hazards the file lists (the truth, as
    dicts keyed by submission column ids, before any deliberate defect); `expected` holds `outcome`
    (accepted | rejected | None for ignored temp files), `errors` and `warnings` (sorted `[cell, code]` lists),
    plus `hazards` (the manifest's per-file counts), `defects`, `features`, `sheet`.
    """

    path: str
    school_code: str | None
    school_name: str | None
    kind: str  # valid | messy | zero | invalid | unreadable | temp
    format: str  # xlsx | csv | ods | xls | docx | jpg | lock
    rows: list[dict]
    expected: dict
    payload: object = field(default=None, repr=False, compare=False)  # sheets to write, or raw bytes
    mtime: float = field(default=0.0, repr=False, compare=False)

    @property
    def school(self) -> tuple[str | None, str | None]:
        return (self.school_code, self.school_name)

    def content(self) -> bytes:
        """The file's bytes."""
        if isinstance(self.payload, bytes):
            return self.payload
        fmt, sheets = self.payload
        if fmt == "xlsx":
            return _xlsx_bytes(sheets)
        if fmt == "ods":
            return _ods_bytes(sheets)
        if fmt.startswith("csv:"):
            return _csv_bytes(sheets[0], fmt.split(":", 1)[1])
        raise ValueError(fmt)


class SynthWeek(list):
    """The files of one generated week (a list of SynthFile) with the week's facts and the state for the next."""

    week: str = ""
    cutoff: str = ""
    seed: int = 0
    due: list[str]
    missing: list[str]
    state: dict


# ----------------------------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------------------------


def _cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (1..99)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return f"{head}十{_CN_DIGITS[ones] if ones else ''}"


def _col_letter(c: int) -> str:
    s = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        s = chr(65 + rem) + s
    return s


_LETTERS = [_col_letter(i) for i in range(256)]


def _addr(r: int, c: int) -> str:
    return f"{_LETTERS[c]}{r + 1}"


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def _fold_key(s: str) -> str:
    return re.sub(r"\s+", "", _fold(s))


_BRACKET_TAIL = re.compile(r"[（(][^（）()]*[）)]$")


def _norm_header(s: str) -> str:
    return _BRACKET_TAIL.sub("", _fold_key(s))


_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _person(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + rng.choice(_GIVEN)


def _unique_person(rng: random.Random, used: set[str]) -> str:
    for _ in range(1000):
        p = _person(rng)
        if p not in used:
            used.add(p)
            return p
    p = _person(rng) + _CN_DIGITS[len(used) % 10]
    used.add(p)
    return p


def _phone(rng: random.Random) -> str:
    return "1" + rng.choice(["38", "39", "35", "37", "50", "52", "58", "87", "88", "33", "80", "89"]) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


@cache
def _severity() -> dict[str, str]:
    return {code: spec["severity"] for code, spec in load_toml("issues.toml").items()}


@cache
def _columns() -> dict:
    return {c.id: c for c in submission_columns()}


@cache
def _header_vocabulary() -> frozenset[str]:
    words = {"编号"}
    for c in submission_columns():
        words.add(_norm_header(c.header))
        words.update(_norm_header(a) for a in c.aliases)
    return frozenset(words)


@cache
def _extra_headers() -> tuple[str, ...]:
    vocab = _header_vocabulary()
    return tuple(h for h in _EXTRA_HEADERS if _norm_header(h) not in vocab)


@cache
def _enum_forms(name: str) -> dict[str, list[str]]:
    """Canonical value → the synonyms schools write for it (from schemas/enums.toml)."""
    spec = enums()[name]
    out: dict[str, list[str]] = {v: [] for v in spec.values}
    for syn, canonical in spec.synonyms.items():
        if syn != canonical:
            out[canonical].append(syn)
    return out


@cache
def _category_codes() -> dict[str, str]:
    """Two-letter code → canonical category."""
    return dict(enums()["category"].codes)


# ----------------------------------------------------------------------------------------------------------------
# The week
# ----------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Week:
    label: str
    year: int
    num: int
    monday: dt.date
    cutoff_date: dt.date
    cutoff: dt.datetime

    @property
    def last_day(self) -> dt.date:
        """Latest date used for found/done dates: the day before the cutoff date (files arrive before the cutoff)."""
        return self.cutoff_date - dt.timedelta(days=1)

    def cn(self) -> str:
        return f"{self.year}年第{self.num}周"

    def shifted(self, weeks: int) -> _Week:
        iso = (self.monday + dt.timedelta(weeks=weeks)).isocalendar()
        return _week(f"{iso.year}-W{iso.week:02d}")


def _week(label: str) -> _Week:
    m = re.fullmatch(r"(\d{4})-W(\d{1,2})", label.strip())
    if not m:
        raise ValueError(f"not a week label: {label!r} (expected e.g. 2023-W47)")
    year, num = int(m[1]), int(m[2])
    monday = dt.date.fromisocalendar(year, num, 1)
    cutoff_date = dt.date.fromisocalendar(year, num, CUTOFF_WEEKDAY)
    return _Week(f"{year}-W{num:02d}", year, num, monday, cutoff_date,
                 dt.datetime.combine(cutoff_date, CUTOFF_TIME, tzinfo=TZ))


def _active(school: dict, day: dt.date) -> bool:
    f, t = school.get("active_from"), school.get("active_to")
    return (f is None or f <= day) and (t is None or t >= day)


# ----------------------------------------------------------------------------------------------------------------
# Roster
# ----------------------------------------------------------------------------------------------------------------


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def _stage_counts(n: int) -> dict[str, int]:
    raw = {s: n * f for s, f in _STAGE_SHARES.items()}
    counts = {s: int(v) for s, v in raw.items()}
    for s in sorted(raw, key=lambda s: (counts[s] - raw[s], list(raw).index(s)))[: n - sum(counts.values())]:
        counts[s] += 1
    return counts


class _Names:
    """Keeps school names and aliases unique across the roster."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def take(self, name: str) -> bool:
        key = _fold_key(name)
        if key in self.names:
            return False
        self.names.add(key)
        return True


def _district_list(n: int, rng: random.Random) -> list[str]:
    pool = list(_DISTRICTS)
    out = pool[:1] + rng.sample(pool[1:], min(n - 1, len(pool) - 1))
    i = 0
    while len(out) < n:  # more than the pool: compose further county names
        name = f"{_TOWN_HEADS[i % len(_TOWN_HEADS)]}{_TOWN_TAILS[(i // len(_TOWN_HEADS)) % len(_TOWN_TAILS)]}县"
        if name not in out:
            out.append(name)
        i += 1
    return out[:n]


def _township_bases(rng: random.Random):
    fixed = ["新军屯", "银城铺"]
    combos = [h + t for h in _TOWN_HEADS for t in _TOWN_TAILS if len(h + t) >= 2]
    rng.shuffle(combos)
    seen = set(fixed)
    yield from fixed
    for c in combos:
        if c not in seen and len(c) >= 2:
            seen.add(c)
            yield c
    n = 0
    while True:  # practically unreachable
        n += 1
        yield f"新{_cn_number(n % 99 + 1)}屯"


def _village_names(rng: random.Random):
    combos = [h + s + t for h in _VILLAGE_HEADS for s in _SURNAMES for t in _VILLAGE_TAILS]
    rng.shuffle(combos)
    seen: set[str] = set()
    for c in combos:
        if c not in seen:
            seen.add(c)
            yield c


def make_roster(units: int = 240, zones: int = 6, seed: int = 0) -> list[dict]:
    """A synthetic 包片包校 roster: `units` schools over `zones` 片区, rows keyed by the roster's column ids.

    Names, codes (10 digits: stage prefix, `13`, six digits) and aliases (简称, `、`-separated) are unique across
    the roster, and no alias equals a school name. One 包片领导 per zone, several 包校科室/包校责任人 per zone.
    Rosters over ~300 units span several districts (a city).
    """
    rng = random.Random(f"synth-roster:{seed}")
    if units <= 0:
        return []
    zones = max(1, min(zones, units))
    names = _Names()
    n_districts = max(1, -(-units // 300))
    districts = _district_list(n_districts, rng)
    towns_iter = _township_bases(rng)
    schools: list[dict] = []  # internal records
    for di, (district, n_d) in enumerate(zip(districts, _split(units, n_districts))):
        schools.extend(_district_schools(rng, names, di, district, n_d, towns_iter))

    # codes: stage prefix + 13 + six unique digits
    sixes = rng.sample(range(100000, 1000000), len(schools))
    for s, six in zip(schools, sixes):
        s["school_code"] = f"{_STAGE_PREFIX[s['stage']]}13{six:06d}"

    # aliases: unique, never another school's name
    taken_alias: set[str] = set()
    name_keys = names.names
    for s in schools:
        kept = []
        for a in s.pop("_alias_candidates"):
            key = _fold_key(a)
            if key in name_keys or key in taken_alias or key == _fold_key(s["school_name"]):
                continue
            taken_alias.add(key)
            kept.append(a)
            if len(kept) == 2:
                break
        s["aliases"] = "、".join(kept) if kept else None

    # zones: contiguous groups (a township's schools together, district-level schools first)
    groups: dict[str, list[dict]] = {}
    for s in schools:
        groups.setdefault(s.pop("_group"), []).append(s)
    zone_names = (
        _ZONE_NAMES[:zones] if zones <= len(_ZONE_NAMES) and rng.random() < 0.5
        else [f"{_cn_number(i + 1)}片" if i < 99 else f"{i + 1}片" for i in range(zones)]
    )
    ordered = [s for g in groups.values() for s in g]
    zone_of: list[int] = []
    z, count, target = 0, 0, units / zones
    for g in groups.values():
        if count >= target * (z + 1) - len(g) / 2 and z < zones - 1:
            z += 1
        zone_of.extend([z] * len(g))
        count += len(g)
    if len(set(zone_of)) < zones:  # tiny rosters: deal schools out one by one
        zone_of = [i * zones // units for i in range(units)]

    people: set[str] = set()
    leaders = [_unique_person(rng, people) for _ in range(zones)]
    section_names = list(_SECTIONS)
    by_zone: dict[int, list[dict]] = {}
    for s, zi in zip(ordered, zone_of):
        s["zone"] = zone_names[zi]
        s["zone_leader"] = leaders[zi]
        by_zone.setdefault(zi, []).append(s)
    owner_no = 0
    for zi, members in by_zone.items():
        n_owners = max(1, min(len(members), max(2, min(5, round(len(members) / 12)))))
        sections = rng.sample(section_names, min(n_owners, len(section_names)))
        while len(sections) < n_owners:
            sections.append(rng.choice(section_names))
        owners = []
        for sec in sections:
            owner_no += 1
            owners.append((sec, _unique_person(rng, people), f"jyj.{_SECTIONS[sec]}{owner_no:03d}@example.com"))
        for s, part in zip(members, _chunk_index(len(members), n_owners)):
            sec, owner, mail = owners[part]
            s["section"], s["section_owner"], s["owner_email"] = sec, owner, mail

    # a few schools opened this school year, a few closed (撤并) before the term: not due
    for s in schools:
        s["active_from"] = None
        s["active_to"] = None
        s["school_email"] = f"xx{s['school_code']}@school.example.com"
    village = [s for s in schools if s["urban_rural"] == "乡村"]
    for s in rng.sample(schools, len(schools) // 60):
        s["active_from"] = dt.date(2023, 9, 1)
    for s in rng.sample(village, min(len(village), len(schools) // 100)):
        s["active_from"] = None
        s["active_to"] = dt.date(2023, 7, 31)

    ids = [c.id for c in roster_columns()]
    return [{k: s.get(k) for k in ids} for s in ordered]


def _chunk_index(n: int, parts: int) -> list[int]:
    return [i * parts // n for i in range(n)]


def _district_schools(rng, names: _Names, di: int, district: str, n_d: int, towns_iter) -> list[dict]:
    """The schools of one district: district-level schools in the city streets, then township schools."""
    short = district[:-1] if len(district) > 2 else district
    dpre = "" if di == 0 else short  # alias prefix outside the first district
    n_towns = max(2, round(n_d / 13))
    towns = []
    for _ in range(n_towns):
        base = next(towns_iter)
        towns.append((base, base + rng.choice(["镇", "镇", "镇", "乡"])))
    streets = [s + "街道" for s in rng.sample(_STREETS, min(len(_STREETS), max(1, round(n_towns / 5))))]
    villages = {t[1]: _village_names(random.Random(f"{rng.random()}")) for t in towns}
    nice = list(_NICE)
    rng.shuffle(nice)
    nice_iter = iter(nice)
    counts = _stage_counts(n_d)
    out: list[dict] = []

    def add(name, stage, ur, township, group, aliases=(), through=False) -> bool:
        if not names.take(name):
            return False
        out.append({"school_name": name, "stage": stage, "urban_rural": ur, "township": township,
                    "_group": group, "_alias_candidates": list(aliases), "_through": through})
        return True

    def city():
        st = rng.choice(streets)
        return st, f"{district}:{st}"

    def village_school(suffix, stage, through=False, alias_p=0.25):
        t_base, town = rng.choice(towns)
        for _ in range(50):
            v = next(villages[town])
            name = f"{town}{v}{suffix}"
            aliases = [f"{v}{suffix}"] if rng.random() < alias_p else []
            if add(name, stage, "乡村", town, f"{district}:{town}", aliases, through):
                return True
        return False

    def numbered(stage, pattern, alias_pattern, n):
        made = 0
        i = 1
        while made < n and i < 99:
            st, g = city()
            name = pattern.format(d=district, n=_cn_number(i))
            alias = alias_pattern.format(p=dpre, n=_cn_number(i)) if alias_pattern else None
            if add(name, stage, "城区", st, g, [alias] if alias else []):
                made += 1
            i += 1
        return made

    def private(stage, suffix, n, alias_suffix=None):
        made = 0
        for nm in nice_iter:
            if made >= n:
                break
            st, g = city()
            if add(f"{district}{nm}{suffix}", stage, rng.choice(["城区", "镇区"]), st, g,
                   [f"{nm}{alias_suffix}"] if alias_suffix else []):
                made += 1
        return made

    def fixed(stage, name, aliases):
        st, g = city()
        return add(name, stage, "城区", st, g, aliases)

    def central(stage, suffix, alias_suffix, n, prefix_district=False):
        made = 0
        for t_base, town in towns:
            if made >= n:
                break
            name = f"{district}{town}{suffix}" if prefix_district else f"{town}{suffix}"
            if add(name, stage, "镇区", town, f"{district}:{town}", [f"{t_base}{alias_suffix}"]):
                made += 1
        return made

    def fill(stage, k, plan):
        made = 0
        for step in plan:
            if made >= k:
                break
            made += step(k - made)
        while made < k:  # villages never run out
            if not village_school(*_VILLAGE_FALLBACK[stage]):
                break
            made += 1

    k = counts["幼儿园"]
    fill("幼儿园", k, [
        lambda r: numbered("幼儿园", "{d}第{n}幼儿园", "{p}{n}幼", min(r, max(1, round(k * 0.12)))),
        lambda r: int(fixed("幼儿园", f"{district}实验幼儿园", [f"{dpre}实验幼", f"{dpre}实幼"])) if k >= 6 else 0,
        lambda r: int(fixed("幼儿园", f"{district}机关幼儿园", [f"{dpre}机关园"])) if k >= 8 else 0,
        lambda r: central("幼儿园", "中心幼儿园", "中心园", min(r, round(k * 0.25))),
        lambda r: private("幼儿园", "幼儿园", min(r, round(k * 0.2)), "幼儿园"),
    ])
    k = counts["小学"]
    fill("小学", k, [
        lambda r: numbered("小学", "{d}第{n}实验小学", "{p}{n}实小", min(r, max(1, min(6, round(k * 0.05))))),
        lambda r: int(fixed("小学", f"{district}实验小学", [f"{dpre}实验小学", f"{dpre}实小"])) if k >= 10 else 0,
        lambda r: numbered("小学", "{d}第{n}小学", "{p}{n}小", min(r, round(k * 0.05))),
        lambda r: central("小学", "中心小学", "中心校", min(r, round(k * 0.3))),
    ])
    k = counts["初中"]
    through_n = round(k * 0.25)

    def through(r):
        made = 0
        for _ in range(min(r, through_n)):
            made += village_school("学校", "初中", through=True, alias_p=0)
        return made

    fill("初中", k, [
        lambda r: numbered("初中", "{d}第{n}中学", "{p}{n}中", min(r, max(1, round(k * 0.2)))),
        lambda r: int(fixed("初中", f"{district}实验中学", [f"{dpre}实验中学", f"{dpre}实中"])) if k >= 5 else 0,
        through,
        lambda r: central("初中", "中学", "中学", r, prefix_district=True),
    ])
    k = counts["高中"]
    fill("高中", k, [
        lambda r: numbered("高中", "{d}第{n}高级中学", "{p}{n}高", min(r, 4)),
        lambda r: private("高中", "高级中学", r),
    ])
    k = counts["中职"]
    fill("中职", k, [
        lambda r: int(fixed("中职", f"{district}职业技术教育中心", [f"{dpre}职教中心"])),
        lambda r: numbered("中职", "{d}第{n}职业中学", "{p}{n}职中", min(r, 3)),
        lambda r: private("中职", "职业学校", r),
    ])
    k = counts["特教"]
    fill("特教", k, [
        lambda r: int(fixed("特教", f"{district}特殊教育学校", [f"{dpre}特校"])),
        lambda r: int(fixed("特教", f"{district}启智学校", [f"{dpre}启智"])),
        lambda r: private("特教", "特殊教育学校", r),
    ])
    return out


_VILLAGE_FALLBACK = {
    "幼儿园": ("幼儿园", "幼儿园"),
    "小学": ("小学", "小学"),
    "初中": ("学校", "初中", True, 0),
    "高中": ("高级中学", "高中", False, 0),
    "中职": ("职业学校", "中职", False, 0),
    "特教": ("特殊教育学校", "特教", False, 0),
}


def write_roster(rows: list[dict], path: Path) -> Path:
    """Write the roster as `roster.xlsx`: first sheet, the Chinese headers of schemas/roster.toml in row 1."""
    cols = roster_columns()
    grid = _Grid("包片包校安排表")
    for c, col in enumerate(cols):
        grid.put(0, c, col.header)
    grid.header_rows.add(0)
    for r, row in enumerate(rows, start=1):
        for c, col in enumerate(cols):
            v = row.get(col.id)
            if v is not None and v != "":
                grid.put(r, c, v)
    grid.widths = {0: 34, 1: 13, 2: 16, 6: 8, 7: 10, 8: 12, 9: 10, 10: 34, 11: 30}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_xlsx_bytes([grid]))
    return path


# ----------------------------------------------------------------------------------------------------------------
# Hazards
# ----------------------------------------------------------------------------------------------------------------


@dataclass
class _SchoolCtx:
    school: dict
    staff: list[str]  # [principal, vice, 总务主任, 安全专干, teacher, teacher]
    phone: str

    @property
    def code(self) -> str:
        return self.school["school_code"]

    @property
    def name(self) -> str:
        return self.school["school_name"]


def _school_ctx(school: dict) -> _SchoolCtx:
    rng = random.Random(f"staff:{school['school_code']}")  # the same people every week
    used: set[str] = set()
    staff = [_unique_person(rng, used) for _ in range(6)]
    return _SchoolCtx(school, staff, _phone(rng))


def _categories_for(stage: str) -> tuple[list[str], list[int]]:
    cats = [c for c in _CATEGORY_WEIGHTS if not (c == "SY" and stage in ("幼儿园", "特教"))]
    return cats, [_CATEGORY_WEIGHTS[c] for c in cats]


def _new_hazard(rng: random.Random, sc: _SchoolCtx, wk: _Week, used: set[tuple[str, str]], *,
                found_from: dt.date, found_to: dt.date, older: bool = False, major_p: float = 0.05) -> Hazard:
    stage = sc.school["stage"]
    cats, weights = _categories_for(stage)
    canon = _category_codes()
    major = rng.random() < major_p
    if major:  # 重大 hazards come from the categories that have them
        weights = [w if _HAZARDS[c]["major"] else 0 for c, w in zip(cats, weights)]
    for attempt in range(60):
        code = rng.choices(cats, weights)[0]
        pool = _HAZARDS[code]
        loc = rng.choice(pool["loc"])
        if major:
            desc, measures, interim = rng.choice(pool["major"])
        else:
            desc, measures = rng.choice(pool["items"])
            interim = None
        if attempt > 20:
            desc = f"{desc}（{rng.choice(['东侧', '西侧', '南侧', '北侧', '二层', '三层'])}{rng.randint(1, 9)}处）"
        if (loc, desc) not in used:
            used.add((loc, desc))
            break
    span = (found_to - found_from).days
    found = found_from + dt.timedelta(days=rng.randint(0, max(0, span)))
    owner = rng.choice(sc.staff[1:5])
    source = rng.choices(["学校自查", "包片包校督查", "上级督查", "专项检查", "联合检查", "群众举报"],
                         [80, 12, 4, 3, 1, 0.5])[0]
    if major:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改"], [40, 50, 10])[0]
        deadline = found + dt.timedelta(days=rng.choice([30, 45, 60, 90, 120]))
        funds = round(rng.uniform(2, 50), 2)
    elif older:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改"], [20, 50, 30])[0]
        deadline = found + dt.timedelta(days=rng.choice([7, 10, 14, 15, 20, 30, 45, 60]))
        funds = _small_funds(rng) if rng.random() < 0.6 else None
    elif rng.random() < 0.4:
        mode = "立即整改"
        status = rng.choices(["已整改", "已销号", "整改中"], [75, 15, 10])[0]
        deadline = None
        funds = round(max(0.01, _small_funds(rng) / 4), 2) if rng.random() < 0.4 else None
    else:
        mode = "限期整改"
        status = rng.choices(["未整改", "整改中", "已整改", "已销号"], [25, 40, 28, 7])[0]
        deadline = found + dt.timedelta(days=rng.choice([3, 5, 7, 7, 10, 14, 15, 20, 30]))
        funds = _small_funds(rng) if rng.random() < 0.6 else None
    if code == "GL" and not major:
        funds = None
    done = None
    if status in RECTIFIED:
        latest = wk.last_day
        if mode == "立即整改":
            done = min(found + dt.timedelta(days=rng.choice([0, 0, 1])), latest)
        else:
            done = found + dt.timedelta(days=rng.randint(0, max(0, (latest - found).days)))
    verifier = sc.staff[0] if status == "已销号" else None
    remarks = rng.choice(_REMARKS) if rng.random() < 0.12 else None
    return Hazard(found, source, loc, canon[code], desc, "重大" if major else "一般", mode, measures, owner,
                  deadline, funds, interim, status, done, verifier, remarks)


def _small_funds(rng: random.Random) -> float:
    """Funds of an ordinary hazard in 万元: mostly a few hundred yuan, sometimes a few ten thousand."""
    base = rng.choice([0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0])
    return max(0.01, round(base * rng.uniform(0.8, 1.25), 2))


def _advance(h: Hazard, rng: random.Random, sc: _SchoolCtx, wk: _Week) -> Hazard:
    """The same hazard a week later: its status moves on (never back)."""
    h = Hazard(**asdict(h))
    r = rng.random()
    if h.status == "未整改":
        h.status = "整改中" if r < 0.35 else "已整改" if r < 0.6 else "未整改"
    elif h.status == "整改中":
        h.status = "已整改" if r < 0.45 else "整改中"
    elif h.status == "已整改":
        if r < 0.55:
            h.status = "已销号"
            h.verifier = sc.staff[0]
    if h.status in RECTIFIED and h.done_date is None:
        start = max(h.found_date, wk.monday)
        h.done_date = start + dt.timedelta(days=rng.randint(0, max(0, (wk.last_day - start).days)))
    return h


def _fresh_ledger(rng: random.Random, sc: _SchoolCtx, wk: _Week, n: int, *, old_hazard: bool) -> list[Hazard]:
    """A school's hazards the first time it is generated: this week's finds plus older open ones."""
    used: set[tuple[str, str]] = set()
    n_new = max(0, round(n * 0.6)) if n > 1 else n
    n_old = n - n_new
    out = [_new_hazard(rng, sc, wk, used, found_from=wk.monday - dt.timedelta(weeks=8),
                       found_to=wk.monday - dt.timedelta(days=3), older=True) for _ in range(n_old)]
    if old_hazard:
        h = _new_hazard(rng, sc, wk, used, found_from=wk.cutoff_date - dt.timedelta(days=520),
                        found_to=wk.cutoff_date - dt.timedelta(days=380), older=True)
        h.status, h.done_date, h.verifier = "未整改", None, None
        h.remarks = "需上级解决"
        out.append(h)
    out.sort(key=lambda h: h.found_date)
    new = [_new_hazard(rng, sc, wk, used, found_from=wk.monday, found_to=wk.last_day) for _ in range(n_new)]
    new.sort(key=lambda h: h.found_date)
    return out + new


def _week_ledger(rng: random.Random, sc: _SchoolCtx, wk: _Week, carried: list[Hazard], n: int) -> list[Hazard]:
    used = {(h.location, h.description) for h in carried}
    n_new = max(0, n - len(carried)) if len(carried) < n else rng.randint(0, max(1, n // 3))
    new = [_new_hazard(rng, sc, wk, used, found_from=wk.monday, found_to=wk.last_day) for _ in range(n_new)]
    new.sort(key=lambda h: h.found_date)
    return [_advance(h, rng, sc, wk) for h in carried] + new


# ----------------------------------------------------------------------------------------------------------------
# Sheet model: a grid of cells, rendered by the writers at the end of this module
# ----------------------------------------------------------------------------------------------------------------


class _Grid:
    """One sheet: cells by (row, col), 0-based; merges (r1, c1, r2, c2) inclusive; hidden rows; sheet state."""

    __slots__ = ("name", "cells", "merges", "hidden_rows", "hidden", "header_rows", "widths")

    def __init__(self, name: str, hidden: bool = False) -> None:
        self.name = name
        self.cells: dict[int, dict[int, object]] = {}
        self.merges: list[tuple[int, int, int, int]] = []
        self.hidden_rows: set[int] = set()
        self.hidden = hidden
        self.header_rows: set[int] = set()
        self.widths: dict[int, float] = {}

    def put(self, r: int, c: int, v: object) -> None:
        if v is None or v == "":
            return
        self.cells.setdefault(r, {})[c] = v

    def merge(self, r1: int, c1: int, r2: int, c2: int) -> None:
        if (r1, c1) != (r2, c2):
            self.merges.append((r1, c1, r2, c2))

    def values(self) -> list[list[object]]:
        """Rows of values from A1 (None where empty)."""
        if not self.cells:
            return []
        nrows = max(self.cells) + 1
        ncols = max(max(row) for row in self.cells.values()) + 1
        return [[self.cells.get(r, {}).get(c) for c in range(ncols)] for r in range(nrows)]


@dataclass
class _Col:
    id: str  # submission column id, or "x:<header>" for an extra column
    header: str
    group: str | None = None  # two-row header: the merged group label above
    mark: str | None = None  # issue on the header cell


@dataclass
class _Row:
    values: dict[str, object]
    marks: list[tuple[str, str]] = field(default_factory=list)  # (col id, code)
    hidden: bool = False
    merge_down: tuple[str, ...] = ()  # col ids merged with the next row's cell


@dataclass
class _Entry:
    """A header-block field: `label：value` in one cell (inline) or a label cell and a value cell (pair)."""

    field: str
    label: str
    value: object
    style: str = "inline"
    colon: str = "："
    width: int = 1
    mark: str | None = None


@dataclass
class _Doc:
    sheet_name: str
    title: str | None
    block: list[list[_Entry]]
    cols: list[_Col]
    rows: list[_Row]
    pre: list[str] = field(default_factory=list)  # text rows between the block and the header
    tail: list[tuple] = field(default_factory=list)
    two_row: bool = False
    header_marks: list[str] = field(default_factory=list)  # issues at the first cell of the header row
    no_table: bool = False
    merges_ok: bool = True


def _layout(doc: _Doc) -> tuple[_Grid, list[tuple[str | None, str]]]:
    """Place a document on a grid; returns the grid and the (cell, code) issues its marks resolve to."""
    g = _Grid(doc.sheet_name)
    issues: list[tuple[str | None, str]] = []
    ncols = max(len(doc.cols), 8)
    r = 0
    if doc.title is not None:
        g.put(r, 0, doc.title)
        if doc.merges_ok:
            g.merge(r, 0, r, ncols - 1)
        r += 1
    for brow in doc.block:
        c = 0
        for e in brow:
            if e.style == "inline":
                g.put(r, c, f"{e.label}{e.colon}{'' if e.value is None else e.value}")
                cell = (r, c)
                if e.width > 1 and doc.merges_ok:
                    g.merge(r, c, r, c + e.width - 1)
                c += e.width + 1
            else:
                g.put(r, c, e.label)
                g.put(r, c + 1, e.value)
                cell = (r, c + 1)
                if e.width > 1 and doc.merges_ok:
                    g.merge(r, c + 1, r, c + e.width)
                c += e.width + 2
            if e.mark:
                issues.append((_addr(*cell), e.mark))
        r += 1
    for text in doc.pre:
        g.put(r, 0, text)
        r += 1
    if doc.no_table:
        _tail(g, doc, r, ncols)
        return g, issues

    col_index: dict[str, int] = {}
    for c, col in enumerate(doc.cols):
        col_index.setdefault(col.id, c)
    if doc.two_row:
        upper, header_row = r, r + 1
        c = 0
        while c < len(doc.cols):
            col = doc.cols[c]
            if col.group:
                c2 = c
                while c2 + 1 < len(doc.cols) and doc.cols[c2 + 1].group == col.group:
                    c2 += 1
                g.put(upper, c, col.group)
                g.merge(upper, c, upper, c2)
                for k in range(c, c2 + 1):
                    g.put(header_row, k, doc.cols[k].header)
                c = c2 + 1
            else:
                g.put(upper, c, col.header)
                g.merge(upper, c, header_row, c)
                c += 1
        g.header_rows.update((upper, header_row))
    else:
        header_row = r
        for c, col in enumerate(doc.cols):
            g.put(r, c, col.header)
        g.header_rows.add(r)
    for c, col in enumerate(doc.cols):
        if col.mark:
            issues.append((_addr(header_row, c), col.mark))
    for code in doc.header_marks:
        issues.append((_addr(header_row, 0), code))
    r = header_row + 1
    merged_from_above: set[str] = set()
    first_hidden = None
    for row in doc.rows:
        for c, col in enumerate(doc.cols):
            if col.id in merged_from_above:
                continue
            g.put(r, c, row.values.get(col.id))
        for cid in row.merge_down:
            g.merge(r, col_index[cid], r + 1, col_index[cid])
        merged_from_above = set(row.merge_down)
        if row.hidden:
            g.hidden_rows.add(r)
            if first_hidden is None:
                first_hidden = r
        for cid, code in row.marks:
            issues.append((_addr(r, col_index[cid]), code))
        r += 1
    if first_hidden is not None:
        issues.append((_addr(first_hidden, 0), "hidden-rows"))
    _tail(g, doc, r, len(doc.cols))
    widths = {"description": 28, "measures": 22, "location": 16, "interim_control": 22, "remarks": 14,
              "found_date": 12, "deadline": 12, "done_date": 12, "hazard_id": 12, "funds_wan": 10}
    for c, col in enumerate(doc.cols):
        g.widths[c] = widths.get(col.id, 9)
    return g, issues


def _tail(g: _Grid, doc: _Doc, r: int, ncols: int) -> None:
    for item in doc.tail:
        kind = item[0]
        if kind == "blank":
            pass
        elif kind == "template":  # pre-numbered empty rows: only 序号
            _, c, start, n, fullwidth = item
            for k in range(n):
                v = start + k
                g.put(r, c, str(v).translate(_FULLWIDTH) if fullwidth else v)
                r += 1
            continue
        elif kind == "cells":  # ("cells", {col: value}, merge_across)
            _, cells, across = item
            for c, v in cells.items():
                g.put(r, c, v)
            if across and doc.merges_ok and ncols > 1:
                g.merge(r, 0, r, ncols - 1)
        r += 1


# ----------------------------------------------------------------------------------------------------------------
# Rendering rows: how a school writes each value
# ----------------------------------------------------------------------------------------------------------------

_EXCEL_EPOCH = dt.date(1899, 12, 30)


@dataclass
class _Style:
    fmt: str = "xlsx"  # xlsx | csv | ods
    date_styles: tuple[str, ...] = ("date",)
    date_mix: float = 0.0  # chance a cell uses a random other style
    fullwidth: bool = False
    enum_syn: float = 0.0
    cat_forms: tuple[str, ...] = ("canonical",)
    blank_tokens: bool = False
    status_date: float = 0.0
    immediate_text: bool = False  # 立即 in 整改时限 for 立即整改 rows
    funds_yuan: bool = False
    pad_text: bool = False
    own_ids: bool = False


_TEXT_DATE_STYLES = ("iso", "slash", "dot", "cn", "compact", "md_cn")


def _yearless_ok(d: dt.date, role: str, wk: _Week, found: dt.date | None) -> bool:
    """Whether a date written without its year reads back as itself (submission.md §Values)."""
    if (d.month, d.day) == (2, 29):
        return False
    if role in ("found_date", "done_date"):
        c = wk.cutoff_date
        year = c.year if (d.month, d.day) <= (c.month, c.day) else c.year - 1
    else:
        if found is None:
            return False
        year = found.year if (d.month, d.day) >= (found.month, found.day) else found.year + 1
    return year == d.year


def _render_date(d: dt.date, style: str, role: str, wk: _Week, found: dt.date | None, fullwidth: bool) -> object:
    if style == "md_cn" and not _yearless_ok(d, role, wk, found):
        style = "cn"
    if style == "date":
        return d
    if style == "serial":
        return (d - _EXCEL_EPOCH).days
    if style == "number8":
        return d.year * 10000 + d.month * 100 + d.day
    text = {
        "iso": f"{d.year}-{d.month:02d}-{d.day:02d}",
        "slash": f"{d.year}/{d.month}/{d.day}",
        "dot": f"{d.year}.{d.month}.{d.day}",
        "cn": f"{d.year}年{d.month}月{d.day}日",
        "compact": f"{d.year}{d.month:02d}{d.day:02d}",
        "md_cn": f"{d.month}月{d.day}日",
    }[style]
    return text.translate(_FULLWIDTH) if fullwidth else text


def _ambiguous_ok(d: dt.date, role: str, wk: _Week) -> bool:
    """A date typed as `m.d` with a one-digit day (`11.3`), which Excel stores as the number 11.3.

    Only one-digit days: `11.3` is read as November 3rd with a warning under any reading of the spec, while
    whether an unambiguous `11.23` also warns is a matter of reading (see the module notes).
    """
    return role in ("found_date", "done_date") and d.day < 10 and _yearless_ok(d, role, wk, None)


def _render_row(h: Hazard, seq: int, st: _Style, rng: random.Random, wk: _Week, sc: _SchoolCtx,
                cols: set[str]) -> _Row:
    """The cells a school writes for one hazard, in the file's style; marks warnings the spec implies."""
    v: dict[str, object] = {}
    marks: list[tuple[str, str]] = []
    v["seq"] = str(seq).translate(_FULLWIDTH) if st.fullwidth and rng.random() < 0.5 else seq

    def date(d: dt.date | None, role: str) -> object:
        if d is None:
            return None
        style = st.date_styles[0] if len(st.date_styles) == 1 else rng.choice(st.date_styles)
        if st.date_mix and rng.random() < st.date_mix:
            style = rng.choice(_TEXT_DATE_STYLES)
        if st.fmt == "csv" and style in ("date", "serial", "number8"):
            style = "iso" if style == "date" else "compact"
        return _render_date(d, style, role, wk, h.found_date, st.fullwidth and rng.random() < 0.5)

    v["found_date"] = date(h.found_date, "found_date")
    if (wk.cutoff_date - h.found_date).days > 365:
        marks.append(("found_date", "old-hazard"))
    v["source"] = _enum_text("source", h.source, st, rng)
    v["location"] = _pad(h.location, st, rng)
    v["category"] = _category_text(h.category, st, rng)
    v["description"] = _pad(h.description, st, rng)
    v["level"] = _enum_text("level", h.level, st, rng)
    v["mode"] = _enum_text("mode", h.mode, st, rng) if h.mode else None
    v["measures"] = h.measures
    v["owner"] = h.owner
    if h.deadline is not None:
        v["deadline"] = date(h.deadline, "deadline")
    elif h.mode == "立即整改" and ("mode" not in cols or st.immediate_text):
        v["deadline"] = "立即"
    if h.funds_wan is not None:
        v["funds_wan"] = int(round(h.funds_wan * 10000)) if st.funds_yuan else h.funds_wan
        if st.fmt == "csv":
            v["funds_wan"] = str(v["funds_wan"])
    elif st.blank_tokens and rng.random() < 0.3:
        v["funds_wan"] = rng.choice(["/", "无", "—"])
    v["interim_control"] = h.interim_control
    if h.interim_control is None and st.blank_tokens and rng.random() < 0.3:
        v["interim_control"] = rng.choice(["无", "/"])
    status_text = _enum_text("status", h.status, st, rng)
    v["done_date"] = date(h.done_date, "done_date")
    if (h.status == "已整改" and h.done_date is not None and st.status_date and rng.random() < st.status_date
            and _yearless_ok(h.done_date, "done_date", wk, None)):
        status_text = f"已整改（{h.done_date.month}.{h.done_date.day}）"
        v["done_date"] = None
    v["status"] = status_text
    if v["done_date"] is None and h.status in OPEN and st.blank_tokens and rng.random() < 0.3:
        v["done_date"] = rng.choice(["—", "/"])
    v["verifier"] = h.verifier
    if h.verifier is None and st.blank_tokens and rng.random() < 0.3:
        v["verifier"] = "/"
    v["remarks"] = h.remarks
    if st.own_ids:
        v["hazard_id"] = f"ZC{wk.num:02d}-{seq:02d}"
    return _Row(v, marks)


def _pad(text: str, st: _Style, rng: random.Random) -> str:
    if st.pad_text and rng.random() < 0.2:
        return rng.choice([" ", "\u3000", ""]) + text + rng.choice([" ", "  ", ""])
    return text


def _enum_text(enum: str, value: str | None, st: _Style, rng: random.Random) -> str | None:
    if value is None:
        return None
    if st.enum_syn and rng.random() < st.enum_syn:
        forms = _enum_forms(enum)[value]
        if forms:
            return rng.choice(forms)
    return value


def _category_text(value: str, st: _Style, rng: random.Random) -> str:
    if st.enum_syn and rng.random() < st.enum_syn:
        form = rng.choice(st.cat_forms)
        code = {v: k for k, v in _category_codes().items()}[value]
        if form == "synonym" and _enum_forms("category")[value]:
            return rng.choice(_enum_forms("category")[value])
        if form == "code":
            return code
        if form == "suffix":
            return value + "隐患"
    return value


# ----------------------------------------------------------------------------------------------------------------
# Building one school's file
# ----------------------------------------------------------------------------------------------------------------

_FILE_NAMES = [
    "{name}安全隐患周报.{ext}",
    "新建 Microsoft Excel 工作表.{ext}",
    "第{num}周隐患排查台账(1).{ext}",
    "{short}第{num}周安全隐患排查整治台账.{ext}",
    "{name}{m}.{d}隐患排查.{ext}",
    "安全隐患排查整治周报表（{name}）.{ext}",
    "周报.{ext}",
    "{name}-{year}年第{num}周.{ext}",
    "隐患排查台账.{ext}",
]


def _file_name(rng: random.Random, sc: _SchoolCtx, wk: _Week, ext: str) -> str:
    short = (sc.school.get("aliases") or "").split("、")[0] or sc.name
    day = wk.last_day
    return rng.choice(_FILE_NAMES).format(name=sc.name, short=short, num=wk.num, year=wk.year, m=day.month,
                                          d=day.day, ext=ext)


def _canonical_cols() -> list[_Col]:
    cols = []
    for c in submission_columns():
        header = "整改资金（万元）" if c.id == "funds_wan" else c.header
        cols.append(_Col(c.id, header))
    return cols


def _standard_block(sc: _SchoolCtx, wk: _Week, rng: random.Random, *, unit: str | None = None,
                    checks: int | None = None) -> list[list[_Entry]]:
    unit = sc.name if unit is None else unit
    checks = rng.randint(1, 5) if checks is None else checks
    return [
        [_Entry("unit_name", "填报单位", unit, "inline", width=6),
         _Entry("school_code", "学校标识码", sc.code, "pair", width=2),
         _Entry("week", "周次", wk.cn(), "inline", width=3)],
        [_Entry("reporter", "填报人", sc.staff[3], "pair"),
         _Entry("phone", "联系电话", sc.phone, "pair"),
         _Entry("checks", "本周排查次数", checks, "pair"),
         _Entry("check_person_times", "检查人次", checks * rng.randint(2, 6), "pair")],
    ]


def _footer(sc: _SchoolCtx) -> tuple:
    return ("cells", {0: f"填报人：{sc.staff[3]}    审核人：{sc.staff[1]}    校长签字："}, True)


def _title(unit: str, wk_text: str | None) -> str:
    return f"{unit}安全隐患排查整治台账" + (f"（{wk_text}）" if wk_text else "")


def _base_doc(sc: _SchoolCtx, wk: _Week, rng: random.Random, hazards: list[Hazard], st: _Style,
              cols: list[_Col] | None = None) -> _Doc:
    cols = cols or _canonical_cols()
    ids = {c.id for c in cols}
    rows = [_render_row(h, i + 1, st, rng, wk, sc, ids) for i, h in enumerate(hazards)]
    return _Doc(
        sheet_name=rng.choice(["隐患排查", f"第{wk.num}周", "Sheet1", "隐患台账"]),
        title=_title(sc.name, wk.cn()),
        block=_standard_block(sc, wk, rng),
        cols=cols,
        rows=rows,
        tail=[("blank",), _footer(sc)],
    )


def _needed(col_id: str, h: Hazard, has_mode: bool = True) -> bool:
    """Whether a conditionally required column is needed by this hazard (schemas/submission.toml `when`)."""
    if col_id == "measures":
        return h.status not in RECTIFIED
    if col_id == "deadline":
        return h.status not in RECTIFIED and not (has_mode and h.mode == "立即整改")
    if col_id == "interim_control":
        return h.level == "重大" and h.status not in RECTIFIED
    if col_id == "done_date":
        return h.status in RECTIFIED
    if col_id == "verifier":
        return h.status == "已销号"
    return False


_GROUP_5 = ("measures", "owner", "funds_wan", "deadline", "interim_control")
_GROUP_STATUS = ("status", "done_date", "verifier")


def _messy_doc(sc: _SchoolCtx, wk: _Week, rng: random.Random, hazards: list[Hazard], fmt: str,
               features: list[str], taken: frozenset[str]) -> tuple[_Doc, list[_Grid]]:
    """A valid file written the way schools really write them; `features` names what was done.

    `taken` holds the folded names and aliases of the roster (a misspelt unit name must resolve to no school).
    """
    f = set(features)
    st = _Style(fmt=fmt)
    if "text_dates" in f or fmt == "csv":
        st.date_styles = tuple(rng.sample(_TEXT_DATE_STYLES, rng.randint(1, 3)))
        st.date_mix = 0.1
    elif fmt == "xlsx" and rng.random() < 0.3:
        st.date_styles = ("date", rng.choice(["serial", "number8"]))
    st.fullwidth = "fullwidth" in f
    if "enum_synonyms" in f:
        st.enum_syn = 0.6
        st.cat_forms = tuple(rng.sample(["synonym", "code", "suffix", "synonym"], 2))
    st.blank_tokens = "blank_tokens" in f
    st.status_date = 0.5 if "status_date" in f else 0.0
    st.funds_yuan = "funds_yuan" in f
    st.pad_text = "padded_text" in f
    st.own_ids = "own_ids" in f
    st.immediate_text = rng.random() < 0.3

    # columns
    ids = [c.id for c in submission_columns()]
    if "drop_optional" in f:
        droppable = ["hazard_id", "source", "mode", "remarks", "funds_wan", "seq"]
        if st.own_ids:
            droppable.remove("hazard_id")
        if "template_rows" in f or "total_row" in f:
            droppable.remove("seq")
        if st.funds_yuan or "total_row" in f:
            droppable.remove("funds_wan")
        for cid in ("deadline", "interim_control", "done_date", "verifier"):
            # a conditional column may go when no row needs it (even read without a 整改方式 column)
            if not any(_needed(cid, h, has_mode=False) for h in hazards):
                droppable.append(cid)
        for cid in rng.sample(droppable, min(len(droppable), rng.randint(1, 3))):
            ids.remove(cid)
    if "own_ids" in f and "hazard_id" not in ids:
        ids.insert(1, "hazard_id")
    two_row = "two_row_header" in f
    headers = {cid: _messy_header(cid, f, st, rng, ids) for cid in ids}

    # order: 序号 first; the 五落实 group contiguous in a two-row header
    blocks: list[list[str]] = []
    group5 = [c for c in _GROUP_5 if c in ids]
    group_status = [c for c in _GROUP_STATUS if c in ids] if two_row and rng.random() < 0.35 else []
    if two_row and len(group5) < 2:
        two_row = False
        f.discard("two_row_header")
    if two_row and len(group_status) < 2:
        group_status = []
    groups = ([group5] if two_row else []) + ([group_status] if group_status else [])
    grouped = {cid for g in groups for cid in g}
    for cid in ids:
        if cid not in grouped:
            blocks.append([cid])
        for g in groups:
            if cid == g[0]:
                blocks.append(g)
    if "reordered" in f:
        head = [b for b in blocks if b == ["seq"]]
        rest = [b for b in blocks if b != ["seq"]]
        rng.shuffle(rest)
        blocks = head + rest
    cols: list[_Col] = []
    for b in blocks:
        for cid in b:
            group = None
            if two_row and cid in group5:
                group = "五落实"
            elif cid in group_status:
                group = "整改情况"
            cols.append(_Col(cid, headers[cid], group))
    if group_status:  # 整改情况 is the group above: the status column must not say 整改情况 too
        for col in cols:
            if col.id == "status" and _norm_header(col.header) == "整改情况":
                col.header = "整改状态"
    if "extra_column" in f and not two_row:
        for name in rng.sample(_extra_headers(), rng.randint(1, 2)):
            pos = rng.randint(1, len(cols))
            cols.insert(pos, _Col(f"x:{name}", name, mark="extra-column"))

    col_ids = {c.id for c in cols}
    rows = [_render_row(h, i + 1, st, rng, wk, sc, col_ids) for i, h in enumerate(hazards)]
    for c in cols:
        if c.id.startswith("x:"):
            for row in rows:
                row.values[c.id] = _extra_value(c.header, rng, sc)
    # ambiguous dates: a few found/done cells Excel made numbers of (m.dd)
    if "ambiguous_date" in f and fmt == "xlsx":
        cands = [(i, cid) for i, h in enumerate(hazards) for cid in ("found_date", "done_date")
                 if cid in col_ids and getattr(h, cid) and isinstance(rows[i].values.get(cid), (dt.date, str, int))
                 and _ambiguous_ok(getattr(h, cid), cid, wk)]
        if cands:
            i, cid = rng.choice(cands)
            d = getattr(hazards[i], cid)
            rows[i].values[cid] = float(f"{d.month}.{d.day}")
            rows[i].marks.append((cid, "ambiguous-date"))
        else:
            f.discard("ambiguous_date")
    # vertically merged cells (部位 over two hazards with the same location, or 责任人)
    if "merged_cells" in f:
        pairs = [i for i in range(len(hazards) - 1)
                 if hazards[i].location == hazards[i + 1].location and "location" in col_ids]
        owner_pairs = [i for i in range(len(hazards) - 1)
                       if hazards[i].owner == hazards[i + 1].owner and "owner" in col_ids]
        if pairs:
            i = rng.choice(pairs)
            rows[i].merge_down = ("location",)
        elif owner_pairs:
            i = rng.choice(owner_pairs)
            rows[i].merge_down = ("owner",)
        else:
            f.discard("merged_cells")
    if "hidden_row" in f:
        free = [i for i in range(len(rows)) if not rows[i].merge_down and not (i and rows[i - 1].merge_down)]
        if free:
            rows[rng.choice(free)].hidden = True
        else:
            f.discard("hidden_row")

    # the header block
    unit = sc.name
    unit_mark = None
    if "unit_alias" in f:
        if sc.school.get("aliases"):
            unit = sc.school["aliases"].split("、")[0]
        else:
            f.discard("unit_alias")
    if "unit_name_mismatch" in f:
        if _fold_key(_typo_name(sc.name)) in taken:
            f.discard("unit_name_mismatch")
        else:
            unit = _typo_name(sc.name)
            unit_mark = "unit-name-mismatch"
            f.discard("unit_alias")
    colon = "：" if rng.random() < 0.7 else ":"
    pair = "block_pairs" in f
    unit_label = rng.choice(["填报单位", "填报单位", "单位名称", "学校名称"]) if "block_labels" in f else "填报单位"
    code_value: object = sc.code
    if "code_as_number" in f and fmt != "csv":
        code_value = int(sc.code)
    week_value = wk.cn()
    if "week_forms" in f:
        start = wk.cutoff_date - dt.timedelta(days=6)
        week_value = rng.choice([wk.label, f"第{wk.num}周",
                                 f"{start.year}.{start.month}.{start.day}-{wk.cutoff_date.year}."
                                 f"{wk.cutoff_date.month}.{wk.cutoff_date.day}"])
    checks = rng.randint(1, 5)
    first = [_Entry("unit_name", unit_label, unit, "pair" if pair else "inline", colon, 3 if pair else 5,
                    unit_mark)]
    second = []
    if "multi_sheet" not in f:
        week_label = rng.choice(["周次", "周次", "统计周期"]) if "block_labels" in f else "周次"
        if week_label == "统计周期" and not re.search(r"\d+\.\d+\.\d+-", str(week_value)):
            week_label = "周次"
        (second if rng.random() < 0.4 else first).append(
            _Entry("week", week_label, week_value, "pair" if pair else "inline", colon, 2))
    first.insert(1, _Entry("school_code", rng.choice(["学校标识码", "学校代码"]) if "block_labels" in f
                           else "学校标识码", code_value, "pair" if rng.random() < 0.7 else "inline", colon, 2))
    checks_value: object = f"{checks}次" if rng.random() < 0.3 else checks
    people = [_Entry("reporter", "填报人", sc.staff[3], "pair" if pair else "inline", colon),
              _Entry("phone", "联系电话", sc.phone, "pair" if pair else "inline", colon, 2),
              _Entry("checks", "本周排查次数", checks_value, "pair" if pair else "inline", colon),
              _Entry("check_person_times", "检查人次", checks * rng.randint(2, 6), "pair" if pair else "inline",
                     colon)]
    if rng.random() < 0.4:
        people.append(_Entry("report_date", "填报日期", _render_date(wk.last_day, "cn", "found_date", wk, None, False),
                             "pair" if pair else "inline", colon, 2))
    block = [first] + ([second + people] if second else [people])
    if rng.random() < 0.3:
        block = [first, second, people] if second else [first, people[:2], people[2:]]
    block = [b for b in block if b]

    # rows after the table
    tail: list[tuple] = []
    n = len(rows)
    seq_c = next((i for i, c in enumerate(cols) if c.id == "seq"), None)
    if "end_marker" in f:
        tail.append(("cells", {0: rng.choice(["以下空白", "以下无内容"])}, True))
    if "template_rows" in f and seq_c is not None:
        tail.append(("template", seq_c, n + 1, max(3, 20 - n), st.fullwidth))
    if "total_row" in f:
        cells: dict[int, object] = {0: rng.choice(["合计", "合 计", "小计"])}
        fc = next((i for i, c in enumerate(cols) if c.id == "funds_wan"), None)
        if fc is not None and fc != 0:
            total = sum(h.funds_wan or 0 for h in hazards)
            cells[fc] = int(round(total * 10000)) if st.funds_yuan else round(total, 2)
        dc = next((i for i, c in enumerate(cols) if c.id == "description"), None)
        if dc is not None and dc != 0:
            cells[dc] = f"共{n}项"
        tail.append(("cells", cells, False))
    tail.append(("blank",))
    if rng.random() < 0.3:
        tail.append(("cells", {0: rng.choice(_FOOTER_NOTES)}, True))
    if rng.random() < 0.5:
        tail.append(_footer(sc))
    else:
        tail.append(("cells", {0: f"填报人：{sc.staff[3]}", 4: f"审核人：{sc.staff[1]}",
                               min(9, max(5, len(cols) - 3)): "校长签字："}, False))

    title_week = wk.cn() if rng.random() < 0.7 else f"第{wk.num}周"
    doc = _Doc(
        sheet_name=(f"第{wk.num}周" if "multi_sheet" in f else
                    rng.choice(["隐患排查", "Sheet1", "隐患台账", f"第{wk.num}周", "安全隐患排查整治台账", "本周"])),
        title=_title(unit if unit_mark is None else sc.name, title_week) if rng.random() < 0.9 else None,
        block=block, cols=cols, rows=rows, tail=tail, two_row=two_row, merges_ok=fmt != "csv",
    )
    if "multi_sheet" in f and doc.title is None:
        doc.title = _title(sc.name, wk.cn())
    features[:] = sorted(f)
    others: list[_Grid] = []
    if "instructions_sheet" in f:
        others.append(_text_sheet("填表说明", [
            "1. 本表每周五12时前报送教育局安法科。",
            "2. 隐患等级填写一般或重大，重大隐患须填写临时管控措施。",
            "3. 整改状态填写未整改、整改中、已整改、已销号。",
            "4. 日期格式如2023-11-24。",
        ]))
    if "hidden_sheet" in f:
        old, _ = _layout(_base_doc(sc, wk.shifted(-1), rng, hazards[: max(1, len(hazards) // 2)], _Style()))
        old.name, old.hidden = "旧表", True
        others.append(old)
    return doc, others


def _share_location(rng: random.Random, hazards: list[Hazard], first_new: int) -> None:
    """Two adjacent hazards found this week at the same place (one 部位 cell merged over both)."""
    pairs = list(range(first_new, len(hazards) - 1))
    rng.shuffle(pairs)
    taken = {(h.location, h.description) for h in hazards}
    for i in pairs:
        a, b = hazards[i], hazards[i + 1]
        if a.location == b.location or (a.location, b.description) not in taken:
            taken.discard((b.location, b.description))
            b.location = a.location
            taken.add((b.location, b.description))
            return


def _text_sheet(name: str, lines: list[str]) -> _Grid:
    g = _Grid(name)
    for r, line in enumerate(lines):
        g.put(r, 0, line)
    g.widths[0] = 60
    return g


def _messy_header(cid: str, f: set[str], st: _Style, rng: random.Random, ids: list[str]) -> str:
    spec = _columns()[cid]
    header = spec.header
    if "alias_headers" in f and rng.random() < 0.6:
        aliases = list(spec.aliases)
        if cid == "seq" and "hazard_id" not in ids:
            aliases.append("编号")
        if cid == "funds_wan":
            aliases = ["资金", "整改资金"]
        if aliases:
            header = rng.choice(aliases)
    if cid == "funds_wan":
        header = (header.rstrip("（万元）(万元)") or "整改资金") + (
            "（元）" if st.funds_yuan else rng.choice(["（万元）", "(万元)", "（万元）"]))
    if "header_breaks" in f and rng.random() < 0.5:
        if cid == "level":
            header = header + "\n（一般/重大）"
        elif cid == "status" and header == "整改状态":
            header = "整改状态\n（未整改/整改中/已整改/已销号）"
        elif cid == "category" and rng.random() < 0.5:
            header = header + "（填写类别）"
        elif len(header) >= 4:
            k = len(header) // 2
            header = header[:k] + rng.choice(["\n", "\u3000", " ", "\n"]) + header[k:]
        else:
            header = " " + header + " "
    return header


def _extra_value(header: str, rng: random.Random, sc: _SchoolCtx) -> object:
    if header in ("检查人员",):
        return "、".join(rng.sample(sc.staff, 2))
    if header in ("是否上报",):
        return rng.choice(["是", "否"])
    if header in ("联系方式",):
        return sc.phone
    if header in ("督办情况",):
        return rng.choice(["", "已督办"])
    return rng.choice(["见附件", ""])


def _typo_name(name: str) -> str:
    """A plausible wrong spelling of a school name that resolves to no school."""
    for old, new in (("小学", "完小"), ("幼儿园", "幼稚园"), ("中学", "中"), ("学校", "校"), ("中心", "中心校")):
        if name.endswith(old):
            return name[: -len(old)] + new
    return name + "分校"


# ----------------------------------------------------------------------------------------------------------------
# Invalid files: one or two deliberate defects with the issue cells the spec prescribes
# ----------------------------------------------------------------------------------------------------------------

ROW_DEFECTS = ("bad-enum", "bad-date", "required", "date-order", "future-date", "major-needs-control",
               "duplicate-hazard", "bad-number")
BLOCK_DEFECTS = ("unknown-school", "missing-unit", "wrong-week", "school-code-mismatch")
TABLE_DEFECTS = ("missing-column", "duplicate-column")
SHEET_DEFECTS = ("no-header-row", "ambiguous-sheet")
DEFECTS = ROW_DEFECTS + BLOCK_DEFECTS + TABLE_DEFECTS + SHEET_DEFECTS
_IDENTITY_BLOCK = {"unknown-school", "missing-unit", "school-code-mismatch"}


def _pick_defects(rng: random.Random, first: str, fmt: str) -> list[str]:
    if first in SHEET_DEFECTS or rng.random() > 0.3:
        return [first]
    if first in TABLE_DEFECTS:
        pool = [d for d in BLOCK_DEFECTS]
    elif first in BLOCK_DEFECTS:
        pool = [d for d in ROW_DEFECTS + BLOCK_DEFECTS if d != first
                and not (first in _IDENTITY_BLOCK and d in _IDENTITY_BLOCK)]
    else:
        pool = [d for d in ROW_DEFECTS + BLOCK_DEFECTS if d != first]
    return [first, rng.choice(pool)]


@dataclass
class _InvalidCtx:
    roster: list[dict]
    names: frozenset[str]
    codes: frozenset[str]


def _invalid_doc(sc: _SchoolCtx, wk: _Week, rng: random.Random, hazards: list[Hazard], fmt: str,
                 defects: list[str], ictx: _InvalidCtx) -> tuple[_Doc, list[_Grid]]:
    st = _Style(fmt=fmt)
    if fmt == "csv":
        st.date_styles = ("iso",)
    cols = _canonical_cols()
    if rng.random() < 0.3:  # some light mess: a few aliases, columns reordered
        for col in cols[1:]:
            if rng.random() < 0.3 and _columns()[col.id].aliases:
                col.header = rng.choice(_columns()[col.id].aliases)
        rest = cols[1:]
        if rng.random() < 0.5:
            rng.shuffle(rest)
        cols = cols[:1] + rest
    doc = _base_doc(sc, wk, rng, hazards, st, cols)
    doc.merges_ok = fmt != "csv"
    others: list[_Grid] = []
    used_rows: set[int] = set()
    for d in defects:
        _apply_defect(d, doc, others, sc, wk, rng, hazards, used_rows, ictx, fmt)
    return doc, others


def _free_row(rng: random.Random, doc: _Doc, used: set[int], pred=lambda row: True) -> int | None:
    cands = [i for i, row in enumerate(doc.rows) if i not in used and not row.marks and pred(row)]
    if not cands:
        return None
    i = rng.choice(cands)
    used.add(i)
    return i


def _date_value(d: dt.date, fmt: str) -> object:
    return d.isoformat() if fmt == "csv" else d


def _apply_defect(d: str, doc: _Doc, others: list[_Grid], sc: _SchoolCtx, wk: _Week, rng: random.Random,
                  hazards: list[Hazard], used: set[int], ictx: _InvalidCtx, fmt: str) -> None:
    rows = doc.rows
    if d == "bad-enum":
        i = _free_row(rng, doc, used)
        row, h = rows[i], hazards[i]
        which = rng.choice(["level", "level", "status", "category"])
        if which == "level":
            row.values["level"] = rng.choice(["较大", "较大", "较大隐患", "II级", "高"])
        elif which == "status":
            row.values["status"] = rng.choice(["待定", "跟进"])
        else:
            row.values["category"] = rng.choice(["消防、用电", "治安", "校舍/消防"])
        if which in ("level", "status"):
            # every conditional field filled, so no reading of the unknown value adds another issue
            _fill_all(row, h, fmt)
        row.marks.append((which, "bad-enum"))
    elif d == "bad-date":
        if rng.random() < 0.6:
            i = _free_row(rng, doc, used)
            rows[i].values["found_date"] = rng.choice(["本周内", "近期", "上周"])
            rows[i].marks.append(("found_date", "bad-date"))
        else:
            i = _free_row(rng, doc, used)
            row, h = rows[i], hazards[i]
            row.values.update(status="未整改", mode="限期整改", done_date=None, verifier=None,
                              deadline=rng.choice(["长期", "尽快", "本学期"]))
            if h.level == "重大" and not row.values.get("interim_control"):
                row.values["interim_control"] = "设置警戒线"
            if not row.values.get("measures"):
                row.values["measures"] = "安排维修"
            row.marks.append(("deadline", "bad-date"))
    elif d == "required":
        i = _free_row(rng, doc, used)
        row, h = rows[i], hazards[i]
        which = rng.choice(["owner", "owner", "location", "description", "done_date", "measures"])
        if which == "done_date":
            row.values.update(status="已整改", done_date=None)
        elif which == "measures":
            row.values.update(status=rng.choice(OPEN), done_date=None, verifier=None)
            if h.deadline is None:
                row.values["deadline"] = _date_value(h.found_date + dt.timedelta(days=7), fmt)
            if h.level == "重大" and not row.values.get("interim_control"):
                row.values["interim_control"] = "设置警戒线"
        row.values[which] = rng.choice([None, None, "无", "/"])
        row.marks.append((which, "required"))
    elif d == "date-order":
        i = _free_row(rng, doc, used, lambda row: isinstance(row.values.get("found_date"), (dt.date, str)))
        row, h = rows[i], hazards[i]
        row.values["found_date"] = _date_value(h.found_date, fmt)
        if h.status in RECTIFIED and rng.random() < 0.5:
            row.values["done_date"] = _date_value(h.found_date - dt.timedelta(days=rng.randint(1, 20)), fmt)
            row.marks.append(("done_date", "date-order"))
        else:
            row.values.update(status="整改中", mode="限期整改", done_date=None, verifier=None,
                              deadline=_date_value(h.found_date - dt.timedelta(days=rng.randint(1, 20)), fmt))
            if not row.values.get("measures"):
                row.values["measures"] = "安排维修"
            if h.level == "重大" and not row.values.get("interim_control"):
                row.values["interim_control"] = "设置警戒线"
            row.marks.append(("deadline", "date-order"))
    elif d == "future-date":
        i = _free_row(rng, doc, used)
        row, h = rows[i], hazards[i]
        found = wk.cutoff_date + dt.timedelta(days=rng.randint(1, 10))
        row.values.update(found_date=_date_value(found, fmt), status="未整改", mode="限期整改", done_date=None,
                          verifier=None, deadline=_date_value(found + dt.timedelta(days=14), fmt))
        if not row.values.get("measures"):
            row.values["measures"] = "安排维修"
        if h.level == "重大" and not row.values.get("interim_control"):
            row.values["interim_control"] = "设置警戒线"
        row.marks.append(("found_date", "future-date"))
    elif d == "major-needs-control":
        i = _free_row(rng, doc, used)
        row, h = rows[i], hazards[i]
        row.values.update(level="重大", status=rng.choice(OPEN), done_date=None, verifier=None, interim_control=None)
        if not row.values.get("measures"):
            row.values["measures"] = h.measures or "制定整改方案"
        if not row.values.get("deadline") or row.values.get("deadline") == "立即":
            row.values.update(mode="限期整改",
                              deadline=_date_value(h.found_date + dt.timedelta(days=30), fmt))
        row.marks.append(("interim_control", "major-needs-control"))
    elif d == "duplicate-hazard":
        i = _free_row(rng, doc, used)
        copy = _Row(dict(rows[i].values), [("description", "duplicate-hazard")])
        rows.insert(i + 1, copy)
        hazards.insert(i + 1, hazards[i])
        used.clear()
        used.update(k for k, row in enumerate(rows) if row.marks or k == i)
        for k, row in enumerate(rows):
            row.values["seq"] = k + 1
    elif d == "bad-number":
        i = _free_row(rng, doc, used)
        rows[i].values["funds_wan"] = rng.choice(["待定", "约两千", "未定"])
        rows[i].marks.append(("funds_wan", "bad-number"))
    elif d == "unknown-school":
        unit_e = doc.block[0][0]
        if rng.random() < 0.7:
            name = _typo_name(sc.name) if rng.random() < 0.6 else f"{sc.name[:3]}{rng.choice(_NICE)}培训学校"
            if _fold_key(name) in ictx.names:
                name = f"{sc.name}（筹）培训部"
            unit_e.value = name
            unit_e.mark = "unknown-school"
            doc.block[0] = [e for e in doc.block[0] if e.field != "school_code"]
            doc.title = _title(name, wk.cn())
        else:
            code_e = next(e for e in doc.block[0] if e.field == "school_code")
            while True:
                code = f"{sc.code[:4]}{rng.randint(100000, 999999)}"
                if code not in ictx.codes:
                    break
            code_e.value = code
            code_e.mark = "unknown-school"
    elif d == "missing-unit":
        # no unit and no code: either the label left empty (alone on its row, so that no neighbouring cell
        # can be taken for its value) or the unit line deleted
        rest = [e for e in doc.block[0][1:] if e.field != "school_code"]
        if rng.random() < 0.5:
            doc.block[0][0].value = None
            doc.block[0:1] = [[doc.block[0][0]], rest]
        else:
            doc.block[0] = rest
        doc.title = f"学校安全隐患排查整治台账（{wk.cn()}）"
    elif d == "wrong-week":
        other = wk.shifted(rng.choice([-7, -3, -2, 1]))
        e = next(e for row in doc.block for e in row if e.field == "week")
        e.value = rng.choice([other.cn(), other.label])
        e.mark = "wrong-week"
        doc.title = _title(sc.name, other.cn())
    elif d == "school-code-mismatch":
        code_e = next(e for e in doc.block[0] if e.field == "school_code")
        other = rng.choice([s for s in ictx.roster if s["school_code"] != sc.code])
        code_e.value = other["school_code"]
        code_e.mark = "school-code-mismatch"
    elif d == "missing-column":
        rectified = [k for k, h in enumerate(hazards) if h.status in RECTIFIED]
        if rectified and rng.random() < 0.3:
            drop = "done_date"
        else:
            drop = rng.choice(["category", "category", "location", "owner"])
        doc.cols = [c for c in doc.cols if c.id != drop]
        doc.header_marks.append("missing-column")
    elif d == "duplicate-column":
        cid = rng.choice(["remarks", "owner", "description"])
        pos = next(k for k, c in enumerate(doc.cols) if c.id == cid)
        header = doc.cols[pos].header
        where = rng.choice([pos + 1, len(doc.cols)])
        doc.cols.insert(where, _Col(cid, header, mark="duplicate-column"))
    elif d == "no-header-row":
        own = [("seq", "序号"), ("found_date", "时间"), ("location", "地点"), ("description", "问题"),
               ("status", "处理结果"), ("owner", "经办人"), ("remarks", "备注")]
        doc.cols = [_Col(cid, head) for cid, head in own]
        for row in rows:
            row.marks.clear()
    elif d == "ambiguous-sheet":
        doc.sheet_name = "Sheet1"
        second = _base_doc(sc, wk, rng, hazards[: max(1, len(hazards) // 2)], _Style(fmt=fmt))
        second.sheet_name = rng.choice(["Sheet2", "隐患台账", "11月"])
        g, _ = _layout(second)
        others.append(g)
    else:  # pragma: no cover
        raise ValueError(d)


def _fill_all(row: _Row, h: Hazard, fmt: str) -> None:
    v = row.values
    if not v.get("measures"):
        v["measures"] = h.measures or "安排维修"
    if not v.get("deadline"):
        v["deadline"] = _date_value(h.found_date + dt.timedelta(days=7), fmt)
        v["mode"] = "限期整改"
    if not v.get("interim_control") or v["interim_control"] in ("无", "/"):
        v["interim_control"] = "设置警示标志，专人看护"
    if not v.get("done_date") or v["done_date"] in ("—", "/"):
        v["done_date"] = _date_value(h.found_date, fmt)
    if not v.get("verifier") or v["verifier"] == "/":
        v["verifier"] = "校长"


# ----------------------------------------------------------------------------------------------------------------
# Zero reports, unreadable files, temp files
# ----------------------------------------------------------------------------------------------------------------


def _zero_doc(sc: _SchoolCtx, wk: _Week, rng: random.Random, variant: str) -> tuple[_Doc, list[tuple]]:
    doc = _base_doc(sc, wk, rng, [], _Style())
    warnings: list[tuple] = []
    statement = rng.choice(["本周无隐患", "本周未发现隐患", "无隐患", "零报告", "本周未发现安全隐患"])
    if variant == "row":  # a data row whose description is the statement
        doc.rows = [_Row({"seq": 1, "description": statement})]
    elif variant == "above":  # a cell saying so above the table
        doc.pre = [statement]
    elif variant == "no_table":  # no hazard table at all, only the statement
        doc.no_table = True
        doc.pre = [statement]
    else:  # "assumed": nothing says so → accepted with a warning
        warnings.append((None, "zero-report-assumed"))
    return doc, warnings


def _unreadable(rng: random.Random, sc: _SchoolCtx, wk: _Week, variant: str) -> tuple[str, str, bytes, str]:
    """(file name, format, bytes, expected code) of a file that cannot be read as a workbook."""
    if variant == "empty":
        return f"{sc.name}安全隐患周报.xlsx", "xlsx", b"", "unreadable-file"
    if variant == "pdf":
        text = (f"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
                f"% {sc.code} {wk.label}\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
        return f"{sc.name}隐患排查台账.xls", "xls", text.encode("latin-1", "replace"), "unsupported-format"
    if variant == "html":
        cells = "".join(f"<td>{c.header}</td>" for c in submission_columns())
        html = (f'<html xmlns:o="urn:schemas-microsoft-com:office:office" '
                f'xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head><body>'
                f"<table><tr><td>填报单位：{sc.name}</td></tr><tr>{cells}</tr></table></body></html>")
        return "安全隐患排查导出.xls", "xls", html.encode("utf-8"), "unsupported-format"
    if variant == "docx":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in (
                ("[Content_Types].xml",
                 '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/'
                 '2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                 'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                 'PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                 'wordprocessingml.document.main+xml"/></Types>'),
                ("_rels/.rels",
                 '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>'),
                ("word/document.xml",
                 '<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
                 f'wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{sc.name}安全隐患排查情况报告</w:t></w:r>'
                 '</w:p></w:body></w:document>'),
            ):
                z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        return f"{sc.name}安全隐患排查情况.docx", "docx", buf.getvalue(), "unsupported-format"
    if variant == "jpg":
        body = bytes(rng.randrange(256) for _ in range(600))
        data = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + body + b"\xff\xd9"
        return "隐患排查表照片.jpg", "jpg", data, "unsupported-format"
    if variant == "truncated":
        doc = _base_doc(sc, wk, rng, [], _Style())
        g, _ = _layout(doc)
        data = _xlsx_bytes([g])
        return f"{sc.name}第{wk.num}周周报.xlsx", "xlsx", data[: len(data) // 3], "unreadable-file"
    raise ValueError(variant)  # pragma: no cover


_UNREADABLE_ORDER = ("empty", "pdf", "html", "truncated", "docx", "jpg")


def _temp_file(sc: _SchoolCtx, real_name: str, variant: str) -> tuple[str, bytes]:
    if variant == "owner":  # Excel's owner file while the workbook is open
        user = "Administrator".encode()
        data = bytes([len(user)]) + user.ljust(53, b" ") + "Administrator".encode("utf-16-le").ljust(108, b"\0")
        return f"~${real_name}", data
    stamp = "20.11.2023 09:15"
    profile = "file:///C:/Users/user/AppData/Roaming/LibreOffice/4"
    text = f"{sc.staff[3]},DESKTOP-7K2P9QF/user,DESKTOP-7K2P9QF,{stamp},{profile};"
    return f".~lock.{real_name}#", text.encode("utf-8")


# ----------------------------------------------------------------------------------------------------------------
# The week
# ----------------------------------------------------------------------------------------------------------------

_MESSY_FEATURES = {  # feature → probability in a messy file
    "alias_headers": 0.5, "reordered": 0.4, "two_row_header": 0.25, "header_breaks": 0.4, "enum_synonyms": 0.5,
    "text_dates": 0.5, "fullwidth": 0.2, "unit_alias": 0.3, "block_pairs": 0.4, "block_labels": 0.3,
    "template_rows": 0.3, "total_row": 0.2, "end_marker": 0.2, "funds_yuan": 0.2, "merged_cells": 0.25,
    "extra_column": 0.15, "drop_optional": 0.3, "blank_tokens": 0.3, "status_date": 0.15, "padded_text": 0.2,
    "hidden_row": 0.05, "ambiguous_date": 0.06, "unit_name_mismatch": 0.04, "multi_sheet": 0.05,
    "hidden_sheet": 0.05, "instructions_sheet": 0.08, "code_as_number": 0.2, "week_forms": 0.25,
    "own_ids": 0.1, "old_hazard": 0.06,
}
_XLSX_ONLY = {"two_row_header", "merged_cells", "hidden_row", "ambiguous_date", "multi_sheet", "hidden_sheet",
              "instructions_sheet"}


def _messy_features(rng: random.Random, fmt: str) -> list[str]:
    while True:
        f = [k for k, p in _MESSY_FEATURES.items() if rng.random() < p]
        if fmt != "xlsx":
            f = [k for k in f if k not in _XLSX_ONLY]
        if len([k for k in f if k != "old_hazard"]) >= 2:
            return f


def make_week(roster: list[dict], week: str = "2023-W47", seed: int = 0, *, hazards_per_school: int = 10,
              share_missing: float = 0.05, share_invalid: float = 0.08, share_messy: float = 0.3,
              prior: dict | None = None) -> SynthWeek:
    """The files the schools of `roster` send in `week`, each with its expected outcome.

    One file per reporting school (`share_missing` of the due schools send nothing); kinds: ~5% zero reports,
    `share_invalid` invalid (one or two defects each; every defect code appears once before any repeats),
    a couple unreadable, `share_messy` messy-but-valid, the rest valid; plus a few ignored temp files.
    `prior` (from `next_prior` of the previous generated week) carries each school's open hazards over.
    """
    wk = _week(week)
    rng = random.Random(f"synth-week:{seed}:{wk.label}")
    due = sorted((s for s in roster if _active(s, wk.cutoff_date)), key=lambda s: s["school_code"])
    prior_schools: dict = (prior or {}).get("schools", {})
    ictx = _InvalidCtx([s for s in due], frozenset(_fold_key(s["school_name"]) for s in roster)
                       | frozenset(_fold_key(a) for s in roster for a in (s.get("aliases") or "").split("、") if a),
                       frozenset(s["school_code"] for s in roster))

    # hazards of each school this week (carried over from the prior state, or a fresh ledger)
    carried: dict[str, list[Hazard]] = {}
    known: dict[str, dict[str, str]] = {}
    for s in due:
        p = prior_schools.get(s["school_code"])
        if p:
            ledger = [Hazard.from_json(h) for h in p["ledger"]]
            kn = dict(p.get("known", {}))
            # listed again: everything not closed, and whatever the pipeline still holds as open
            carried[s["school_code"]] = [h for h in ledger if h.status != "已销号" or kn.get(h.identity) in OPEN]
            known[s["school_code"]] = kn

    order = [s["school_code"] for s in due]
    rng.shuffle(order)
    n = len(order)
    n_missing = min(n, round(n * share_missing))
    n_unread = min(n - n_missing, max(2, round(n / 200))) if n >= 4 else 0
    n_zero = round(n * 0.05)
    n_invalid = round(n * share_invalid)
    n_messy = round(n * share_messy)
    kinds: dict[str, str] = {}
    for code in order[:n_missing]:
        kinds[code] = "missing"
    rest = order[n_missing:]
    zero_ok = [c for c in rest if not carried.get(c)]
    for code in zero_ok[:n_zero]:
        kinds[code] = "zero"
    rest = [c for c in rest if c not in kinds]
    for kind, k in (("unreadable", n_unread), ("invalid", n_invalid), ("messy", n_messy)):
        for code in rest[:k]:
            kinds[code] = kind
        rest = rest[k:]
    for code in rest:
        kinds[code] = "valid"

    defect_cycle = list(DEFECTS)
    rng.shuffle(defect_cycle)
    unread_cycle = list(_UNREADABLE_ORDER)
    n_temp = max(2, round(n / 100)) if n >= 4 else 0

    files = SynthWeek()
    files.week, files.cutoff, files.seed = wk.label, wk.cutoff.isoformat(), seed
    files.due = [s["school_code"] for s in due]
    files.missing = sorted(c for c, k in kinds.items() if k == "missing")
    state: dict[str, dict] = {code: {"ledger": p["ledger"], "known": p.get("known", {})}
                              for code, p in prior_schools.items()}
    n_invalid_seen = n_unread_seen = n_zero_seen = 0
    temp_hosts: list[SynthFile] = []
    for s in due:
        code = s["school_code"]
        kind = kinds[code]
        if kind == "missing":
            continue
        srng = random.Random(f"synth-file:{seed}:{wk.label}:{code}")
        sc = _school_ctx(s)
        target = max(0, srng.randint(hazards_per_school - hazards_per_school // 2,
                                     hazards_per_school + hazards_per_school // 2))
        target = max(target, {"valid": 1, "messy": 2, "invalid": 3}.get(kind, 0))
        fmt = "xlsx"
        features: list[str] = []
        if kind == "messy":
            r = srng.random()
            fmt = "csv" if r < 0.15 else "ods" if r < 0.2 else "xlsx"
            features = _messy_features(srng, fmt)
        if kind == "zero":
            hazards = list(carried.get(code, []))  # empty by construction
        elif code in carried:
            hazards = _week_ledger(srng, sc, wk, carried[code], target)
        else:
            hazards = _fresh_ledger(srng, sc, wk, target, old_hazard=kind == "messy" and "old_hazard" in features)
        if kind == "messy" and "merged_cells" in features:
            _share_location(srng, hazards, len(carried.get(code, [])))
        if kind == "invalid" and len(hazards) < 3:
            hazards += [_new_hazard(srng, sc, wk, {(h.location, h.description) for h in hazards},
                                    found_from=wk.monday, found_to=wk.last_day) for _ in range(3 - len(hazards))]
        kn = known.get(code, {})
        expected_issues: list[tuple[str | None, str]] = []
        others: list[_Grid] = []
        defects: list[str] = []
        sheet: str | None = None
        rows_listed = list(hazards)
        if kind == "unreadable":
            variant = unread_cycle[n_unread_seen % len(unread_cycle)]
            if variant == "empty" and n_unread_seen >= len(unread_cycle):
                variant = "pdf"  # one empty file a week: equal bytes would read as duplicates
            n_unread_seen += 1
            name, fmt, data, err = _unreadable(srng, sc, wk, variant)
            sf = SynthFile(f"{sc.name}/{name}", code, sc.name, kind, fmt, [_h_dict(h) for h in hazards],
                           _expected("rejected", [(None, err)], [], None, [variant], [], kn, []), data)
            files.append(sf)
            state[code] = {"ledger": [h.to_json() for h in hazards], "known": kn}
            continue
        if kind == "zero":
            variants = ["row", "above", "no_table", "row", "above", "assumed"]
            variant = variants[n_zero_seen % len(variants)]
            n_zero_seen += 1
            doc, expected_issues = _zero_doc(sc, wk, srng, variant)
            features = [variant]
            rows_listed = []
        elif kind == "valid":
            doc = _base_doc(sc, wk, srng, hazards, _Style())
        elif kind == "messy":
            doc, others = _messy_doc(sc, wk, srng, hazards, fmt, features, ictx.names)
            if "multi_sheet" in features:
                old = _base_doc(sc, wk.shifted(-1), srng, hazards[: max(1, len(hazards) // 2)], _Style())
                old.sheet_name = f"第{wk.num - 1}周" if wk.num > 1 else "上周"
                old.block[0] = [e for e in old.block[0] if e.field != "week"]
                old_grid, _ = _layout(old)
                others.insert(0, old_grid)
        else:  # invalid
            first = defect_cycle[n_invalid_seen % len(defect_cycle)]
            n_invalid_seen += 1
            fmt = "csv" if srng.random() < 0.1 and first != "ambiguous-sheet" else "xlsx"
            defects = _pick_defects(srng, first, fmt)
            hazards_view = list(hazards)
            doc, others = _invalid_doc(sc, wk, srng, hazards_view, fmt, defects, ictx)
            if "no-header-row" in defects:
                expected_issues.append((None, "no-header-row"))
            if "ambiguous-sheet" in defects:
                expected_issues.append((None, "ambiguous-sheet"))
            if "missing-unit" in defects:
                expected_issues.append((None, "missing-unit"))
        grid, issues = _layout(doc)
        if kind == "invalid" and ("no-header-row" in defects or "ambiguous-sheet" in defects):
            issues = []  # no table is read: nothing at cell level
        expected_issues.extend(issues)
        sheets = [grid] + others
        if kind == "messy" and "multi_sheet" in features:  # last week's sheet first
            sheets = others[:1] + [grid] + others[1:]
        if kind == "messy" and "instructions_sheet" in features:
            instr = next(g for g in sheets if g.name == "填表说明")
            sheets.remove(instr)
            sheets.insert(0, instr)
        if kind == "messy" and "hidden_sheet" in features:
            hid = next(g for g in sheets if g.hidden)
            sheets.remove(hid)
            sheets.insert(0, hid)
        sheet = grid.name if fmt != "csv" else None
        ext = fmt
        name = _file_name(srng, sc, wk, ext)
        folder = f"{sc.name}/第{wk.num}周" if srng.random() < 0.03 else sc.name
        payload_fmt = fmt
        if fmt == "csv":
            payload_fmt = "csv:" + srng.choice(["utf-8-sig", "utf-8-sig", "utf-8", "gb18030", "gb18030"])
            features = sorted(set(features) | {f"csv-{payload_fmt[4:]}"})
        errors = [i for i in expected_issues if _severity()[i[1]] == "error"]
        warnings = [i for i in expected_issues if _severity()[i[1]] == "warning"]
        outcome = "rejected" if errors else "accepted"
        if kind in ("valid", "messy", "zero") and errors:  # pragma: no cover - generator bug
            raise AssertionError(f"{kind} file of {code} has errors {errors}")
        sf = SynthFile(f"{folder}/{name}", code, sc.name, kind, fmt, [_h_dict(h) for h in rows_listed],
                       _expected(outcome, errors, warnings, sheet, features, defects, kn, rows_listed),
                       (payload_fmt, sheets))
        files.append(sf)
        if kind in ("valid", "messy") and fmt == "xlsx":
            temp_hosts.append(sf)
        new_known = kn
        if outcome == "accepted":
            new_known = dict(kn)
            for h in rows_listed:
                new_known[h.identity] = h.status
        state[code] = {"ledger": [h.to_json() for h in hazards], "known": new_known}

    # temp files next to some schools' real workbooks: ignored, never rejected
    trng = random.Random(f"synth-temp:{seed}:{wk.label}")
    for k, host in enumerate(trng.sample(temp_hosts, min(n_temp, len(temp_hosts)))):
        folder, real = host.path.rsplit("/", 1)
        sc = _school_ctx(next(s for s in due if s["school_code"] == host.school_code))
        tname, data = _temp_file(sc, real, "owner" if k % 2 == 0 else "lock")
        files.append(SynthFile(f"{folder}/{tname}", host.school_code, host.school_name, "temp",
                               "lock", [], {"outcome": None, "errors": [], "warnings": [], "hazards": None,
                                            "defects": [], "features": ["owner" if k % 2 == 0 else "lock"],
                                            "sheet": None}, data))
    for sf in files:
        sf.mtime = _mtime(wk, sf.path)
    files.sort(key=lambda f: f.path)
    files.state = {"version": 1, "week": wk.label, "seed": seed, "schools": state}
    return files


def _h_dict(h: Hazard) -> dict:
    return asdict(h)


def _expected(outcome: str | None, errors, warnings, sheet, features, defects, known: dict,
              rows: list[Hazard]) -> dict:
    def key(item):
        return (item[0] or "", item[1])

    accepted = outcome == "accepted"
    counts = {
        "rows": len(rows) if accepted else 0,
        "new": sum(1 for h in rows if h.identity not in known) if accepted else 0,
        "major": sum(1 for h in rows if h.level == "重大") if accepted else 0,
        "open": sum(1 for h in rows if h.status in OPEN) if accepted else 0,
        "rectified": sum(1 for h in rows if h.status in RECTIFIED) if accepted else 0,
    }
    return {
        "outcome": outcome,
        "errors": sorted(([c, code] for c, code in errors), key=key),
        "warnings": sorted(([c, code] for c, code in warnings), key=key),
        "hazards": counts,
        "defects": list(defects),
        "features": list(features),
        "sheet": sheet,
    }


def _mtime(wk: _Week, path: str) -> float:
    """A plausible, deterministic modification time within the week, before the cutoff."""
    minutes = zlib.crc32(path.encode()) % (4 * 24 * 60)
    moment = dt.datetime.combine(wk.monday, dt.time(8, 0), tzinfo=TZ) + dt.timedelta(minutes=minutes)
    return min(moment, wk.cutoff - dt.timedelta(hours=1)).timestamp()


def next_prior(files: list[SynthFile], prior: dict | None = None) -> dict:
    """The state to pass as `prior` to the next week's `make_week` (JSON-serialisable).

    Per school: its hazards as of this week (`ledger`) and what the pipeline knows of them (`known`: identity →
    status from the school's accepted files). Schools that sent nothing keep their earlier state.
    """
    state = getattr(files, "state", None)
    if state is not None:
        return {"version": 1, "week": state["week"], "seed": state["seed"],
                "schools": {k: {"ledger": list(v["ledger"]), "known": dict(v["known"])}
                            for k, v in state["schools"].items()}}
    schools = {k: dict(v) for k, v in (prior or {}).get("schools", {}).items()}
    for f in files:
        if f.kind == "temp" or f.school_code is None:
            continue
        kn = dict(schools.get(f.school_code, {}).get("known", {}))
        hazards = [Hazard(**r) for r in f.rows]
        if f.expected["outcome"] == "accepted":
            kn.update({h.identity: h.status for h in hazards})
        schools[f.school_code] = {"ledger": [h.to_json() for h in hazards], "known": kn}
    return {"version": 1, "week": None, "seed": None, "schools": schools}


def write_week(files: list[SynthFile], inbox: Path) -> dict:
    """Write every file under `inbox/<path>`; returns the expected outcomes (JSON-serialisable).

    Returns:
        {"week", "cutoff", "suggested_now", "seed", "due", "missing", "counts", "files": {path: {...}}} where each
        file entry has school_code, school_name, kind, format, outcome, errors, warnings, hazards, defects,
        features, sheet.
    """
    inbox = Path(inbox)
    out_files: dict[str, dict] = {}
    counts: dict[str, int] = {}
    made_dirs: set[Path] = set()
    for f in files:
        target = inbox / f.path
        if target.parent not in made_dirs:
            target.parent.mkdir(parents=True, exist_ok=True)
            made_dirs.add(target.parent)
        target.write_bytes(f.content())
        if f.mtime:
            os.utime(target, (f.mtime, f.mtime))
        counts[f.kind] = counts.get(f.kind, 0) + 1
        out_files[f.path] = {"school_code": f.school_code, "school_name": f.school_name, "kind": f.kind,
                             "format": f.format, **f.expected}
    week = getattr(files, "week", None)
    result: dict = {"week": week, "cutoff": getattr(files, "cutoff", None), "seed": getattr(files, "seed", None)}
    if week:
        wk = _week(week)
        result["suggested_now"] = dt.datetime.combine(wk.last_day, dt.time(18, 0), tzinfo=TZ).isoformat()
    due = getattr(files, "due", None)
    missing = getattr(files, "missing", None)
    result["due"] = len(due) if due is not None else None
    result["missing"] = list(missing) if missing is not None else None
    if missing is not None:
        counts["missing"] = len(missing)
    result["counts"] = dict(sorted(counts.items()))
    result["files"] = out_files
    return result


def generate_district(root: Path, units: int = 240, zones: int = 6, week: str = "2023-W47", seed: int = 0,
                      hazards_per_school: int = 10) -> dict:
    """Write `root/roster.xlsx` and one week of files under `root/inbox/`; returns the expected outcomes."""
    root = Path(root)
    roster = make_roster(units, zones, seed)
    write_roster(roster, root / "roster.xlsx")
    files = make_week(roster, week, seed, hazards_per_school=hazards_per_school)
    return write_week(files, root / "inbox")


# ----------------------------------------------------------------------------------------------------------------
# Writers: a minimal SpreadsheetML (xlsx), OpenDocument (ods) and CSV writer, byte-reproducible
# ----------------------------------------------------------------------------------------------------------------

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_HIDDEN_STATE = ' state="hidden"'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_ESC = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_STYLES = (
    _XML + f'<styleSheet xmlns="{_NS_MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    "</fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" applyAlignment="1">'
    '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">'
    '<alignment vertical="center" wrapText="1"/></xf>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _zip(parts: list[tuple[str, str | bytes]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, (name, data) in enumerate(parts):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.external_attr = 0o644 << 16
            if stored_first and k == 0:
                info.compress_type = zipfile.ZIP_STORED
                z.writestr(info, data)
            else:
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data, compresslevel=6)
    return buf.getvalue()


def _xlsx_bytes(sheets: list[_Grid]) -> bytes:
    sst: dict[str, int] = {}
    sheet_xml = []
    active = next((i for i, g in enumerate(sheets) if not g.hidden), 0)
    for i, g in enumerate(sheets):
        sheet_xml.append(_sheet_xml(g, sst, i == active))
    n = len(sheets)
    ctypes = (
        _XML + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        + "".join(f'<Override PartName="/xl/worksheets/sheet{i + 1}.xml" '
                  'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                  for i in range(n))
        + '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    )
    rels = (
        _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    sheets_el = "".join(
        f'<sheet name="{g.name.translate(_ESC)}" sheetId="{i + 1}"{_HIDDEN_STATE if g.hidden else ""} '
        f'r:id="rId{i + 1}"/>' for i, g in enumerate(sheets)
    )
    workbook = (
        _XML + f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="{active}"/></bookViews><sheets>{sheets_el}</sheets></workbook>'
    )
    wb_rels = (
        _XML + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(f'<Relationship Id="rId{i + 1}" Type="{_NS_REL}/worksheet" Target="worksheets/sheet{i + 1}.xml"/>'
                  for i in range(n))
        + f'<Relationship Id="rId{n + 1}" Type="{_NS_REL}/styles" Target="styles.xml"/>'
        f'<Relationship Id="rId{n + 2}" Type="{_NS_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    )
    strings = "".join(f'<si><t xml:space="preserve">{s.translate(_ESC)}</t></si>' for s in sst)
    shared = _XML + f'<sst xmlns="{_NS_MAIN}" count="{len(sst)}" uniqueCount="{len(sst)}">{strings}</sst>'
    parts: list[tuple[str, str | bytes]] = [
        ("[Content_Types].xml", ctypes), ("_rels/.rels", rels), ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", wb_rels), ("xl/styles.xml", _STYLES), ("xl/sharedStrings.xml", shared),
    ]
    parts += [(f"xl/worksheets/sheet{i + 1}.xml", x) for i, x in enumerate(sheet_xml)]
    return _zip(parts)


def _sheet_xml(g: _Grid, sst: dict[str, int], selected: bool) -> str:
    out = [_XML, f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">']
    rows = sorted(set(g.cells) | g.hidden_rows)
    if g.cells:
        maxc = max(max(r) for r in g.cells.values())
        out.append(f'<dimension ref="A1:{_addr(max(rows), maxc)}"/>')
    selected_attr = ' tabSelected="1"' if selected else ""
    out.append(f'<sheetViews><sheetView workbookViewId="0"{selected_attr}/></sheetViews>')
    out.append('<sheetFormatPr defaultRowHeight="15"/>')
    if g.widths:
        out.append("<cols>" + "".join(f'<col min="{c + 1}" max="{c + 1}" width="{w}" customWidth="1"/>'
                                      for c, w in sorted(g.widths.items())) + "</cols>")
    out.append("<sheetData>")
    for r in rows:
        cells = g.cells.get(r, {})
        header = r in g.header_rows
        parts = []
        for c in sorted(cells):
            v = cells[c]
            ref = f"{_LETTERS[c]}{r + 1}"
            if isinstance(v, str):
                idx = sst.get(v)
                if idx is None:
                    idx = sst[v] = len(sst)
                style = ' s="2"' if header else (' s="3"' if "\n" in v else "")
                parts.append(f'<c r="{ref}" t="s"{style}><v>{idx}</v></c>')
            elif isinstance(v, bool):  # pragma: no cover - never generated
                parts.append(f'<c r="{ref}" t="b"><v>{int(v)}</v></c>')
            elif isinstance(v, (int, float)):
                parts.append(f'<c r="{ref}"><v>{v!r}</v></c>')
            elif isinstance(v, dt.date):
                parts.append(f'<c r="{ref}" s="1"><v>{(v - _EXCEL_EPOCH).days}</v></c>')
            else:  # pragma: no cover
                raise TypeError(type(v))
        hidden = ' hidden="1"' if r in g.hidden_rows else ""
        height = ' ht="30" customHeight="1"' if header else ""
        out.append(f'<row r="{r + 1}"{hidden}{height}>{"".join(parts)}</row>')
    out.append("</sheetData>")
    if g.merges:
        out.append(f'<mergeCells count="{len(g.merges)}">'
                   + "".join(f'<mergeCell ref="{_addr(r1, c1)}:{_addr(r2, c2)}"/>' for r1, c1, r2, c2 in g.merges)
                   + "</mergeCells>")
    out.append("</worksheet>")
    return "".join(out)


_ODS_NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"'
)


def _ods_bytes(sheets: list[_Grid]) -> bytes:
    body = []
    for g in sheets:
        style = ' table:style-name="hidden"' if g.hidden else ""
        body.append(f'<table:table table:name="{g.name.translate(_ESC)}"{style}>')
        values = g.values()
        ncols = max((len(r) for r in values), default=1)
        body.append(f'<table:table-column table:number-columns-repeated="{ncols}"/>')
        span: dict[tuple[int, int], tuple[int, int]] = {}
        covered: set[tuple[int, int]] = set()
        for r1, c1, r2, c2 in g.merges:
            span[(r1, c1)] = (r2 - r1 + 1, c2 - c1 + 1)
            covered.update((r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1) if (r, c) != (r1, c1))
        for r, row in enumerate(values):
            vis = ' table:visibility="collapse"' if r in g.hidden_rows else ""
            cells = []
            for c in range(ncols):
                v = row[c] if c < len(row) else None
                if (r, c) in covered:
                    cells.append("<table:covered-table-cell/>")
                    continue
                attrs = ""
                if (r, c) in span:
                    rs, cs = span[(r, c)]
                    attrs = f' table:number-rows-spanned="{rs}" table:number-columns-spanned="{cs}"'
                if v is None:
                    cells.append(f"<table:table-cell{attrs}/>")
                elif isinstance(v, str):
                    paras = "".join(f"<text:p>{p.translate(_ESC)}</text:p>" for p in v.split("\n"))
                    cells.append(f'<table:table-cell office:value-type="string"{attrs}>{paras}</table:table-cell>')
                elif isinstance(v, dt.date):
                    cells.append(f'<table:table-cell office:value-type="date" office:date-value="{v.isoformat()}"'
                                 f"{attrs}><text:p>{v.isoformat()}</text:p></table:table-cell>")
                else:
                    cells.append(f'<table:table-cell office:value-type="float" office:value="{v!r}"{attrs}>'
                                 f"<text:p>{v!r}</text:p></table:table-cell>")
            body.append(f"<table:table-row{vis}>{''.join(cells)}</table:table-row>")
        body.append("</table:table>")
    content = (
        _XML.replace(' standalone="yes"', "") + f'<office:document-content {_ODS_NS} office:version="1.2">'
        '<office:automatic-styles><style:style style:name="hidden" style:family="table">'
        '<style:table-properties table:display="false"/></style:style></office:automatic-styles>'
        f"<office:body><office:spreadsheet>{''.join(body)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:version="1.2" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return _zip([("mimetype", "application/vnd.oasis.opendocument.spreadsheet"),
                 ("META-INF/manifest.xml", manifest), ("content.xml", content)], stored_first=True)


def _csv_bytes(g: _Grid, encoding: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    for row in g.values():
        w.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return buf.getvalue().encode(encoding)
