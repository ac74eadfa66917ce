"""Start-up settings: the admin password and the data folder."""

from __future__ import annotations

import pytest

from webapp.settings import (
    StartupError,
    admin_password,
    loopback_warning,
    parse_settings,
    prepare_data_dir,
    rater_base_url,
)


def test_generated_password_is_kept_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("APP_ADMIN_PASSWORD", raising=False)
    password, generated = admin_password(tmp_path)
    assert generated and len(password) >= 16
    assert (tmp_path / "admin_password.txt").stat().st_mode & 0o077 == 0
    assert admin_password(tmp_path) == (password, False)


def test_environment_password_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_ADMIN_PASSWORD", "from-env")
    assert admin_password(tmp_path) == ("from-env", False)
    assert not (tmp_path / "admin_password.txt").exists()


def test_data_folder_is_created_or_refused(tmp_path):
    assert prepare_data_dir(tmp_path / "new" / "data").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(StartupError, match="cannot be created or written"):
        prepare_data_dir(tmp_path / "file" / "data")


def test_database_url_comes_from_flag_or_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("APP_DB_URL", "sqlite:////tmp/from-env.db")
    assert parse_settings([]).database_url == "sqlite:////tmp/from-env.db"
    assert parse_settings(["--db-url", "sqlite:///x.db"]).database_url == "sqlite:///x.db"
    monkeypatch.delenv("APP_DB_URL")
    settings = parse_settings(["--data-dir", str(tmp_path)])
    assert settings.database_url == f"sqlite:///{tmp_path.resolve()}/workbench.db"


def test_public_url_sets_the_rater_links(monkeypatch):
    monkeypatch.delenv("APP_PUBLIC_URL", raising=False)
    assert parse_settings([]).public_url is None
    settings = parse_settings(["--public-url", "https://rate.example.org/"])
    assert rater_base_url(settings, "http://127.0.0.1:7860/") == "https://rate.example.org"
    assert rater_base_url(parse_settings([]), "http://127.0.0.1:7860/") == \
        "http://127.0.0.1:7860"
    monkeypatch.setenv("APP_PUBLIC_URL", "http://10.0.0.5:7860")
    assert parse_settings([]).public_url == "http://10.0.0.5:7860"


@pytest.mark.parametrize("bad", ["rate.example.org", "ftp://x.org", "https://x.org/?a=1"])
def test_a_public_url_that_is_not_one_is_refused(bad, capsys):
    with pytest.raises(SystemExit):
        parse_settings(["--public-url", bad])
    assert "not a public address" in capsys.readouterr().err


@pytest.mark.parametrize("url, warned", [
    ("http://127.0.0.1:7860", True), ("http://localhost:7860", True), ("http://[::1]:80", True),
    ("http://10.0.0.5:7860", False), ("https://rate.example.org", False)])
def test_loopback_rater_links_are_warned_about(url, warned):
    warning = loopback_warning(url)
    assert bool(warning) is warned
    if warned:
        assert "--public-url" in warning
