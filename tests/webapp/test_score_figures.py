"""The score view's figures (MUSHRA and any method whose dashboard draws scores): order,
scale and screening limit come from the frames and the method, never from a method's name."""

from __future__ import annotations

import pandas as pd

from listening_tests.methods import method_of
from webapp.charts import mean_heatmap, rule_shares_figure, score_boxes

SUMMARY = pd.DataFrame({"system": ["hidden_reference", "anchor_3500", "b", "c"],
                        "kind": ["reference", "anchor", "system", "system"],
                        "n": [3, 3, 3, 2], "mean": [98.0, 15.0, 60.0, 70.0],
                        "ci95": [4.0, 8.0, 10.0, float("nan")]})
SCORES = pd.DataFrame({"system": ["c", "b", "hidden_reference", "anchor_3500"] * 2,
                       "kind": ["system", "system", "reference", "anchor"] * 2,
                       "page": ["p1"] * 4 + ["p2"] * 4, "assessor": ["x"] * 8,
                       "score": [70, 60, 98, 15, 72, 58, 100, 12]})


def test_boxes_in_summary_order_on_the_methods_scale_with_mean_and_ci():
    span = method_of("mushra").score_range
    fig = score_boxes(SCORES, SUMMARY, value_range=span)
    assert list(fig.layout.xaxis.categoryarray) == list(SUMMARY["system"])  # reference first
    low, high = fig.layout.yaxis.range
    assert low <= 0 and 100 <= high < 105
    boxes = [t for t in fig.data if t.type == "box"]
    assert {t.name for t in boxes} == {"reference", "anchor", "system"}
    assert sum(len(t.y) for t in boxes) == len(SCORES)  # every score is a point
    (means,) = [t for t in fig.data if t.type == "scatter"]
    assert list(means.y) == list(SUMMARY["mean"])
    assert list(means.error_y.array) == [4.0, 8.0, 10.0, 0.0]  # one system: no interval


def test_input_heatmap_and_screening_limit():
    inputs = pd.DataFrame({"page": ["u1", "u1", "u2"], "system": ["b", "hidden_reference", "b"],
                           "n": [2, 2, 1], "mean": [60.0, 99.0, 55.0]})
    heat = mean_heatmap(inputs, list(SUMMARY["system"]), value_range=(0, 100))
    assert list(heat.data[0].x) == ["hidden_reference", "b"] and heat.data[0].zmax == 100
    screening = pd.DataFrame({"assessor": ["a1", "a2"], "pages": [6, 6],
                              "share": [0.0, 1.0], "excluded": [False, True]})
    fig = rule_shares_figure(screening, [{"column": "share", "label": "rule", "limit": 0.15}])
    assert list(fig.data[0].x) == ["a1", "a2 (excluded)"]
    assert [s.y0 for s in fig.layout.shapes] == [0.15]
