"""P.808 session rules: each alone, together, and the cross-session outlier/correlation checks."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from listening_tests.quality_control import (
    Answer,
    QcDecision,
    QcSettings,
    SessionRecord,
    evaluate_session,
    passes_variance_rule,
    rater_correlation_floor,
    rater_irr_floor,
    rating_variance,
    vote_outliers,
    vote_z_scores,
)
from tests.listening_tests.frames import frame, noise_rows, vote

VARIED = (1, 2, 3, 4, 5, 4, 3, 2, 3, 4)


def ratings(scores: tuple[float, ...] = VARIED) -> list[Answer]:
    return [Answer(clip=f"c{i}", score=s) for i, s in enumerate(scores)]


def session(
    answers: list[Answer] | None = None,
    *,
    gold: float = 5,
    trap: float = 2,
    stereo: bool = True,
    env: int = 4,
    sessions: int = 1,
) -> SessionRecord:
    """A clean session (varied ratings, right gold and trap) unless told otherwise."""
    answers = ratings() if answers is None else answers
    controls = [
        Answer(clip="gold", score=gold, is_gold=True, expected=5),
        Answer(clip="trap", score=trap, is_trap=True, expected=2),
    ]
    return SessionRecord(
        answers=tuple(answers + controls),
        stereo_check_passed=stereo,
        environment_pairs_right=env,
        rater_sessions=sessions,
    )


def test_clean_session_is_accepted() -> None:
    assert evaluate_session(session()) == QcDecision(status="accepted", reasons=())


RULES = [
    pytest.param(
        session([*ratings()[:-1], Answer("c9", 4, played_to_end=False)]),
        "rejected",
        "1 of 12 clips not played to the end (c9)",
        id="not-played-to-end",
    ),
    pytest.param(
        session(stereo=False),
        "rejected",
        "setup check failed: stereo check (both earphones) not passed",
        id="stereo-check",
    ),
    pytest.param(
        session(trap=3),
        "rejected",
        "trapping question trap answered 3, expected 2",
        id="trap-wrong",
    ),
    pytest.param(
        session(sessions=61),
        "rejected",
        "rater has taken 61 sessions, more than the 60 allowed",
        id="too-many-sessions",
    ),
    pytest.param(
        session(ratings((3,) * 10)),
        "not_used",
        "rating variance 0 < 0.1 (straight-lining)",
        id="straight-lining",
    ),
    pytest.param(
        session(gold=3),
        "not_used",
        "gold question gold answered 3, expected 5 (off by 2 > 1)",
        id="gold-off",
    ),
    pytest.param(
        session(env=1),
        "not_used",
        "environment check: 1 of 4 pairs right < 2 required",
        id="environment",
    ),
]


@pytest.mark.parametrize(("record", "status", "reason"), RULES)
def test_each_rule_alone(record: SessionRecord, status: str, reason: str) -> None:
    decision = evaluate_session(record)
    assert decision.status == status
    assert decision.reasons == (reason,)


def test_variance_reason_carries_the_numbers() -> None:
    # 24 threes and one four: variance = 1 * 24 / (25 * 24) = 0.04
    decision = evaluate_session(session(ratings((3,) * 24 + (4,))))
    assert decision.reasons == ("rating variance 0.04 < 0.1 (straight-lining)",)


def test_thresholds_are_inclusive_where_p808_says_so() -> None:
    # nine threes and one four: variance = 9 / (10 * 9) = 0.1, not < 0.1
    assert evaluate_session(session(ratings((3,) * 9 + (4,)))).status == "accepted"
    assert evaluate_session(session(gold=4)).status == "accepted"  # off by exactly 1
    assert evaluate_session(session(env=2)).status == "accepted"  # 2 of 4 is enough
    assert evaluate_session(session(sessions=60)).status == "accepted"  # at the limit


def test_variance_rule_is_exact_at_the_boundary() -> None:
    # nine 4s and one 5: n = 10, sum 41, sum of squares 169;
    # (10 * 169 - 41^2) / (10 * 9) = 9 / 90 = 1/10 exactly: P.808 uses the session
    nine_fours = (4,) * 9 + (5,)
    assert float(np.var(nine_fours, ddof=1)) < 0.1  # what floating point says
    assert rating_variance(nine_fours) == Fraction(1, 10)
    assert passes_variance_rule(nine_fours, 0.1)
    assert evaluate_session(session(ratings(nine_fours))) == QcDecision("accepted")
    # ten 4s and one 5: (11 * 185 - 45^2) / (11 * 10) = 10 / 110 = 1/11 < 1/10
    decision = evaluate_session(session(ratings((4,) * 10 + (5,))))
    assert decision == QcDecision("not_used", ("rating variance 0.0909 < 0.1 (straight-lining)",))
    # a threshold written as 0.3 means 3/10: 2, 2, 3 has variance 1/3 >= 3/10; 1, 1, 1, 2 has
    # (4 * 7 - 25) / 12 = 1/4 < 3/10
    assert passes_variance_rule((2, 2, 3), 0.3) and not passes_variance_rule((1, 1, 1, 2), 0.3)


def test_fewer_than_two_ratings_fail_the_variance_rule_as_in_p808() -> None:
    # P.808's parser gives such a session variance -1, below any threshold
    assert rating_variance((4,)) is None and not passes_variance_rule((4,), 0.1)
    decision = evaluate_session(session(ratings((4,))))
    assert decision == QcDecision(
        "not_used", ("rating variance undefined (fewer than 2 ratings) < 0.1 (straight-lining)",))
    # with the rule off (A/B has no scale to straight-line on) nothing is said
    off = dataclasses.replace(QcSettings(), min_rating_variance=0.0)
    assert evaluate_session(session(ratings((4,))), off) == QcDecision("accepted")


def test_gold_and_trap_answers_do_not_count_towards_variance() -> None:
    decision = evaluate_session(session(ratings((3,) * 10), gold=5, trap=2))
    assert decision.status == "not_used"
    assert decision.reasons[0].startswith("rating variance 0 ")


def test_all_reasons_collected_and_reject_beats_not_used() -> None:
    record = session(ratings((3,) * 10), stereo=False, trap=5, gold=1, env=0)
    decision = evaluate_session(record)
    assert decision.status == "rejected"
    assert len(decision.reasons) == 5
    assert decision.reasons[0].startswith("setup check failed")
    assert decision.reasons[1].startswith("trapping question")
    assert decision.reasons[2].startswith("rating variance")
    assert decision.reasons[3].startswith("gold question")
    assert decision.reasons[4].startswith("environment check")


def test_settings_change_the_thresholds() -> None:
    strict = QcSettings(max_sessions_per_rater=3, gold_tolerance=0, min_environment_pairs_right=4)
    decision = evaluate_session(session(sessions=4, gold=4, env=3), strict)
    assert decision.status == "rejected"
    assert len(decision.reasons) == 3
    unlimited = dataclasses.replace(QcSettings(), max_sessions_per_rater=None)
    assert evaluate_session(session(sessions=10_000), unlimited).status == "accepted"


def test_defaults_are_p808() -> None:
    s = QcSettings()
    assert (s.min_rating_variance, s.gold_tolerance, s.min_environment_pairs_right) == (0.1, 1, 2)
    assert s.min_rater_correlation is None and s.outlier_z is None


def test_malformed_records_are_refused() -> None:
    with pytest.raises(ValueError, match="expected"):
        Answer(clip="g", score=5, is_gold=True)
    with pytest.raises(ValueError, match="both"):
        Answer(clip="g", score=5, is_gold=True, is_trap=True, expected=5)
    with pytest.raises(ValueError, match="environment"):
        session(env=5)


def test_vote_outliers_against_the_other_votes() -> None:
    clip_scores = [3, 3, 4, 3, 4, 3, 4, 3, 1]
    rows = [vote("a", "X", f"r{i}", s) for i, s in enumerate(clip_scores)]
    rows += [vote("b", "X", f"r{i}", s) for i, s in enumerate([2, 2, 2, 2, 5])]  # others agree
    rows += noise_rows()
    votes = frame(rows)
    z = vote_z_scores(votes)
    others = np.array(clip_scores[:-1], dtype=float)
    expected = (1 - others.mean()) / others.std(ddof=1)  # (1 - 3.375) / 0.5175 = -4.59
    assert z.iloc[8] == pytest.approx(expected)
    marked = vote_outliers(votes)
    assert marked.index.equals(votes.index) and marked.dtype == bool
    assert marked.tolist() == [False] * 8 + [True] + [False] * (len(votes) - 9)
    # clip b: the other votes of the 5 are all 2 (no spread), so z is undefined, not infinite
    assert np.isnan(z.iloc[13])
    assert z.iloc[len(rows) - len(noise_rows()) :].isna().all()  # gold/trap/unused not judged
    assert vote_outliers(votes, z=abs(expected) + 0.01).sum() == 0


def test_rater_correlation_floor_flags_the_inverter() -> None:
    quality = [1, 2, 3, 4, 5, 2, 4, 1, 5, 3]
    rows = []
    for rater in ["r1", "r2", "r3"]:
        rows += [vote(f"c{i}", "X", rater, q) for i, q in enumerate(quality)]
    rows += [vote(f"c{i}", "X", "inv", 6 - q) for i, q in enumerate(quality)]
    out = rater_correlation_floor(frame(rows), min_correlation=0.5)
    assert out["below_floor"].tolist() == [True, False, False, False]  # inv, r1, r2, r3
    assert out.loc["inv", "reason"].startswith("correlation with other raters r=-1 < 0.5")
    assert (out.loc[["r1", "r2", "r3"], "reason"] == "").all()


def test_p808_irr_floor_counts_undefined_reliability_as_below() -> None:
    rows = [vote(c, "X", r, s) for c, scores in {"a": (1, 2, 3), "b": (3, 3, 3),
                                                 "c": (5, 4, 3)}.items()
            for r, s in zip(("r1", "r2", "r3"), scores, strict=True)]
    flags = rater_irr_floor(frame(rows), 0.7)
    # r1 and r2 rise with the clip MOS (2, 3, 4): r = 1; r3 gave 3 everywhere: undefined
    assert flags["irr"].loc[["r1", "r2"]].tolist() == pytest.approx([1.0, 1.0])
    assert flags["below_floor"].tolist() == [False, False, True]
    assert flags.loc["r3", "reason"] == (
        "P.808 inter-rater reliability undefined < 0.7 over 3 clips")
