"""One typed settings object: the data root's `config.toml`, overridden by `INSPECT_PIPELINE_*` environment variables.

Functions never read the environment themselves: the CLI loads Settings once and passes it down.

config.toml is strict: a key this software does not know, at the top or in any table, is an error naming it (a
mistyped limit must not be silently ignored). It carries `config_version`; a file of an older version has its
renamed keys moved (RENAMED) before it is read, so that archived copies stay readable; a newer one is refused.
Every problem is a ConfigError: one Chinese line naming the file (or environment variable) and the key.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .errors import ConfigError
from .weeks import Week

CONFIG_FILE_NAME = "config.toml"
CONFIG_VERSION = 1
"""The version of config.toml this software writes and reads; `config_version` absent means 1."""
VERSION_KEY = "config_version"
RENAMED: dict[int, dict[str, str]] = {}
"""Keys renamed when config.toml went from version N to N+1: {N: {"old.dotted.key": "new.dotted.key"}}."""
ENV_PREFIX = "INSPECT_PIPELINE_"


class _Table(BaseModel):
    """A table of config.toml: unknown keys are errors, as at the top level."""

    model_config = ConfigDict(extra="forbid")


class Limits(_Table):
    """Guards against files that would exhaust memory or time."""

    max_file_mb: float = Field(20.0, description="Largest file accepted, in MB; larger files are unreadable-file.")
    max_uncompressed_mb: float = Field(
        200.0, description="Largest total uncompressed size of a zipped workbook (xlsx/ods), in MB (zip bombs)."
    )
    max_compression_ratio: float = Field(
        200.0, description="Largest uncompressed/compressed ratio of a zipped workbook (zip bombs)."
    )
    max_cells: int = Field(
        2_000_000,
        gt=0,
        description="Most cells one sheet may span, and all sheets of a file together, counted from the file's "
        "content before anything is allocated: the area of cells with values, of merged ranges, of repeated cells.",
    )
    max_text_mb: float = Field(
        50.0,
        gt=0,
        description="Most text, in millions of characters, one file's cells may expand to (shared strings, .ods "
        "repeats); 50 million CJK characters take about 270 MB.",
    )
    max_memory_mb: float = Field(
        1024.0, ge=64, description="Memory one file may take while it is read or its receipt is written, in MB."
    )
    watchdog_seconds: float = Field(
        60.0, ge=1, description="Last resort: a file still being read, or its receipt written, after this long is stopped."
    )
    max_rows: int = Field(
        5_000,
        ge=1,
        description="Most hazard rows one file may hold (a school lists tens); a file with more is unreadable-file "
        "before its rows are validated.",
    )
    annotate_max_cells: int = Field(
        200_000,
        ge=0,
        description="A rejected workbook spanning more cells than this gets its receipt as a streamed copy of its "
        "values instead of an annotated original (seconds instead of minutes for very large sheets).",
    )

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_uncompressed_bytes(self) -> int:
        return int(self.max_uncompressed_mb * 1024 * 1024)

    @property
    def max_text_chars(self) -> int:
        return int(self.max_text_mb * 1_000_000)

    @property
    def max_memory_bytes(self) -> int:
        return int(self.max_memory_mb * 1024 * 1024)


class Mail(_Table):
    """SMTP delivery. Mail is off while `host` is unset; the password comes only from the environment
    (INSPECT_PIPELINE_MAIL__PASSWORD) or `<data root>/secrets.toml`, never from config.toml."""

    host: str | None = Field(None, description="SMTP server; unset = reports are only written to reports/.")
    port: int = Field(465, ge=1, le=65535, description="SMTP port: 465 for ssl, 587 for starttls, 25 for none.")
    security: Literal["ssl", "starttls", "none"] = Field("ssl", description="How the connection is protected.")
    user: str | None = Field(None, description="Login name; unset = no login.")
    password: SecretStr | None = Field(None, description="Login password (environment or secrets.toml only).")
    sender: str = Field("", description="From address, e.g. anquan@jyj.example.gov.cn.")
    safety_committee: list[str] = Field(default_factory=list, description="Recipients of the 区安委办 workbook.")
    city_bureau: list[str] = Field(default_factory=list, description="Recipients of the 市教育局 workbook.")
    zone_report: list[str] = Field(default_factory=list, description="Recipients of the whole 包片包校 report.")
    zone_leaders: dict[str, list[str]] = Field(
        default_factory=dict, description="Each 包片领导's zone extract: {片区 or 包片领导 name = [addresses]}."
    )
    receipts: bool = Field(True, description="Mail each receipt to the school's 学校邮箱 (from the roster).")
    reminders: bool = Field(True, description="Mail reminders to each 包校责任人's 责任人邮箱 (from the roster).")
    attempts: int = Field(3, ge=1, description="Tries per mail within one run before it is left for the next run.")
    backoff_seconds: float = Field(2.0, ge=0, description="Wait before the second try; doubled for each later try.")
    timeout_seconds: float = Field(30.0, gt=0, description="SMTP connection timeout.")

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class Schedule(_Table):
    """Cron expressions of `serve`, in the settings' time zone (operations.md §Orchestration)."""

    intake: str = Field("*/10 * * * *", description="Take new inbox files.")
    reminders: list[str] = Field(["0 15 * * 4", "0 9 * * 5"], description="Remind 包校责任人 of missing units.")
    weekly_report: str = Field("30 12 * * 5", description="Close the week, build and deliver the reports.")


class Server(_Table):
    """The local Prefect server `serve` starts when no PREFECT_API_URL is set (its home: .state/prefect)."""

    host: str = Field("127.0.0.1", description="Address the Prefect UI/API listens on; 0.0.0.0 for the office LAN.")
    port: int = Field(4200, ge=1, le=65535, description="Port of the Prefect UI/API.")
    startup_timeout_seconds: float = Field(180.0, gt=0, description="How long to wait for the server to answer.")


class Settings(BaseSettings):
    """Everything an operator may configure. Loaded by `load_settings(data_root)`."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid")

    bureau_name: str = Field("区教育局", description="填报单位 shown on every report, e.g. 唐山市丰润区教育局.")
    timezone: str = Field("Asia/Shanghai", description="Time zone of the cutoff and of every time stamp written.")
    cutoff_weekday: int = Field(5, ge=1, le=7, description="ISO weekday of the weekly cutoff (1 = Monday, 5 = Friday).")
    cutoff_time: dt.time = Field(dt.time(12, 0), description="Local time of the weekly cutoff.")
    cutoff_overrides: dict[str, dt.datetime] = Field(
        default_factory=dict,
        description="A moved cutoff for single weeks (holidays, 调休): {'2023-W40' = 2023-10-07T12:00:00}.",
    )
    no_report_weeks: list[str] = Field(
        default_factory=list, description="Weeks in which no unit is due (寒暑假), e.g. ['2024-W05', '2024-W06']."
    )
    campaign_start: dt.date | None = Field(
        None, description="First day counted in 累计 figures; default: the Saturday starting the earliest week received."
    )
    through_school_stage: str = Field("初中", description="Stage that 九年一贯制/十二年一贯制/完全中学 schools report under.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL of the record; default: SQLite file `inspect.db` in the data root."
    )
    inbox_dir: Path | None = Field(None, description="Inbox folder if not `<data root>/inbox` (e.g. a network share).")
    roster_file: Path | None = Field(None, description="Roster workbook if not `<data root>/roster.xlsx`.")
    quiet_seconds: float = Field(
        2.0,
        ge=1,
        description="A file is taken only after its size and mtime stayed unchanged this long (real clock; at least "
        "1 s, so that a file still being copied in is never read half-written).",
    )
    lock_timeout_seconds: float = Field(
        300.0, ge=0, description="How long a second intake run waits for the first before giving up."
    )
    workers: int = Field(0, ge=0, description="Worker processes for reading and receipts; 0 = one per core.")
    limits: Limits = Field(default_factory=Limits)
    mail: Mail = Field(default_factory=Mail)
    schedule: Schedule = Field(default_factory=Schedule)
    server: Server = Field(default_factory=Server)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError, which pydantic passes on
            raise PydanticCustomError(
                "time_zone", '不是有效的时区：“{zone}”（例如 timezone = "Asia/Shanghai"）', {"zone": value}
            ) from None
        return value

    @field_validator("no_report_weeks")
    @classmethod
    def _week_list(cls, value: list[str]) -> list[str]:
        return [_week_label(week) for week in value]

    @field_validator("cutoff_overrides")
    @classmethod
    def _week_keys(cls, value: dict[str, dt.datetime]) -> dict[str, dt.datetime]:
        return {_week_label(week): moment for week, moment in value.items()}

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # the environment overrides the config file (passed as init values)
        return (env_settings, init_settings)


def _week_label(text: str) -> str:
    """`2023-W5`, `2023-w05` or `2023年第5周` as the label weeks are named by (`2023-W05`); an error for anything
    else (a week label that is not one would never match, and the override would be silently ignored)."""
    try:
        return Week.parse(text).label
    except ValueError:
        pass
    raise PydanticCustomError("week_label", "不是周次：“{week}”（例如 \"2023-W47\"）", {"week": text})


SECRETS_FILE_NAME = "secrets.toml"


def load_settings(data_root: Path, config: Path | None = None) -> Settings:
    """Settings from `<data_root>/config.toml` (if present; `config`: another file, e.g. an archived snapshot,
    read through the same model) with environment overrides; the mail password from `<data_root>/secrets.toml`
    ([mail] password = "…") unless the environment gives one. Anything wrong in either file or in the environment
    is a ConfigError naming the file or variable and the key."""
    config, secrets = config or data_root / CONFIG_FILE_NAME, data_root / SECRETS_FILE_NAME
    values = migrate_config(_read_toml(config), config)
    refuse_unknown_keys(values, config)
    mail = values.get("mail")
    if isinstance(mail, dict) and "password" in mail:
        raise ConfigError(
            f"配置文件 {config} 中不能写邮箱密码：请写在 {secrets} 的 [mail] password，"
            f"或环境变量 {ENV_PREFIX}MAIL__PASSWORD"
        )
    secret_mail = _read_toml(secrets).get("mail")
    secret = secret_mail.get("password") if isinstance(secret_mail, dict) else None
    if secret is not None and isinstance(values.setdefault("mail", {}), dict):
        values["mail"]["password"] = secret
    return _validated(values, config, secrets)


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
    return values


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


def refuse_unknown_keys(values: dict, source: Path | str) -> None:
    """ConfigError naming the first key of `values` (as read from config.toml) that Settings does not know,
    at the top or in any of its tables, with the nearest known key."""
    unknown = list(_unknown_keys(values, Settings))
    if not unknown:
        return
    first, others = unknown[0], unknown[1:]
    more = f"；另有 {len(others)} 项也不认识：{'、'.join(f'“{_key(k)}”' for k in others[:3])}" if others else ""
    raise ConfigError(f"配置文件 {source} 中没有 “{_key(first)}” 这一项{_suggestion(first)}{more}")


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


def _suggestion(path: tuple) -> str:
    """`（是否想写 “limits.max_cells”？）`, or where a known key written in the wrong table belongs; or nothing."""
    known = _known_keys(Settings)
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


def _validated(values: dict, config: Path, secrets: Path) -> Settings:
    try:
        return Settings(**values)
    except ValidationError as exc:
        errors = exc.errors()
        more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
        raise ConfigError(_describe(errors[0], config, secrets) + more) from None


def _describe(error: dict, config: Path, secrets: Path) -> str:
    loc = tuple(error["loc"])
    variable = _env_variable(loc)
    if error["type"] == "extra_forbidden":  # only the environment gets here: the file was checked before
        return f"环境变量 {variable or ENV_PREFIX + '…'} 设置了未知的一项 “{_key(loc)}”{_suggestion(loc)}"
    if variable is not None:
        where = f"环境变量 {variable} 设置的"
    elif loc[:2] == ("mail", "password"):
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
    if kind in ("time_zone", "week_label"):
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


DEFAULT_CONFIG = """\
# inspect-pipeline configuration. Every key is optional; environment variables INSPECT_PIPELINE_<KEY>
# (nested: INSPECT_PIPELINE_LIMITS__MAX_FILE_MB) override this file. A key this version does not know is an
# error (a mistyped name is never ignored). Top-level keys go before the first [table].

config_version = 1             # the layout of this file; written by init, never change it by hand

bureau_name = "区教育局"        # 填报单位 on every report, e.g. "唐山市丰润区教育局"
timezone = "Asia/Shanghai"     # time zone of the cutoff and all time stamps
cutoff_weekday = 5             # ISO weekday of the weekly cutoff: 5 = Friday
cutoff_time = 12:00:00         # local time of the cutoff
# campaign_start = 2023-09-01  # first day of 累计 figures (default: start of the earliest week received)
through_school_stage = "初中"  # stage for 九年一贯制 / 十二年一贯制 / 完全中学
# database_url = "postgresql+psycopg://user@localhost/inspect"   # default: SQLite inspect.db here
# inbox_dir = "//fileserver/share/安全周报"                       # default: inbox/ here
quiet_seconds = 2              # a file still being copied in is left for the next run
lock_timeout_seconds = 300     # a second intake run waits this long for the first
workers = 0                    # worker processes; 0 = one per core
no_report_weeks = []           # weeks in which no one is due (寒暑假), e.g. ["2024-W05"]

[cutoff_overrides]             # a moved cutoff for one week (holidays, 调休)
# "2023-W40" = 2023-10-07T12:00:00

[schedule]                     # when `inspect-pipeline serve` runs each flow (cron, in the time zone above)
intake = "*/10 * * * *"
reminders = ["0 15 * * 4", "0 9 * * 5"]
weekly_report = "30 12 * * 5"

[server]                       # the Prefect server `serve` starts when PREFECT_API_URL is not set
host = "127.0.0.1"             # "0.0.0.0" to open the UI from other PCs of the office
port = 4200                    # UI at http://127.0.0.1:4200

[mail]                         # delivery by SMTP; off while host is unset
# host = "smtp.example.gov.cn"
# port = 465
# security = "ssl"             # ssl | starttls | none
# user = "anquan@example.gov.cn"   # the password goes in secrets.toml ([mail] password = "…"), never here
# sender = "anquan@example.gov.cn"
# safety_committee = ["awb@example.gov.cn"]   # 区安委办
# city_bureau = ["shi@example.gov.cn"]        # 市教育局
# zone_report = []                            # the whole 包片包校 report
# receipts = true              # mail receipts to 学校邮箱 (roster)
# reminders = true             # mail reminders to 责任人邮箱 (roster)

[mail.zone_leaders]            # each 包片领导's zone extract: 片区 (or leader's name) = [addresses]
# "城东片区" = ["leader@example.gov.cn"]

[limits]
max_file_mb = 20
max_uncompressed_mb = 200
max_compression_ratio = 200
max_cells = 2000000            # cells one sheet may span (values, merged ranges, repeats)
max_text_mb = 50               # millions of characters one file's cells may expand to
max_memory_mb = 1024           # memory for reading one file or writing its receipt
watchdog_seconds = 60          # last resort: reading one file or writing its receipt is stopped after this long
max_rows = 5000                # hazard rows one file may hold
annotate_max_cells = 200000    # larger rejected workbooks get a streamed copy instead of an annotated original
"""
