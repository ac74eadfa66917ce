"""MOS statistics checked against arithmetic written out by hand and against scipy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from listening_tests.statistics import (
    holm_correction,
    mos_summary,
    p808_inter_rater_reliability,
    pairwise_differences,
    per_clip,
    per_condition,
    rater_reliability,
    rating_votes,
    split_half_reliability,
)
from tests.listening_tests.frames import frame, noise_rows, vote


def test_mos_summary_by_hand() -> None:
    s = mos_summary([1, 2, 3, 4, 5])
    # mean 3; squared deviations 4+1+0+1+4 = 10; variance 10/4 = 2.5
    std = math.sqrt(2.5)
    assert s.n == 5
    assert s.mos == pytest.approx(3.0)
    assert s.std == pytest.approx(std)
    assert s.ci95 == pytest.approx(stats.t.ppf(0.975, 4) * std / math.sqrt(5))
    assert s.ci95_normal == pytest.approx(1.96 * std / math.sqrt(5))


def test_mos_summary_single_vote_and_empty() -> None:
    s = mos_summary([4])
    assert (s.n, s.mos) == (1, 4.0)
    assert math.isnan(s.std) and math.isnan(s.ci95) and math.isnan(s.ci95_normal)
    with pytest.raises(ValueError, match="at least one"):
        mos_summary([])
    with pytest.raises(ValueError, match="NaN"):
        mos_summary([1.0, float("nan")])


def clean_rows() -> list[dict[str, object]]:
    return [
        vote("a", "X", "r1", 1),
        vote("a", "X", "r2", 2),
        vote("a", "X", "r3", 3),
        vote("b", "X", "r1", 5),
        vote("c", "Y", "r2", 4),
        vote("c", "Y", "r3", 5),
    ]


def test_per_clip_by_hand() -> None:
    out = per_clip(frame(clean_rows()))
    assert list(out.columns) == ["n", "mos", "std", "ci95", "ci95_normal"]
    assert list(out.index) == ["a", "b", "c"]
    a = out.loc["a"]
    # [1, 2, 3]: mean 2, variance (1 + 0 + 1) / 2 = 1
    assert a["n"] == 3 and a["mos"] == pytest.approx(2.0) and a["std"] == pytest.approx(1.0)
    assert a["ci95"] == pytest.approx(stats.t.ppf(0.975, 2) / math.sqrt(3))
    assert a["ci95_normal"] == pytest.approx(1.96 / math.sqrt(3))
    b = out.loc["b"]
    assert b["n"] == 1 and b["mos"] == 5.0
    assert np.isnan(b["std"]) and np.isnan(b["ci95"]) and np.isnan(b["ci95_normal"])


def test_per_condition_pools_votes_not_clips() -> None:
    out = per_condition(frame(clean_rows()))
    x = out.loc["X"]
    # X pools a's [1, 2, 3] and b's [5]: n = 4 votes (not 2 clips), mean 11/4 = 2.75
    # squared deviations 1.75² + 0.75² + 0.25² + 2.25² = 8.75, variance 8.75 / 3
    std = math.sqrt(8.75 / 3)
    assert x["n"] == 4
    assert x["mos"] == pytest.approx(2.75)
    assert x["std"] == pytest.approx(std)
    assert x["ci95"] == pytest.approx(stats.t.ppf(0.975, 3) * std / 2.0)
    assert x["ci95_normal"] == pytest.approx(1.96 * std / 2.0)
    assert out.loc["Y", "mos"] == pytest.approx(4.5)


def test_gold_trap_unused_and_rejected_votes_are_excluded() -> None:
    clean = frame(clean_rows())
    noisy = frame(clean_rows() + noise_rows())
    assert len(rating_votes(noisy)) == len(clean)
    pd.testing.assert_frame_equal(per_clip(noisy), per_clip(clean))
    pd.testing.assert_frame_equal(per_condition(noisy), per_condition(clean))
    pd.testing.assert_frame_equal(pairwise_differences(noisy), pairwise_differences(clean))


def test_bad_votes_tables_are_refused() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        per_clip(frame(clean_rows()).drop(columns="used"))
    bad = frame(clean_rows())
    bad["is_gold"] = bad["is_gold"].astype(object)
    bad.loc[0, "is_gold"] = None
    with pytest.raises(ValueError, match="is_gold"):
        rating_votes(bad)


def test_holm_hand_worked_example() -> None:
    # sorted 0.01, 0.03, 0.04 -> 3*0.01, 2*0.03, 1*0.04 = 0.03, 0.06, 0.04 -> running max
    # 0.03, 0.06, 0.06; mapped back to the input order [0.01, 0.04, 0.03]:
    np.testing.assert_allclose(holm_correction([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06])


def test_holm_caps_keeps_order_and_passes_nan() -> None:
    np.testing.assert_allclose(holm_correction([0.5, 0.6]), [1.0, 1.0])
    out = holm_correction([0.02, np.nan, 0.01])
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], [0.02, 0.02])  # m = 2: 2*0.01, max(0.02, 1*0.02)
    p = np.random.default_rng(0).uniform(0, 0.2, size=12)
    adjusted = holm_correction(p)
    order = np.argsort(p)
    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted >= p) and np.all(adjusted <= 1)
    with pytest.raises(ValueError):
        holm_correction([1.5])


def three_conditions() -> pd.DataFrame:
    scores = {
        "A": [1, 2, 1, 2, 1, 2, 2, 1],
        "B": [4, 5, 4, 5, 5, 4, 4, 5],
        "C": [4, 4, 5, 3, 4, 5, 4, 3],
    }
    rows = [
        vote(f"{cond}{i}", cond, f"r{i}", s)
        for cond, values in scores.items()
        for i, s in enumerate(values)
    ]
    return frame(rows)


def test_pairwise_welch_equals_scipy_and_holm() -> None:
    votes = three_conditions()
    out = pairwise_differences(votes)
    assert list(out[["a", "b"]].itertuples(index=False, name=None)) == [
        ("A", "B"),
        ("A", "C"),
        ("B", "C"),
    ]
    groups = {c: g["score"].to_numpy(float) for c, g in votes.groupby("condition")}
    for row in out.itertuples():
        expected = stats.ttest_ind(groups[row.a], groups[row.b], equal_var=False)
        assert row.p == pytest.approx(expected.pvalue)
        assert row.t == pytest.approx(expected.statistic)
        assert row.diff == pytest.approx(groups[row.a].mean() - groups[row.b].mean())
        assert (row.n_a, row.n_b) == (8, 8)
    np.testing.assert_allclose(out["p_holm"], holm_correction(out["p"]))
    assert out["significant"].tolist() == list(out["p_holm"] < 0.05)
    assert out.set_index(["a", "b"]).loc[("A", "B"), "significant"]


def test_pairwise_single_vote_condition_is_nan_and_not_significant() -> None:
    votes = frame([*three_conditions().to_dict("records"), vote("D0", "D", "r0", 5)])
    out = pairwise_differences(votes).set_index(["a", "b"])
    assert np.isnan(out.loc[("A", "D"), "p"]) and not out.loc[("A", "D"), "significant"]
    # the three defined pairs are still Holm-corrected among themselves (m = 3)
    defined = out.dropna(subset=["p"])
    np.testing.assert_allclose(defined["p_holm"], holm_correction(defined["p"]))


def test_rater_reliability_leave_one_out_by_hand() -> None:
    rows = [
        vote("c1", "X", "A", 1),
        vote("c1", "X", "B", 2),
        vote("c1", "X", "C", 1),
        vote("c2", "X", "A", 3),
        vote("c2", "X", "B", 3),
        vote("c2", "X", "C", 4),
        vote("c3", "X", "A", 5),
        vote("c3", "X", "B", 4),
        vote("c3", "X", "C", 4),
        vote("c4", "X", "A", 2),  # nobody else rated c4: not paired
    ]
    out = rater_reliability(frame(rows))
    # A's votes on c1..c3 against the mean of B and C: 1.5, 3.5, 4.0
    expected = np.corrcoef([1, 3, 5], [1.5, 3.5, 4.0])[0, 1]
    assert out.loc["A", "r"] == pytest.approx(expected)
    assert (out.loc["A", "n_votes"], out.loc["A", "n_paired"]) == (4, 3)
    # B against A and C: 1.0, 3.5, 4.5
    assert out.loc["B", "r"] == pytest.approx(np.corrcoef([2, 3, 4], [1.0, 3.5, 4.5])[0, 1])


def test_p808_irr_includes_the_rater_and_needs_three_votes_by_hand() -> None:
    rows = [
        vote("c1", "X", "A", 1),
        vote("c1", "X", "B", 2),
        vote("c1", "X", "C", 1),
        vote("c2", "X", "A", 3),
        vote("c2", "X", "B", 3),
        vote("c2", "X", "C", 4),
        vote("c3", "X", "A", 5),
        vote("c3", "X", "B", 4),
        vote("c3", "X", "C", 4),
        vote("c4", "X", "A", 2),  # one vote: below P.808's three, not correlated
        vote("c4", "X", "B", 1),
        *noise_rows(),
    ]
    out = p808_inter_rater_reliability(frame(rows))
    # clip MOS over all three raters, A included: c1 4/3, c2 10/3, c3 13/3
    mos = [4 / 3, 10 / 3, 13 / 3]
    assert out.loc["A", "irr"] == pytest.approx(stats.pearsonr([1, 3, 5], mos)[0], abs=1e-12)
    assert out.loc["B", "irr"] == pytest.approx(stats.pearsonr([2, 3, 4], mos)[0], abs=1e-12)
    assert out.loc["A", "n_samples"] == 3
    # higher than the leave-one-out r of the same rater (self-agreement counts here)
    assert out.loc["A", "irr"] > rater_reliability(frame(rows)).loc["A", "r"]
    flat = p808_inter_rater_reliability(frame([vote(c, "X", r, 3 if r == "F" else s)
                                               for c, s in (("a", 1), ("b", 5))
                                               for r in ("F", "G", "H")]))
    assert np.isnan(flat.loc["F", "irr"])  # no spread: P.808 writes -2


def test_rater_reliability_flags_scale_inverter() -> None:
    rng = np.random.default_rng(1)
    quality = np.tile([1, 2, 3, 4, 5], 4)
    rows = []
    for rater in ["r1", "r2", "r3", "r4", "inv"]:
        noise = rng.integers(-1, 2, size=quality.size) * (rng.random(quality.size) < 0.3)
        given = np.clip(quality + noise, 1, 5)
        if rater == "inv":
            given = 6 - given
        rows += [vote(f"c{i}", "X", rater, int(s)) for i, s in enumerate(given)]
    rows.append(vote("solo", "X", "once", 3))
    out = rater_reliability(frame(rows))
    assert out.loc["inv", "r"] < -0.8
    assert (out.loc[["r1", "r2", "r3", "r4"], "r"] > 0.7).all()
    assert np.isnan(out.loc["once", "r"]) and out.loc["once", "n_paired"] == 0


def panel(rng: np.random.Generator, consistent: bool, n_conditions: int) -> pd.DataFrame:
    """16 raters, one clip per condition; consistent raters hear the quality, random ones guess."""
    quality = np.linspace(1.2, 4.8, n_conditions)
    rows = []
    for r in range(16):
        for c, q in enumerate(quality):
            if consistent:
                score = int(np.clip(np.rint(q + rng.normal(0, 0.5)), 1, 5))
            else:
                score = int(rng.integers(1, 6))
            rows.append(vote(f"c{c}", f"sys{c}", f"r{r}", score))
    return frame(rows)


def test_split_half_reliability_consistent_raters_near_one() -> None:
    votes = panel(np.random.default_rng(2), consistent=True, n_conditions=12)
    value = split_half_reliability(votes, np.random.default_rng(3))
    assert value > 0.95
    assert split_half_reliability(votes, np.random.default_rng(3)) == value  # seeded


def test_split_half_reliability_random_raters_near_zero() -> None:
    # with k conditions the half-panel correlation of pure guesses scatters by about 1/sqrt(k),
    # so many conditions keep "near zero" a tight statement
    votes = panel(np.random.default_rng(4), consistent=False, n_conditions=200)
    assert abs(split_half_reliability(votes, np.random.default_rng(5))) < 0.25


def test_split_half_reliability_undefined_with_one_rater() -> None:
    votes = frame([vote("a", "X", "r1", 1), vote("b", "Y", "r1", 5)])
    assert np.isnan(split_half_reliability(votes, np.random.default_rng(0), n_splits=5))


def test_pairs_cover_every_condition_pair() -> None:
    votes = three_conditions()
    out = pairwise_differences(votes)
    assert len(out) == len(list(itertools.combinations("ABC", 2)))


def test_split_half_reliability_stays_in_range_when_halves_disagree() -> None:
    """Four raters who rank four systems in conflicting orders: the half-panel correlation
    averages well below -1/3, where Spearman-Brown's 2r / (1 + r) runs off below -1 (the dashboard
    showed -5.40). A reliability is then undefined (NaN), never outside [-1, 1]."""
    rows = []
    for r, order in enumerate(([5, 4, 3, 2], [2, 1, 1, 1], [1, 5, 4, 5], [3, 4, 5, 4])):
        rows += [vote(f"c{c}", f"sys{c}", f"r{r}", s) for c, s in enumerate(order)]
    value = split_half_reliability(frame(rows), np.random.default_rng(1), n_splits=50)
    assert np.isnan(value) or -1.0 <= value <= 1.0, value
