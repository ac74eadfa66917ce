"""Finishing sessions: every P.808 quality-control path end to end, and logged overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from db.models import QcOverride, Rater, RatingSession
from listening_tests.downloads import export_file
from listening_tests.errors import Conflict, Invalid, NotFound
from listening_tests.review import finish_session, list_overrides, override_decision
from tests.listening_tests.rating_lab import T0, make_lab, plain_spec
from tests.listening_tests.rating_lab import Rater as Participant

CONTROLLED = {"checks": {"qualification": True, "volume": True, "stereo": True,
                         "environment": True},
              "gold": {"auto": True, "count": 2}, "trapping": {"enabled": True},
              "training": {"count": 1}, "clips_per_session": 4}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    return make_lab(tmp_path_factory.mktemp("review"), "mini")


@pytest.fixture(scope="module")
def test_id(lab):
    return lab.create(plain_spec(votes_per_clip=50, **CONTROLLED))


def wrong_environment(rater: Participant, how_many: int) -> dict[str, str]:
    setup = rater.setup()["environment"]
    flip = {"A": "B", "B": "same", "same": "A"}
    return {f"environment-{i + 1}": flip[setup[i]["expected"]] for i in range(how_many)}


def run(lab, test_id, name, *, checks=None, **rate):
    rater = Participant(lab, test_id, name).start()
    wrong = checks(rater) if callable(checks) else checks
    rater.answer_checks(wrong=wrong)
    rater.rate_all(**rate)
    assert rater.finish()["status"] == "submitted"
    return rater.decision()


@pytest.mark.parametrize("name, checks, rate, status, reason", [
    ("honest", None, {}, "accepted", None),
    ("hasty", None, {"elapsed_ms": 300}, "rejected", "not played to the end"),
    ("one-ear", {"stereo": {"left": "9", "right": "9"}}, {}, "rejected",
     "setup check failed: stereo check (both earphones) not passed"),
    ("trapped", None, {"overrides": {"trap": lambda expected: expected % 5 + 1}}, "rejected",
     "trapping question trap-"),
    ("flat", None, {"scores": [3]}, "not_used", "rating variance 0 < 0.1 (straight-lining)"),
    ("gold-off", None, {"overrides": {"gold": 3}}, "not_used", "(off by 2 > 1)"),
    ("noisy-room", lambda r: wrong_environment(r, 3), {}, "not_used",
     "environment check: 1 of 4 pairs right < 2 required"),
    ("unfit", {"qualification": {"hearing": "no", "headphones": "yes", "quiet": "yes"}}, {},
     "not_used", "qualification not met: Do you have normal hearing"),
])
def test_quality_control_paths(lab, test_id, name, checks, rate, status, reason):
    decision, reasons = run(lab, test_id, name, checks=checks, **rate)
    assert decision == status, reasons
    if reason is None:
        assert reasons == []
    else:
        assert any(reason in r for r in reasons), reasons


def test_votes_faster_than_the_clip_fail_the_server_clock_check(tmp_path):
    lab = make_lab(tmp_path, "mini")
    test_id = lab.create(plain_spec(quality_control={"server_clock_check": True},
                                    clips_per_session=3))
    decision = run(lab, test_id, "quick", after=0.2)
    assert decision[0] == "rejected" and "3 of 3 clips not played to the end" in decision[1][0]
    off = lab.create(plain_spec(quality_control={"min_listening_fraction": None},
                                clips_per_session=3))
    assert run(lab, off, "quick", after=0.2, elapsed_ms=0)[0] == "accepted"


def test_too_many_sessions_are_rejected_even_if_one_slipped_through(lab):
    test_id = lab.create(plain_spec(sessions_per_rater=1, clips_per_session=3))
    assert run(lab, test_id, "busy")[0] == "accepted"
    other = Participant(lab, test_id, "helper").start()
    with lab.sessions.begin() as db:  # as if a second server process had started it
        busy = db.scalar(select(Rater.id).where(Rater.external_id == "busy",
                                                Rater.test_id == test_id))
        db.execute(update(RatingSession).where(RatingSession.token == other.token)
                   .values(rater_id=busy))
    other.rate_all()
    other.finish()
    assert other.decision() == ("rejected", ["rater has taken 2 sessions, more than the 1 "
                                             "allowed"])


def test_finishing_needs_every_item_and_answers_the_same_twice(lab, test_id):
    rater = Participant(lab, test_id, "finisher").start()
    rater.answer_checks()
    items = [i["item"] for i in rater.body["items"]]
    rater.vote(items[0], 4)
    with pytest.raises(Conflict, match=f"{len(items) - 1} are not rated yet") as raised:
        rater.finish()
    assert raised.value.details["unanswered"] == items[1:]
    rater.rate_all()
    first = rater.finish()
    assert first == rater.finish()
    assert first["completion_code"] and first["redirect_url"] is None
    with pytest.raises(NotFound), lab.sessions.begin() as db:
        finish_session(db, "no-such-token")
    idle = Participant(lab, test_id, "idle").start()
    with pytest.raises(Conflict, match="expired after 60 minutes"), lab.sessions.begin() as db:
        finish_session(db, idle.token, now=T0 + timedelta(hours=2))


def test_an_override_is_logged_and_exported(lab, test_id):
    rater = Participant(lab, test_id, "flat-again").start()
    rater.answer_checks()
    rater.rate_all(scores=[2])
    rater.finish()
    with lab.sessions() as db:
        session_id = db.scalar(select(RatingSession.id).where(
            RatingSession.token == rater.token))
    with lab.sessions.begin() as db:
        record = override_decision(db, session_id, "accepted", reason="a quiet, honest rater",
                                   admin="alice", now=T0)
    assert (record.old_status, record.new_status, record.admin) == ("not_used", "accepted",
                                                                   "alice")
    assert rater.decision()[0] == "accepted"
    assert "rating variance" in rater.decision()[1][0]  # the automatic reasons stay
    with lab.sessions() as db:
        assert [o.reason for o in list_overrides(db, test_id)] == ["a quiet, honest rater"]
        report = export_file(db, lab.store, test_id, "accept_reject.csv").content.decode()
    assert "overridden by alice: a quiet, honest rater (was not_used)" in report
    for args, error, message in [
            ((session_id, "accepted"), Conflict, "already accepted"),
            ((session_id, "great"), Invalid, "must be one of accepted, not_used, rejected"),
            ((99999, "accepted"), NotFound, "no rating session with id 99999")]:
        with pytest.raises(error, match=message), lab.sessions.begin() as db:
            override_decision(db, *args, reason="because", admin="alice")
    with pytest.raises(Invalid, match="give a reason"), lab.sessions.begin() as db:
        override_decision(db, session_id, "rejected", reason=" ", admin="alice")
    unfinished = Participant(lab, test_id, "unfinished").start()
    with lab.sessions() as db:
        unfinished_id = db.scalar(select(RatingSession.id).where(
            RatingSession.token == unfinished.token))
    with pytest.raises(Conflict, match="only a submitted session"), lab.sessions.begin() as db:
        override_decision(db, unfinished_id, "rejected", reason="x", admin="alice")
    assert lab.count(QcOverride) == 1
