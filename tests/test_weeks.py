"""The week and its cutoff (operations.md §The week)."""

import datetime as dt
from zoneinfo import ZoneInfo

from inspect_pipeline.core.settings import Settings
from inspect_pipeline.core.weeks import cutoff, shift, week_of

TZ = ZoneInfo("Asia/Shanghai")


def test_cutoff_of_a_week():
    assert cutoff("2023-W47", Settings()) == dt.datetime(2023, 11, 24, 12, 0, tzinfo=TZ)


def test_a_file_at_the_cutoff_belongs_to_the_next_week():
    s = Settings()
    assert week_of(dt.datetime(2023, 11, 24, 11, 59, 59, tzinfo=TZ), s) == "2023-W47"
    assert week_of(dt.datetime(2023, 11, 24, 12, 0, tzinfo=TZ), s) == "2023-W48"
    assert week_of(dt.datetime(2023, 11, 18, 9, 0, tzinfo=TZ), s) == "2023-W47"  # Saturday after the W46 cutoff


def test_week_of_converts_time_zones():
    # 04:30 UTC is 12:30 in Shanghai: after the cutoff
    assert week_of(dt.datetime(2023, 11, 24, 4, 30, tzinfo=dt.UTC), Settings()) == "2023-W48"


def test_year_boundaries():
    assert shift("2023-W52", 1) == "2024-W01"
    assert shift("2021-W01", -1) == "2020-W53"


def test_moved_cutoff():
    s = Settings(cutoff_overrides={"2023-W40": dt.datetime(2023, 10, 7, 12, 0)})  # 调休: Saturday
    assert cutoff("2023-W40", s) == dt.datetime(2023, 10, 7, 12, 0, tzinfo=TZ)
    assert week_of(dt.datetime(2023, 10, 6, 15, 0, tzinfo=TZ), s) == "2023-W40"
