"""One typed settings object: the data root's `config.toml`, overridden by `INSPECT_PIPELINE_*` environment variables.

Functions never read the environment themselves: the CLI loads Settings once and passes it down.

config.toml is strict: a key this software does not know, at the top or in any table, is an error naming it (a
mistyped limit must not be silently ignored). It carries `config_version`; a file of an older version has its
renamed keys moved (RENAMED) before it is read, so that archived copies stay readable; a newer one is refused.
Every problem is a ConfigError: one Chinese line naming the file (or environment variable) and the key.
Reading and checking the file is config_checks.py; the file `init` writes is default_config.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal, Self
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from .config_checks import ENV_PREFIX, _describe, _read_toml, migrate_config, refuse_unknown_keys
from .errors import ConfigError
from .schedule import parse_round
from .weeks import Week

CONFIG_FILE_NAME = "config.toml"


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
        60.0,
        ge=1,
        description="Last resort: a file still being read, or its receipt written, after this long is stopped.",
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
    reminders: bool = Field(True, description="Mail reminders and deadline warnings to each 包校责任人's 责任人邮箱 (roster).")
    attempts: int = Field(3, ge=1, description="Tries per mail within one run before it is left for the next run.")
    backoff_seconds: float = Field(2.0, ge=0, description="Wait before the second try; doubled for each later try.")
    timeout_seconds: float = Field(30.0, gt=0, description="SMTP connection timeout.")

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class Robot(_Table):
    """One 企业微信 group robot or 钉钉 custom robot ([robots.<group>]). Its webhook key and 钉钉 signing secret come
    only from `<data root>/secrets.toml` ([robots.<group>] key/secret) or the environment
    (INSPECT_PIPELINE_ROBOTS__<GROUP>__KEY), never from config.toml."""

    kind: Literal["wecom", "dingtalk"] = Field(description="wecom = 企业微信群机器人, dingtalk = 钉钉自定义机器人.")
    purpose: Literal["reports", "zone", "school"] = Field(
        description="reports = 报表已生成的通知（区安委办/市教育局群）; zone = 一个片区的催报; school = 一所学校的催报.")
    zone: str = Field("", description="The 片区 of a zone group, e.g. 一片.")
    school: str = Field("", description="The 学校标识码 (or 学校名称) of a school group.")
    base_url: str = Field("", description="Webhook address without the key; default the vendor's.")
    keyword: str = Field("", description="钉钉 keyword mode: this word is put into every message.")
    proxy: str = Field("", description="HTTP(S) proxy, e.g. http://10.0.0.1:3128; default the environment's.")
    key: SecretStr | None = Field(None, description="Webhook key / access_token (secrets.toml or environment only).")
    secret: SecretStr | None = Field(None, description="钉钉 signing secret SEC… (secrets.toml or environment only).")
    per_minute: int = Field(20, ge=1, description="Most messages a minute to this robot (both vendors allow 20).")
    attempts: int = Field(3, ge=1, description="Tries per message within one run before it is left for the next run.")
    backoff_seconds: float = Field(2.0, ge=0, description="Wait before the second try; doubled for each later try.")
    timeout_seconds: float = Field(15.0, gt=0, description="HTTP timeout.")

    @model_validator(mode="after")
    def _target(self) -> Self:
        if self.purpose == "zone" and not self.zone.strip():
            raise PydanticCustomError("robot_zone", '片区群需写明片区，例如 zone = "一片"', {})
        if self.purpose == "school" and not self.school.strip():
            raise PydanticCustomError("robot_school", '学校群需写明学校标识码，例如 school = "2113000001"', {})
        if self.kind == "wecom" and (self.keyword or self.secret):
            raise PydanticCustomError("robot_wecom", "企业微信群机器人没有关键词和加签：keyword、secret 只用于钉钉", {})
        return self


class Schedule(_Table):
    """When `serve` runs each flow (operations.md §Orchestration): intake by cron, the report and the reminder
    rounds relative to each week's own cutoff (core/schedule.py), in the settings' time zone."""

    intake: str = Field("*/10 * * * *", description="Take new inbox files (cron).")
    report_delay_minutes: int = Field(30, ge=0, le=7 * 1440,
                                      description="Build the week's report this many minutes after its cutoff.")
    reminder_rounds: list[str] = Field(["-1d 15:00", "0d 09:00"], description=(
        "Remind 包校责任人 of missing units: days from the cutoff day and local time ('-1d 15:00' = the day before "
        "at 15:00); a round at or after the cutoff is dropped."))

    @field_validator("reminder_rounds")
    @classmethod
    def _rounds(cls, value: list[str]) -> list[str]:
        for text in value:
            try:
                parse_round(text)
            except ValueError:
                raise PydanticCustomError(
                    "reminder_round", '不是催报时间：“{text}”（例如 "-1d 15:00" 表示截止前一天 15:00，"0d 09:00" 表示截止当天 9:00）',
                    {"text": text}) from None
        return value


class Warnings(_Table):
    """Deadline warnings (整改到期预警, outputs.md §4a), written with each reminder round."""

    days: int = Field(
        3, ge=0, le=60,
        description="Open hazards whose 整改时限 falls within this many calendar days from the round "
        "(inclusive: 0 = due today) are listed, besides those already overdue.",
    )


class Signature(_Table):
    """The signature block under the first table of the upward reports (区安委办, 市教育局), as offices sign and
    stamp what they send. A name left empty prints as a line to sign on."""

    preparer: str = Field("", description="填表人.")
    reviewer: str = Field("", description="审核人.")
    phone: str = Field("", description="联系电话.")
    stamp: bool = Field(True, description="Print the （盖章） line.")


class Server(_Table):
    """The local Prefect server `serve` starts when no PREFECT_API_URL is set (its home: .state/prefect)."""

    host: str = Field("127.0.0.1", description="Address the Prefect UI/API listens on; 0.0.0.0 for the office LAN.")
    port: int = Field(4200, ge=1, le=65535, description="Port of the Prefect UI/API.")
    startup_timeout_seconds: float = Field(180.0, gt=0, description="How long to wait for the server to answer.")


class Web(_Table):
    """The clerk's web page (工作台) `web` and `serve` start. Bound to anything but 127.0.0.1 it needs users
    (`inspect-pipeline web-user add`, stored hashed in secrets.toml); the Prefect UI stays on [server] host."""

    host: str = Field("127.0.0.1", description="Address the web page listens on; 0.0.0.0 for the office LAN.")
    port: int = Field(8080, ge=1, le=65535, description="Port of the web page.")
    base_url: str = Field(
        "", description="The page's address as others reach it (e.g. http://10.1.2.3:8080); default from host/port."
    )
    enabled: bool = Field(True, description="Whether `serve` starts the web page beside the schedules.")
    max_upload_mb: float = Field(20.0, gt=0, description="Largest file 代报上传 accepts, in MB.")

    @property
    def url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"


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
        None,
        description="First day counted in 累计 figures; default: the Saturday starting the earliest week received.",
    )
    through_school_stage: str = Field(
        "初中", description="Stage that 九年一贯制/十二年一贯制/完全中学 schools report under."
    )
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
    web: Web = Field(default_factory=Web)
    signature: Signature = Field(default_factory=Signature)
    warnings: Warnings = Field(default_factory=Warnings)
    robots: dict[str, Robot] = Field(
        default_factory=dict, description="企业微信/钉钉 group robots, a table per group: [robots.<group>].")

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
    refuse_unknown_keys(values, config, Settings)
    mail = values.get("mail")
    if isinstance(mail, dict) and "password" in mail:
        raise ConfigError(
            f"配置文件 {config} 中不能写邮箱密码：请写在 {secrets} 的 [mail] password，"
            f"或环境变量 {ENV_PREFIX}MAIL__PASSWORD"
        )
    _robot_secrets(values, _read_toml(secrets), config, secrets)
    secret_mail = _read_toml(secrets).get("mail")
    secret = secret_mail.get("password") if isinstance(secret_mail, dict) else None
    if secret is not None and isinstance(values.setdefault("mail", {}), dict):
        values["mail"]["password"] = secret
    return _validated(values, config, secrets)


ROBOT_SECRETS = ("key", "secret")


def _robot_secrets(values: dict, secret_values: dict, config: Path, secrets: Path) -> None:
    """Refuse a robot's key or secret in config.toml; take them from secrets.toml's [robots.<group>]."""
    robots = values.get("robots")
    for group, table in (robots.items() if isinstance(robots, dict) else ()):
        for name in ROBOT_SECRETS:
            if isinstance(table, dict) and name in table:
                raise ConfigError(
                    f"配置文件 {config} 中不能写机器人的 {name}：请写在 {secrets} 的 [robots.{group}] {name}，"
                    f"或环境变量 {ENV_PREFIX}ROBOTS__{group.upper()}__{name.upper()}"
                )
    stored = secret_values.get("robots")
    for group, table in (stored.items() if isinstance(stored, dict) else ()):
        if not isinstance(table, dict):
            continue
        unknown = sorted(set(table) - set(ROBOT_SECRETS))
        if unknown:
            raise ConfigError(f"{secrets} 的 [robots.{group}] 只能写 key 和 secret，不能写 “{unknown[0]}”")
        if not isinstance(robots, dict) or group not in robots:
            raise ConfigError(f"{secrets} 中有机器人 [robots.{group}] 的密钥，但配置文件 {config} 中没有这个群")
        if isinstance(robots[group], dict):
            robots[group].update(table)


# ---------------------------------------------------------------- values


def _validated(values: dict, config: Path, secrets: Path) -> Settings:
    try:
        return Settings(**values)
    except ValidationError as exc:
        errors = exc.errors()
        more = f"（另有 {len(errors) - 1} 处问题）" if len(errors) > 1 else ""
        raise ConfigError(_describe(errors[0], config, secrets, Settings) + more) from None
