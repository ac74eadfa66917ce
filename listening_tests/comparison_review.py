"""Quality control of comparison sessions (CCR, A/B, ranking) through the same P.808 rules
and :class:`QcSettings` as ACR, with what differs for pairs:

- Played to the end: A and B are played one after the other, so a vote's ``elapsed_ms``
  must cover ``min_listening_fraction`` of the two clips' durations *summed*.
- CCR: the variance rule applies to the sign-corrected answers, as in P.808, whose CCR page
  stores them corrected (a rater who always presses "much better" while the order changes
  is not straight-lining on the processed-versus-reference scale). A gold pair (degraded
  versus clean) is expected -3 after sign correction and may be off by ``gold_tolerance``
  (default 1: -2 or -3).
- A/B and ranking: the variance rule does not apply (a choice has no scale); a gold pair
  must be answered with the clean side ("none" is wrong too).
- Trapping questions are not offered in comparison tests.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ItemRole,
    ListeningTestItem,
    RatingSession,
    SessionItem,
    Vote,
)
from listening_tests.comparison_stats import sign_corrected
from listening_tests.quality_control import (
    Answer,
    QcDecision,
    QcSettings,
    evaluate_session,
)
from listening_tests.session_state import qc_record
from listening_tests.spec import ListeningTestSpec


def pair_played_to_end(vote: Vote, si: SessionItem, seconds: float,
                       spec: ListeningTestSpec) -> bool:
    """Whether both sides count as played to their end (see the module docstring)."""
    qc = spec.quality_control
    if not vote.played_to_end:
        return False
    if qc.min_listening_fraction is None:
        return True
    needed = qc.min_listening_fraction * seconds
    if vote.elapsed_ms / 1000 < needed:
        return False
    first = min((t for t in (si.audio_fetched_at, si.audio_b_fetched_at) if t), default=None)
    if qc.server_clock_check and first is not None:
        return (vote.created_at - first).total_seconds() >= needed
    return True


def clean_side(si: SessionItem) -> str:
    """Which side played the clean clip of a gold pair (stored as the pair clip)."""
    return "A" if si.swapped else "B"


PairJudge = Callable[[Vote, SessionItem, ListeningTestItem, str, bool],
                     tuple[Answer, list[str]]]


def decide_comparison(db: Session, rs: RatingSession, spec: ListeningTestSpec,
                      settings: QcSettings, judge: PairJudge) -> QcDecision:
    """The P.808 decision on a comparison session (qualification is added by the caller).

    Args:
        judge: The method's reading of one answer: (vote, session item, test item, name,
            played to the end) -> (the :class:`Answer` the P.808 rules see, extra reasons
            the method adds, e.g. a wrong side chosen on a gold pair).
    """
    rows = db.execute(
        select(Vote, SessionItem, ListeningTestItem)
        .join(SessionItem, Vote.session_item_id == SessionItem.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .where(Vote.session_id == rs.id, ListeningTestItem.role != ItemRole.TRAINING.value)
        .order_by(SessionItem.position)).all()
    durations = dict(db.execute(select(Clip.id, Clip.duration_seconds).where(Clip.id.in_(
        {c for _, _, item in rows for c in (item.clip_id, item.pair_clip_id)}))).all())
    answers: list[Answer] = []
    extra: list[str] = []
    for vote, si, item in rows:
        seconds = durations[item.clip_id] + durations[item.pair_clip_id]
        played = pair_played_to_end(vote, si, seconds, spec)
        name = f"pair {item.sample_id} ({item.condition} vs {item.pair_condition})"
        answer, reasons = judge(vote, si, item, name, played)
        answers.append(answer)
        extra += reasons
    record = qc_record(db, rs, answers)
    if record.environment_pairs_total == 0:
        settings = dataclasses.replace(settings, min_environment_pairs_right=0)
    decision = evaluate_session(record, settings)
    if not extra:
        return decision
    status = "rejected" if decision.status == "rejected" else "not_used"
    return QcDecision(status=status, reasons=(*decision.reasons, *extra))


def ccr_judge(vote: Vote, si: SessionItem, item: ListeningTestItem, name: str,
              played: bool) -> tuple[Answer, list[str]]:
    """A CCR answer as the P.808 rules see it: sign-corrected (processed versus reference),
    which is what P.808's CCR page stores, so its straight-lining check sees it too."""
    gold = item.role == ItemRole.GOLD.value
    # processed (the item's clip) played first unless swapped
    corrected = sign_corrected(int(vote.score), processed_first=not si.swapped)
    return Answer(clip=name, score=float(corrected), played_to_end=played, is_gold=gold,
                  expected=float(item.expected_score) if gold else None), []


def choice_judge(vote: Vote, si: SessionItem, item: ListeningTestItem, name: str,
                 played: bool) -> tuple[Answer, list[str]]:
    """An A/B or ranking answer: no scale (the variance rule is off for these methods); a
    gold pair must be answered with its clean side."""
    extra = []
    if item.role == ItemRole.GOLD.value and vote.choice != clean_side(si):
        extra.append(f"gold {name} answered {vote.choice}, the clean side was "
                     f"{clean_side(si)}")
    return Answer(clip=name, score=0.0, played_to_end=played), extra
