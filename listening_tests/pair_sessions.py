"""Sessions of comparison tests: which pairs a session gets, how the rater's page is told
about them, and the audio of each side.

CCR and A/B assign pairs like ACR assigns clips (fewest counted answers first, conditions
spread, never a pair the rater had before). Ranking asks
:func:`listening_tests.ranking.next_pairs` which system pairs are least certain given the
answers so far, then takes, for each, the least answered input the rater has not had.
Which clip plays as A is drawn per session item at session start and stored
(``SessionItem.swapped``); the body never says which system a side is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ItemRole,
    ListeningTest,
    ListeningTestItem,
    Rater,
    RatingSession,
    SessionItem,
)
from db.store import AudioStore
from listening_tests import assignment
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.session_state import AudioFetch, find_session, first_fetch
from listening_tests.spec import ListeningTestSpec

CCR_SCALE = ({"value": -3, "label": "Much worse"}, {"value": -2, "label": "Worse"},
             {"value": -1, "label": "Slightly worse"}, {"value": 0, "label": "About the same"},
             {"value": 1, "label": "Slightly better"}, {"value": 2, "label": "Better"},
             {"value": 3, "label": "Much better"})
CCR_QUESTION = "Compared with the first sample (A), the quality of the second sample (B) is:"
AB_QUESTION = "Which sample sounds better?"
SIDES = ("a", "b", "original")
NO_PAIRS_LEFT = "no pairs are left for you in this test; thank you for your interest"


def choices(spec: ListeningTestSpec) -> list[dict[str, str]]:
    """The answers an A/B or ranking page offers."""
    out = [{"value": "A", "label": "A sounds better"}, {"value": "B", "label": "B sounds better"}]
    if spec.pairs is None or spec.pairs.no_preference:
        out.append({"value": "none", "label": "No preference"})
    return out


def _as_pairs(candidates: list[assignment.Candidate]) -> list[assignment.Candidate]:
    """Candidates keyed by item rather than clip: a reference clip sits in many pairs, and
    what a rater must not get twice is the pair."""
    return [assignment.Candidate(c.item_id, c.item_id, c.condition, c.count)
            for c in candidates]


def heard_items(db: Session, rater_id: int) -> set[int]:
    """Test items placed in any of the rater's sessions."""
    return set(db.scalars(select(SessionItem.test_item_id).join(RatingSession).where(
        RatingSession.rater_id == rater_id)))


def choose_pairs(db: Session, test: ListeningTest, spec: ListeningTestSpec,
                 candidates: list[assignment.Candidate], heard: set[int],
                 rng: np.random.Generator) -> list[int]:
    """The least-answered pairs this rater has not had (the default choice)."""
    return [c.item_id for c in assignment.choose_rating_items(
        candidates, spec.clips_per_session, target=spec.votes_per_clip, heard=heard, rng=rng)]


def assign_pairs(db: Session, test: ListeningTest, spec: ListeningTestSpec, rater: Rater,
                 rng: np.random.Generator, cutoff: datetime, *,
                 choose: Callable[..., list[int]] = choose_pairs) -> list[int]:
    """The rating and gold items of a new comparison session (item ids, unordered).

    ``choose`` picks the rating pairs (:func:`choose_pairs`, or the method's own, such as
    ranking's adaptive :func:`ranking_pairs`).

    Raises:
        Conflict: no pair is left for this rater (every pair at its target, or heard).
    """
    counts = assignment.item_counts(db, test.id, cutoff)
    heard = heard_items(db, rater.id)
    candidates = _as_pairs(assignment.load_candidates(db, test.id, ItemRole.RATING, counts))
    picked = choose(db, test, spec, candidates, heard, rng)
    if not picked:
        raise Conflict(NO_PAIRS_LEFT)
    gold = assignment.choose_control_items(
        _as_pairs(assignment.load_candidates(db, test.id, ItemRole.GOLD, counts)),
        spec.gold.per_session, heard=heard, exclude=set(), rng=rng)
    return picked + [c.item_id for c in gold]


def ranking_pairs(db: Session, test: ListeningTest, spec: ListeningTestSpec,
                   candidates: list[assignment.Candidate], heard: set[int],
                   rng: np.random.Generator) -> list[int]:
    from listening_tests.comparison_results import answers_frame  # pandas: load late
    from listening_tests.ranking import next_pairs

    if sum(c.count for c in candidates) >= spec.votes_per_clip:
        return []
    systems_of = dict(db.execute(select(ListeningTestItem.id, ListeningTestItem.pair_condition)
                                 .where(ListeningTestItem.test_id == test.id)).all())
    by_pair: dict[frozenset[str], list[assignment.Candidate]] = {}
    for c in candidates:
        if c.item_id not in heard:
            by_pair.setdefault(frozenset((c.condition, systems_of[c.item_id])), []).append(c)
    systems = sorted(spec.pairs.systems) if spec.pairs and spec.pairs.systems else sorted(
        {s for key in by_pair for s in key})
    if len(systems) < 2 or not by_pair:
        return []
    answers = answers_frame(db, test.id)
    taken: dict[int, int] = {}
    picked: list[int] = []
    for x, y in next_pairs(answers, systems, 4 * spec.clips_per_session, rng):
        pool = [c for c in by_pair.get(frozenset((x, y)), []) if c.item_id not in taken]
        if pool:
            best = min(pool, key=lambda c: (c.count, rng.random()))
            taken[best.item_id] = 1
            picked.append(best.item_id)
        if len(picked) == spec.clips_per_session:
            break
    return picked


def draw_order(rng: np.random.Generator) -> bool:
    """Whether an item plays swapped (its pair clip as A): a fair coin per session item."""
    return bool(rng.random() < 0.5)


def item_entry(si: SessionItem, base: str, spec: ListeningTestSpec, *,
               offers_original: bool) -> dict[str, Any]:
    """The URLs of a pair item in the session body (``offers_original``: the method may
    offer the clean reference as a third, open sample when the spec asks for it)."""
    url = f"{base}/items/{si.public_id}/audio"
    entry = {"audio_url_a": f"{url}?side=a", "audio_url_b": f"{url}?side=b"}
    if offers_original and spec.pairs is not None and spec.pairs.show_original:
        entry["original_url"] = f"{url}?side=original"
    return entry


def pair_audio(db: Session, store: AudioStore, token: Any, item: Any, side: Any, *,
               now: datetime) -> tuple[Path, AudioFetch | None]:
    """The file of one side of a pair item, and the first fetch of side A or B still to be
    noted (:func:`session_state.note_fetch`), or None; reads only.

    Raises:
        NotFound: unknown token, no such item, or no original for this pair.
        Invalid: ``side`` is not a, b or original.
    """
    if side not in SIDES:
        raise Invalid("this item is a pair: ask for side=a, side=b or side=original")
    row = db.execute(
        select(SessionItem, RatingSession, ListeningTest.spec, ListeningTestItem)
        .join(RatingSession, SessionItem.session_id == RatingSession.id)
        .join(ListeningTest, RatingSession.test_id == ListeningTest.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .where(RatingSession.token == str(token), SessionItem.public_id == str(item))).first()
    if row is None:
        find_session(db, token)
        raise NotFound("this session has no such item")
    si, rs, spec, test_item = row
    first, second = test_item.clip_id, test_item.pair_clip_id
    if si.swapped:
        first, second = second, first
    fetch = None
    if side == "original":
        clip_id = _original(db, test_item)
        if clip_id is None or not (spec.get("pairs") or {}).get("show_original"):
            raise NotFound("this pair has no original to play")
    else:
        clip_id = first if side == "a" else second
        column = "audio_fetched_at" if side == "a" else "audio_b_fetched_at"
        fetch = first_fetch(si.id, rs.id, getattr(si, column), rs.state, rs.last_activity_at,
                            int(spec["abandon_after_minutes"]), now, column)
    return store.path_for(db.get(Clip, clip_id).sha256), fetch


def _original(db: Session, item: ListeningTestItem) -> int | None:
    if item.pair_condition == "clean":
        return item.pair_clip_id
    for clip_id in (item.clip_id, item.pair_clip_id):
        ref = db.get(Clip, clip_id).reference_clip_id
        if ref is not None:
            return ref
    return None
