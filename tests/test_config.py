"""config.toml: an unknown key anywhere is named with the nearest known one, config_version and renamed keys,
a bad time zone is exit 2, the environment still overrides the file, the mail password stays out of it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from inspect_pipeline.core import config_checks as config
from inspect_pipeline.cli import app
from inspect_pipeline.core.errors import ConfigError
from inspect_pipeline.core.default_config import DEFAULT_CONFIG
from inspect_pipeline.core.settings import load_settings

runner = CliRunner()
NOW = "2023-11-23T10:00:00+08:00"


@pytest.fixture
def root(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


def write(root, text: str) -> None:
    (root / "config.toml").write_text(text, encoding="utf-8")


def refused(root) -> str:
    with pytest.raises(ConfigError) as raised:
        load_settings(root)
    return str(raised.value)


def test_a_mistyped_limit_is_one_line_naming_the_key_and_the_nearest_one(root):
    write(root, "[limits]\nmax_cell = 300\n")
    assert refused(root) == (f"配置文件 {root / 'config.toml'} 中没有 “limits.max_cell” 这一项"
                             "（是否想写 “limits.max_cells”？）")


@pytest.mark.parametrize(
    ("text", "key", "suggested"),
    [
        ("workerz = 2\n", "workerz", "“workers”"),
        ("bureau = '丰润区教育局'\n", "bureau", "“bureau_name”"),
        ("[limits]\nmax_file_mbs = 30\n", "limits.max_file_mbs", "“limits.max_file_mb”"),
        ("[mail]\nhots = 'smtp.example.gov.cn'\n", "mail.hots", "“mail.host”"),
        ("[schedule]\nreport_delay_minute = 30\n", "schedule.report_delay_minute", "“schedule.report_delay_minutes”"),
        ("[server]\nprot = 4300\n", "server.prot", "“server.port”"),
        ("[limit]\nmax_cells = 300\n", "limit", "“limits”"),
    ],
)
def test_an_unknown_key_in_any_table_is_named_with_a_suggestion(root, text, key, suggested):
    write(root, text)
    message = refused(root)
    assert f"中没有 “{key}” 这一项（是否想写 {suggested}？）" in message, message


def test_a_key_written_in_the_wrong_table_says_where_it_belongs(root):
    write(root, DEFAULT_CONFIG + "workers = 2\n")  # appended at the end: TOML puts it into [limits]
    assert "“limits.workers”" in (message := refused(root)) and "文件开头" in message, message
    write(root, "max_cells = 300\n")
    assert "“max_cells”" in (message := refused(root)) and "[limits] 下" in message, message


def test_every_unknown_key_is_counted(root):
    write(root, "foo = 1\n[mail]\nbar = 2\n[server]\nbaz = 3\n")
    message = refused(root)
    assert "“foo”" in message and "另有 2 项" in message and "“mail.bar”" in message and "“server.baz”" in message


def test_free_tables_take_any_key(root):
    write(root, '[cutoff_overrides]\n"2023-W40" = 2023-10-07T12:00:00\n'
                '[mail.zone_leaders]\n"城东片区" = ["leader@example.gov.cn"]\n')
    settings = load_settings(root)
    assert settings.mail.zone_leaders == {"城东片区": ["leader@example.gov.cn"]}
    assert list(settings.cutoff_overrides) == ["2023-W40"]


def test_the_default_config_is_version_2_and_a_config_without_version_is_read_as_1(root):
    assert "\nconfig_version = 2 " in DEFAULT_CONFIG
    write(root, DEFAULT_CONFIG)
    assert load_settings(root).limits.max_cells == 2_000_000
    write(root, DEFAULT_CONFIG.replace("\nconfig_version = 2 ", "\n# "))
    assert load_settings(root).cutoff_weekday == 5


def test_a_config_of_a_newer_version_is_refused_with_upgrade_advice(root):
    write(root, "config_version = 3\n")
    message = refused(root)
    assert "config_version = 3" in message and "请升级" in message, message
    result = runner.invoke(app, ["status", "--data-root", str(root)])
    assert result.exit_code == 2 and "请升级" in result.output and "Traceback" not in result.output


def test_a_config_of_an_older_version_has_its_renamed_keys_moved(root, monkeypatch):
    monkeypatch.setattr(config, "CONFIG_VERSION", 3)
    monkeypatch.setattr(config, "RENAMED", {2: {"limits.cell_cap": "limits.max_cells", "cutoff_day": "cutoff_weekday",
                                                "old_table.port": "server.port"}})
    write(root, "config_version = 2\ncutoff_day = 4\n[limits]\ncell_cap = 300\n[old_table]\nport = 4300\n")
    settings = load_settings(root)
    assert (settings.limits.max_cells, settings.cutoff_weekday, settings.server.port) == (300, 4, 4300)
    write(root, "config_version = 3\n[limits]\ncell_cap = 300\n")  # version 3 files have only the new name
    assert "“limits.cell_cap”" in refused(root)
    write(root, "config_version = 2\n[limits]\ncell_cap = 300\nmax_cells = 400\n")
    assert "已改名为 “limits.max_cells”" in refused(root)


def test_a_bad_time_zone_is_exit_2_naming_the_key_with_an_example(root):
    write(root, 'timezone = "Mars/Base"\n')
    result = runner.invoke(app, ["intake", "--data-root", str(root), "--now", NOW])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert "“timezone” 不是有效的时区：“Mars/Base”" in lines[0] and 'timezone = "Asia/Shanghai"' in lines[0]


def test_a_bad_value_names_the_key_and_the_value(root):
    write(root, 'cutoff_weekday = 9\n[mail]\nsecurity = "tls"\n')
    message = refused(root)
    assert "“cutoff_weekday” 应不大于 7（现为 9）" in message and "另有 1 处" in message, message


def test_the_environment_still_overrides_the_file(root, monkeypatch):
    write(root, "workers = 2\ntimezone = \"Mars/Base\"\n[limits]\nmax_cells = 10\n")
    monkeypatch.setenv("INSPECT_PIPELINE_WORKERS", "3")
    monkeypatch.setenv("INSPECT_PIPELINE_TIMEZONE", "Asia/Shanghai")
    monkeypatch.setenv("INSPECT_PIPELINE_LIMITS__MAX_CELLS", "20")
    settings = load_settings(root)
    assert (settings.workers, settings.timezone, settings.limits.max_cells) == (3, "Asia/Shanghai", 20)
    assert settings.limits.max_file_mb == 20  # the rest of the table keeps its defaults


def test_a_wrong_environment_variable_is_named(root, monkeypatch):
    monkeypatch.setenv("INSPECT_PIPELINE_TIMEZONE", "Mars/Base")
    assert "环境变量 INSPECT_PIPELINE_TIMEZONE" in refused(root)
    monkeypatch.delenv("INSPECT_PIPELINE_TIMEZONE")
    monkeypatch.setenv("INSPECT_PIPELINE_LIMITS__MAX_CELL", "5")
    message = refused(root)
    assert "INSPECT_PIPELINE_LIMITS__MAX_CELL" in message and "“limits.max_cells”" in message, message


def test_the_mail_password_is_refused_in_config_toml_and_read_from_secrets_toml(root):
    write(root, '[mail]\nhost = "smtp.example.gov.cn"\npassword = "mima"\n')
    result = runner.invoke(app, ["status", "--data-root", str(root)])
    assert result.exit_code == 2 and "secrets.toml" in result.output and "mima" not in result.output, result.output
    write(root, '[mail]\nhost = "smtp.example.gov.cn"\n')
    (root / "secrets.toml").write_text('[mail]\npassword = "mima"\n', encoding="utf-8")
    assert load_settings(root).mail.password.get_secret_value() == "mima"


def test_an_unreadable_config_is_one_line(root):
    write(root, 'bureau_name = "区教育局"\ncutoff_weekday = \n')
    assert "第 2 行" in refused(root)
    (root / "config.toml").write_bytes('bureau_name = "区教育局"\n'.encode("gb18030"))
    assert "UTF-8" in refused(root)
    (root / "config.toml").write_bytes('\ufeffbureau_name = "区教育局"\n'.encode("utf-8"))  # Notepad's BOM
    assert load_settings(root).bureau_name == "区教育局"


def test_point_3_week_labels_in_config_are_normalised_and_a_wrong_one_is_named(root):
    write(root, 'no_report_weeks = ["2024-W5", "2024-w06"]\n[cutoff_overrides]\n"2023-W40" = 2023-10-07T12:00:00\n')
    settings = load_settings(root)
    assert settings.no_report_weeks == ["2024-W05", "2024-W06"] and list(settings.cutoff_overrides) == ["2023-W40"]
    write(root, '[cutoff_overrides]\n"2023-W54" = 2023-10-07T12:00:00\n')  # never a week: it would never apply
    assert "“cutoff_overrides” 不是周次：“2023-W54”" in refused(root)
