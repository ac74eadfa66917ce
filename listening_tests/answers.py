"""Storing a rater's answers: setup checks and votes, each exactly once.

An answer is written the moment it arrives (the caller commits before answering the
request). Sending the same answer again is harmless and counted once; a different answer
to an answered question is refused, because votes are append-only and never changed.
Everything is checked before anything is written, so a refused answer stores nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db.models import CheckAnswer, Rater, SessionItem, Vote, utcnow
from db.session import conflict_insert
from listening_tests import checks
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.methods import Answer, method_of
from listening_tests.session_state import lock_head, require_live, touch


def answer_check(db: Session, token: Any, check_id: str, answer: Any, *,
                 now: datetime | None = None) -> bool:
    """Store the answer to one setup check of a session.

    The grade is stored beside the answer and never returned. The qualification answer is
    also kept on the rater, who is not asked again in later sessions.

    Returns:
        True when stored now, False when the same answer was already stored.

    Raises:
        NotFound: unknown token, or no such check in this session.
        Conflict: the session is finished or expired, the test is closed, or the check was
            answered differently before.
        Invalid: the answer's form does not fit the check.
    """
    now = now or utcnow()
    head = lock_head(db, str(token))
    require_live(head, now)
    stored, correct = checks.grade(head.setup, check_id, answer)
    if not _insert_if_new(db, {"session_id": head.id, "check_id": check_id, "answer": stored,
                               "correct": correct, "created_at": now}):
        existing = db.scalar(select(CheckAnswer.answer).where(
            CheckAnswer.session_id == head.id, CheckAnswer.check_id == check_id))
        if existing == stored:
            return False
        raise Conflict(f"the check '{check_id}' was already answered differently; answers "
                       "cannot be changed")
    if checks.check_kind(check_id) == "qualification":
        db.execute(update(Rater).where(Rater.id == head.rater_id)
                   .values(qualification=stored, qualified=correct))
    touch(db, head.id, now)
    return True


def _insert_if_new(db: Session, values: dict[str, Any]) -> bool:
    """Store a check answer unless the session has one for that check (one statement on
    PostgreSQL and SQLite); whether it was stored now."""
    insert_ = conflict_insert(db, CheckAnswer)
    if insert_ is not None:
        return db.execute(insert_.values(**values)
                          .on_conflict_do_nothing(index_elements=["session_id", "check_id"])
                          .returning(CheckAnswer.id)).first() is not None
    if db.scalar(select(CheckAnswer.id).where(CheckAnswer.session_id == values["session_id"],
                                              CheckAnswer.check_id == values["check_id"])):
        return False
    db.execute(insert(CheckAnswer).values(**values))
    return True


def whole_number(score: Any, low: int, high: int) -> int:
    """A score on a scale of whole numbers ``low..high``, checked.

    Raises:
        Invalid: not a whole number, or outside the scale.
    """
    if isinstance(score, bool) or not isinstance(score, (int, float)) or \
            (isinstance(score, float) and not score.is_integer()) or not low <= score <= high:
        raise Invalid(f"the score must be a whole number from {low} to {high}")
    return int(score)


def _elapsed(elapsed_ms: Any) -> int:
    if elapsed_ms is None:
        raise Invalid("elapsed_ms (milliseconds spent on the clip) is required")
    if isinstance(elapsed_ms, bool) or not isinstance(elapsed_ms, (int, float)) or \
            elapsed_ms != elapsed_ms:
        raise Invalid("elapsed_ms must be a number of milliseconds")
    if elapsed_ms < 0:
        raise Invalid("elapsed_ms cannot be negative")
    return int(min(elapsed_ms, 2**31 - 1))


def cast_vote(db: Session, token: Any, item: Any, *, score: Any, played_to_end: Any,
              elapsed_ms: Any, choice: Any = None, scores: Any = None,
              now: datetime | None = None) -> bool:
    """Store one vote of a session, exactly once.

    Args:
        db: The caller's transaction; commit it before telling the rater.
        token: The session token.
        item: The item's public id in the session.
        score: 1..5 (ACR) or -3..3 (CCR: B compared with A, as played), a whole number.
        played_to_end: Must be True: the page only allows a rating after the clip ended.
        elapsed_ms: Milliseconds the rater spent on the item (>= 0); quality control
            compares it with the clip's duration (a pair: both clips' durations summed).
            A method with ``timed_listening`` (MUSHRA) reads it as the time the stimulus
            was heard and refuses 0.
        choice: A/B and ranking: "A", "B" or "none" (where the test allows it).
        scores: A method with several scales (P.835): ``{scale: score}`` for each of them,
            stored as one row per scale.
        now: The time (naive UTC).

    Returns:
        True when stored now, False when the same score was already stored for the item.

    Raises:
        NotFound: unknown token, or the item is not in this session.
        Conflict: the session is finished or expired, the test is closed, the setup checks
            are not all answered, or the item was rated with a different score.
        Invalid: a score outside the scale, the wrong answer type for the method,
            ``played_to_end`` not true, a missing or negative time, or the item's audio
            (for a pair: either side's) was never fetched.
    """
    now = now or utcnow()
    head = lock_head(db, str(token))
    require_live(head, now)
    # The item and its earlier answers (if any) in one statement.
    rows = db.execute(select(SessionItem.id, SessionItem.audio_fetched_at,
                             SessionItem.audio_b_fetched_at, Vote.id, Vote.stimulus,
                             Vote.scale, Vote.score, Vote.choice)
                      .outerjoin(Vote, (Vote.session_id == SessionItem.session_id)
                                 & (Vote.session_item_id == SessionItem.id))
                      .where(SessionItem.session_id == head.id,
                             SessionItem.public_id == str(item))
                      .order_by(Vote.id)).all()
    if not rows:
        raise NotFound("this session has no such item")
    item_id, fetched, fetched_b = rows[0][:3]
    method = method_of(head.method)
    given = method.read_answer({"score": score, "choice": choice, "scores": scores},
                               head.no_preference)
    elapsed = _elapsed(elapsed_ms)
    if played_to_end is not True or (method.timed_listening and elapsed == 0):
        raise Invalid(method.play_first_message())
    previous = [Answer(scale, prev_score, prev_choice, stimulus)
                for *_, vote_id, stimulus, scale, prev_score, prev_choice in rows
                if vote_id is not None]
    if previous:
        if sorted(previous, key=_key) == sorted(given, key=_key):
            return False
        shown = method.shown_answer(previous)
        raise Conflict(method.already_answered_message(
            shown.get("choice", shown.get("score", shown.get("scores")))))
    if head.checks_answered < len(head.setup["checks"]):  # (session, check) is unique
        answered = set(db.scalars(select(CheckAnswer.check_id).where(
            CheckAnswer.session_id == head.id)))
        missing = [c for c in head.setup["checks"] if c not in answered]
        if missing:
            raise Conflict(f"answer the setup checks first ({', '.join(missing)})")
    if method.two_stimuli and (fetched is None or fetched_b is None):
        raise Invalid("play both samples before answering")
    if fetched is None:
        raise Invalid("play the clip before rating it: its audio was never fetched")
    db.execute(insert(Vote), [
        {"session_id": head.id, "session_item_id": item_id, "stimulus": a.stimulus,
         "scale": a.scale, "score": a.score, "choice": a.choice, "played_to_end": True,
         "elapsed_ms": elapsed, "created_at": now} for a in given])
    touch(db, head.id, now)
    return True


def _key(answer: Answer) -> tuple[str, str]:
    return answer.stimulus, answer.scale
