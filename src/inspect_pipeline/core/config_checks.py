"""Checking a config.toml before its values reach the settings model (settings.py): reading the file (one Chinese
line for unreadable bytes, a wrong encoding or bad TOML, with its line and column), migrating the keys of an older
`config_version` (RENAMED), refusing keys the model does not know with the nearest known one, and describing a value
the model refuses (the file, secrets file or environment variable and the key).

The model is passed in (`Settings`), so this module imports nothing of settings.py.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import logging
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from .errors import ConfigError

CONFIG_VERSION = 2
"""The version of config.toml this software writes and reads; `config_version` absent means 1."""
VERSION_KEY = "config_version"
RENAMED: dict[int, dict[str, str]] = {}
"""Keys renamed when config.toml went from version N to N+1: {N: {"old.dotted.key": "new.dotted.key"}}."""
ENV_PREFIX = "INSPECT_PIPELINE_"
log = logging.getLogger(__name__)


# ---------------------------------------------------------------- reading the file


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        text = path.read_bytes().decode("utf-8-sig")  # Notepad may have saved it with a BOM
    except OSError as exc:
        raise ConfigError(f"配置文件 {path} 无法读取：{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码：请用记事本打开，“另存为”时编码选 UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"配置文件 {path} {_toml_problem(str(exc))}") from None


def _toml_problem(message: str) -> str:
    found = _TOML_POSITION.search(message)
    if found is None:
        return f"格式有误：{message}"
    return (f"第 {found[1]} 行第 {found[2]} 列格式有误（{message[: found.start()]}）："
            "每行写 键 = 值，文字用英文双引号括起来")


# ---------------------------------------------------------------- versions


def migrate_config(values: dict, source: Path | str) -> dict:
    """The values of a config.toml (or an archived copy of one) as this version reads them, without
    `config_version`: keys renamed since the file's version moved to their new names. ConfigError for a
    version newer than this software."""
    values = copy.deepcopy(values)
    version = values.pop(VERSION_KEY, 1)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ConfigError(f"配置文件 {source} 中 “{VERSION_KEY}” 应为正整数（现为 {_shown(version)}）")
    if version > CONFIG_VERSION:
        raise ConfigError(
            f"配置文件 {source} 是较新版本的 inspect-pipeline 写的（{VERSION_KEY} = {version}，本版本只认识到 "
            f"{CONFIG_VERSION}）：请升级 inspect-pipeline 后再运行"
        )
    for old_version in range(version, CONFIG_VERSION):
        for old, new in RENAMED.get(old_version, {}).items():
            _rename(values, old, new, source)
        convert = CONVERTED.get(old_version)
        if convert is not None:
            convert(values, source)
    return values


def _schedule_crons_to_offsets(values: dict, source: Path | str) -> None:
    """Version 1 → 2: `[schedule] weekly_report` and `reminders` were crons at fixed weekdays; they become
    `report_delay_minutes` and `reminder_rounds`, relative to each week's cutoff (issue #13), read against the
    file's own cutoff weekday and time. A cron that is not weekly at a fixed time is refused with what to write."""
    from .schedule import cron_as_delay, cron_as_round

    table = values.get("schedule")
    if not isinstance(table, dict) or not ({"weekly_report", "reminders"} & set(table)):
        return
    weekday = values.get("cutoff_weekday", 5)
    time = values.get("cutoff_time", dt.time(12, 0))
    if not isinstance(weekday, int) or not isinstance(time, dt.time):
        return  # the model names the bad cutoff; the old keys are then refused as unknown
    notes = []
    if "weekly_report" in table:
        cron = table.pop("weekly_report")
        delay = cron_as_delay(cron, weekday, time) if isinstance(cron, str) else None
        if delay is None:
            raise ConfigError(f"配置文件 {source} 中 [schedule] weekly_report = {_shown(cron)} 不是每周固定时间的 cron，"
                              "无法换算：请改写为 report_delay_minutes = 30（截止后多少分钟出周报）")
        table.setdefault("report_delay_minutes", delay)
        notes.append(f"weekly_report = {_shown(cron)} → report_delay_minutes = {delay}")
    if "reminders" in table:
        crons = table.pop("reminders")
        rounds = [cron_as_round(c, weekday) if isinstance(c, str) else None for c in crons] \
            if isinstance(crons, list) else [None]
        if None in rounds:
            raise ConfigError(f"配置文件 {source} 中 [schedule] reminders = {crons} 不是每周固定时间的 cron，无法换算："
                              '请改写为 reminder_rounds = ["-1d 15:00", "0d 09:00"]（相对截止日的天数和时间）')
        table.setdefault("reminder_rounds", rounds)
        notes.append(f"reminders = {crons} → reminder_rounds = {rounds}")
    if str(source) in _NOTED:  # once per file and process: serve re-reads config.toml every minute
        return
    _NOTED.add(str(source))
    log.warning("配置文件 %s 的 [schedule] 仍是旧写法（固定星期几的 cron），已按截止时间换算：%s。"
                "周报和催报现在随每周的截止时间（含调休）移动、寒暑假不运行；请照此改写配置文件并写 config_version = 2",
                source, "；".join(notes))


_NOTED: set[str] = set()
CONVERTED = {1: _schedule_crons_to_offsets}
"""Values converted when config.toml went from version N to N+1 (after RENAMED): {N: fn(values, source)}."""


_ABSENT = object()


def _rename(values: dict, old: str, new: str, source: Path | str) -> None:
    value = _pop(values, old.split("."))
    if value is _ABSENT:
        return
    *tables, last = new.split(".")
    target = values
    for key in tables:
        target = target.setdefault(key, {})
        if not isinstance(target, dict):
            raise ConfigError(f"配置文件 {source} 中 “{key}” 应为一个表（[{key}]）")
    if last in target:
        raise ConfigError(f"配置文件 {source} 中 “{old}” 已改名为 “{new}”，两者不能同时写：请删去 “{old}”")
    target[last] = value


def _pop(values: dict, keys: list[str]) -> object:
    """Remove a dotted key; a table left empty by it goes too."""
    if len(keys) == 1:
        return values.pop(keys[0], _ABSENT)
    inner = values.get(keys[0])
    if not isinstance(inner, dict):
        return _ABSENT
    value = _pop(inner, keys[1:])
    if not inner:
        del values[keys[0]]
    return value


# ---------------------------------------------------------------- unknown keys


def refuse_unknown_keys(values: dict, source: Path | str, model: type[BaseModel]) -> None:
    """ConfigError naming the first key of `values` (as read from config.toml) that `model` (Settings) does not
    know, at the top or in any of its tables, with the nearest known key."""
    unknown = list(_unknown_keys(values, model))
    if not unknown:
        return
    first, others = unknown[0], unknown[1:]
    more = f"；另有 {len(others)} 项也不认识：{'、'.join(f'“{_key(k)}”' for k in others[:3])}" if others else ""
    raise ConfigError(f"配置文件 {source} 中没有 “{_key(first)}” 这一项{_suggestion(first, model)}{more}")


def _unknown_keys(values: dict, model: type[BaseModel], prefix: tuple = ()) -> Iterator[tuple]:
    for key, value in values.items():
        field = model.model_fields.get(key)
        if field is None:
            yield (*prefix, key)
        elif isinstance(value, dict) and _table_model(field.annotation) is not None:
            yield from _unknown_keys(value, _table_model(field.annotation), (*prefix, key))


def _table_model(annotation: object) -> type[BaseModel] | None:
    """The model of a table of config.toml (limits, mail …); None for a value or a free table (zone_leaders)."""
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _known_keys(model: type[BaseModel], prefix: tuple = ()) -> list[tuple]:
    keys: list[tuple] = [] if prefix else [(VERSION_KEY,)]
    for name, field in model.model_fields.items():
        keys.append((*prefix, name))
        table = _table_model(field.annotation)
        if table is not None:
            keys.extend(_known_keys(table, (*prefix, name)))
    return keys


def _suggestion(path: tuple, model: type[BaseModel]) -> str:
    """`（是否想写 “limits.max_cells”？）`, or where a known key written in the wrong table belongs; or nothing."""
    known = _known_keys(model)
    leaf, table = path[-1], path[:-1]
    placed = [k for k in known if k[-1] == leaf]
    if placed:
        outside = f"不属于 [{_key(table)}]，" if table else ""
        return f"（“{leaf}” {outside}应写在{_place(placed[0][:-1])}）"
    close = difflib.get_close_matches(leaf, [k[-1] for k in known if k[:-1] == table], n=1)
    if close:
        return f"（是否想写 “{_key((*table, close[0]))}”？）"
    by_leaf = {k[-1]: k for k in known}
    close = difflib.get_close_matches(leaf, list(by_leaf), n=1)
    if close:
        return f"（是否想写 “{_key(by_leaf[close[0]])}”？它应写在{_place(by_leaf[close[0]][:-1])}）"
    return ""


def _place(table: tuple) -> str:
    return f" [{_key(table)}] 下" if table else "文件开头、第一个 [表] 之前"


def _key(loc: tuple) -> str:
    """A key path as written in config.toml: `limits.max_cells`, `no_report_weeks[0]`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


# ---------------------------------------------------------------- values


def _describe(error: dict, config: Path, secrets: Path, model: type[BaseModel]) -> str:
    loc = tuple(error["loc"])
    variable = _env_variable(loc)
    if error["type"] == "extra_forbidden":  # only the environment gets here: the file was checked before
        return f"环境变量 {variable or ENV_PREFIX + '…'} 设置了未知的一项 “{_key(loc)}”{_suggestion(loc, model)}"
    if variable is not None:
        where = f"环境变量 {variable} 设置的"
    elif loc[:2] == ("mail", "password") or (loc[:1] == ("robots",) and loc[2:3] in (("key",), ("secret",))):
        where = f"{secrets} 中"
    else:
        where = f"配置文件 {config} 中"
    return f"{where} “{_key(loc)}” {_problem(error)}"


def _env_variable(loc: tuple) -> str | None:
    """The INSPECT_PIPELINE_* variable that set the value at `loc`, if one did."""
    names = {name.upper() for name in os.environ}
    for end in range(len(loc), 0, -1):
        name = ENV_PREFIX + "__".join(str(part) for part in loc[:end]).upper()
        if name in names:
            return name
    return None


_PROBLEMS = {
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数字", "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为文字（用英文双引号括起来）",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "应不大于 {le}",
    "literal_error": "应为 {expected} 之一",
    "list_type": '应为列表，例如 ["…"]',
    "dict_type": "应为一个表", "model_type": "应为一个表", "model_attributes_type": "应为一个表",
    "time_parsing": "应为时间，例如 12:00:00", "time_type": "应为时间，例如 12:00:00",
    "date_parsing": "应为日期，例如 2023-09-01", "date_type": "应为日期，例如 2023-09-01",
    "date_from_datetime_parsing": "应为日期，例如 2023-09-01",
    "date_from_datetime_inexact": "应为日期，例如 2023-09-01",
    "datetime_parsing": "应为日期时间，例如 2023-10-07T12:00:00",
    "datetime_type": "应为日期时间，例如 2023-10-07T12:00:00",
    "datetime_from_date_parsing": "应为日期时间，例如 2023-10-07T12:00:00",
}


def _problem(error: dict) -> str:
    kind, ctx = error["type"], error.get("ctx", {})
    if kind in ("time_zone", "week_label", "reminder_round") or kind.startswith("robot_"):
        return error["msg"]  # our own sentence, with the value and an example
    if kind in _PROBLEMS:
        text = _PROBLEMS[kind].format(**{k: str(v).replace(" or ", ", ") for k, v in ctx.items()})
    elif kind == "value_error":
        text = f"有误：{ctx.get('error', error['msg'])}"
    else:
        text = f"有误：{error['msg']}"
    value = error.get("input")
    return f"{text}（现为 {_shown(value)}）" if _scalar(value) else text


def _scalar(value: object) -> bool:
    return isinstance(value, (str, int, float, dt.date, dt.time)) and len(str(value)) <= 60


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"“{value}”" if isinstance(value, str) else str(value)
