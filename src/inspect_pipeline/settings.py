"""One typed settings object: the data root's `config.toml`, overridden by `INSPECT_PIPELINE_*` environment variables.

Functions never read the environment themselves: the CLI loads Settings once and passes it down.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator
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
    max_cells: int = Field(2_000_000, description="Most cells read from one sheet.")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)

    @property
    def max_uncompressed_bytes(self) -> int:
        return int(self.max_uncompressed_mb * 1024 * 1024)


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
        2.0, ge=0, description="A file is taken only after its size and mtime stayed unchanged this long (real clock)."
    )
    lock_timeout_seconds: float = Field(
        300.0, ge=0, description="How long a second intake run waits for the first before giving up."
    )
    workers: int = Field(0, ge=0, description="Worker processes for reading and receipts; 0 = one per core.")
    limits: Limits = Field(default_factory=Limits)

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


def load_settings(data_root: Path) -> Settings:
    """Settings from `<data_root>/config.toml` (if present) with environment overrides."""
    path = data_root / CONFIG_FILE_NAME
    values: dict = {}
    if path.is_file():
        with path.open("rb") as fh:
            values = tomllib.load(fh)
    return Settings(**values)


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

[limits]
max_file_mb = 20
max_uncompressed_mb = 200
max_compression_ratio = 200
max_cells = 2000000
"""
