"""The migrations build exactly the schema the models describe, on SQLite (with WAL) and on
PostgreSQL."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from db.models import Base
from db.session import (
    DatabaseError,
    create_db_engine,
    current_revision,
    head_revision,
    sqlite_url,
    upgrade_database,
)


def test_upgrade_from_empty_matches_the_models(empty_db_url):
    engine = create_db_engine(empty_db_url)
    assert current_revision(engine) is None
    assert upgrade_database(engine) == head_revision()
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"
    assert {"clips", "systems", "datasets", "dataset_clips"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_upgrade_twice_is_harmless_and_data_survives(empty_db_url):
    url = empty_db_url
    engine = create_db_engine(url)
    upgrade_database(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO datasets (name, description, source, created_at)"
                                " VALUES ('kept', '', '', '2026-01-01')"))
    engine.dispose()
    engine = create_db_engine(url)
    upgrade_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM datasets")).scalar() == "kept"
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    engine = create_db_engine(sqlite_url(tmp_path / "wal.db"))
    upgrade_database(engine)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            connection.execute(text(
                "INSERT INTO dataset_clips (dataset_id, clip_id, name) VALUES (99, 99, 'x')"))


def test_unreachable_databases_fail_with_one_clear_line(tmp_path):
    with pytest.raises(DatabaseError, match=r"folder .* does not exist"):
        create_db_engine(sqlite_url(tmp_path / "missing" / "db.sqlite"))
    with pytest.raises(DatabaseError, match="not a valid SQLAlchemy URL"):
        create_db_engine("not a url")
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseError, match="cannot connect"):
        create_db_engine(sqlite_url(corrupt))
    assert sqlite3.sqlite_version  # the stdlib driver is what the default URL uses


def test_a_database_from_the_first_release_upgrades_with_its_data(empty_db_url):
    from alembic import command

    from db.session import alembic_config

    engine = create_db_engine(empty_db_url)
    command.upgrade(alembic_config(engine), "0001_library")
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO clips (sha256, name, sample_rate, num_frames, duration_seconds, "
            "source_channels, source_format, peak_dbfs, rms_dbfs, origin, created_at) "
            f"VALUES ('{'a' * 64}', 'old.wav', 16000, 16000, 1.0, 1, 'WAV', -1, -20, "
            "'upload', '2026-01-01')"))
    assert upgrade_database(engine) == head_revision() != "0001_library"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM clips")).scalar() == "old.wav"
        assert "objective_scores" in inspect(engine).get_table_names()
