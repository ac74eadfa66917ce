"""Figures of comparison tests (webapp/charts.py) on frames shaped like the contract's results
(docs/rating-api.md, "Comparison methods": ranking, pairs, win_matrix, CCR systems)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from webapp.charts import (
    ccr_ranking,
    neighbour_significance,
    ordered_ranking,
    rank_agreement,
    rank_agreement_figure,
    ranking_figure,
    side_by_side,
    significance_mark,
    win_matrix_figure,
    win_matrix_frame,
    win_share,
)

RANKING = pd.DataFrame([
    {"system": "mmse_lsa", "strength": 0.1, "ci_low": -0.2, "ci_high": 0.35, "rank": 2,
     "n_comparisons": 40, "preliminary": False},
    {"system": "unprocessed", "strength": -0.9, "ci_low": -1.3, "ci_high": -0.5, "rank": 3,
     "n_comparisons": 40, "preliminary": False},
    {"system": "bsrnn", "strength": 0.8, "ci_low": 0.5, "ci_high": 1.2, "rank": 1,
     "n_comparisons": 3, "preliminary": True},
])
PAIRS = pd.DataFrame([
    {"system_a": "mmse_lsa", "system_b": "bsrnn", "n": 20, "wins_a": 5, "wins_b": 15,
     "ties": 0, "share_a": 0.25, "ci_low": 0.09, "ci_high": 0.49, "p_value": 0.041,
     "p_holm": 0.0414},
    {"system_a": "mmse_lsa", "system_b": "unprocessed", "n": 20, "wins_a": 19, "wins_b": 1,
     "ties": 0, "share_a": 0.95, "ci_low": 0.75, "ci_high": 0.999, "p_value": 0.00004,
     "p_holm": 0.00008},
])
WIN_MATRIX = {"bsrnn": {"mmse_lsa": 15, "unprocessed": 9},
              "mmse_lsa": {"bsrnn": 5, "unprocessed": 19},
              "unprocessed": {"mmse_lsa": 1}}


def test_ordered_ranking_puts_the_strongest_first():
    frame = ordered_ranking(RANKING)
    assert list(frame["system"]) == ["bsrnn", "mmse_lsa", "unprocessed"]
    assert list(frame["rank"]) == [1, 2, 3]


def test_ranking_figure_orders_best_first_with_asymmetric_ci_and_marks_preliminary():
    fig = ranking_figure(RANKING, pairs=PAIRS)
    assert list(fig.layout.yaxis.categoryarray) == [
        "bsrnn (preliminary)", "mmse_lsa", "unprocessed"]
    assert fig.layout.yaxis.autorange == "reversed"  # the first category at the top
    ranked, preliminary = (next(t for t in fig.data if t.name == name)
                           for name in ("ranked", "preliminary"))
    assert list(ranked.y) == ["mmse_lsa", "unprocessed"]
    np.testing.assert_allclose(ranked.x, [0.1, -0.9])
    np.testing.assert_allclose(ranked.error_x.array, [0.25, 0.4])
    np.testing.assert_allclose(ranked.error_x.arrayminus, [0.3, 0.4])
    assert list(preliminary.y) == ["bsrnn (preliminary)"]
    assert preliminary.marker.symbol == "circle-open"
    np.testing.assert_allclose(preliminary.error_x.array, [0.4])
    np.testing.assert_allclose(preliminary.error_x.arrayminus, [0.3])
    marks = [(a.y, a.text) for a in fig.layout.annotations]
    assert marks == [(0.5, "*"), (1.5, "***")]


def test_neighbour_significance_reads_holm_p_in_either_order():
    marks = neighbour_significance(RANKING, PAIRS)
    assert list(zip(marks["better"], marks["worse"], strict=True)) == [
        ("bsrnn", "mmse_lsa"), ("mmse_lsa", "unprocessed")]
    np.testing.assert_allclose(marks["p_holm"], [0.0414, 0.00008])
    np.testing.assert_allclose(marks["share_better"], [0.75, 0.95])  # flipped for bsrnn
    assert list(marks["mark"]) == ["*", "***"]
    missing = neighbour_significance(RANKING, PAIRS.iloc[:1])
    assert missing["mark"].iloc[1] == "?" and np.isnan(missing["p_holm"].iloc[1])


@pytest.mark.parametrize(("p", "mark"), [(0.0009, "***"), (0.009, "**"), (0.049, "*"),
                                         (0.05, "n.s."), (None, "?"), (float("nan"), "?")])
def test_significance_mark(p, mark):
    assert significance_mark(p) == mark


def test_ccr_ranking_turns_cmos_and_ci95_into_an_interval():
    systems = pd.DataFrame([
        {"system": "mmse_lsa", "n": 30, "cmos": 0.4, "std": 1.0, "ci95": 0.37, "p_value": 0.03},
        {"system": "bsrnn", "n": 30, "cmos": 1.2, "std": 0.9, "ci95": 0.34, "p_value": 1e-6},
        {"system": "wpe", "n": 1, "cmos": -0.5, "std": None, "ci95": None, "p_value": None},
    ])
    ranking = ccr_ranking(systems)
    assert list(ranking["system"]) == ["bsrnn", "mmse_lsa", "wpe"]
    np.testing.assert_allclose(ranking["ci_low"][:2], [1.2 - 0.34, 0.4 - 0.37])
    np.testing.assert_allclose(ranking["ci_high"][:2], [1.2 + 0.34, 0.4 + 0.37])
    assert list(ranking["rank"]) == [1, 2, 3]
    assert list(ranking["preliminary"]) == [False, False, True]
    fig = ranking_figure(ranking, value_label="CMOS")
    assert "CMOS" in fig.layout.xaxis.title.text
    assert not fig.layout.annotations  # no pairs table, no marks


def test_win_matrix_frame_and_share():
    counts = win_matrix_frame(WIN_MATRIX, ["bsrnn", "mmse_lsa", "unprocessed"])
    assert counts.shape == (3, 3)
    assert counts.loc["unprocessed", "bsrnn"] == 0  # absent cell
    assert counts.loc["bsrnn", "mmse_lsa"] == 15
    share = win_share(counts)
    assert share.loc["bsrnn", "mmse_lsa"] == pytest.approx(0.75)
    assert share.loc["unprocessed", "mmse_lsa"] == pytest.approx(0.05)
    assert share.loc["unprocessed", "bsrnn"] == pytest.approx(0.0)
    assert np.isnan(share.loc["bsrnn", "bsrnn"])
    # Every compared pair's shares add up to one.
    compared = ~np.isnan(share.to_numpy())
    np.testing.assert_allclose((share + share.T).to_numpy()[compared], 1.0)


def test_win_matrix_figure_shows_counts_and_shares_in_the_given_order():
    order = list(ordered_ranking(RANKING)["system"])
    fig = win_matrix_figure(WIN_MATRIX, order)
    (heat,) = fig.data
    assert list(heat.x) == order and list(heat.y) == order
    z = np.array(heat.z, dtype=float)
    assert z.shape == (3, 3)
    assert z[0, 1] == pytest.approx(0.75) and z[1, 0] == pytest.approx(0.25)
    assert heat.text[1][2] == "19 (95%)"
    assert heat.text[0][0] == ""
    assert (heat.zmin, heat.zmax) == (0.0, 1.0)


def test_side_by_side_and_rank_agreement_match_scipy():
    metrics = pd.DataFrame({"system": ["unprocessed", "mmse_lsa", "bsrnn"],
                            "dnsmos_ovrl": [2.1, 2.9, 3.4],  # same order as people
                            "utmos": [1.9, 3.3, 2.8],
                            "lsd": [1.0, 3.0, 2.0]})  # lower is better
    table = side_by_side(RANKING, metrics)
    assert list(table["system"]) == ["bsrnn", "mmse_lsa", "unprocessed"]
    assert list(table["dnsmos_ovrl"]) == [3.4, 2.9, 2.1]
    agreement = rank_agreement(RANKING, metrics).set_index("metric")
    strength = table["strength"]
    for metric, sign in (("dnsmos_ovrl", 1), ("utmos", 1), ("lsd", -1)):
        expected = stats.kendalltau(strength, sign * table[metric])
        assert agreement.loc[metric, "tau"] == pytest.approx(expected.statistic)
        assert agreement.loc[metric, "p_value"] == pytest.approx(expected.pvalue)
        assert agreement.loc[metric, "n_systems"] == 3
    assert agreement.loc["dnsmos_ovrl", "tau"] == pytest.approx(1.0)
    fig = rank_agreement_figure(agreement.reset_index())
    assert fig.data[0].x[0] == "dnsmos_ovrl"


def test_rank_agreement_needs_two_systems_with_the_metric():
    metrics = pd.DataFrame({"system": ["bsrnn", "mmse_lsa"], "pesq": [3.0, None]})
    row = rank_agreement(RANKING, metrics).iloc[0]
    assert np.isnan(row["tau"]) and row["n_systems"] == 1
