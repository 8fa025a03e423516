"""`web-user add` (the password asked twice, hidden, stored hashed in secrets.toml; config.toml untouched) and
`web` refusing another address than 127.0.0.1 without users."""

from __future__ import annotations

from typer.testing import CliRunner

from inspect_pipeline.cli import app
from inspect_pipeline.web.security import READER, check_password, load_users

runner = CliRunner()


def test_web_user_add_stores_a_hash_and_never_rewrites_the_config(tmp_path):
    root = tmp_path / "d"
    assert runner.invoke(app, ["init", "--data-root", str(root)]).exit_code == 0
    config = (root / "config.toml").read_bytes()
    result = runner.invoke(app, ["web-user", "add", "张主任", "--role", "只读", "--zone", "一片", "--data-root",
                                 str(root)], input="long enough 1\nlong enough 1\n")
    assert result.exit_code == 0, result.output
    assert "已保存" in result.output and "long enough" not in result.output
    user = load_users(root / "secrets.toml")["张主任"]
    assert user.role == READER and user.zones == ("一片",) and check_password(user, "long enough 1")
    assert "long enough" not in (root / "secrets.toml").read_text("utf-8")
    assert (root / "config.toml").read_bytes() == config


def test_web_user_add_refuses_two_different_passwords(tmp_path):
    root = tmp_path / "d"
    runner.invoke(app, ["init", "--data-root", str(root)])
    result = runner.invoke(app, ["web-user", "add", "clerk", "--data-root", str(root)],
                           input="long enough 1\nlong enough 2\n")
    assert result.exit_code != 0 and "不一致" in result.output
    assert load_users(root / "secrets.toml") == {}


def test_web_refuses_the_lan_without_users_and_says_why(tmp_path):
    root = tmp_path / "d"
    runner.invoke(app, ["init", "--data-root", str(root)])
    result = runner.invoke(app, ["web", "--data-root", str(root), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "web-user add" in result.output


def test_serve_refuses_to_open_the_page_to_the_lan_without_users(tmp_path):
    root = tmp_path / "d"
    runner.invoke(app, ["init", "--data-root", str(root)])
    config = root / "config.toml"
    config.write_text(config.read_text("utf-8").replace('host = "127.0.0.1"             # "0.0.0.0" for the office',
                                                        'host = "0.0.0.0"             # "0.0.0.0" for the office'),
                      "utf-8")
    result = runner.invoke(app, ["serve", "--data-root", str(root)])
    assert result.exit_code == 2 and "web-user add" in result.output
