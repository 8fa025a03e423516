"""One typed settings object: the data root's `config.toml`, overridden by `INSPECT_PIPELINE_*` environment variables.

Functions never read the environment themselves: the CLI loads Settings once and passes it down.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

CONFIG_FILE_NAME = "config.toml"


class Limits(BaseModel):
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
        description="Most cells one sheet may span, counted from the file's content before anything is allocated: "
        "the area of cells with values, merged ranges and repeated cells.",
    )
    max_text_mb: float = Field(
        100.0, gt=0, description="Most text (in millions of characters) one file's cells may expand to (.ods repeats)."
    )
    max_memory_mb: float = Field(
        1024.0, ge=64, description="Memory one file may take while it is read or its receipt is written, in MB."
    )
    watchdog_seconds: float = Field(
        60.0, ge=1, description="Last resort: a file still being read, or its receipt written, after this long is stopped."
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


class Mail(BaseModel):
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


class Schedule(BaseModel):
    """Cron expressions of `serve`, in the settings' time zone (operations.md §Orchestration)."""

    intake: str = Field("*/10 * * * *", description="Take new inbox files.")
    reminders: list[str] = Field(["0 15 * * 4", "0 9 * * 5"], description="Remind 包校责任人 of missing units.")
    weekly_report: str = Field("30 12 * * 5", description="Close the week, build and deliver the reports.")


class Server(BaseModel):
    """The local Prefect server `serve` starts when no PREFECT_API_URL is set (its home: .state/prefect)."""

    host: str = Field("127.0.0.1", description="Address the Prefect UI/API listens on; 0.0.0.0 for the office LAN.")
    port: int = Field(4200, ge=1, le=65535, description="Port of the Prefect UI/API.")
    startup_timeout_seconds: float = Field(180.0, gt=0, description="How long to wait for the server to answer.")


class Settings(BaseSettings):
    """Everything an operator may configure. Loaded by `load_settings(data_root)`."""

    model_config = SettingsConfigDict(env_prefix="INSPECT_PIPELINE_", env_nested_delimiter="__", extra="forbid")

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
        ZoneInfo(value)  # raises for an unknown zone
        return value

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


SECRETS_FILE_NAME = "secrets.toml"


def load_settings(data_root: Path) -> Settings:
    """Settings from `<data_root>/config.toml` (if present) with environment overrides; the mail password
    from `<data_root>/secrets.toml` ([mail] password = "…") unless the environment gives one."""
    values = _read_toml(data_root / CONFIG_FILE_NAME)
    if "password" in values.get("mail", {}):
        raise ValueError(
            f"config.toml 中不能写邮箱密码：请写在 {data_root / SECRETS_FILE_NAME} 的 [mail] password，"
            "或环境变量 INSPECT_PIPELINE_MAIL__PASSWORD"
        )
    secret = _read_toml(data_root / SECRETS_FILE_NAME).get("mail", {}).get("password")
    if secret is not None:
        values.setdefault("mail", {})["password"] = secret
    return Settings(**values)


def _read_toml(path: Path) -> dict:
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


DEFAULT_CONFIG = """\
# inspect-pipeline configuration. Every key is optional; environment variables INSPECT_PIPELINE_<KEY>
# (nested: INSPECT_PIPELINE_LIMITS__MAX_FILE_MB) override this file.

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
max_text_mb = 100              # millions of characters one file's cells may expand to
max_memory_mb = 1024           # memory for reading one file or writing its receipt
watchdog_seconds = 60          # last resort: reading one file or writing its receipt is stopped after this long
annotate_max_cells = 200000    # larger rejected workbooks get a streamed copy instead of an annotated original
"""
