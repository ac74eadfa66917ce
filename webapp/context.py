"""What every request handler shares: settings, the database, the audio store, the password.

Built once per process by :func:`start`, which also upgrades the schema and seeds the demo
set, so that a handler only opens a session and calls a service.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.session import (
    DatabaseError,
    create_db_engine,
    make_read_session_factory,
    make_session_factory,
    upgrade_database,
)
from db.store import AudioStore
from library.clips import count_clips
from library.demo import seed_demo
from library.quality_models import register_pretrained
from library.systems import system_catalog
from se.systems import System
from webapp.limits import FailedAttempts
from webapp.settings import Settings, StartupError, admin_password, prepare_data_dir


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: AudioStore
    admin_password: str
    schema_revision: str
    password_generated: bool = False
    demo_clips_seeded: int = 0
    #: wrong admin passwords per client address (bearer tokens and the login form)
    failures: FailedAttempts = field(default_factory=FailedAttempts, repr=False)
    _write_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    #: sessions for requests that only read (autocommit: no BEGIN or ROLLBACK round trip)
    reads: sessionmaker[Session] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reads = make_read_session_factory(self.engine)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One short write transaction (a vote, a check answer).

        On SQLite, writers first take turns on a process lock: SQLite admits one writer at a
        time anyway, and a lock hands over at once, where SQLite's busy handler polls with
        sleeps of up to 100 ms, which under a crowd of raters showed as vote latency.
        """
        guard = self._write_lock if self.engine.dialect.name == "sqlite" else nullcontext()
        with guard, self.sessions.begin() as session:
            yield session

    def systems(self) -> dict[str, System]:
        """Every enhancement system on offer now (checkpoints and imports can appear)."""
        with self.sessions() as session:
            return system_catalog(session, self.settings.checkpoints_dir)


def start(settings: Settings) -> AppContext:
    """Check the data folder and database, upgrade the schema, seed the demo set.

    Raises:
        StartupError: with one line saying what is wrong (folder not writable, database
            unreachable or not upgradable).
    """
    data_dir = prepare_data_dir(settings.data_dir)
    try:
        engine = create_db_engine(settings.database_url)
        revision = upgrade_database(engine)
    except DatabaseError as exc:
        raise StartupError(str(exc)) from exc
    sessions = make_session_factory(engine)
    store = AudioStore(data_dir / "audio")
    password, generated = admin_password(data_dir)
    context = AppContext(settings=settings, engine=engine, sessions=sessions, store=store,
                         admin_password=password, schema_revision=revision,
                         password_generated=generated)
    if settings.seed_demo:
        with sessions.begin() as session:
            if count_clips(session) == 0:
                try:
                    context.demo_clips_seeded = seed_demo(session, store)
                except FileNotFoundError as exc:
                    raise StartupError(f"{exc}; start with --no-demo to run without it") \
                        from exc
    with sessions.begin() as session:  # the shipped quality model, if there is one yet
        register_pretrained(session, settings.checkpoints_dir / "sqa" / "pretrained")
    return context
