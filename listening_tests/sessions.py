"""Rating sessions: starting (or resuming) one, what the rater's page is told, the audio.

A session is reached by its token alone: a reload, or a new browser with the same link,
resumes it at the first unanswered item because everything the page needs comes from the
database. A start locks its test's row first (see :mod:`listening_tests.session_state` for
the sessions' locks), so two starts in one test never over-assign.

Services take the caller's SQLAlchemy session, never commit, and take ``now`` (naive UTC).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import (
    CheckAnswer,
    Clip,
    ItemRole,
    ListeningTest,
    ListeningTestItem,
    ListeningTestStatus,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
    utcnow,
)
from db.store import AudioStore
from listening_tests import assignment, checks, pair_sessions
from listening_tests.design import load_test, spec_of
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.methods import Answer, method_of
from listening_tests.session_state import CLOSED_MESSAGE, find_session, status_of, touch
from listening_tests.spec import ListeningTestSpec

API_PREFIX = "/api"
ACR_SCALE = ({"value": 1, "label": "Bad"}, {"value": 2, "label": "Poor"},
             {"value": 3, "label": "Fair"}, {"value": 4, "label": "Good"},
             {"value": 5, "label": "Excellent"})
ACR_QUESTION = "How would you rate the quality of the speech you heard?"


@dataclass(frozen=True)
class StartedSession:
    """A session handed to a participant: ``created`` False when an unfinished one was
    resumed; ``body`` is what the rater's page is told (docs/rating-api.md)."""

    token: str
    created: bool
    body: dict[str, Any]


def default_instructions(spec: ListeningTestSpec) -> str:
    """P.808-style instructions (markdown) naming only the steps this test has."""
    steps = ["Use headphones or earphones on both ears, in a quiet place."]
    c = spec.checks
    checks_named = [text for on, text in (
        (c.qualification, "answer a few questions about your hearing"),
        (c.volume, "set a comfortable volume"),
        (c.stereo, "tell which digit you hear in each ear"),
        (c.environment, "compare four pairs of samples")) if on]
    if checks_named:
        steps.append("First a few checks: " + ", ".join(checks_named) + ".")
    if spec.training.count:
        steps.append("Then a few training clips show the range of quality you will hear.")
    steps += ["Listen to each clip to its end, then choose how good the speech quality was, "
              "from **Bad** to **Excellent**. There are no right or wrong answers, except "
              "where a recording asks you for a specific answer.",
              "Your answers are saved as you go: if you reload the page, you continue where "
              "you left off."]
    return ("In this task you listen to short speech recordings and rate the quality of "
            "each one.\n\n" + "\n".join(f"- {step}" for step in steps) + "\n")


def check_participant_id(participant_id: Any) -> str:
    """1-200 printable characters, surrounding blanks removed.

    Raises:
        Invalid: missing, not text, empty, too long, or with control characters.
    """
    if not isinstance(participant_id, str):
        raise Invalid("a participant id is required (1-200 printable characters)")
    value = participant_id.strip()
    if not 1 <= len(value) <= 200 or not value.isprintable():
        raise Invalid("the participant id must be 1-200 printable characters")
    return value


def start_session(db: Session, test_id: int, participant_id: Any, *,
                  now: datetime | None = None,
                  rng: np.random.Generator | None = None) -> StartedSession:
    """Give a participant a session: their unfinished one, or a new one with clips assigned.

    Args:
        db: The caller's transaction.
        test_id: The test.
        participant_id: The platform's id (PROLIFIC_PID or any id), 1-200 printable chars.
        now: The time (naive UTC); the clock when None.
        rng: Source of the assignment's tie-breaks, the order and the check draws; by default
            seeded from the test's seed and its session count (deterministic).

    Raises:
        Invalid: a malformed participant id.
        NotFound: no such test.
        Conflict: the test is a draft or closed, the participant has taken as many sessions
            as the test allows, or no clip is left for them.
    """
    now = now or utcnow()
    participant = check_participant_id(participant_id)
    resumed = _live_session(db, load_test(db, test_id), participant, now)
    if resumed is not None:  # a reload or a second browser: no lock needed to read
        return StartedSession(resumed.token, False, session_body(db, resumed, now=now))
    lock_test_for_start(db, test_id)
    test = db.get(ListeningTest, test_id, populate_existing=True)
    if test.status == ListeningTestStatus.DRAFT.value:
        raise Conflict("this test is not open yet; thank you for your interest")
    if test.status == ListeningTestStatus.CLOSED.value:
        raise Conflict(CLOSED_MESSAGE)
    spec = spec_of(test)
    rater = db.scalar(select(Rater).where(Rater.test_id == test_id,
                                          Rater.external_id == participant))
    if rater is None:
        rater = Rater(test_id=test_id, external_id=participant, created_at=now)
        db.add(rater)
        db.flush()
    cutoff = assignment.abandon_cutoff(now, spec.abandon_after_minutes)
    assignment.expire_abandoned(db, test_id, cutoff)
    current = db.scalar(select(RatingSession).where(
        RatingSession.rater_id == rater.id,
        RatingSession.state == SessionState.IN_PROGRESS.value)
        .execution_options(populate_existing=True))
    if current is not None:
        return StartedSession(current.token, False, session_body(db, current, now=now))
    submitted = db.scalars(select(RatingSession).where(
        RatingSession.rater_id == rater.id,
        RatingSession.state == SessionState.SUBMITTED.value)).all()
    limit = spec.sessions_per_rater
    if limit is not None and len(submitted) >= limit:
        raise Conflict(f"you have taken the {limit} session{'s' if limit != 1 else ''} this "
                       "test allows per participant; thank you for your interest")
    rng = rng or np.random.default_rng([test.seed, test.sessions_started + 1])
    method = method_of(spec.method)
    items = method.assign(db, test, spec, rater, rng, cutoff)
    retrain_after = timedelta(minutes=spec.training.retrain_after_minutes)
    trained_recently = any(s.finished_at and s.finished_at >= now - retrain_after
                           for s in submitted)
    training = [] if trained_recently else assignment.load_candidates(
        db, test_id, ItemRole.TRAINING, {})
    order = [training[int(i)].item_id for i in rng.permutation(len(training))] + \
        [items[int(i)] for i in rng.permutation(len(items))]
    setup = checks.draw_setup(spec.checks, ask_qualification=rater.qualification is None,
                              rng=rng)
    rs = RatingSession(test_id=test_id, rater_id=rater.id, token=secrets.token_urlsafe(24),
                       state=SessionState.IN_PROGRESS.value, setup=setup, created_at=now,
                       last_activity_at=now)
    rs.items = [SessionItem(test_item_id=item_id, position=position,
                            public_id=secrets.token_urlsafe(12),
                            swapped=method.draw_order(rng))
                for position, item_id in enumerate(order)]
    db.add(rs)
    test.sessions_started += 1
    db.flush()
    return StartedSession(rs.token, True, session_body(db, rs, now=now))


def lock_test_for_start(db: Session, test_id: int) -> None:
    """Serialise session starts of one test until this transaction ends: a row lock on the
    test (PostgreSQL: across every worker process; SQLite: its one writer), so counting the
    clips' places and taking them is one step and no clip goes beyond its target."""
    db.execute(update(ListeningTest).where(ListeningTest.id == test_id)
               .values(sessions_started=ListeningTest.sessions_started))


def _live_session(db: Session, test: ListeningTest, participant: str, now: datetime
                  ) -> RatingSession | None:
    """The participant's session in progress and not abandoned, read without locking (a
    session, once made, only ever leaves that state), or None."""
    if test.status != ListeningTestStatus.OPEN.value:
        return None  # the locked path gives the reason
    found = db.scalar(select(RatingSession).join(Rater, Rater.id == RatingSession.rater_id)
                      .where(Rater.test_id == test.id, Rater.external_id == participant,
                             RatingSession.state == SessionState.IN_PROGRESS.value))
    if found is None or status_of(found, spec_of(test), now) != SessionState.IN_PROGRESS.value:
        return None
    return found


def assign_clips(db: Session, test: ListeningTest, spec: ListeningTestSpec, rater: Rater,
                 rng: np.random.Generator, cutoff: datetime) -> list[int]:
    """The rating, gold and trapping items of a new single-clip session (item ids).

    Raises:
        Conflict: no clip is left for this rater.
    """
    counts = assignment.item_counts(db, test.id, cutoff)
    heard = assignment.heard_clips(db, rater.id)
    rating = assignment.choose_rating_items(
        assignment.load_candidates(db, test.id, ItemRole.RATING, counts),
        spec.clips_per_session, target=spec.votes_per_clip, heard=heard, rng=rng)
    if not rating:
        raise Conflict("no clips are left for you in this test; thank you for your interest")
    in_session = {c.clip_id for c in rating}
    picked = [c.item_id for c in rating]
    controls = ((ItemRole.GOLD, spec.gold.per_session),
                (ItemRole.TRAP, spec.trapping.per_session if spec.trapping.enabled else 0))
    for role, per_session in controls:
        chosen = assignment.choose_control_items(
            assignment.load_candidates(db, test.id, role, counts), per_session, heard=heard,
            exclude=in_session, rng=rng)
        in_session |= {c.clip_id for c in chosen}
        picked += [c.item_id for c in chosen]
    return picked


def session_body(db: Session, rs: RatingSession, *, now: datetime | None = None
                 ) -> dict[str, Any]:
    """What the rater's page is told about a session (docs/rating-api.md)."""
    now = now or utcnow()
    test = db.get(ListeningTest, rs.test_id)
    spec = spec_of(test)
    base = f"{API_PREFIX}/sessions/{rs.token}"
    answered_checks = set(db.scalars(select(CheckAnswer.check_id).where(
        CheckAnswer.session_id == rs.id)))
    method = method_of(spec.method)
    answers: dict[int, list[Answer]] = {}
    for item_id, stimulus, scale, score, choice in db.execute(
            select(Vote.session_item_id, Vote.stimulus, Vote.scale, Vote.score, Vote.choice)
            .where(Vote.session_id == rs.id).order_by(Vote.id)).all():
        answers.setdefault(item_id, []).append(Answer(scale, score, choice, stimulus))
    placed = db.execute(select(SessionItem, ListeningTestItem.role)
                        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
                        .where(SessionItem.session_id == rs.id)
                        .order_by(SessionItem.position)).all()
    items = []
    for si, role in placed:
        entry: dict[str, Any] = {
            "item": si.public_id,
            "phase": "training" if role == ItemRole.TRAINING.value else "rating"}
        entry.update(method.item_entry(si, base, spec))
        entry["answered"] = si.id in answers
        if si.id in answers:
            entry.update(method.shown_answer(answers[si.id]))
        items.append(entry)
    body: dict[str, Any] = {
        "session": rs.token,
        "status": status_of(rs, spec, now),
        "test": {"id": test.id, "name": test.name, "method": test.method,
                 "platform": test.platform,
                 "instructions": spec.instructions or default_instructions(spec),
                 **method.page_fields(spec, rs)},
        "checks": checks.describe(rs.setup, answered_checks, base),
        "items": items,
        "progress": {"answered": len(answers), "total": len(items)},
    }
    if rs.state == SessionState.SUBMITTED.value:
        body.update(completion_code=test.completion_code, redirect_url=test.redirect_url)
    return body


def get_session(db: Session, token: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """The session body for a token.

    Raises:
        NotFound: unknown token (nothing else is revealed).
    """
    return session_body(db, find_session(db, token), now=now)


def item_audio(db: Session, store: AudioStore, token: Any, item: Any, *,
               side: str | None = None, now: datetime | None = None) -> Path:
    """The stored file of a session item, noting the first fetch (a vote needs it).

    Fetching again (a replay, a reload) reads only. A pair item (comparison tests) needs
    ``side`` a, b or original (:func:`pair_sessions.pair_audio`); an ACR item ignores it.

    Raises:
        NotFound: unknown token, or the item is not in this session.
        Invalid: a pair item asked for without a valid side.
    """
    now = now or utcnow()
    if db.scalar(select(ListeningTestItem.pair_clip_id)
                 .join(SessionItem, SessionItem.test_item_id == ListeningTestItem.id)
                 .where(SessionItem.public_id == str(item))) is not None:
        return pair_sessions.pair_audio(db, store, token, item, side, now=now)
    row = db.execute(
        select(SessionItem.id, SessionItem.audio_fetched_at, RatingSession.id,
               RatingSession.state, RatingSession.last_activity_at, ListeningTest.spec,
               Clip.sha256)
        .join(RatingSession, SessionItem.session_id == RatingSession.id)
        .join(ListeningTest, RatingSession.test_id == ListeningTest.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(Clip, ListeningTestItem.clip_id == Clip.id)
        .where(RatingSession.token == str(token), SessionItem.public_id == str(item))).first()
    if row is None:
        find_session(db, token)  # NotFound for an unknown token
        raise NotFound("this session has no such item")
    item_id, fetched, session_id, state, last_activity, spec, sha = row
    idle_since = now - timedelta(minutes=int(spec["abandon_after_minutes"]))
    if fetched is None and state == SessionState.IN_PROGRESS.value \
            and last_activity >= idle_since:
        db.execute(update(SessionItem).where(SessionItem.id == item_id,
                                             SessionItem.audio_fetched_at.is_(None))
                   .values(audio_fetched_at=now))
        touch(db, session_id, now)
    return store.path_for(sha)


def check_audio(db: Session, token: Any, check_id: str, side: str | None = None
                ) -> tuple[np.ndarray, int]:
    """The waveform a setup check plays (stereo for the stereo check) and its rate.

    Raises:
        NotFound: unknown token, no such check, or a check without audio.
        Invalid: an environment pair asked for without side a or b.
    """
    rs = find_session(db, token)
    return checks.audio(rs.setup, check_id, side)
