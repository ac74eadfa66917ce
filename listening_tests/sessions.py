"""Rating sessions: starting (or resuming) one, what the rater's page is told, the audio.

A session is reached by its token alone: a reload, or a new browser with the same link,
resumes it at the first unanswered item because everything the page needs comes from the
database. A start chooses its clips from counts read without a lock, then claims them: each
rating clip's row is locked and its places counted before the commit (see
:func:`place_session`), so two starts never over-assign a clip and starts that share no clip
never wait for each other (see :mod:`listening_tests.session_state` for the sessions' locks).

Services take the caller's SQLAlchemy session, never commit, and take ``now`` (naive UTC).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
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
from db.session import conflict_insert
from db.store import AudioStore
from listening_tests import assignment, checks, pair_sessions
from listening_tests.design import load_test, spec_of
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.methods import Answer, method_of
from listening_tests.session_state import (
    CLOSED_MESSAGE,
    AudioFetch,
    find_session,
    first_fetch,
    note_fetch,
    status_of,
)
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


@dataclass
class PlannedSession:
    """What a new session will hold, chosen from counts read without any lock
    (:func:`plan_session`); :func:`place_session` claims the places and stores it."""

    test_id: int
    participant: str
    now: datetime
    rng: np.random.Generator
    setup: dict[str, Any]
    training: list[int]
    items: list[int]


def start_session(db: Session, test_id: int, participant_id: Any, *,
                  now: datetime | None = None,
                  rng: np.random.Generator | None = None) -> StartedSession:
    """Give a participant a session: their unfinished one, or a new one with clips assigned.

    :func:`plan_session` then :func:`place_session` in one transaction; the API runs the
    plan in a read-only transaction and only the placing in a write one.

    Args:
        db: The caller's transaction.
        test_id: The test.
        participant_id: The platform's id (PROLIFIC_PID or any id), 1-200 printable chars.
        now: The time (naive UTC); the clock when None.
        rng: Source of the assignment's tie-breaks, the order and the check draws; by default
            seeded from the test's seed, the participant and the sessions they submitted
            (deterministic; concurrent starts of different participants draw differently).

    Raises:
        Invalid: a malformed participant id.
        NotFound: no such test.
        Conflict: the test is a draft or closed, the participant has taken as many sessions
            as the test allows, or no clip is left for them.
    """
    planned = plan_session(db, test_id, participant_id, now=now, rng=rng)
    if isinstance(planned, StartedSession):
        return planned
    return place_session(db, planned)


def plan_session(db: Session, test_id: int, participant_id: Any, *,
                 now: datetime | None = None, rng: np.random.Generator | None = None
                 ) -> StartedSession | PlannedSession:
    """Read-only first half of a start: the participant's live session (resumed as it is),
    or the items, order and checks of a new one, chosen from the counts as they are now.

    Raises:
        as :func:`start_session`.
    """
    now = now or utcnow()
    participant = check_participant_id(participant_id)
    test = load_test(db, test_id)
    _require_open(test)
    spec = spec_of(test)
    rater, resumed, submitted = _participant_state(db, test_id, participant, spec, now)
    if resumed is not None:  # a reload or a second browser
        return StartedSession(resumed.token, False, session_body(db, resumed, now=now))
    _require_sessions_left(spec, len(submitted))
    rng = rng or np.random.default_rng([test.seed, participant_seed(participant),
                                        len(submitted)])
    cutoff = assignment.abandon_cutoff(now, spec.abandon_after_minutes)
    chooser = rater if rater is not None else Rater(test_id=test_id, external_id=participant)
    items = method_of(spec.method).assign(db, test, spec, chooser, rng, cutoff)
    retrain_after = timedelta(minutes=spec.training.retrain_after_minutes)
    trained_recently = any(t is not None and t >= now - retrain_after for t in submitted)
    training = [] if trained_recently else [c.item_id for c in assignment.load_candidates(
        db, test_id, ItemRole.TRAINING, {})]
    setup = checks.draw_setup(spec.checks, ask_qualification=rater is None or
                              rater.qualification is None, rng=rng)
    return PlannedSession(test_id, participant, now, rng, setup, training, items)


#: Tries to place a session whose planned clips filled up meanwhile before a start waits for
#: the test's lock (then starts of that test take turns until it is placed).
OPTIMISTIC_TRIES = 3
MAX_TRIES = 8


def place_session(db: Session, planned: PlannedSession) -> StartedSession:
    """Write second half of a start: claim the planned clips' places and store the session.

    The participant's row is locked first (two browsers: the later one resumes the session
    the first made). On PostgreSQL the session is inserted before its clips are claimed:
    each rating clip's row is locked and its places counted (:func:`assignment.full_items`)
    just before the commit, so concurrent starts wait for each other only on the clips they
    share, and only for a count and a commit. A clip that filled up since the plan rolls the
    session back to a savepoint and the clips are chosen again from the new counts. On
    SQLite (one writer at a time) the count comes first and nothing is rolled back.

    Raises:
        Conflict: as :func:`start_session`.
    """
    now, test_id = planned.now, planned.test_id
    test = db.get(ListeningTest, test_id, populate_existing=True)
    _require_open(test)
    spec = spec_of(test)
    dialect = db.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        lock_test_for_start(db, test_id)  # no row locks we rely on: take turns
    rater = _lock_rater(db, test_id, planned.participant, now)
    current, submitted = _sessions_of(db, rater.id, spec, now)
    if current is not None:
        return StartedSession(current.token, False, session_body(db, current, now=now))
    _require_sessions_left(spec, len(submitted))
    cutoff = assignment.abandon_cutoff(now, spec.abandon_after_minutes)
    assignment.expire_abandoned(db, test_id, cutoff)
    method = method_of(spec.method)
    if not method.target_per_item:
        lock_test_for_start(db, test_id)  # the target counts all items together
    items, rng = planned.items, planned.rng
    for attempt in range(MAX_TRIES):
        if attempt == OPTIMISTIC_TRIES:
            lock_test_for_start(db, test_id)
        if attempt:
            items = method.assign(db, test, spec, rater, rng, cutoff)
        if dialect != "postgresql":
            if assignment.full_items(db, test_id, items, spec.votes_per_clip, cutoff,
                                     placed=False):
                continue
            rs = _new_session(db, test_id, rater.id, planned, items, method, now)
            break
        savepoint = db.begin_nested()
        rs = _new_session(db, test_id, rater.id, planned, items, method, now)
        if not assignment.full_items(db, test_id, items, spec.votes_per_clip, cutoff,
                                     placed=True):
            savepoint.commit()
            break
        savepoint.rollback()
    else:
        raise Conflict("too many participants are starting at this moment; please open the "
                       "link again in a minute")
    return StartedSession(rs.token, True, session_body(db, rs, now=now, new=True,
                                                       training=set(planned.training)))


def _new_session(db: Session, test_id: int, rater_id: int, planned: PlannedSession,
                 items: list[int], method: Any, now: datetime) -> RatingSession:
    rng = planned.rng
    order = [planned.training[int(i)] for i in rng.permutation(len(planned.training))] + \
        [items[int(i)] for i in rng.permutation(len(items))]
    rs = RatingSession(test_id=test_id, rater_id=rater_id, token=secrets.token_urlsafe(24),
                       state=SessionState.IN_PROGRESS.value, setup=planned.setup,
                       created_at=now, last_activity_at=now)
    rs.items = [SessionItem(test_item_id=item_id, position=position,
                            public_id=secrets.token_urlsafe(12),
                            swapped=method.draw_order(rng))
                for position, item_id in enumerate(order)]
    db.add(rs)
    db.flush()
    return rs


def participant_seed(participant: str) -> int:
    """A stable number from a participant id (Python's ``hash`` changes per process): starts
    at the same moment draw different tie-breaks, so they rarely pick the same clips."""
    return int.from_bytes(hashlib.blake2b(participant.encode(), digest_size=8).digest(), "big")


def _require_open(test: ListeningTest) -> None:
    if test.status == ListeningTestStatus.DRAFT.value:
        raise Conflict("this test is not open yet; thank you for your interest")
    if test.status == ListeningTestStatus.CLOSED.value:
        raise Conflict(CLOSED_MESSAGE)


def _require_sessions_left(spec: ListeningTestSpec, submitted: int) -> None:
    limit = spec.sessions_per_rater
    if limit is not None and submitted >= limit:
        raise Conflict(f"you have taken the {limit} session{'s' if limit != 1 else ''} this "
                       "test allows per participant; thank you for your interest")


_LIVE_OR_SUBMITTED = (SessionState.IN_PROGRESS.value, SessionState.SUBMITTED.value)


def _live_and_submitted(sessions: list[RatingSession], spec: ListeningTestSpec, now: datetime
                        ) -> tuple[RatingSession | None, list[datetime | None]]:
    live = next((rs for rs in sessions if rs.state == SessionState.IN_PROGRESS.value
                 and status_of(rs, spec, now) == SessionState.IN_PROGRESS.value), None)
    return live, [rs.finished_at for rs in sessions
                  if rs.state == SessionState.SUBMITTED.value]


def _participant_state(db: Session, test_id: int, participant: str,
                       spec: ListeningTestSpec, now: datetime
                       ) -> tuple[Rater | None, RatingSession | None, list[datetime | None]]:
    """The participant's rater row (None: new), their session in progress and not abandoned
    (None: none), and the finish times of their submitted sessions, in one statement and
    without locking (a session, once made, only ever leaves the in-progress state)."""
    rows = db.execute(select(Rater, RatingSession)
                      .outerjoin(RatingSession, (RatingSession.rater_id == Rater.id)
                                 & RatingSession.state.in_(_LIVE_OR_SUBMITTED))
                      .where(Rater.test_id == test_id, Rater.external_id == participant)
                      .order_by(RatingSession.id)).all()
    if not rows:
        return None, None, []
    live, submitted = _live_and_submitted([rs for _, rs in rows if rs is not None], spec, now)
    return rows[0][0], live, submitted


def _sessions_of(db: Session, rater_id: int, spec: ListeningTestSpec, now: datetime
                 ) -> tuple[RatingSession | None, list[datetime | None]]:
    """Under the rater's lock, freshly read: their live session and submitted finish times."""
    return _live_and_submitted(list(db.scalars(
        select(RatingSession).where(RatingSession.rater_id == rater_id,
                                    RatingSession.state.in_(_LIVE_OR_SUBMITTED))
        .order_by(RatingSession.id).execution_options(populate_existing=True))), spec, now)


def _lock_rater(db: Session, test_id: int, participant: str, now: datetime) -> Rater:
    """The participant's rater row, made if new, locked until the transaction ends: a
    second browser's start waits here and then finds the first one's session."""
    insert_ = conflict_insert(db, Rater)
    if insert_ is not None:
        # One statement: insert, or lock the existing row (a no-op DO UPDATE locks it).
        upsert = insert_.values(test_id=test_id, external_id=participant, created_at=now)
        return db.scalars(upsert.on_conflict_do_update(
            index_elements=["test_id", "external_id"],
            set_={"external_id": upsert.excluded.external_id}).returning(Rater),
            execution_options={"populate_existing": True}).one()
    rater = db.scalar(select(Rater).where(Rater.test_id == test_id,
                                          Rater.external_id == participant)
                      .with_for_update().execution_options(populate_existing=True))
    if rater is None:  # another database: the test's lock serialises starts
        rater = Rater(test_id=test_id, external_id=participant, created_at=now)
        db.add(rater)
        db.flush()
    return rater


def lock_test_for_start(db: Session, test_id: int) -> None:
    """Make this start take turns with the others of its test until this transaction ends
    (a row lock on the test): for a method whose target counts all items together, and as
    the fallback when a start's clips keep filling up under it."""
    db.execute(update(ListeningTest).where(ListeningTest.id == test_id)
               .values(sessions_started=ListeningTest.sessions_started))


def assign_clips(db: Session, test: ListeningTest, spec: ListeningTestSpec, rater: Rater,
                 rng: np.random.Generator, cutoff: datetime) -> list[int]:
    """The rating, gold and trapping items of a new single-clip session (item ids).

    Raises:
        Conflict: no clip is left for this rater.
    """
    counts = assignment.item_counts(db, test.id, cutoff)
    heard = assignment.heard_clips(db, rater.id)
    candidates = assignment.load_role_candidates(
        db, test.id, (ItemRole.RATING, ItemRole.GOLD, ItemRole.TRAP), counts)
    rating = assignment.choose_rating_items(
        candidates[ItemRole.RATING],
        spec.clips_per_session, target=spec.votes_per_clip, heard=heard, rng=rng)
    if not rating:
        raise Conflict("no clips are left for you in this test; thank you for your interest")
    in_session = {c.clip_id for c in rating}
    picked = [c.item_id for c in rating]
    controls = ((ItemRole.GOLD, spec.gold.per_session),
                (ItemRole.TRAP, spec.trapping.per_session if spec.trapping.enabled else 0))
    for role, per_session in controls:
        chosen = assignment.choose_control_items(
            candidates[role], per_session, heard=heard, exclude=in_session, rng=rng)
        in_session |= {c.clip_id for c in chosen}
        picked += [c.item_id for c in chosen]
    return picked


def session_body(db: Session, rs: RatingSession, *, now: datetime | None = None,
                 new: bool = False, training: Collection[int] = ()) -> dict[str, Any]:
    """What the rater's page is told about a session (docs/rating-api.md); ``new``: made in
    this transaction with its items in ``rs.items`` and ``training`` the test items among
    them that are training, so nothing is answered yet (three reads fewer)."""
    now = now or utcnow()
    test = db.get(ListeningTest, rs.test_id)
    spec = spec_of(test)
    base = f"{API_PREFIX}/sessions/{rs.token}"
    answered_checks: set[str] = set() if new else set(db.scalars(
        select(CheckAnswer.check_id).where(CheckAnswer.session_id == rs.id)))
    method = method_of(spec.method)
    answers: dict[int, list[Answer]] = {}
    for item_id, stimulus, scale, score, choice in [] if new else db.execute(
            select(Vote.session_item_id, Vote.stimulus, Vote.scale, Vote.score, Vote.choice)
            .where(Vote.session_id == rs.id).order_by(Vote.id)).all():
        answers.setdefault(item_id, []).append(Answer(scale, score, choice, stimulus))
    placed = [(si, ItemRole.TRAINING.value if si.test_item_id in training else None)
              for si in sorted(rs.items, key=lambda si: si.position)] if new else db.execute(
        select(SessionItem, ListeningTestItem.role)
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
    """The stored file of a session item, noting the first fetch (a vote needs it):
    :func:`locate_item_audio` then, on a first fetch, :func:`session_state.note_fetch`.

    Raises:
        as :func:`locate_item_audio`.
    """
    now = now or utcnow()
    path, fetch = locate_item_audio(db, store, token, item, side=side, now=now)
    if fetch is not None:
        note_fetch(db, fetch, now)
    return path


def locate_item_audio(db: Session, store: AudioStore, token: Any, item: Any, *,
                      side: str | None = None, now: datetime | None = None
                      ) -> tuple[Path, AudioFetch | None]:
    """The stored file of a session item and, on its first fetch in a live session, the
    fetch still to be noted (None: nothing to write); reads only, one statement.

    A pair item (comparison tests) needs ``side`` a, b or original
    (:func:`pair_sessions.pair_audio`); an ACR item ignores it.

    Raises:
        NotFound: unknown token, or the item is not in this session.
        Invalid: a pair item asked for without a valid side.
    """
    now = now or utcnow()
    row = db.execute(
        select(SessionItem.id, SessionItem.audio_fetched_at, RatingSession.id,
               RatingSession.state, RatingSession.last_activity_at, ListeningTest.spec,
               Clip.sha256, ListeningTestItem.pair_clip_id)
        .join(RatingSession, SessionItem.session_id == RatingSession.id)
        .join(ListeningTest, RatingSession.test_id == ListeningTest.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(Clip, ListeningTestItem.clip_id == Clip.id)
        .where(RatingSession.token == str(token), SessionItem.public_id == str(item))).first()
    if row is None:
        find_session(db, token)  # NotFound for an unknown token
        raise NotFound("this session has no such item")
    item_id, fetched, session_id, state, last_activity, spec, sha, pair_clip_id = row
    if pair_clip_id is not None:
        return pair_sessions.pair_audio(db, store, token, item, side, now=now)
    return store.path_for(sha), first_fetch(item_id, session_id, fetched, state,
                                            last_activity,
                                            int(spec["abandon_after_minutes"]), now)


def check_audio(db: Session, token: Any, check_id: str, side: str | None = None
                ) -> tuple[np.ndarray, int]:
    """The waveform a setup check plays (stereo for the stereo check) and its rate.

    Raises:
        NotFound: unknown token, no such check, or a check without audio.
        Invalid: an environment pair asked for without side a or b.
    """
    rs = find_session(db, token)
    return checks.audio(rs.setup, check_id, side)
