"""Storing a rater's answers: setup checks and votes, each exactly once.

An answer is written the moment it arrives (the caller commits before answering the
request). Sending the same answer again is harmless and counted once; a different answer
to an answered question is refused, because votes are append-only and never changed.
Everything is checked before anything is written, so a refused answer stores nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from db.models import CheckAnswer, Rater, SessionItem, Vote, utcnow
from listening_tests import checks
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.session_state import lock_head, require_live, touch

SCALE = range(1, 6)
CCR_SCALE = range(-3, 4)


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
    existing = db.execute(select(CheckAnswer.answer).where(
        CheckAnswer.session_id == head.id, CheckAnswer.check_id == check_id)).first()
    if existing is not None:
        if existing[0] == stored:
            return False
        raise Conflict(f"the check '{check_id}' was already answered differently; answers "
                       "cannot be changed")
    db.add(CheckAnswer(session_id=head.id, check_id=check_id, answer=stored, correct=correct,
                       created_at=now))
    if checks.check_kind(check_id) == "qualification":
        rater = db.get(Rater, head.rater_id)
        rater.qualification, rater.qualified = stored, correct
    touch(db, head.id, now)
    db.flush()
    return True


def _score(score: Any, scale: range = SCALE) -> int:
    if isinstance(score, bool) or not isinstance(score, (int, float)) or \
            (isinstance(score, float) and not score.is_integer()) or int(score) not in scale:
        raise Invalid(f"the score must be a whole number from {scale[0]} to {scale[-1]}")
    return int(score)


def _answer(method: str, score: Any, choice: Any, no_preference: bool
            ) -> tuple[int | None, str | None]:
    """The checked (score, choice) of a vote for the test's method.

    Raises:
        Invalid: the wrong answer type for the method, or a value outside its range.
    """
    if method in ("ab", "ranking"):
        if choice is None:
            raise Invalid('this test asks which sample sounds better: {"choice": "A" | "B"'
                          + (' | "none"' if no_preference else "") + "}")
        if score is not None:
            raise Invalid("this test takes a choice, not a score")
        allowed = ("A", "B", "none") if no_preference else ("A", "B")
        if choice not in allowed:
            raise Invalid(f"the choice must be one of {', '.join(allowed)}")
        return None, str(choice)
    if choice is not None:
        raise Invalid("this test takes a score, not a choice")
    return _score(score, CCR_SCALE if method == "ccr" else SCALE), None


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
              elapsed_ms: Any, choice: Any = None, now: datetime | None = None) -> bool:
    """Store one vote of a session, exactly once.

    Args:
        db: The caller's transaction; commit it before telling the rater.
        token: The session token.
        item: The item's public id in the session.
        score: 1..5 (ACR) or -3..3 (CCR: B compared with A, as played), a whole number.
        played_to_end: Must be True: the page only allows a rating after the clip ended.
        elapsed_ms: Milliseconds the rater spent on the item (>= 0); quality control
            compares it with the clip's duration (a pair: both clips' durations summed).
        choice: A/B and ranking: "A", "B" or "none" (where the test allows it).
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
    row = db.execute(select(SessionItem.id, SessionItem.audio_fetched_at,
                            SessionItem.audio_b_fetched_at, Vote.id, Vote.score, Vote.choice)
                     .outerjoin(Vote, Vote.session_item_id == SessionItem.id)
                     .where(SessionItem.session_id == head.id,
                            SessionItem.public_id == str(item))).first()
    if row is None:
        raise NotFound("this session has no such item")
    item_id, fetched, fetched_b, previous_id, previous, previous_choice = row
    pair = head.method != "acr"
    value, picked = _answer(head.method, score, choice, head.no_preference)
    elapsed = _elapsed(elapsed_ms)
    if played_to_end is not True:
        raise Invalid("play both samples to their end before answering" if pair
                      else "play the clip to its end before rating")
    if previous_id is not None:
        if (previous, previous_choice) == (value, picked):
            return False
        if not pair:
            raise Conflict(f"this clip was already rated {previous}; a rating cannot be "
                           "changed")
        given = previous_choice if previous_choice is not None else previous
        raise Conflict(f"this pair was already answered {given}; an answer cannot be changed")
    if head.setup["checks"]:
        answered = set(db.scalars(select(CheckAnswer.check_id).where(
            CheckAnswer.session_id == head.id)))
        missing = [c for c in head.setup["checks"] if c not in answered]
        if missing:
            raise Conflict(f"answer the setup checks first ({', '.join(missing)})")
    if pair and (fetched is None or fetched_b is None):
        raise Invalid("play both samples before answering")
    if fetched is None:
        raise Invalid("play the clip before rating it: its audio was never fetched")
    db.execute(insert(Vote).values(session_id=head.id, session_item_id=item_id, score=value,
                                   choice=picked, played_to_end=True, elapsed_ms=elapsed,
                                   created_at=now))
    touch(db, head.id, now)
    return True
