"""Clip assignment: targets with the fewest sessions, no repeats, balance, abandonment,
session limits, and concurrent starts."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import numpy as np
import pytest
from sqlalchemy import select

from db.models import ListeningTestItem, RatingSession, SessionItem
from listening_tests.assignment import Candidate, choose_control_items, choose_rating_items
from listening_tests.design import close_test
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.results import test_results
from listening_tests.sessions import get_session, start_session
from tests.listening_tests.rating_lab import T0, Rater, make_lab, plain_spec


def _candidates(counts: dict[str, list[int]]) -> list[Candidate]:
    out, next_id = [], 1
    for condition, values in counts.items():
        for count in values:
            out.append(Candidate(next_id, 100 + next_id, condition, count))
            next_id += 1
    return out


def test_fewest_votes_first_then_balanced_over_conditions():
    pool = _candidates({"a": [0, 0, 0, 0, 2], "b": [0, 0, 1, 1], "c": [1, 1, 1, 5]})
    picked = choose_rating_items(pool, 6, target=5, heard={102}, rng=np.random.default_rng(0))
    assert [c.count for c in picked] == [0, 0, 0, 0, 0, 1]
    assert 102 not in {c.clip_id for c in picked}  # heard before
    assert 5 not in [c.count for c in picked]  # at the target
    # Equal counts: the conditions take turns.
    even = _candidates({"a": [0] * 6, "b": [0] * 6, "c": [0] * 6})
    picked = choose_rating_items(even, 9, target=5, heard=set(), rng=np.random.default_rng(1))
    assert Counter(c.condition for c in picked) == {"a": 3, "b": 3, "c": 3}
    again = choose_rating_items(even, 9, target=5, heard=set(), rng=np.random.default_rng(1))
    assert again == picked  # deterministic given the seed


def test_controls_prefer_unheard_then_least_used():
    pool = _candidates({"gold": [3, 0, 1]})
    picked = choose_control_items(pool, 1, heard={102}, exclude=set(), rng=np.random.default_rng(0))
    assert picked[0].clip_id == 103  # 102 heard, 103 less used than 101
    assert choose_control_items(pool, 2, heard=set(), exclude={102},
                                rng=np.random.default_rng(0))[0].clip_id == 103


def _items(lab, token: str) -> list[tuple[int, str]]:
    with lab.sessions() as db:
        return db.execute(select(ListeningTestItem.clip_id, ListeningTestItem.condition)
                          .join(SessionItem).join(RatingSession)
                          .where(RatingSession.token == token)).all()


def test_targets_are_reached_with_the_fewest_sessions(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(votes_per_clip=5, clips_per_session=10))  # 24 clips
    for n in range(12):  # 24 clips x 5 votes / 10 per session
        rater = Rater(lab, test_id, f"P{n}", now=T0 + timedelta(minutes=n)).start()
        items = _items(lab, rater.token)
        assert len(items) == 10
        per_condition = Counter(condition for _, condition in items)
        assert max(per_condition.values()) - min(per_condition.values()) <= 1, per_condition
        rater.answer_checks()
        rater.rate_all()
        rater.finish()
        assert rater.decision()[0] == "accepted"
    with lab.sessions() as db:
        results = test_results(db, test_id)
        assert {c["n"] for c in results["clips"]} == {5}
        assert results["sessions"]["accepted"] == 12
    with pytest.raises(Conflict, match="no clips are left for you"):
        Rater(lab, test_id, "P99", now=T0 + timedelta(days=1)).start()


def test_no_rater_hears_a_clip_twice(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(votes_per_clip=5, clips_per_session=7))
    heard: list[int] = []
    for n in range(4):  # 7 + 7 + 7 + 3 = all 24 clips
        rater = Rater(lab, test_id, "same", now=T0 + timedelta(hours=n)).start()
        heard += [clip for clip, _ in _items(lab, rater.token)]
        rater.rate_all()
        rater.finish()
    assert len(heard) == len(set(heard)) == 24
    with pytest.raises(Conflict, match="no clips are left for you"):
        Rater(lab, test_id, "same", now=T0 + timedelta(hours=5)).start()
    assert Rater(lab, test_id, "other", now=T0 + timedelta(hours=5)).start().created


def test_an_abandoned_session_releases_its_clips(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(votes_per_clip=1, clips_per_session=12,
                                    abandon_after_minutes=30))
    first = Rater(lab, test_id, "A").start()
    second = Rater(lab, test_id, "B").start()
    assert not {c for c, _ in _items(lab, first.token)} & {c for c, _ in _items(lab, second.token)}
    with pytest.raises(Conflict, match="no clips are left"):  # all 24 taken by live sessions
        Rater(lab, test_id, "C").start()
    later = T0 + timedelta(minutes=31)
    second.now = later - timedelta(minutes=5)
    second.rate_all()  # B keeps working, A went away
    third = Rater(lab, test_id, "C", now=later).start()
    assert {c for c, _ in _items(lab, third.token)} == {c for c, _ in _items(lab, first.token)}
    first.now = later
    with pytest.raises(Conflict, match="expired after 30 minutes without activity"):
        first.vote(first.body["items"][0]["item"], 3, fetch=False)
    assert first.votes() == 0
    with lab.sessions() as db:
        assert db.scalar(select(RatingSession.state).where(
            RatingSession.token == first.token)) == "expired"
    with pytest.raises(Conflict, match="no clips are left for you"):  # A heard the rest
        Rater(lab, test_id, "A", now=later).start()
    # Where clips are left, coming back after the abandon time gives a new session.
    other = lab.create(plain_spec(abandon_after_minutes=30))
    gone = Rater(lab, other, "X").start()
    back = Rater(lab, other, "X", now=later).start()
    assert back.created and back.token != gone.token and back.body["status"] == "in_progress"
    with lab.sessions() as db:
        assert status_of_token(db, gone.token, later) == "expired"


def status_of_token(db, token: str, now) -> str:
    return get_session(db, token, now=now)["status"]


def test_resume_limits_and_refusals(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(sessions_per_rater=1, clips_per_session=4))
    rater = Rater(lab, test_id, "  P1 ").start()
    assert rater.created and rater.body["progress"] == {"answered": 0, "total": 4}
    rater.vote(rater.body["items"][0]["item"], 4)
    again = Rater(lab, test_id, "P1", now=T0 + timedelta(minutes=5)).start()
    assert not again.created and again.token == rater.token
    assert again.body["items"][0] == {**rater.body["items"][0], "answered": True, "score": 4}
    rater.rate_all()
    rater.finish()
    with pytest.raises(Conflict, match="taken the 1 session this test allows"):
        Rater(lab, test_id, "P1", now=T0 + timedelta(hours=2)).start()
    for bad in (None, "", "x" * 201, "tab\there", 42):
        with pytest.raises(Invalid, match="participant id"), lab.sessions.begin() as db:
            start_session(db, test_id, bad)
    with pytest.raises(NotFound, match="no listening test with id 99"), \
            lab.sessions.begin() as db:
        start_session(db, 99, "P2")
    draft = lab.create(plain_spec(), open_it=False)
    with pytest.raises(Conflict, match="not open yet"), lab.sessions.begin() as db:
        start_session(db, draft, "P2")
    with lab.sessions.begin() as db:
        close_test(db, test_id)
    with pytest.raises(Conflict, match="this test is closed; thank you for your interest"), \
            lab.sessions.begin() as db:
        start_session(db, test_id, "P2")


def test_concurrent_starts_never_over_assign(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(votes_per_clip=1, clips_per_session=5))  # room for 5
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def start(n: int) -> None:
        barrier.wait()
        try:
            with lab.sessions.begin() as db:
                start_session(db, test_id, f"T{n}", now=T0)
            outcomes.append("started")
        except Conflict:
            outcomes.append("refused")

    threads = [threading.Thread(target=start, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == {"started": 5, "refused": 3}
    with lab.sessions() as db:
        placed = db.scalars(select(SessionItem.test_item_id)).all()
    assert len(placed) == len(set(placed)) == 24  # every clip once: 5+5+5+5+4


def test_a_start_whose_planned_clips_filled_up_meanwhile_gets_other_clips(sessions, store):
    """The API plans a start without a lock and places it later: when other starts took the
    planned clips in between, the clips are chosen again, never beyond the target (on
    PostgreSQL through the savepoint that rolls the first placement back)."""
    from listening_tests.design import create_test, open_test
    from listening_tests.sessions import PlannedSession, place_session, plan_session
    from tests.listening_tests.rating_lab import _seed_synthetic

    with sessions.begin() as db:
        _seed_synthetic(db, store)
        test_id = create_test(db, store, plain_spec(votes_per_clip=1, clips_per_session=10),
                              now=T0).id
        open_test(db, test_id, now=T0)
    with sessions() as db:
        late = plan_session(db, test_id, "late", now=T0, rng=np.random.default_rng(5))
    assert isinstance(late, PlannedSession)
    with sessions.begin() as db:  # same draws and counts: the same clips as the plan above
        first = start_session(db, test_id, "first", now=T0, rng=np.random.default_rng(5))
    with sessions.begin() as db:
        placed = place_session(db, late)
    assert placed.created
    with sessions() as db:
        rows = db.execute(select(RatingSession.token, ListeningTestItem.clip_id)
                          .join(SessionItem, SessionItem.session_id == RatingSession.id)
                          .join(ListeningTestItem,
                                ListeningTestItem.id == SessionItem.test_item_id)).all()
    clips = {token: {clip for t, clip in rows if t == token}
             for token in (first.token, placed.token)}
    assert len(clips[first.token]) == 10 and len(clips[placed.token]) == 10
    assert not clips[first.token] & clips[placed.token]  # one vote per clip: never shared
    with sessions() as db:
        planned_clips = set(db.scalars(select(ListeningTestItem.clip_id)
                                       .where(ListeningTestItem.id.in_(late.items))))
    assert planned_clips == clips[first.token]  # ...the very clips "first" then took
