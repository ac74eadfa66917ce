"""The data behind the Listening tests dashboard: what each chart and table counts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from webapp.charts import bars_with_ci, win_matrix_figure, win_tie_loss
from webapp.tests_tab import (
    scale_range,
    sessions_rows,
    spec_problems_markdown,
    used_rating_votes,
)


def test_the_vote_histogram_counts_rating_items_of_accepted_sessions_only():
    votes = pd.DataFrame({"role": ["rating", "gold", "trap", "rating", "rating"],
                          "used": [True, True, True, False, True],
                          "score": [4, 5, 1, 2, 3], "condition": ["a"] * 5})
    assert list(used_rating_votes(votes)["score"]) == [4, 3]


def test_mos_axis_stays_on_the_scale_whatever_the_interval():
    one_rater = pd.DataFrame({"system": ["a", "b"], "mos_mean": [3.0, 4.0],
                              "mos_ci95": [25.0, 12.0], "mos_n": [2, 2]})
    fig = bars_with_ci(one_rater, "mos", value_range=scale_range("acr"))
    low, high = fig.layout.yaxis.range
    assert scale_range("acr") == (1, 5) and low == 0 and 5 <= high < 5.5
    assert scale_range("ccr") == (1, 5)  # CCR names no clip scale: the MOS default


def test_unfinished_sessions_show_blank_not_nat():
    rows = sessions_rows([
        {"id": 1, "qc_reasons": [], "created_at": datetime(2026, 1, 2, 3, 4, 5),
         "finished_at": None},
        {"id": 2, "qc_reasons": ["low rating variance"],
         "created_at": datetime(2026, 1, 2, 3, 4, 5),
         "finished_at": datetime(2026, 1, 2, 3, 14, 5)}])
    assert list(rows["finished_at"]) == ["", "2026-01-02 03:14:05"]
    assert "NaT" not in rows.to_string() and sessions_rows([]) is None


def test_who_beat_whom_labels_wins_ties_and_losses_apart():
    """The case of the issue: 0 wins and 2 ties is not "1 (17 %)"."""
    pairs = pd.DataFrame({"system_a": ["x"], "system_b": ["y"], "wins_a": [0],
                          "wins_b": [4], "ties": [2]})
    assert win_tie_loss(pairs, "x", "y") == (0, 2, 4)
    assert win_tie_loss(pairs, "y", "x") == (4, 2, 0)
    fig = win_matrix_figure({"x": {"y": 1.0}, "y": {"x": 5.0}}, ["y", "x"], pairs=pairs)
    text = fig.data[0].text
    assert text[0][1] == "4 W · 2 T · 0 L" and text[1][0] == "0 W · 2 T · 4 L"


def test_a_refused_spec_lists_every_problem():
    text = spec_problems_markdown(["colour: unknown key", "pairs.systems: no system bb"])
    assert "2 problems" in text and "- colour" in text and "- pairs.systems" in text
