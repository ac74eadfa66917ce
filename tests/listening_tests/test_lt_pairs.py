"""Comparison tests (CCR, A/B, ranking) in process: spec, order and sign correction, choice
mapping, gold pairs, results against comparison_stats, ranking assignment."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from db.models import Clip, ListeningTestItem, RatingSession, SessionItem
from listening_tests.answers import cast_vote
from listening_tests.comparison_results import answers_frame, comparison_frame
from listening_tests.comparison_stats import cmos_per_system, pairwise_preferences, win_matrix
from listening_tests.errors import Invalid, SpecError
from listening_tests.ranking import bootstrap_bradley_terry
from listening_tests.results import test_results as results_of
from listening_tests.review import finish_session
from listening_tests.sessions import get_session, item_audio, start_session
from listening_tests.spec import ListeningTestSpec
from tests.listening_tests.rating_lab import T0, make_lab

BASE = {"name": "pairs", "platform": "generic", "gold": {"auto": False, "count": 0},
        "training": {"count": 0}, "seed": 7,
        "checks": {"qualification": False, "volume": False, "stereo": False,
                   "environment": False}}


def spec(method: str, **overrides: Any) -> dict[str, Any]:
    pairs: dict[str, Any] = {"dataset": "mini", "systems": ["unprocessed", "a", "b"]}
    if method == "ccr":
        pairs = {"dataset": "mini", "systems": ["a", "b"], "reference": "clean"}
    return {**BASE, "method": method, "pairs": pairs, "votes_per_pair": 3,
            "pairs_per_session": 10, **overrides}


@pytest.fixture()
def lab(tmp_path):
    return make_lab(tmp_path, "mini")


class PairRater:
    def __init__(self, lab, test_id: int, participant: str) -> None:
        self.lab, self.now = lab, T0
        with lab.sessions.begin() as db:
            started = start_session(db, test_id, participant, now=self.now)
        self.token, self.body = started.token, started.body

    def answer(self, item: str, *, sides=("a", "b"), **answer: Any) -> bool:
        with self.lab.sessions.begin() as db:
            for side in sides:
                item_audio(db, self.lab.store, self.token, item, side=side, now=self.now)
        self.now += timedelta(seconds=5)
        with self.lab.sessions.begin() as db:
            return cast_vote(db, self.token, item, played_to_end=True, elapsed_ms=60_000,
                             now=self.now, score=answer.get("score"),
                             choice=answer.get("choice"))

    def answer_all(self, rule) -> None:
        for entry in self.body["items"]:
            self.answer(entry["item"], **rule(self.sides(entry["item"])))

    def sides(self, item: str) -> tuple[str, str, str]:
        """(system as A, system as B, role) from the stored order."""
        with self.lab.sessions() as db:
            si, ti = db.execute(select(SessionItem, ListeningTestItem).join(ListeningTestItem)
                                .where(SessionItem.public_id == item)).one()
        a, b = ti.condition, ti.pair_condition
        return (b, a, ti.role) if si.swapped else (a, b, ti.role)

    def finish(self) -> tuple[str, list[str]]:
        with self.lab.sessions.begin() as db:
            finish_session(db, self.token, now=self.now)
            rs = db.scalar(select(RatingSession).where(RatingSession.token == self.token))
            return rs.qc_status, list(rs.qc_reasons)


def test_spec_validation_and_round_trip(lab):
    parsed = ListeningTestSpec.from_dict(spec("ab"))
    assert ListeningTestSpec.from_dict(parsed.to_dict()) == parsed
    problems = []
    for bad in (spec("ccr", pairs={"dataset": "mini", "systems": ["a"]}),
                spec("ab", trapping={"enabled": True}),
                spec("ab", votes_per_clip=3),
                {**spec("acr"), "clips": {"dataset": "mini"}}):
        with pytest.raises(SpecError) as err:
            ListeningTestSpec.from_dict(bad)
        problems.append(" ".join(err.value.problems))
    assert "pairs.reference" in problems[0] and "trapping" in problems[1]
    assert "votes_per_clip" in problems[2] and "pairs" in problems[3]
    with lab.sessions() as db:
        clips = {c.name: c.id for c in db.scalars(select(Clip).where(Clip.system_id.is_not(None)))}
    s0, s1 = clips["s0.wav"], clips["s1.wav"]
    with pytest.raises(SpecError, match="different inputs"):
        lab.create(spec("ab", pairs=[{"a": s0, "b": s1}]))
    with pytest.raises(SpecError, match="no outputs of nope"):
        lab.create(spec("ab", pairs={"dataset": "mini", "systems": ["a", "nope"]}))
    assert lab.create(spec("ccr", pairs=[{"a": clips["s0_clean.wav"], "b": s0}]))


def test_ccr_sign_correction_end_to_end(lab):
    test_id = lab.create(spec("ccr"))
    rater = PairRater(lab, test_id, "P1")
    body = rater.body
    assert [s["value"] for s in body["test"]["scale"]] == list(range(-3, 4))
    assert body["test"]["question"].startswith("Compared with the first sample (A)")
    assert all("audio_url_a" in i and "audio_url" not in i for i in body["items"])
    with pytest.raises(Invalid, match="side"):
        with lab.sessions.begin() as db:
            item_audio(db, lab.store, rater.token, body["items"][0]["item"], now=T0)
    with pytest.raises(Invalid, match="play both samples"):
        rater.answer(body["items"][0]["item"], sides=("a",), score=3)
    with pytest.raises(Invalid, match="score, not a choice"):
        rater.answer(body["items"][0]["item"], choice="A")
    rater.answer_all(lambda sides: {"score": 3})  # "B much better", always
    # P.808's page stores sign-corrected answers and its variance rule sees those: the raw
    # answers never vary, the corrected ones do (both orders are drawn), so this is used.
    assert rater.finish() == ("accepted", [])
    flat = PairRater(lab, test_id, "P2")  # "processed slightly better", every time
    flat.answer_all(lambda sides: {"score": -1 if sides[0] in ("a", "b") else 1})
    assert flat.finish() == ("not_used", ["rating variance 0 < 0.1 (straight-lining)"])
    with lab.sessions() as db:
        frame = comparison_frame(db, test_id)
    frame = frame[frame["rater"] == "P1"]
    assert set(frame["raw_score"]) == {3}
    assert set(frame["swapped"]) == {True, False}  # both orders drawn
    # processed first (not swapped): B was the reference, so "B much better" is -3
    assert (frame.loc[~frame["swapped"], "score"] == -3).all()
    assert (frame.loc[frame["swapped"], "score"] == 3).all()


def test_ab_choices_map_to_systems_and_results_match_stats(lab):
    test_id = lab.create(spec("ab", pairs={"dataset": "mini", "systems": ["unprocessed", "a",
                                                                        "b"],
                                           "no_preference": False}))
    order = {"unprocessed": 0, "a": 1, "b": 2}
    for k in range(4):
        rater = PairRater(lab, test_id, f"P{k}")
        assert [c["value"] for c in rater.body["test"]["choices"]] == ["A", "B"]
        if k == 0:
            with pytest.raises(Invalid, match="choice must be one of A, B"):
                rater.answer(rater.body["items"][0]["item"], choice="none")
            with pytest.raises(Invalid, match="asks which sample"):
                rater.answer(rater.body["items"][0]["item"], score=2)
        rater.answer_all(lambda s: {"choice": "A" if order[s[0]] > order[s[1]] else "B"})
        assert rater.finish()[0] == "accepted"  # the variance rule does not apply to A/B
    with lab.sessions() as db:
        answers = answers_frame(db, test_id)
        results = results_of(db, test_id)
    winners = np.where(answers["choice"] == "a", answers["system_a"], answers["system_b"])
    assert set(winners) == {"a", "b"}  # unprocessed never wins
    wins = win_matrix(answers, ["a", "b", "unprocessed"])
    assert results["win_matrix"]["b"]["a"] == wins.loc["b", "a"] > 0
    assert results["win_matrix"]["a"]["b"] == 0
    prefs = pairwise_preferences(answers)
    got = {(p["system_a"], p["system_b"]): p for p in results["pairs"]}
    for row in prefs.itertuples():
        assert got[(row.a, row.b)]["wins_a"] == row.wins_a
        assert got[(row.a, row.b)]["p_holm"] == pytest.approx(row.p_holm)
    ranking = bootstrap_bradley_terry(answers, n_boot=200, rng=np.random.default_rng(
        results_seed(lab, test_id)), systems=["a", "b", "unprocessed"])
    assert [r["system"] for r in results["ranking"]] == list(ranking["system"]) == \
        ["b", "a", "unprocessed"]


def results_seed(lab, test_id: int) -> int:
    from db.models import ListeningTest

    with lab.sessions() as db:
        return db.get(ListeningTest, test_id).seed


def test_ccr_results_equal_cmos_per_system_and_gold_pairs(lab):
    test_id = lab.create(spec("ccr", gold={"auto": True, "count": 2, "per_session": 1}))
    outcomes = []
    for k, gold_answer in enumerate(("right", "wrong")):
        rater = PairRater(lab, test_id, f"P{k}")

        def rule(sides, gold_answer=gold_answer):
            a, b, role = sides
            if role == "gold":  # clean is the pair side; B - A as the rater hears it
                right = 3 if b == "clean" else -3
                return {"score": right if gold_answer == "right" else -right}
            return {"score": int(np.random.default_rng(len(a) + len(b)).integers(-3, 4))
                    if a != "clean" else 1}

        rater.answer_all(rule)
        outcomes.append(rater.finish())
    assert outcomes[0][0] == "accepted", outcomes[0]
    assert outcomes[1][0] == "not_used" and any("gold" in r for r in outcomes[1][1])
    with lab.sessions() as db:
        frame = comparison_frame(db, test_id)
        results = results_of(db, test_id)
    expected = cmos_per_system(frame)
    for row in results["systems"]:
        assert row["n"] == expected.loc[row["system"], "n"]
        assert row["cmos"] == pytest.approx(expected.loc[row["system"], "cmos"])


def test_ab_gold_pair_needs_the_clean_side(lab):
    test_id = lab.create(spec("ab", gold={"auto": True, "count": 2, "per_session": 1}))
    decisions = []
    for k, pick in enumerate(("clean", "degraded")):
        rater = PairRater(lab, test_id, f"G{k}")

        def rule(sides, pick=pick):
            a, _, role = sides
            if role == "gold":
                clean = "A" if a == "clean" else "B"
                return {"choice": clean if pick == "clean" else ("B" if clean == "A" else "A")}
            return {"choice": "A"}

        rater.answer_all(rule)
        decisions.append(rater.finish())
    assert decisions[0][0] == "accepted"
    assert decisions[1][0] == "not_used" and "the clean side was" in decisions[1][1][0]


def test_ranking_assignment_prefers_uncertain_pairs(lab):
    test_id = lab.create(spec("ranking", votes_per_pair=1000, pairs_per_session=6))
    order = {"unprocessed": 0, "a": 1, "b": 1}  # a and b even; unprocessed always loses
    for k in range(5):
        rater = PairRater(lab, test_id, f"R{k}")
        rater.answer_all(lambda s: {"choice": "none"} if order[s[0]] == order[s[1]] else
                         {"choice": "A" if order[s[0]] > order[s[1]] else "B"})
        assert rater.finish()[0] == "accepted"
    rater = PairRater(lab, test_id, "next")
    got = Counter(frozenset(rater.sides(i["item"])[:2]) for i in rater.body["items"])
    assert got[frozenset(("a", "b"))] > len(rater.body["items"]) / 3, got
    with lab.sessions() as db:
        assert get_session(db, rater.token)["test"]["method"] == "ranking"
        results = results_of(db, test_id)
    assert results["ranking"][-1]["system"] == "unprocessed"
