"""The score view of the Listening tests tab: tests whose method draws score distributions per
system (``Method.dashboard == "scores"``, e.g. MUSHRA).

Shown instead of the ACR figures and the comparison view. Everything comes from the method's
``score_view`` frames (counted scores, per-system summary in drawing order, per input means,
the implied ranking, differences from the hidden reference, each listener's post-screening
shares); the scale comes from the method's ``score_range``. The figures are the pure
functions of :mod:`webapp.charts`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from listening_tests.methods import method_of
from webapp.charts import mean_heatmap, rule_shares_figure, score_boxes
from webapp.context import AppContext


@dataclass
class ScoreView:
    """The components of the view; ``outputs`` are what :func:`score_outputs` fills."""

    group: gr.Column
    summary: gr.Markdown
    boxes: gr.Plot
    inputs: gr.Plot
    screening: gr.Plot
    systems: gr.Dataframe
    ranking: gr.Dataframe
    differences: gr.Dataframe

    @property
    def outputs(self) -> list[Any]:
        return [self.group, self.summary, self.boxes, self.inputs, self.screening,
                self.systems, self.ranking, self.differences]


def _plot(figure) -> gr.Plot:
    return gr.Plot(value=figure, visible=figure is not None)


def _table(frame: pd.DataFrame | None) -> gr.Dataframe:
    return gr.Dataframe(value=frame, visible=frame is not None and len(frame) > 0)


def score_outputs(context: AppContext, test_id: int, method: str) -> list[Any]:
    """Values of :attr:`ScoreView.outputs` for a test (hidden unless its method draws
    scores)."""
    kind = method_of(method)
    if kind.dashboard != "scores" or not test_id:
        return [gr.Column(visible=False), "", _plot(None), _plot(None), _plot(None),
                _table(None), _table(None), _table(None)]
    with context.sessions() as session:
        frames = kind.score_view(session, test_id)
    span = kind.score_range or (1.0, 5.0)
    systems, scores = frames["systems"], frames["scores"]
    text = (f"#### {kind.title}\n"
            "Boxes: quartiles and every counted score (accepted sessions); black diamonds: "
            "the mean with its 95% CI (t). Hidden reference and anchors first.")
    if not len(scores):
        return [gr.Column(visible=True), text + "\n\nNo scores that count yet.",
                _plot(None), _plot(None),
                _plot(rule_shares_figure(frames["screening"], frames["rules"])
                      if len(frames["screening"]) else None),
                _table(None), _table(None), _table(None)]
    order = [str(s) for s in systems["system"]]
    return [gr.Column(visible=True), text,
            _plot(score_boxes(scores, systems, value_range=span,
                              title="Scores per system (box), mean and 95% CI")),
            _plot(mean_heatmap(frames["inputs"], order, value_range=span)),
            _plot(rule_shares_figure(frames["screening"], frames["rules"])
                  if len(frames["screening"]) else None),
            _table(systems.round(2)), _table(frames["ranking"].round(2)),
            _table(frames["differences"].round(2))]


def build_score_view() -> ScoreView:
    """Lay out the view, hidden until a test whose method draws scores is selected."""
    with gr.Column(visible=False, elem_id="score-view") as group:
        summary = gr.Markdown(elem_id="score-summary")
        boxes = gr.Plot(elem_id="score-boxes", visible=False)
        inputs = gr.Plot(elem_id="score-inputs", visible=False)
        screening = gr.Plot(elem_id="score-screening", visible=False)
        systems = gr.Dataframe(label="Per system: n, mean, 95% CI half-width (t), median, "
                                     "quartiles", interactive=False, elem_id="score-systems",
                               visible=False)
        ranking = gr.Dataframe(label="Implied ranking (rank: 1 + systems significantly better, "
                                     "Wilcoxon signed-rank with Holm)", interactive=False,
                               elem_id="score-ranking", visible=False)
        differences = gr.Dataframe(label="Difference from the hidden reference (same page and "
                                         "listener)", interactive=False,
                                   elem_id="score-differences", visible=False)
    return ScoreView(group, summary, boxes, inputs, screening, systems, ranking, differences)
