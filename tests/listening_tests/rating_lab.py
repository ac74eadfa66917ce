"""A library with the demo set (or a small synthetic one) in a real SQLite file, and a rater
who goes through a session the way the rater page does, for the listening-test service tests.

Seeding the demo set once per process and copying the database file keeps each test's
library private (tests look at what was stored) without paying for seeding every time.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from audio.io import Audio
from db.models import EnhancementRun, RatingSession, SystemKind, Vote
from db.session import create_db_engine, make_session_factory, sqlite_url, upgrade_database
from db.store import AudioStore
from library.clips import add_clip, get_or_create_dataset, get_or_create_system
from library.demo import seed_demo
from listening_tests import checks
from listening_tests.answers import answer_check, cast_vote
from listening_tests.design import create_test, open_test
from listening_tests.review import finish_session
from listening_tests.sessions import get_session, item_audio, start_session
from tests.signals import speech_like

T0 = datetime(2026, 3, 1, 12, 0, 0)
_TEMPLATES: dict[str, Path] = {}


@dataclass
class Lab:
    """A private library: sessions of its database, its store and its data folder."""

    data_dir: Path
    sessions: sessionmaker[Session]
    store: AudioStore

    def count(self, model) -> int:
        with self.sessions() as db:
            return int(db.scalar(select(func.count(model.id))) or 0)

    def create(self, spec: dict[str, Any], *, open_it: bool = True) -> int:
        with self.sessions.begin() as db:
            info = create_test(db, self.store, spec, now=T0)
            if open_it:
                open_test(db, info.id, now=T0)
        return info.id


def _seed_synthetic(db: Session, store: AudioStore) -> None:
    """Dataset "mini": 8 noisy inputs (system "unprocessed") with clean references, and the
    outputs of systems "a" and "b" for each (enhanced clips with their runs)."""
    dataset = get_or_create_dataset(db, "mini")
    reference = get_or_create_system(db, "reference", SystemKind.REFERENCE)
    unprocessed = get_or_create_system(db, "unprocessed", SystemKind.IDENTITY)
    systems = [get_or_create_system(db, n, SystemKind.DSP) for n in ("a", "b")]
    for i in range(8):
        clean = speech_like(1.0, 8000, seed=100 + i)
        noisy = clean + 0.05 * speech_like(1.0, 8000, seed=200 + i)
        ref = add_clip(db, store, Audio(clean, 8000), name=f"s{i}_clean.wav", origin="import",
                       dataset=dataset, system=reference)
        source = add_clip(db, store, Audio(noisy, 8000), name=f"s{i}.wav", origin="import",
                          dataset=dataset, system=unprocessed, reference_clip_id=ref.clip_id)
        for k, system in enumerate(systems):
            out = add_clip(db, store, Audio(noisy * (0.6 + 0.2 * k), 8000), name=f"s{i}.wav",
                           origin="enhanced", system=system, parent_clip_id=source.clip_id,
                           reference_clip_id=ref.clip_id)
            db.add(EnhancementRun(input_clip_id=source.clip_id, system_id=system.id,
                                  output_clip_id=out.clip_id, processing_seconds=0.01,
                                  real_time_factor=0.01))


def _template(kind: str) -> Path:
    if kind not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix=f"lab-{kind}-"))
        atexit.register(shutil.rmtree, folder, True)
        engine = create_db_engine(sqlite_url(folder / "workbench.db"))
        upgrade_database(engine)
        store = AudioStore(folder / "audio")
        with make_session_factory(engine).begin() as db:
            (seed_demo if kind == "demo" else _seed_synthetic)(db, store)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        _TEMPLATES[kind] = folder
    return _TEMPLATES[kind]


def make_lab(tmp_path: Path, kind: str = "demo") -> Lab:
    """A copy of the seeded template ("demo": the shipped demo set; "mini": 8 inputs at
    8 kHz, 1 s each, with their references and two systems' outputs) in ``tmp_path/data``."""
    data_dir = tmp_path / "data"
    shutil.copytree(_template(kind), data_dir)
    engine = create_db_engine(sqlite_url(data_dir / "workbench.db"))
    return Lab(data_dir, make_session_factory(engine), AudioStore(data_dir / "audio"))


def plain_spec(**overrides: Any) -> dict[str, Any]:
    """24 clips of "mini" (3 conditions) with no checks, gold, traps or training."""
    spec = {"name": "plain", "clips": {"dataset": "mini", "systems": ["unprocessed", "a", "b"]},
            "votes_per_clip": 5, "clips_per_session": 10, "gold": {"auto": False, "count": 0},
            "trapping": {"enabled": False}, "training": {"count": 0},
            "checks": {"qualification": False, "volume": False, "stereo": False,
                       "environment": False}, "seed": 7}
    spec.update(overrides)
    return spec


@dataclass
class Rater:
    """Goes through a session as the rater page does; answers can be made wrong."""

    lab: Lab
    test_id: int
    participant: str
    now: datetime = T0
    token: str = ""
    body: dict = field(default_factory=dict)
    created: bool = False

    def start(self) -> Rater:
        with self.lab.sessions.begin() as db:
            started = start_session(db, self.test_id, self.participant, now=self.now)
        self.token, self.body, self.created = started.token, started.body, started.created
        return self

    def setup(self) -> dict:
        with self.lab.sessions() as db:
            return db.scalar(select(RatingSession.setup).where(RatingSession.token == self.token))

    def right_answer(self, check: dict) -> Any:
        setup = self.setup()
        if check["kind"] == "qualification":
            return {q["id"]: q["expected"] for q in checks.QUALIFICATION_QUESTIONS}
        if check["kind"] == "volume":
            return "done"
        if check["kind"] == "stereo":
            return {k: str(v) for k, v in setup["stereo"].items()}
        return checks._pair(setup, check["id"])["expected"]

    def answer_checks(self, wrong: dict[str, Any] | None = None) -> None:
        wrong = wrong or {}
        for check in self.body["checks"]:
            answer = wrong.get(check["id"], wrong.get(check["kind"], self.right_answer(check)))
            with self.lab.sessions.begin() as db:
                answer_check(db, self.token, check["id"], answer, now=self.now)

    def expected(self) -> dict[str, tuple[int | None, str]]:
        """Public item id -> (expected score of a gold/trap item or None, role)."""
        from db.models import ListeningTestItem, SessionItem

        with self.lab.sessions() as db:
            rows = db.execute(select(SessionItem.public_id, ListeningTestItem.role,
                                     ListeningTestItem.expected_score)
                              .join(ListeningTestItem).join(RatingSession)
                              .where(RatingSession.token == self.token)).all()
        return {pid: (expected, role) for pid, role, expected in rows}

    def vote(self, item: str, score: Any, *, played_to_end: Any = True,
             elapsed_ms: Any = 60_000, fetch: bool = True, after: float = 30.0) -> bool:
        if fetch:
            with self.lab.sessions.begin() as db:
                item_audio(db, self.lab.store, self.token, item, now=self.now)
        self.now += timedelta(seconds=after)
        with self.lab.sessions.begin() as db:
            return cast_vote(db, self.token, item, score=score, played_to_end=played_to_end,
                             elapsed_ms=elapsed_ms, now=self.now)

    def rate_all(self, scores: list[int] | None = None, *, honest: bool = True,
                 overrides: dict[str, Any] | None = None, **vote_kwargs: Any) -> None:
        """Vote on every unanswered item: gold and trapping as expected when ``honest``,
        ratings cycling through ``scores``; ``overrides`` by role ("gold", "trap"): a score
        or a function of the expected score."""
        scores = scores or [1, 2, 3, 4, 5]
        expected = self.expected()
        overrides = overrides or {}
        with self.lab.sessions() as db:
            self.body = get_session(db, self.token, now=self.now)
        for k, item in enumerate(self.body["items"]):
            if item["answered"]:
                continue
            score, role = expected[item["item"]]
            if role in overrides:
                override = overrides[role]
                score = override(score) if callable(override) else override
            elif score is None or not honest:
                score = scores[k % len(scores)]
            self.vote(item["item"], score, **vote_kwargs)

    def finish(self) -> dict:
        with self.lab.sessions.begin() as db:
            return finish_session(db, self.token, now=self.now)

    def decision(self) -> tuple[str | None, list[str]]:
        with self.lab.sessions() as db:
            rs = db.scalar(select(RatingSession).where(RatingSession.token == self.token))
            return rs.qc_status, list(rs.qc_reasons or [])

    def votes(self) -> int:
        with self.lab.sessions() as db:
            return int(db.scalar(select(func.count(Vote.id)).join(RatingSession).where(
                RatingSession.token == self.token)) or 0)

    def full_session(self, **rate_kwargs: Any) -> Rater:
        self.start()
        self.answer_checks()
        self.rate_all(**rate_kwargs)
        self.finish()
        return self
