"""Shared fixtures: a real database migrated like the app's, on SQLite and on PostgreSQL.

Every test that takes ``sessions`` (or ``db_url``) runs twice: on an SQLite file and on a
PostgreSQL database of its own. The PostgreSQL server is ``TEST_POSTGRES_URL`` when set (CI
starts one), else a throwaway cluster this session starts when ``initdb``/``pg_ctl`` exist;
else those cases skip with the reason. Each PostgreSQL test gets a fresh database copied from
a migrated template, so tests stay independent and the migrations run once per session.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from db.session import create_db_engine, make_session_factory, sqlite_url, upgrade_database
from db.store import AudioStore
from tests import pg_cluster

DATABASES = ("sqlite", "postgresql")
_database_names = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a PostgreSQL server for tests (its ``postgres`` database)."""
    given = os.environ.get(pg_cluster.ENV_URL, "").strip()
    if given:
        pg_cluster.wait_until_up(given)
        yield given
        return
    try:
        cluster = pg_cluster.init_cluster()
    except pg_cluster.PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL: {exc}")
    try:
        yield cluster.url()
    finally:
        cluster.destroy()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """A database migrated to head, the template every PostgreSQL test copies."""
    name = f"wb_template_{os.getpid()}"
    engine = create_db_engine(pg_cluster.create_database(postgres_server, name))
    try:
        upgrade_database(engine)
    finally:
        engine.dispose()
    return name


def new_postgres_database(request: pytest.FixtureRequest, *, migrated: bool = True) -> str:
    """A fresh database for one test (dropped after it): migrated, or empty."""
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template") if migrated else None
    name = f"wb_test_{os.getpid()}_{next(_database_names)}"
    url = pg_cluster.create_database(server, name, template=template)
    request.addfinalizer(lambda: pg_cluster.drop_database(server, name))
    return url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh, migrated database: an SQLite file or a PostgreSQL database."""
    if request.param == "postgresql":
        return new_postgres_database(request)
    url = sqlite_url(tmp_path / "test.db")
    engine = create_db_engine(url)
    upgrade_database(engine)
    engine.dispose()
    return url


@pytest.fixture(params=DATABASES)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh database with no tables (for migration tests)."""
    if request.param == "postgresql":
        return new_postgres_database(request, migrated=False)
    return sqlite_url(tmp_path / "empty.db")


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = create_db_engine(db_url)
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
