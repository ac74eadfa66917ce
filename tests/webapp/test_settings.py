"""Start-up settings: the admin password and the data folder."""

from __future__ import annotations

import pytest

from webapp.settings import StartupError, admin_password, parse_settings, prepare_data_dir


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
