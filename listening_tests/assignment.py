"""Which clips a new rating session gets.

Every rating clip should reach the test's vote target with as few sessions as possible, so a
session takes the clips with the fewest votes so far (counting accepted sessions' votes and
the items of sessions still in progress), never one its rater has heard, never one already
at the target. Among equally needy clips it spreads the picks over conditions (systems), so
a session is balanced. Ties are broken by a seeded generator: the choice is deterministic
given the database and the seed.

A session abandoned for longer than the test allows is expired; its items stop counting,
which hands its clips to the next raters. Votes of sessions that quality control did not
accept do not count towards the target either, so those clips are asked for again.

The choosing functions are pure; the loaders read the counts from the database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from db.models import (
    ItemRole,
    ListeningTestItem,
    QcStatus,
    RatingSession,
    SessionItem,
    SessionState,
)


@dataclass(frozen=True)
class Candidate:
    """An item that could go into a session, with how often it is already taken."""

    item_id: int
    clip_id: int
    condition: str
    count: int


def choose_rating_items(candidates: Sequence[Candidate], n: int, *, target: int,
                        heard: set[int], rng: np.random.Generator) -> list[Candidate]:
    """Pick up to ``n`` rating items: fewest votes first, then the condition least picked
    in this session, then at random.

    Args:
        candidates: Every rating item of the test with its current count.
        n: Clips per session.
        target: Votes wanted per clip; items at or above it are not picked.
        heard: Clip ids the rater has had in any session (never given again).
        rng: Breaks ties.

    Returns:
        The picked items in the order they were picked (the session shuffles them).
    """
    pool = [c for c in candidates if c.count < target and c.clip_id not in heard]
    tiebreak = rng.permutation(len(pool))
    per_condition: Counter[str] = Counter()
    remaining = set(range(len(pool)))
    picked: list[Candidate] = []
    clips: set[int] = set()
    while remaining and len(picked) < n:
        best = min(remaining, key=lambda i: (pool[i].count, per_condition[pool[i].condition],
                                             tiebreak[i]))
        remaining.discard(best)
        if pool[best].clip_id in clips:
            continue
        picked.append(pool[best])
        clips.add(pool[best].clip_id)
        per_condition[pool[best].condition] += 1
    return picked


def choose_control_items(candidates: Sequence[Candidate], n: int, *, heard: set[int],
                         exclude: set[int], rng: np.random.Generator) -> list[Candidate]:
    """Pick ``n`` gold or trapping items: ones the rater has not heard first, then the least
    used, then at random. Clips in ``exclude`` (the session's rating clips) are never picked.
    """
    pool = [c for c in candidates if c.clip_id not in exclude]
    tiebreak = rng.permutation(len(pool))
    order = sorted(range(len(pool)), key=lambda i: (pool[i].clip_id in heard, pool[i].count,
                                                    tiebreak[i]))
    return [pool[i] for i in order[:n]]


def abandon_cutoff(now: datetime, abandon_after_minutes: int) -> datetime:
    """Sessions whose last activity is older than this are abandoned."""
    return now - timedelta(minutes=abandon_after_minutes)


def expire_abandoned(session: Session, test_id: int, cutoff: datetime) -> int:
    """Mark the test's in-progress sessions idle since before ``cutoff`` as expired.

    Sessions another start is expiring at this moment (PostgreSQL: row locked) are skipped,
    not waited for: that start marks them, and :func:`item_counts` leaves an idle session's
    items out whether or not it is marked yet, so nothing waits and nothing is released twice.

    Returns:
        How many sessions were expired.
    """
    idle = (select(RatingSession.id)
            .where(RatingSession.test_id == test_id,
                   RatingSession.state == SessionState.IN_PROGRESS.value,
                   RatingSession.last_activity_at < cutoff)
            .with_for_update(skip_locked=True))
    result = session.execute(
        update(RatingSession)
        .where(RatingSession.id.in_(idle.scalar_subquery()),
               RatingSession.state == SessionState.IN_PROGRESS.value)
        .values(state=SessionState.EXPIRED.value))
    return int(result.rowcount or 0)


def item_counts(session: Session, test_id: int, cutoff: datetime,
                items: Sequence[int] | None = None) -> dict[int, int]:
    """Per test item (all, or only ``items``): placements in live sessions plus in accepted
    submitted sessions."""
    counting = or_(
        and_(RatingSession.state == SessionState.IN_PROGRESS.value,
             RatingSession.last_activity_at >= cutoff),
        and_(RatingSession.state == SessionState.SUBMITTED.value,
             RatingSession.qc_status == QcStatus.ACCEPTED.value))
    query = (select(SessionItem.test_item_id, func.count(SessionItem.id))
             .join(RatingSession, SessionItem.session_id == RatingSession.id)
             .where(RatingSession.test_id == test_id, counting)
             .group_by(SessionItem.test_item_id))
    if items is not None:
        query = query.where(SessionItem.test_item_id.in_(list(items)))
    return {int(item_id): int(n) for item_id, n in session.execute(query).all()}


def full_items(session: Session, test_id: int, item_ids: Sequence[int], target: int,
               cutoff: datetime, *, placed: bool) -> set[int]:
    """The rating items among ``item_ids`` that have no place left for this session.

    Their rows are locked first (PostgreSQL; in id order, so two starts never deadlock) and
    counted after the lock, so every placement committed before is seen and a start that
    places an item holds its lock until it commits: starts of one test wait for each other
    only where they share a clip, and only while the later one counts. ``placed``: this
    transaction has already placed each of them (its own placement is in the count).
    Gold, trapping and training items have no target and are never locked.
    """
    if not item_ids:
        return set()
    rating = session.scalars(
        select(ListeningTestItem.id)
        .where(ListeningTestItem.id.in_(sorted(set(item_ids))),
               ListeningTestItem.role == ItemRole.RATING.value)
        .order_by(ListeningTestItem.id)
        # NO KEY UPDATE: the session items just inserted hold KEY SHARE locks on these rows
        # (their foreign key), which a plain FOR UPDATE would wait for: a deadlock.
        .with_for_update(key_share=True)).all()
    if not rating:
        return set()
    counts = item_counts(session, test_id, cutoff, rating)
    places = target + 1 if placed else target
    return {item_id for item_id in rating if counts.get(item_id, 0) >= places}


def load_candidates(session: Session, test_id: int, role: ItemRole,
                    counts: dict[int, int]) -> list[Candidate]:
    """The test's items of one role as candidates, in id order."""
    return load_role_candidates(session, test_id, (role,), counts)[role]


def load_role_candidates(session: Session, test_id: int, roles: Sequence[ItemRole],
                         counts: dict[int, int]) -> dict[ItemRole, list[Candidate]]:
    """The test's items of several roles as candidates, per role in id order, read in one
    statement (each statement is a round trip to the database)."""
    found: dict[ItemRole, list[Candidate]] = {role: [] for role in roles}
    by_value = {role.value: role for role in roles}
    for item_id, clip_id, condition, role in session.execute(
            select(ListeningTestItem.id, ListeningTestItem.clip_id, ListeningTestItem.condition,
                   ListeningTestItem.role)
            .where(ListeningTestItem.test_id == test_id,
                   ListeningTestItem.role.in_(list(by_value)))
            .order_by(ListeningTestItem.id)).all():
        found[by_value[role]].append(Candidate(item_id, clip_id, condition,
                                               counts.get(item_id, 0)))
    return found


def heard_clips(session: Session, rater_id: int | None) -> set[int]:
    """Clip ids placed in any of the rater's sessions, whatever their role or state (none
    for a rater not stored yet)."""
    if rater_id is None:
        return set()
    return set(session.scalars(
        select(ListeningTestItem.clip_id)
        .join(SessionItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(RatingSession, SessionItem.session_id == RatingSession.id)
        .where(RatingSession.rater_id == rater_id)).all())
