"""The data behind the Listening tests dashboard: what each chart and table counts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import yaml

from webapp.charts import bars_with_ci, win_matrix_figure, win_tie_loss
from webapp.tests_tab import (
    category_rows,
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


def test_the_designer_writes_a_valid_spec_for_every_method():
    from listening_tests.methods import METHODS
    from listening_tests.spec import ListeningTestSpec
    from webapp.test_designer import form_yaml

    for method in METHODS:
        text = form_yaml("t", method, "demo", "unprocessed, mmse_lsa", "clean", 3, 4, 2, 1, 0,
                         ["volume", "stereo"], "prolific", 0.2, 1.5)
        spec = ListeningTestSpec.from_dict(yaml.safe_load(text))
        assert spec.method == method and spec.platform == "prolific"
        assert spec.votes_per_clip == 3 and spec.clips_per_session == 4
        assert spec.gold.count == (2 if METHODS[method].makes_gold else 0)
        assert spec.checks.volume and not spec.checks.qualification
        assert spec.quality_control.min_rating_variance == 0.2


def test_the_designer_offers_each_method_its_own_gold_and_training_defaults():
    import yaml

    from listening_tests.methods import method_of
    from listening_tests.spec import ListeningTestSpec
    from webapp.test_designer import form_yaml, method_defaults

    gold, training = method_defaults("mushra")
    assert gold["value"] == 0 and gold["interactive"] is False
    assert training["value"] == method_of("mushra").training_default
    gold, training = method_defaults("acr")
    assert gold["value"] > 0 and gold["interactive"] is True
    # a gold count left in the form never reaches a method without gold items
    text = form_yaml("t", "mushra", "demo", "unprocessed, mmse_lsa", "clean", 3, 4, 2, 1, 0,
                     [], "generic", 0.1, 1.0)
    assert "gold" not in yaml.safe_load(text)
    assert ListeningTestSpec.from_dict(yaml.safe_load(text)).gold.count == 0


def test_the_designer_chooses_speech_categories_for_clip_tests_only():
    import pytest

    from listening_tests.errors import SpecError
    from listening_tests.spec import ListeningTestSpec
    from webapp.test_designer import form_yaml

    args = ("t", "acr", "demo_categories", "unprocessed", "clean", 3, 4, 0, 1, 0, [],
            "generic", 0.1, 1.0)
    spec = ListeningTestSpec.from_dict(yaml.safe_load(form_yaml(*args, "child, sung")))
    assert spec.clips.categories == ("child", "sung")
    assert ListeningTestSpec.from_dict(yaml.safe_load(form_yaml(*args))).clips.categories == ()
    pairs = ("t", "ab", "demo", "unprocessed, mmse_lsa", "clean", *args[5:])
    with pytest.raises(SpecError, match=r"pairs\.categories"):
        ListeningTestSpec.from_dict(yaml.safe_load(form_yaml(*pairs, "child")))


def test_mos_by_category_table_has_a_row_per_category_and_a_column_per_system():
    rows = [{"system": "a", "category": "sung", "n": 4, "mos": 3.5, "std": 1.0, "ci95": 1.59},
            {"system": "b", "category": "sung", "n": 4, "mos": 2.25, "std": 0.5, "ci95": 0.8},
            {"system": "a", "category": "child", "n": 1, "mos": 4.0, "std": None,
             "ci95": None}]
    table = category_rows(rows)
    assert list(table.columns) == ["speech category", "a", "b"]
    assert table.values.tolist() == [["sung", "3.50 ± 1.59 (n=4)", "2.25 ± 0.80 (n=4)"],
                                     ["child", "4.00 (n=1)", ""]]
    assert category_rows([{**rows[0], "category": "unknown"}]) is None
    assert category_rows([]) is None
