"""The state of a rating session as answers see it: found by token, locked, live or not.

Writes begin by locking the row they change, so two requests for one session never
interleave: on PostgreSQL the read itself locks the session's row (FOR NO KEY UPDATE); on
SQLite the first write of a transaction takes the database's write lock, so
:func:`lock_session` and :func:`lock_head` write (a no-op update) before they read. A
session idle for longer than its test's ``abandon_after_minutes`` is abandoned ("expired"),
whether or not a later start has marked it so yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from db.models import (
    CheckAnswer,
    ListeningTest,
    ListeningTestStatus,
    RatingSession,
    SessionItem,
    SessionState,
)
from listening_tests.checks import check_kind
from listening_tests.errors import Conflict, NotFound
from listening_tests.quality_control import Answer, SessionRecord
from listening_tests.spec import ListeningTestSpec

CLOSED_MESSAGE = "this test is closed; thank you for your interest"


def lock_session(db: Session, token: str) -> RatingSession:
    """The session of ``token``, with its row locked for this transaction (on SQLite the
    database's write lock), freshly read.

    Raises:
        NotFound: no session has this token.
    """
    query = select(RatingSession).where(RatingSession.token == token)
    found = db.scalar(_locking(db, query, RatingSession, token)
                      .execution_options(populate_existing=True))
    if found is None:
        raise NotFound("there is no rating session with this link")
    return found


def _locking(db: Session, query: Select, table: Any, token: str) -> Select:
    """``query`` made to lock the session's row for this transaction: on PostgreSQL by the
    query itself (FOR NO KEY UPDATE of that row alone, never the test's row it joins); on
    SQLite by a no-op update first, which takes the database's write lock before the read."""
    if db.get_bind().dialect.name == "postgresql":
        return query.with_for_update(of=table, key_share=True)
    db.execute(update(RatingSession).where(RatingSession.token == token)
               .values(token=RatingSession.token))
    return query


def find_session(db: Session, token: Any) -> RatingSession:
    """The session of ``token`` for reading.

    Raises:
        NotFound: no session has this token.
    """
    found = db.scalar(select(RatingSession).where(RatingSession.token == str(token)))
    if found is None:
        raise NotFound("there is no rating session with this link")
    return found


def is_stale(rs: RatingSession, spec: ListeningTestSpec, now: datetime) -> bool:
    """Abandoned: in progress but idle for longer than the test allows."""
    return rs.state == SessionState.IN_PROGRESS.value and \
        rs.last_activity_at < now - timedelta(minutes=spec.abandon_after_minutes)


def status_of(rs: RatingSession, spec: ListeningTestSpec, now: datetime) -> str:
    """What the rater is told: in_progress, submitted or expired."""
    return SessionState.EXPIRED.value if is_stale(rs, spec, now) else rs.state


@dataclass(frozen=True)
class SessionHead:
    """What an answer needs to know about its session, read in one statement."""

    id: int
    rater_id: int
    state: str
    setup: dict[str, Any]
    last_activity_at: datetime
    test_status: str
    abandon_after_minutes: int
    method: str = "acr"
    no_preference: bool = True
    checks_answered: int = 0


def lock_head(db: Session, token: str) -> SessionHead:
    """Lock the session of ``token`` for this transaction (on SQLite the database's write
    lock, taken before anything is read, so concurrent answers queue instead of racing)
    and read what answers need, with how many setup checks it has answered, in one
    statement.

    Raises:
        NotFound: no session has this token.
    """
    answered = (select(func.count(CheckAnswer.id))
                .where(CheckAnswer.session_id == RatingSession.id).scalar_subquery())
    query = (select(RatingSession.id, RatingSession.rater_id, RatingSession.state,
                    RatingSession.setup, RatingSession.last_activity_at,
                    ListeningTest.status, ListeningTest.spec, ListeningTest.method, answered)
             .join(ListeningTest, RatingSession.test_id == ListeningTest.id)
             .where(RatingSession.token == token))
    row = db.execute(_locking(db, query, RatingSession, token)).first()
    if row is None:
        raise NotFound("there is no rating session with this link")
    pairs = row[6].get("pairs")
    return SessionHead(row[0], row[1], row[2], row[3], row[4], row[5],
                       int(row[6]["abandon_after_minutes"]), row[7],
                       bool(pairs.get("no_preference", True)) if isinstance(pairs, dict)
                       else True, int(row[8] or 0))


def require_live(head: SessionHead, now: datetime) -> None:
    """Refuse answers to a finished or expired session, or in a closed test.

    Raises:
        Conflict: with a sentence saying which.
    """
    if head.state == SessionState.SUBMITTED.value:
        raise Conflict("this session is finished; your answers are saved")
    if head.test_status == ListeningTestStatus.CLOSED.value:
        raise Conflict(CLOSED_MESSAGE)
    idle_since = now - timedelta(minutes=head.abandon_after_minutes)
    if head.state == SessionState.EXPIRED.value or head.last_activity_at < idle_since:
        raise Conflict(f"this session expired after {head.abandon_after_minutes} minutes "
                       "without activity; open the test's link again to start a new session")


@dataclass(frozen=True)
class AudioFetch:
    """A first fetch of an item's audio still to be noted: the session item, its session and
    the column (``audio_fetched_at`` or, for side B of a pair, ``audio_b_fetched_at``)."""

    session_item_id: int
    session_id: int
    column: str = "audio_fetched_at"


def first_fetch(session_item_id: int, session_id: int, fetched: datetime | None, state: str,
                last_activity_at: datetime, abandon_after_minutes: int, now: datetime,
                column: str = "audio_fetched_at") -> AudioFetch | None:
    """The fetch to note, or None when there is nothing to write: fetched before (a replay
    or a reload), or the session is finished or abandoned."""
    idle_since = now - timedelta(minutes=abandon_after_minutes)
    if fetched is None and state == SessionState.IN_PROGRESS.value \
            and last_activity_at >= idle_since:
        return AudioFetch(session_item_id, session_id, column)
    return None


def note_fetch(db: Session, fetch: AudioFetch, now: datetime) -> None:
    """Note the first fetch (once, whoever notes it first) and the session's activity."""
    column = getattr(SessionItem, fetch.column)
    db.execute(update(SessionItem).where(SessionItem.id == fetch.session_item_id,
                                         column.is_(None)).values({fetch.column: now}))
    touch(db, fetch.session_id, now)


def touch(db: Session, session_id: int, now: datetime) -> None:
    """Note activity on a session (it is not abandoned)."""
    db.execute(update(RatingSession).where(RatingSession.id == session_id)
               .values(last_activity_at=now))


def qc_record(db: Session, rs: RatingSession, answers: list[Answer]) -> SessionRecord:
    """A session's answers with what quality control also weighs: its setup checks and how
    many sessions the rater submitted before (shared by ACR and comparison sessions)."""
    graded = dict(db.execute(select(CheckAnswer.check_id, CheckAnswer.correct).where(
        CheckAnswer.session_id == rs.id)).all())
    environment = [c for c in rs.setup["checks"] if check_kind(c) == "environment"]
    earlier = db.scalar(select(func.count(RatingSession.id)).where(
        RatingSession.rater_id == rs.rater_id, RatingSession.id != rs.id,
        RatingSession.state == SessionState.SUBMITTED.value)) or 0
    return SessionRecord(
        answers=tuple(answers),
        stereo_check_passed=graded.get("stereo", "stereo" not in rs.setup["checks"]),
        environment_pairs_right=sum(bool(graded.get(c)) for c in environment),
        environment_pairs_total=len(environment), rater_sessions=earlier + 1)
