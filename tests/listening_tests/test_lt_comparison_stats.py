"""Comparison-test statistics (CCR, A/B, Bradley-Terry) against hand arithmetic and scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from listening_tests.comparison_stats import (
    cmos_per_system,
    pairwise_preferences,
    preference,
    sign_corrected,
    sign_corrected_scores,
    win_matrix,
)
from listening_tests.ranking import bootstrap_bradley_terry, bradley_terry, next_pairs
from tests.listening_tests.frames import frame, noise_rows, vote


def ab(system_a: str, system_b: str, choice: str) -> dict[str, object]:
    """One A/B answer: ``system_a`` played first."""
    return {"system_a": system_a, "system_b": system_b, "choice": choice}


def simulate_answers(
    log_strengths: dict[str, float], n: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``n`` answers on random pairs, each won with the Bradley-Terry probability."""
    names = list(log_strengths)
    rows = []
    for _ in range(n):
        x, y = rng.choice(len(names), size=2, replace=False)
        p_x = 1.0 / (1.0 + math.exp(log_strengths[names[y]] - log_strengths[names[x]]))
        rows.append(ab(names[x], names[y], "a" if rng.random() < p_x else "b"))
    return pd.DataFrame(rows)


# --- CCR ---------------------------------------------------------------------------------


@pytest.mark.parametrize("score", range(-3, 4))
def test_sign_correction_both_orders(score: int) -> None:
    # Reference first: "processed compared with reference" is the answer itself.
    assert sign_corrected(score, processed_first=False) == score
    # Processed first: the answer rates the reference against the processed clip.
    assert sign_corrected(score, processed_first=True) == -score


def test_sign_correction_example_and_bounds() -> None:
    # Processed played first, rater says the second (the reference) is "better" (+2):
    # the processed clip is worse than its reference.
    assert sign_corrected(2, True) == -2
    for bad in (4, -4, 1.5, True):
        with pytest.raises(ValueError):
            sign_corrected(bad, False)  # type: ignore[arg-type]
    out = sign_corrected_scores([3, -1, 0, 2], [True, False, True, False])
    assert out.tolist() == [-3, -1, 0, 2]
    with pytest.raises(ValueError):
        sign_corrected_scores([4], [True])
    with pytest.raises(ValueError):
        sign_corrected_scores([1, 2], [True])


def test_cmos_by_hand() -> None:
    rows = [
        vote("a1", "X", "r1", 1),
        vote("a2", "X", "r2", 2),
        vote("a1", "X", "r3", 3),
        vote("b1", "Y", "r1", -1),
        vote("b1", "Y", "r2", 0),
        vote("c1", "Z", "r1", 2),
        *[{**r, "score": max(-3, min(3, r["score"]))} for r in noise_rows()],
    ]
    out = cmos_per_system(frame(rows))
    assert list(out.index) == ["X", "Y", "Z"]
    x = out.loc["X"]
    # X: 1, 2, 3 -> mean 2, deviations 1+0+1 = 2, variance 1
    assert x["n"] == 3 and x["cmos"] == pytest.approx(2.0) and x["std"] == pytest.approx(1.0)
    assert x["ci95"] == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert x["ci95_normal"] == pytest.approx(1.96 / math.sqrt(3))
    # t = 2 / (1 / sqrt 3) = 2 sqrt 3 on 2 degrees of freedom
    assert x["p_value"] == pytest.approx(2 * stats.t.sf(2 * math.sqrt(3), 2))
    y = out.loc["Y"]
    # Y: -1, 0 -> mean -0.5, variance 0.5
    assert y["cmos"] == pytest.approx(-0.5) and y["std"] == pytest.approx(math.sqrt(0.5))
    assert y["p_value"] == pytest.approx(stats.ttest_1samp([-1, 0], 0).pvalue)
    z = out.loc["Z"]
    assert z["n"] == 1 and math.isnan(z["std"]) and math.isnan(z["ci95"])
    assert math.isnan(z["p_value"])


def test_cmos_rejects_uncorrected_range() -> None:
    with pytest.raises(ValueError):
        cmos_per_system(frame([vote("a", "X", "r", 4), vote("a", "X", "s", 1)]))


# --- A/B preference ----------------------------------------------------------------------


@pytest.mark.parametrize(("a", "b"), [(14, 6), (3, 3), (0, 9), (25, 1)])
def test_preference_equals_scipy(a: int, b: int) -> None:
    res = preference(a, b)
    ref = stats.binomtest(a, a + b, 0.5)
    ci = ref.proportion_ci(confidence_level=0.95, method="exact")
    assert res.n == a + b and res.share == pytest.approx(a / (a + b))
    assert res.p_value == pytest.approx(ref.pvalue)
    assert (res.ci_low, res.ci_high) == (pytest.approx(ci.low), pytest.approx(ci.high))
    wilson = preference(a, b, ci_method="wilson")
    ci_w = ref.proportion_ci(confidence_level=0.95, method="wilson")
    assert (wilson.ci_low, wilson.ci_high) == (pytest.approx(ci_w.low), pytest.approx(ci_w.high))


def test_preference_tie_rules() -> None:
    # 14 vs 6 with 4 ties: "drop" is the sign test on 20 answers.
    dropped = preference(14, 6, 4, tie_rule="drop")
    assert dropped.n == 20 and dropped.p_value == pytest.approx(stats.binomtest(14, 20).pvalue)
    # "split": 16 of 24, share (14 + 2) / 24.
    split = preference(14, 6, 4, tie_rule="split")
    assert split.n == 24 and split.share == pytest.approx(16 / 24)
    assert split.p_value == pytest.approx(stats.binomtest(16, 24).pvalue)
    # An odd tie count keeps the half in the share and rounds the test's count towards n/2.
    odd = preference(6, 2, 3, tie_rule="split")
    assert odd.share == pytest.approx(7.5 / 11)
    assert odd.p_value == pytest.approx(stats.binomtest(7, 11).pvalue)
    odd_b = preference(2, 6, 3, tie_rule="split")
    assert odd_b.p_value == pytest.approx(stats.binomtest(4, 11).pvalue)
    empty = preference(0, 0, 5)
    assert empty.n == 0 and math.isnan(empty.share) and math.isnan(empty.p_value)
    with pytest.raises(ValueError):
        preference(-1, 2)
    with pytest.raises(ValueError):
        preference(1, 2, tie_rule="half")  # type: ignore[arg-type]


def test_win_matrix_counts_and_ties() -> None:
    answers = pd.DataFrame(
        [
            ab("X", "Y", "a"),  # X beats Y
            ab("Y", "X", "a"),  # Y beats X
            ab("Y", "X", "B"),  # X beats Y (choice is case-insensitive)
            ab("X", "Z", "none"),  # tie
            ab("Z", "Y", "b"),  # Y beats Z
        ]
    )
    m = win_matrix(answers)
    assert list(m.index) == ["X", "Y", "Z"] and m.index.name == "winner"
    expected = np.array([[0, 2, 0.5], [1, 0, 1], [0.5, 0, 0]])
    np.testing.assert_allclose(m.to_numpy(), expected)
    dropped = win_matrix(answers, tie_rule="drop")
    assert dropped.loc["X", "Z"] == 0 and dropped.loc["Z", "X"] == 0
    wider = win_matrix(answers, ["Z", "Y", "X", "W"])
    assert wider.loc["X", "Y"] == 2 and wider.loc["W"].sum() == 0
    with pytest.raises(ValueError):
        win_matrix(answers, ["X", "Y"])
    with pytest.raises(ValueError):
        win_matrix(pd.DataFrame([ab("X", "X", "a")]))
    with pytest.raises(ValueError):
        win_matrix(pd.DataFrame([ab("X", "Y", "maybe")]))


def test_answer_flags_filter_and_pairwise_table() -> None:
    rows = [ab("X", "Y", "a")] * 9 + [ab("Y", "X", "a")] + [ab("X", "Y", "none")]
    flagged = pd.DataFrame(rows).assign(is_gold=False, is_trap=False, accepted=True, used=True)
    bad = pd.DataFrame([ab("Y", "X", "a")] * 5).assign(
        is_gold=False, is_trap=False, accepted=False, used=True
    )
    table = pairwise_preferences(pd.concat([flagged, bad], ignore_index=True))
    row = table.iloc[0]
    assert (row["a"], row["b"], row["wins_a"], row["wins_b"], row["ties"]) == ("X", "Y", 9, 1, 1)
    assert row["p"] == pytest.approx(stats.binomtest(9, 10).pvalue)
    assert row["p_holm"] == pytest.approx(row["p"]) and bool(row["significant"])
    with pytest.raises(ValueError):
        pairwise_preferences(pd.DataFrame(rows).assign(accepted=True))


# --- Bradley-Terry -----------------------------------------------------------------------


def _ml_log_strengths(wins: np.ndarray, prior: float) -> np.ndarray:
    """Direct (penalised) maximum likelihood with scipy, for comparison with the MM fit."""

    def nll(b: np.ndarray) -> float:
        diff = b[:, None] - b[None, :]
        value = -np.sum(wins * -np.logaddexp(0.0, -diff))
        # prior: `prior` wins and losses against a fixed opponent at 0
        value += prior * np.sum(np.logaddexp(0.0, -b) + np.logaddexp(0.0, b))
        if prior == 0:
            value += b.sum() ** 2  # fix the free scale
        return float(value)

    res = optimize.minimize(nll, np.zeros(wins.shape[0]), method="BFGS", options={"gtol": 1e-10})
    return res.x - res.x.mean()


@pytest.mark.parametrize("prior", [0.0, 1.0])
def test_bradley_terry_tiny_matrix_matches_direct_ml(prior: float) -> None:
    wins = np.array([[0, 3, 2], [1, 0, 4], [2, 1, 0]], dtype=float)
    fit = bradley_terry(wins, prior_strength=prior)
    assert fit.converged
    assert fit.log_strengths.mean() == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(fit.log_strengths, _ml_log_strengths(wins, prior), atol=1e-5)
    assert np.argsort(-fit.log_strengths).tolist() == [0, 1, 2]


def test_bradley_terry_two_systems_closed_form() -> None:
    # Two systems, 8 to 2: the ML odds are 4, so b_0 - b_1 = log 4.
    fit = bradley_terry(
        pd.DataFrame([[0, 8], [2, 0]], index=["P", "Q"], columns=["P", "Q"]), prior_strength=0
    )
    assert fit.systems == ("P", "Q")
    assert fit.log_strengths[0] - fit.log_strengths[1] == pytest.approx(math.log(4))
    assert fit.win_probability("P", "Q") == pytest.approx(0.8)


def test_bradley_terry_recovers_known_strengths() -> None:
    truth = {"A": -1.0, "B": -0.3, "C": 0.2, "D": 1.1}
    answers = simulate_answers(truth, 6000, np.random.default_rng(7))
    fit = bradley_terry(win_matrix(answers), prior_strength=1.0)
    assert fit.systems == ("A", "B", "C", "D")
    np.testing.assert_allclose(fit.log_strengths, list(truth.values()), atol=0.12)
    assert np.argsort(fit.log_strengths).tolist() == [0, 1, 2, 3]


def test_prior_keeps_undefeated_system_finite() -> None:
    wins = np.array([[0, 5, 5], [0, 0, 4], [0, 1, 0]], dtype=float)  # system 0 never loses
    with pytest.raises(ValueError):
        bradley_terry(wins, prior_strength=0.0)
    fit = bradley_terry(wins, prior_strength=1.0)
    assert fit.converged and np.isfinite(fit.log_strengths).all()
    assert fit.log_strengths[0] > fit.log_strengths[1] > fit.log_strengths[2]
    np.testing.assert_allclose(fit.log_strengths, _ml_log_strengths(wins, 1.0), atol=1e-5)
    # A stronger prior pulls every system towards the average.
    strong = bradley_terry(wins, prior_strength=10.0)
    assert np.ptp(strong.log_strengths) < np.ptp(fit.log_strengths)
    # No answers at all: everyone is average.
    np.testing.assert_allclose(bradley_terry(np.zeros((3, 3))).log_strengths, 0.0)


def test_bradley_terry_rejects_bad_matrices() -> None:
    for bad in (np.zeros((2, 3)), np.array([[0, -1], [1, 0]]), np.array([[0, np.nan], [1, 0]])):
        with pytest.raises(ValueError):
            bradley_terry(bad)
    with pytest.raises(ValueError):
        bradley_terry(pd.DataFrame([[0, 1], [1, 0]], index=["a", "b"], columns=["b", "a"]))


def test_bootstrap_contains_truth_and_flags_preliminary() -> None:
    truth = {"A": -0.8, "B": -0.2, "C": 0.3, "D": 0.7}  # mean zero, like the fit
    # A fixed seed: four 95 % intervals all cover their truth for about 4 seeds in 5 (checked
    # over 40 seeds: bootstrap spread matched the spread of the estimates, bias < 0.01).
    answers = simulate_answers(truth, 3000, np.random.default_rng(7))
    table = bootstrap_bradley_terry(answers, n_boot=200, rng=np.random.default_rng(0))
    assert list(table.columns) == [
        "system", "strength", "ci_low", "ci_high", "rank", "n_comparisons", "preliminary"
    ]  # fmt: skip
    assert table["system"].tolist() == ["D", "C", "B", "A"]  # best first
    assert table["rank"].tolist() == [1, 2, 3, 4]
    by = table.set_index("system")
    for name, value in truth.items():
        assert by.loc[name, "ci_low"] < value < by.loc[name, "ci_high"]
        assert by.loc[name, "ci_low"] < by.loc[name, "strength"] < by.loc[name, "ci_high"]
        assert by.loc[name, "strength"] == pytest.approx(value, abs=0.15)
    assert by["n_comparisons"].sum() == 2 * len(answers)
    assert not by["preliminary"].any()

    few = pd.DataFrame([ab("E", "A", "a")] * 4 + [ab("B", "E", "b")] * 3)  # E: 7 answers, unbeaten
    wide = bootstrap_bradley_terry(
        pd.concat([answers, few], ignore_index=True),
        n_boot=50,
        rng=np.random.default_rng(0),
        systems=["A", "B", "C", "D", "E", "F"],
    ).set_index("system")
    assert wide.loc["E", "n_comparisons"] == 7 and bool(wide.loc["E", "preliminary"])
    assert wide.loc["F", "n_comparisons"] == 0 and bool(wide.loc["F", "preliminary"])
    assert not wide.loc[list(truth), "preliminary"].any()
    assert np.isfinite(wide[["strength", "ci_low", "ci_high"]].to_numpy()).all()
    # E's interval is wide: seven answers say little next to D's 1500 (the mean-zero shift
    # passes some of E's spread on to every system, D included).
    width = wide["ci_high"] - wide["ci_low"]
    assert width["E"] > 2 * width["D"]

    again = bootstrap_bradley_terry(answers, n_boot=20, rng=np.random.default_rng(1))
    pd.testing.assert_frame_equal(
        again, bootstrap_bradley_terry(answers, n_boot=20, rng=np.random.default_rng(1))
    )
    with pytest.raises(ValueError):
        bootstrap_bradley_terry(answers, n_boot=10)


# --- pair selection ----------------------------------------------------------------------


def picks_sets(picks: list[tuple[str, str]]) -> list[frozenset[str]]:
    """Pairs without their presentation order."""
    return [frozenset(p) for p in picks]


def test_next_pairs_prefers_unsampled_then_uncertain() -> None:
    systems = ["A", "B", "C", "D"]
    # A-B: many answers, A far ahead (certain). C-D: many answers, even (uncertain).
    answers = pd.DataFrame(
        [ab("A", "B", "a")] * 30
        + [ab("C", "D", "a")] * 15
        + [ab("D", "C", "a")] * 15
        + [ab("A", "C", "a")] * 2
        + [ab("B", "D", "b")] * 2
    )
    picks = next_pairs(answers, systems, 2, np.random.default_rng(0))
    # A-D and B-C have no answers yet: they come first.
    assert {frozenset(p) for p in picks} == {frozenset("AD"), frozenset("BC")}
    # Among the well-sampled pairs the even C-D is asked again long before the decided A-B.
    longer = next_pairs(answers, systems, 20, np.random.default_rng(0))
    order = [frozenset(p) for p in longer]
    assert frozenset("CD") in order and frozenset("AB") not in order
    assert order[:2] == picks_sets(picks)
    for x, y in longer:
        assert x != y and {x, y} <= set(systems)


def test_next_pairs_without_answers_covers_all_pairs_and_repeats() -> None:
    systems = ["A", "B", "C"]
    empty = pd.DataFrame(columns=["system_a", "system_b", "choice"])
    picks = next_pairs(empty, systems, 6, np.random.default_rng(5))
    pairs = [frozenset(p) for p in picks]
    assert set(pairs[:3]) == {frozenset("AB"), frozenset("AC"), frozenset("BC")}
    assert set(pairs[3:]) == set(pairs[:3])
    assert picks == next_pairs(empty, systems, 6, np.random.default_rng(5))
    assert len({p for p in picks}) > 3  # presentation order varies
    with pytest.raises(ValueError):
        next_pairs(empty, ["A"], 1, np.random.default_rng(0))
    with pytest.raises(ValueError):
        next_pairs(empty, ["A", "A"], 1, np.random.default_rng(0))
