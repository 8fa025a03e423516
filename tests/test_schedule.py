"""The calendar of `serve` (core/schedule.py): the weekly report and the reminder rounds placed relative to each
week's own cutoff over a school term in Asia/Shanghai, with a moved cutoff (调休) and holiday weeks; the old crons
of config_version 1 migrated to the new keys."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from inspect_pipeline.core.errors import ConfigError
from inspect_pipeline.core.schedule import Fire, fires, next_fires, report_due, upcoming
from inspect_pipeline.core.settings import Settings, load_settings
from inspect_pipeline.core.weeks import shift

SH = ZoneInfo("Asia/Shanghai")
TERM = Settings(
    cutoff_overrides={"2023-W40": dt.datetime(2023, 10, 7, 12, 0),   # 国庆调休: the Saturday is a working day
                      "2023-W52": dt.datetime(2023, 12, 29, 9, 0)},  # before New Year: earlier in the morning
    no_report_weeks=["2023-W39", "2024-W04", "2024-W05"],            # 中秋国庆, 寒假
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=SH)


def term_fires(settings: Settings = TERM) -> list[Fire]:
    planned, week = [], "2023-W36"
    while week <= "2024-W05":
        planned += fires(week, settings)
        week = shift(week, 1)
    return planned


def test_the_fire_times_over_a_term_follow_each_weeks_cutoff():
    planned = {(f.week, f.kind): [] for f in term_fires()}
    for f in term_fires():
        planned[(f.week, f.kind)].append(f.at)
    assert planned[("2023-W38", "reminders")] == [at("2023-09-21T15:00"), at("2023-09-22T09:00")]
    assert planned[("2023-W38", "weekly-report")] == [at("2023-09-22T12:30")]
    assert ("2023-W39", "reminders") not in planned and ("2023-W39", "weekly-report") not in planned  # holiday
    assert planned[("2023-W40", "reminders")] == [at("2023-10-06T15:00"), at("2023-10-07T09:00")]  # moved: Sat
    assert planned[("2023-W40", "weekly-report")] == [at("2023-10-07T12:30")]
    assert planned[("2023-W41", "reminders")] == [at("2023-10-12T15:00"), at("2023-10-13T09:00")]
    # the cutoff moved to 09:00: the cutoff-day round at 09:00 is not before it, so it is dropped
    assert planned[("2023-W52", "reminders")] == [at("2023-12-28T15:00")]
    assert planned[("2023-W52", "weekly-report")] == [at("2023-12-29T09:30")]
    assert planned[("2024-W03", "weekly-report")] == [at("2024-01-19T12:30")]
    assert not any(f.week in ("2024-W04", "2024-W05") for f in term_fires())  # 寒假
    weeks = {f.week for f in term_fires()}
    assert len(weeks) == 22 - 3  # 2023-W36 … 2024-W05, less three holiday weeks
    assert sum(f.kind == "reminders" for f in term_fires()) == 2 * 19 - 1
    assert all(f.at.utcoffset() == dt.timedelta(hours=8) for f in term_fires())


def test_the_delay_and_the_rounds_come_from_the_schedule_keys():
    settings = TERM.model_copy(update={"schedule": TERM.schedule.model_copy(
        update={"report_delay_minutes": 150, "reminder_rounds": ["-2d 08:30", "0d 11:59", "0d 12:00", "1d 9:00"]})})
    assert [(f.kind, f.at) for f in fires("2023-W40", settings)] == [
        ("reminders", at("2023-10-05T08:30")), ("reminders", at("2023-10-07T11:59")),
        ("weekly-report", at("2023-10-07T14:30"))]


def test_the_next_runs_from_a_moment_skip_the_holiday_and_include_a_report_still_ahead():
    assert upcoming(TERM, at("2023-09-25T08:00"), 4) == [
        Fire(at("2023-10-06T15:00"), "reminders", "2023-W40"), Fire(at("2023-10-07T09:00"), "reminders", "2023-W40"),
        Fire(at("2023-10-07T12:30"), "weekly-report", "2023-W40"),
        Fire(at("2023-10-12T15:00"), "reminders", "2023-W41")]
    # after the cutoff, before the report: the closed week's report comes first
    assert next_fires(TERM, at("2023-09-22T12:10"))[0] == Fire(at("2023-09-22T12:30"), "weekly-report", "2023-W38")
    # before winter break: the next run is after it
    assert upcoming(TERM, at("2024-01-19T13:00"), 1) == [Fire(at("2024-02-08T15:00"), "reminders", "2024-W06")]


def test_a_report_that_fell_due_while_serve_was_off_is_due_until_built():
    assert report_due(TERM, at("2023-10-09T08:00"), built=set()) == ["2023-W40"]
    assert report_due(TERM, at("2023-10-09T08:00"), built={"2023-W40"}) == []
    assert report_due(TERM, at("2023-10-07T12:10"), built=set()) == []  # W40's not yet due, W39 a holiday
    assert report_due(TERM, at("2023-10-02T08:00"), built=set()) == []  # the closed week is a holiday


# ---------------------------------------------------------------- migration of the old crons


def _write(root, text: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.toml").write_text(text, encoding="utf-8")


def test_the_old_crons_are_migrated_to_the_new_keys_with_a_note(tmp_path, caplog):
    _write(tmp_path, '[schedule]\nintake = "*/5 * * * *"\nweekly_report = "30 12 * * 5"\n'
                     'reminders = ["0 15 * * 4", "0 9 * * 5"]\n')  # no config_version: 1
    with caplog.at_level(logging.WARNING):
        schedule = load_settings(tmp_path).schedule
    assert (schedule.intake, schedule.report_delay_minutes, schedule.reminder_rounds) == (
        "*/5 * * * *", 30, ["-1d 15:00", "0d 09:00"])
    assert "report_delay_minutes = 30" in caplog.text and "reminder_rounds" in caplog.text
    # read against the file's own cutoff: Thursday 11:00
    _write(tmp_path, 'cutoff_weekday = 4\ncutoff_time = 11:00:00\n[schedule]\nweekly_report = "0 14 * * 4"\n'
                     'reminders = ["0 15 * * 3", "30 8 * * 4", "0 9 * * 1"]\n')
    schedule = load_settings(tmp_path).schedule
    assert (schedule.report_delay_minutes, schedule.reminder_rounds) == (180, ["-1d 15:00", "0d 08:30", "-3d 09:00"])


def test_an_old_cron_that_is_not_weekly_is_refused_with_what_to_write(tmp_path):
    _write(tmp_path, '[schedule]\nweekly_report = "30 12 * * 1-5"\n')
    with pytest.raises(ConfigError, match="report_delay_minutes"):
        load_settings(tmp_path)
    _write(tmp_path, '[schedule]\nreminders = ["0 15 1 * *"]\n')
    with pytest.raises(ConfigError, match="reminder_rounds"):
        load_settings(tmp_path)


def test_a_version_2_file_knows_only_the_new_keys_and_checks_the_rounds(tmp_path):
    _write(tmp_path, 'config_version = 2\n[schedule]\nweekly_report = "30 12 * * 5"\n')
    with pytest.raises(ConfigError, match="weekly_report"):
        load_settings(tmp_path)
    _write(tmp_path, 'config_version = 2\n[schedule]\nreminder_rounds = ["Thursday 15:00"]\n')
    with pytest.raises(ConfigError, match="不是催报时间：“Thursday 15:00”"):
        load_settings(tmp_path)


def test_status_shows_the_next_runs_in_chinese(tmp_path):
    from typer.testing import CliRunner

    from inspect_pipeline.cli import app
    from support import make_root

    root = make_root(tmp_path)
    run = CliRunner().invoke(app, ["status", "--data-root", str(root), "--now", "2023-11-23T10:00:00+08:00"])
    assert run.exit_code == 0, run.output
    assert ("接下来（serve 运行时）：11月23日（周四）15:00 催报 2023-W47；11月24日（周五）09:00 催报 2023-W47；"
            "11月24日（周五）12:30 周报 2023-W47；11月30日（周四）15:00 催报 2023-W48") in run.output.replace("\n", "")
