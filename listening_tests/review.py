"""Finishing a session and deciding about it (ITU-T P.808 quality control), and the
administrator's overrides of that decision.

The decision is made by :func:`listening_tests.quality_control.evaluate_session` from a
:class:`SessionRecord` built from the stored rows; this module adds what only the stored
rows tell: whether a clip was really played to its end (:func:`played_to_end`) and the
rater's qualification. Decisions are stored beside the session, never on the votes; an
override is logged as its own row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ItemRole,
    ListeningTest,
    ListeningTestItem,
    QcOverride,
    QcStatus,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
    utcnow,
)
from listening_tests import checks
from listening_tests.design import spec_of
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.methods import method_of
from listening_tests.quality_control import Answer, QcDecision, SessionRecord
from listening_tests.session_state import is_stale, lock_session, qc_record
from listening_tests.spec import ListeningTestSpec


@dataclass(frozen=True)
class OverrideRecord:
    """One logged change of a session's decision."""

    session_id: int
    old_status: str | None
    new_status: str
    reason: str
    admin: str
    created_at: datetime


def finished_body(test: ListeningTest) -> dict[str, Any]:
    """What a rater is told at the end: the completion code (and where to go)."""
    return {"status": SessionState.SUBMITTED.value, "completion_code": test.completion_code,
            "redirect_url": test.redirect_url}


def finish_session(db: Session, token: Any, *, now: datetime | None = None
                   ) -> dict[str, Any]:
    """Hand in a session: run quality control, store the decision, give the code.

    The rater is not told the decision. Finishing twice answers the same. A session whose
    every item is answered can be finished even after the test closed.

    Raises:
        NotFound: unknown token.
        Conflict: the session expired, or items are unanswered (``details["unanswered"]``
            lists their ids).
    """
    now = now or utcnow()
    rs = lock_session(db, str(token))
    test = db.get(ListeningTest, rs.test_id)
    spec = spec_of(test)
    if rs.state == SessionState.SUBMITTED.value:
        return finished_body(test)
    if rs.state == SessionState.EXPIRED.value or is_stale(rs, spec, now):
        raise Conflict(f"this session expired after {spec.abandon_after_minutes} minutes "
                       "without activity; open the test's link again to start a new session")
    voted = set(db.scalars(select(Vote.session_item_id).where(Vote.session_id == rs.id)))
    unanswered = [si.public_id for si in rs.items if si.id not in voted]
    if unanswered:
        raise Conflict(f"rate every clip before finishing: {len(unanswered)} "
                       f"{'is' if len(unanswered) == 1 else 'are'} not rated yet",
                       unanswered=unanswered)
    decision = decide(db, rs, spec)
    rs.state = SessionState.SUBMITTED.value
    rs.qc_status, rs.qc_reasons = decision.status, list(decision.reasons)
    rs.finished_at = rs.last_activity_at = now
    db.flush()
    return finished_body(test)


def session_record(db: Session, rs: RatingSession, spec: ListeningTestSpec, *,
                   control_scale: str | None = None) -> SessionRecord:
    """What quality control needs to know about a session, from its rows.

    An item may hold one answer per scale (P.835): every answer of a rating item counts
    towards the variance rule (P.808 pools the scales), while a gold or trapping item is
    judged on ``control_scale`` alone (P.808: the overall scale); None: its only answer.
    """
    rows = db.execute(
        select(Vote, SessionItem, ListeningTestItem, Clip)
        .join(SessionItem, Vote.session_item_id == SessionItem.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(Clip, ListeningTestItem.clip_id == Clip.id)
        .where(Vote.session_id == rs.id, ListeningTestItem.role != ItemRole.TRAINING.value)
        .order_by(SessionItem.position)).all()
    answers = []
    for vote, si, item, clip in rows:
        control = item.role in (ItemRole.GOLD.value, ItemRole.TRAP.value)
        if control and control_scale is not None and vote.scale != control_scale:
            continue
        answers.append(Answer(
            clip=clip.name, score=float(vote.score),
            played_to_end=played_to_end(vote, si, clip, spec),
            is_gold=item.role == ItemRole.GOLD.value, is_trap=item.role == ItemRole.TRAP.value,
            expected=None if item.expected_score is None else float(item.expected_score)))
    return qc_record(db, rs, answers)


def played_to_end(vote: Vote, item: SessionItem, clip: Clip, spec: ListeningTestSpec) -> bool:
    """Whether a vote's clip counts as played to its end: the page said so, the reported
    time on the item covers the clip, and (with ``server_clock_check``) so does the time
    between the first fetch of its audio and the vote."""
    qc = spec.quality_control
    if not vote.played_to_end:
        return False
    if qc.min_listening_fraction is None:
        return True
    needed = qc.min_listening_fraction * clip.duration_seconds
    if vote.elapsed_ms / 1000 < needed:
        return False
    if qc.server_clock_check and item.audio_fetched_at is not None:
        return (vote.created_at - item.audio_fetched_at).total_seconds() >= needed
    return True


def decide(db: Session, rs: RatingSession, spec: ListeningTestSpec) -> QcDecision:
    """The P.808 decision on a session, plus the rater's qualification (a rater who does
    not meet it is paid but not used: the answers were honest, the listener unsuitable)."""
    decision = method_of(spec.method).decide(db, rs, spec, spec.qc_settings)
    rater = db.get(Rater, rs.rater_id)
    if spec.checks.qualification and rater.qualified is False:
        failed = [q["text"] for q in checks.QUALIFICATION_QUESTIONS
                  if (rater.qualification or {}).get(q["id"]) != q["expected"]]
        reason = f"qualification not met: {'; '.join(failed)}"
        status = decision.status if decision.status == "rejected" else "not_used"
        decision = QcDecision(status=status, reasons=(*decision.reasons, reason))
    return decision


def override_decision(db: Session, session_id: int, new_status: str, *, reason: str,
                      admin: str, test_id: int | None = None,
                      now: datetime | None = None) -> OverrideRecord:
    """Change a submitted session's decision and log who did it and why.

    The automatic reasons stay with the session; the log row holds the override.

    Args:
        db: The caller's transaction.
        session_id: ``RatingSession.id`` (as listed by :func:`results.list_sessions`).
        new_status: "accepted", "not_used" or "rejected".
        reason: Why (required; goes into the accept/reject export).
        admin: Who (the admin page's user name).
        test_id: When given, the session must belong to this test.
        now: The time (naive UTC).

    Raises:
        NotFound: no such session (in the test).
        Invalid: an unknown status, or no reason.
        Conflict: the session is not submitted, or already has this status.
    """
    if new_status not in {s.value for s in QcStatus}:
        raise Invalid(f"the decision must be one of {', '.join(s.value for s in QcStatus)}")
    reason, admin = (reason or "").strip(), (admin or "").strip() or "admin"
    if not reason:
        raise Invalid("give a reason for overriding the decision")
    rs = db.get(RatingSession, session_id)
    if rs is None or (test_id is not None and rs.test_id != test_id):
        raise NotFound(f"there is no rating session with id {session_id}")
    if rs.state != SessionState.SUBMITTED.value:
        raise Conflict("only a submitted session has a decision to override")
    if rs.qc_status == new_status:
        raise Conflict(f"session {session_id} is already {new_status}")
    entry = QcOverride(session_id=rs.id, old_status=rs.qc_status, new_status=new_status,
                       reason=reason[:2000], admin=admin[:200], created_at=now or utcnow())
    db.add(entry)
    rs.qc_status = new_status
    db.flush()
    return OverrideRecord(rs.id, entry.old_status, new_status, entry.reason, entry.admin,
                          entry.created_at)


def list_overrides(db: Session, test_id: int) -> list[OverrideRecord]:
    """The override log of a test, oldest first."""
    rows = db.scalars(select(QcOverride).join(RatingSession)
                      .where(RatingSession.test_id == test_id).order_by(QcOverride.id))
    return [OverrideRecord(o.session_id, o.old_status, o.new_status, o.reason, o.admin,
                           o.created_at) for o in rows]
