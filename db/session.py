"""Engine, sessions and schema upgrades.

One engine per process. SQLite (the embedded default) gets WAL journaling, so readers never
wait for the writer, foreign keys, and a busy timeout so concurrent writers queue instead of
failing. Any other SQLAlchemy URL (PostgreSQL for many app workers) is used as given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(RuntimeError):
    """The database cannot be reached or upgraded; the message says which and why."""


def sqlite_url(path: Path) -> str:
    """The URL of an SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def _enable_sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """Create the process's engine and check that it connects.

    Raises:
        DatabaseError: the URL is malformed or the database does not answer.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"database URL '{url}' is not a valid SQLAlchemy URL") from exc
    is_sqlite = parsed.get_backend_name() == "sqlite"
    kwargs: dict = {}
    if is_sqlite:
        kwargs["connect_args"] = {"check_same_thread": False,
                                  "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise DatabaseError(
                    f"cannot open database {parsed.render_as_string(hide_password=True)}: "
                    f"folder {folder} does not exist")
    # No pool_pre_ping: it costs every transaction a round trip (about 1 ms of CPU between a
    # worker and PostgreSQL). A connection that died with its server fails its next statement
    # instead; SQLAlchemy then drops every pooled connection of that moment, the request
    # answers 503 (nothing stored; the rater resends) and the next one reconnects.
    try:
        engine = create_engine(url, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"cannot use database URL "
                            f"'{parsed.render_as_string(hide_password=True)}': {exc}") from exc
    if is_sqlite:
        event.listen(engine, "connect", _enable_sqlite_pragmas)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise DatabaseError(f"cannot connect to database "
                            f"{parsed.render_as_string(hide_password=True)}: {reason}") from exc
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit, so results outlive the block."""
    return sessionmaker(engine, expire_on_commit=False)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read: each statement on its own (autocommit), so a
    read costs no BEGIN and no ROLLBACK round trip. Its statements do not share a snapshot:
    use it where each read stands alone or where rows only ever get added."""
    return sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"),
                        expire_on_commit=False)


def conflict_insert(db: Session, model: type) -> Any:
    """An INSERT into ``model`` that can say ON CONFLICT (one statement for insert-if-new or
    insert-or-lock) on the databases that have it, PostgreSQL and SQLite; None on others,
    whose callers read first."""
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(model)
    if dialect == "sqlite":
        return sqlite_insert(model)
    return None


def alembic_config(engine: Engine) -> Config:
    """Alembic configuration bound to ``engine`` (the migrations ship inside ``db/``)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url",
                           engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade_database(engine: Engine) -> str:
    """Bring the schema to the newest revision (a fresh database gets every table).

    Returns:
        the schema revision now in force.
    """
    try:
        command.upgrade(alembic_config(engine), "head")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot upgrade the database schema: {exc}") from exc
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None before the first upgrade."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this code."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    return head or ""
