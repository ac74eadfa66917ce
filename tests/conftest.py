"""Shared fixtures: a real SQLite database in a temporary folder, migrated like the app's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.session import create_db_engine, make_session_factory, sqlite_url, upgrade_database
from db.store import AudioStore


@pytest.fixture
def sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(sqlite_url(tmp_path / "test.db"))
    upgrade_database(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> AudioStore:
    return AudioStore(tmp_path / "audio")


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory):
    """The real app with the demo set, shared by the integration and browser suites."""
    from tests.server import start_app

    data_dir = tmp_path_factory.mktemp("app") / "data"
    data_dir.mkdir()
    app = start_app(data_dir)
    yield app
    app.stop()
