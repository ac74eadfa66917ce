"""Check answers and votes: stored once, refused with a reason and nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from db.models import CheckAnswer, Rater, Vote
from listening_tests.answers import answer_check
from listening_tests.design import close_test
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.sessions import get_session
from tests.listening_tests.rating_lab import T0, make_lab, plain_spec
from tests.listening_tests.rating_lab import Rater as Participant

WITH_CHECKS = {"checks": {"qualification": True, "volume": True, "stereo": True,
                          "environment": True}, "training": {"count": 2}}


@pytest.fixture
def lab(tmp_path):
    return make_lab(tmp_path, "mini")


def test_the_session_body_follows_the_contract(lab):
    test_id = lab.create(plain_spec(clips_per_session=3, **WITH_CHECKS))
    body = Participant(lab, test_id, "P1").start().body
    assert body["status"] == "in_progress" and body["test"]["method"] == "acr"
    assert [s["label"] for s in body["test"]["scale"]] == ["Bad", "Poor", "Fair", "Good",
                                                          "Excellent"]
    assert [c["id"] for c in body["checks"]] == ["qualification", "volume", "stereo",
                                                "environment-1", "environment-2",
                                                "environment-3", "environment-4"]
    token = body["session"]
    assert body["checks"][3]["audio_url_a"] == \
        f"/api/sessions/{token}/checks/environment-1/audio?side=a"
    assert [i["phase"] for i in body["items"]] == ["training"] * 2 + ["rating"] * 3
    assert body["progress"] == {"answered": 0, "total": 5}
    assert len({i["item"] for i in body["items"]}) == 5
    assert all(len(i["item"]) >= 16 and i["audio_url"].endswith(f"/items/{i['item']}/audio")
               for i in body["items"])
    assert len(token) >= 22  # at least 128 random bits, URL-safe


def test_check_answers_once_and_qualification_once_per_rater(lab):
    test_id = lab.create(plain_spec(clips_per_session=3, **WITH_CHECKS))
    rater = Participant(lab, test_id, "P1").start()
    right = rater.right_answer({"kind": "stereo"})

    def put(check_id, answer):
        with lab.sessions.begin() as db:
            return answer_check(db, rater.token, check_id, answer, now=T0)

    assert put("stereo", right) is True
    assert put("stereo", {"left": int(right["left"]), "right": right["right"]}) is False
    with pytest.raises(Conflict, match="already answered differently"):
        put("stereo", {"left": right["right"], "right": right["left"]})
    for check_id, answer, message in [
            ("volume", "loud", "done"), ("stereo", {"left": "x", "right": "1"}, "one digit"),
            ("environment-1", "C", "A, B, same"), ("qualification", {"hearing": "yes"},
                                                   "answer every qualification question")]:
        with pytest.raises(Invalid, match=message):
            put(check_id, answer)
    with pytest.raises(NotFound, match="no check 'environment-9'"):
        put("environment-9", "A")
    assert lab.count(CheckAnswer) == 1
    rater.answer_checks(wrong={"stereo": right})
    rater.rate_all()
    rater.finish()
    with lab.sessions() as db:
        assert db.query(Rater).one().qualified is True
    later = Participant(lab, test_id, "P1", now=T0 + timedelta(minutes=30)).start()
    assert "qualification" not in [c["id"] for c in later.body["checks"]]
    assert [i["phase"] for i in later.body["items"]] == ["rating"] * 3  # trained recently


def test_votes_are_stored_once_and_never_changed(lab):
    test_id = lab.create(plain_spec(clips_per_session=3))
    rater = Participant(lab, test_id, "P1").start()
    item = rater.body["items"][0]["item"]
    assert rater.vote(item, 4) is True
    assert rater.vote(item, 4.0) is False  # resent: counted once
    with pytest.raises(Conflict, match="already rated 4; a rating cannot be changed"):
        rater.vote(item, 2)
    assert rater.votes() == 1
    with lab.sessions() as db:
        body = get_session(db, rater.token, now=rater.now)
    assert body["items"][0] == {**rater.body["items"][0], "answered": True, "score": 4}
    assert body["progress"]["answered"] == 1


@pytest.mark.parametrize("kwargs, error, message", [
    ({"score": 6}, Invalid, "whole number from 1 to 5"),
    ({"score": 0}, Invalid, "whole number from 1 to 5"),
    ({"score": 3.5}, Invalid, "whole number from 1 to 5"),
    ({"score": "4"}, Invalid, "whole number from 1 to 5"),
    ({"score": True}, Invalid, "whole number from 1 to 5"),
    ({"score": None}, Invalid, "whole number from 1 to 5"),
    ({"played_to_end": False}, Invalid, "play the clip to its end before rating"),
    ({"played_to_end": "yes"}, Invalid, "play the clip to its end before rating"),
    ({"elapsed_ms": -1}, Invalid, "cannot be negative"),
    ({"elapsed_ms": None}, Invalid, "elapsed_ms .* is required"),
    ({"fetch": False}, Invalid, "its audio was never fetched"),
])
def test_bad_votes_are_refused_and_nothing_is_stored(lab, kwargs, error, message):
    test_id = lab.create(plain_spec(clips_per_session=3))
    rater = Participant(lab, test_id, "P1").start()
    with pytest.raises(error, match=message):
        rater.vote(rater.body["items"][0]["item"], **{"score": 3, **kwargs})
    assert lab.count(Vote) == 0


def test_votes_need_a_live_session_its_items_and_answered_checks(lab):
    test_id = lab.create(plain_spec(clips_per_session=2, **WITH_CHECKS))
    rater = Participant(lab, test_id, "P1").start()
    items = [i["item"] for i in rater.body["items"]]
    with pytest.raises(Conflict, match=r"answer the setup checks first \(qualification, "):
        rater.vote(items[0], 3)
    rater.answer_checks()
    with pytest.raises(NotFound, match="no rating session with this link"):
        Participant(lab, test_id, "P1", token="forged-token").vote(items[0], 3, fetch=False)
    other = Participant(lab, test_id, "P2").start()
    with pytest.raises(NotFound, match="this session has no such item"):
        other.vote(items[0], 3, fetch=False)
    rater.rate_all()
    rater.finish()
    with pytest.raises(Conflict, match="this session is finished"):
        rater.vote(items[0], 3, fetch=False)
    with lab.sessions.begin() as db:
        close_test(db, test_id)
    with pytest.raises(Conflict, match="this test is closed"):
        other.vote(other.body["items"][0]["item"], 3, fetch=False)
    assert lab.count(Vote) == 4  # the first rater's two training and two rating votes
