"""The generator's vocabulary (all names are synthetic) and what it reads from the contracts: people, counties,
towns, streets, villages and the nice names of private schools; the sections (科室) and zone names of the roster;
the stage mix (学段) and code prefixes; the hazards of each category (locations, descriptions with measures, major
hazards with interim control); remarks, footer notes and extra headers; the hazard statuses (open, rectified);
from schemas/, issue severities, the submission columns, header words, enum synonyms and category codes; and the
small text helpers over them (Chinese numbers, folding, people, phone numbers).
"""

from __future__ import annotations

import random
import re
import unicodedata
from functools import cache

from ...core.contracts import enums, load_toml, submission_columns

OPEN = ("未整改", "整改中")
RECTIFIED = ("已整改", "已销号")


SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
)
_GIVEN = (
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 建国 建华 志强 海燕 丽娟 文静 晓东 春梅 "
    "国庆 红梅 振华 玉兰 立新 淑珍 宏伟 俊杰 雪梅 卫东 永刚 秀英 凤英 德华 晓燕 玉梅 金凤 树林 长青 建军 海涛 "
    "志刚 爱华 少华 春燕 文华 子涵 宇航 梓萱 浩然 欣怡 佳琪 思远 明轩 雨桐 一鸣 嘉怡 晓峰 红霞 丽萍 志明 永红"
).split()

DISTRICTS = (
    "丰润区 还乡区 浭阳区 陡河区 燕南区 沙河县 双桥区 龙泉县 凤山区 青龙湾区 金沙县 玉泉县 兴安区 太平县 "
    "柳河县 石城区 白马县 黄台区 梁山县 新城区 云岭县 清水县 泉州湾区 东丰县"
).split()

TOWN_HEADS = (
    "新 老 东 西 南 北 大 小 石 沙 柳 杨 李 王 张 刘 韩 白 黄 高 马 丰 泉 银 火 七 三 双 龙 凤 金 玉 青 兴 安 常 梁 侯 "
    "姜 唐 宋 孟 田 左 任 岔 欢 曹 潘"
).split()
TOWN_TAILS = (
    "军屯 城铺 登坞 家营 各庄 官营 河头 树庄 流河 家坞 官屯 庄子 家寨 坨 店 桥 湾 峪 林 集 堡 口 台 洼 河 庄"
).split()
STREETS = (
    "浭阳 太平路 燕山路 光华道 新华道 建设路 文化路 龙华 兴华 幸福道 曹雪芹 还乡河 光明 和平 团结 胜利"
).split()
VILLAGE_TAILS = "家庄 各庄 官营 家坞 庄子 家寨 家屯 家沟 家店 家峪 家营 官屯 家湾 家堡".split()
VILLAGE_HEADS = ["", "", "", "东", "西", "南", "北", "前", "后", "大", "小"]
NICE_NAMES = (
    "阳光 童心 蓝天 爱心 小天使 金色摇篮 启明星 育英 英才 博文 明德 春蕾 七彩虹 小太阳 新星 智慧树 贝贝 育才 晨曦 "
    "未来星 小博士 彩虹桥 启航 春苗 希望 文昌 知行 弘毅 致远 树人 德才 星河 朝阳 雨露 百灵鸟 快乐岛 小白鸽 童乐 "
    "金太阳 新苗"
).split()
_CN_DIGITS = "零一二三四五六七八九"

SECTIONS = {
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
ZONE_NAMES = ["城区片", "东部片", "西部片", "南部片", "北部片", "中部片", "东北片", "西南片"]

# Stage mix of the roster (学段), the order of the spec; fractions sum to 1.
STAGE_SHARES = {"幼儿园": 0.36, "小学": 0.41, "初中": 0.15, "高中": 0.04, "中职": 0.03, "特教": 0.01}
STAGE_CODE_PREFIX = {"幼儿园": "11", "小学": "21", "初中": "31", "高中": "34", "中职": "36", "特教": "51"}

# Hazards per category: (description, measures) pairs, locations, and major hazards (description, measures,
# interim control). Category codes are those of schemas/enums.toml.
HAZARDS_BY_CATEGORY: dict[str, dict] = {
    "XF": {
        "loc": ["教学楼一楼走廊", "教学楼二楼楼梯间", "教学楼三楼东侧", "学生宿舍楼", "食堂操作间", "图书室",
                "多功能厅", "办公楼", "车棚", "综合楼"],
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
CATEGORY_WEIGHTS = {"XF": 20, "YD": 15, "JZ": 12, "AB": 12, "SP": 8, "GL": 8, "TY": 6, "JT": 4, "RQ": 3, "SY": 3,
                     "TZ": 2, "ZH": 2, "ZB": 2, "SG": 1, "WS": 2, "QT": 1}
REMARKS = ["已上报教育局", "待资金到位", "已申请维修资金", "已联系厂家", "持续跟踪", "已通知家长委员会", "等待配件"]
FOOTER_NOTES = [
    "注：隐患等级填写一般或重大；整改状态填写未整改、整改中、已整改、已销号。",
    "说明：本表每周五12时前报送教育局安法科。",
]
# Header texts that match no canonical header or alias (extra columns → warning extra-column).
_EXTRA_HEADERS = ["检查人员", "隐患照片", "是否上报", "整改前照片", "整改后照片", "联系方式", "督办情况"]


def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (1..99)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    head = "" if tens == 1 else _CN_DIGITS[tens]
    return f"{head}十{_CN_DIGITS[ones] if ones else ''}"


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s)


def fold_key(s: str) -> str:
    return re.sub(r"\s+", "", _fold(s))


_BRACKET_TAIL = re.compile(r"[（(][^（）()]*[）)]$")


def norm_header(s: str) -> str:
    return _BRACKET_TAIL.sub("", fold_key(s))


FULLWIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(_GIVEN)


def unique_person(rng: random.Random, used: set[str]) -> str:
    for _ in range(1000):
        p = _person(rng)
        if p not in used:
            used.add(p)
            return p
    p = _person(rng) + _CN_DIGITS[len(used) % 10]
    used.add(p)
    return p


def phone_number(rng: random.Random) -> str:
    return "1" + rng.choice(["38", "39", "35", "37", "50", "52", "58", "87", "88", "33", "80", "89"]) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


@cache
def severities() -> dict[str, str]:
    return {code: spec["severity"] for code, spec in load_toml("issues.toml").items()}


@cache
def columns_by_id() -> dict:
    return {c.id: c for c in submission_columns()}


@cache
def _header_vocabulary() -> frozenset[str]:
    words = {"编号"}
    for c in submission_columns():
        words.add(norm_header(c.header))
        words.update(norm_header(a) for a in c.aliases)
    return frozenset(words)


@cache
def extra_headers() -> tuple[str, ...]:
    vocab = _header_vocabulary()
    return tuple(h for h in _EXTRA_HEADERS if norm_header(h) not in vocab)


@cache
def enum_forms(name: str) -> dict[str, list[str]]:
    """Canonical value → the synonyms schools write for it (from schemas/enums.toml)."""
    spec = enums()[name]
    out: dict[str, list[str]] = {v: [] for v in spec.values}
    for syn, canonical in spec.synonyms.items():
        if syn != canonical:
            out[canonical].append(syn)
    return out


@cache
def category_codes() -> dict[str, str]:
    """Two-letter code → canonical category."""
    return dict(enums()["category"].codes)
