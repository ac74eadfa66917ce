"""The comparison view of the Listening tests tab: CCR, A/B and ranking tests.

Shown instead of the ACR figures when the selected test's method is not ``acr``. Everything
comes from the results the server returns (docs/rating-api.md, "Comparison methods",
``Results``) through ``listening_tests.results.test_results``; the figures are the pure
functions of :mod:`webapp.charts`. Selecting a row of the pairs table plays both sides of the
pair for one input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import ItemRole, ListeningTestItem, ObjectiveScore
from library.clips import LibraryError, clip_details
from listening_tests.design import load_test
from listening_tests.methods import method_of
from listening_tests.results import common_clip_means, test_results
from webapp.charts import (
    ccr_ranking,
    neighbour_significance,
    ordered_ranking,
    rank_agreement,
    rank_agreement_figure,
    ranking_figure,
    side_by_side,
    win_matrix_figure,
)
from webapp.context import AppContext

PAIR_COLUMNS = ["system_a", "system_b", "n", "wins_a", "wins_b", "ties", "share_a", "ci_low",
                "ci_high", "p_value", "p_holm"]
CCR_COLUMNS = ["system", "reference", "n", "cmos", "std", "ci95", "p_value"]


@dataclass
class ComparisonView:
    """The components of the view; ``outputs`` are what :func:`comparison_outputs` fills."""

    group: gr.Column
    summary: gr.Markdown
    ranking_plot: gr.Plot
    matrix_plot: gr.Plot
    marks: gr.Dataframe
    side_by_side: gr.Dataframe
    agreement_plot: gr.Plot
    pairs: gr.Dataframe
    pair_state: gr.State
    pair_input: gr.Dropdown
    audio_a: gr.Audio
    audio_b: gr.Audio
    pair_note: gr.Markdown

    @property
    def outputs(self) -> list[Any]:
        return [self.group, self.summary, self.ranking_plot, self.matrix_plot, self.marks,
                self.side_by_side, self.agreement_plot, self.pairs]


def result_frames(results: dict[str, Any], reference: str | None = None
                  ) -> dict[str, pd.DataFrame | dict | None]:
    """The contract's comparison results as frames: ``ranking`` (the server's Bradley-Terry
    ranking, or CMOS per system for CCR), ``pairs`` (A/B pairs, or per system against the
    reference for CCR; the rows a pair is picked from), ``win_matrix`` (dict or None)."""
    ranking = pd.DataFrame(results.get("ranking") or [])
    if "ranking" not in results or (not len(ranking) and results.get("systems")
                                    and "cmos" in (results["systems"][0] or {})):
        systems = pd.DataFrame(results.get("systems") or [],
                               columns=[c for c in CCR_COLUMNS if c != "reference"])
        ranking = ccr_ranking(systems) if len(systems) else pd.DataFrame()
        pairs = systems.assign(reference=reference or "reference")[CCR_COLUMNS]
    else:
        ranking = ordered_ranking(ranking) if len(ranking) else ranking
        pairs = pd.DataFrame(results.get("pairs") or [])
        if len(pairs):
            pairs = pairs[[c for c in PAIR_COLUMNS if c in pairs] +
                          [c for c in pairs if c not in PAIR_COLUMNS]]
    return {"ranking": ranking, "pairs": pairs, "win_matrix": results.get("win_matrix")}


def _test_items(db: Session, test_id: int) -> list[ListeningTestItem]:
    return list(db.scalars(select(ListeningTestItem).where(
        ListeningTestItem.test_id == test_id,
        ListeningTestItem.role == ItemRole.RATING.value)))


def _sides(item: ListeningTestItem) -> list[tuple[str, int]]:
    """(system, clip id) of each side of a pair item (``pair_*`` is the second side)."""
    sides = [(str(item.condition), int(item.clip_id))]
    pair_clip = getattr(item, "pair_clip_id", None)
    if pair_clip is not None:
        sides.append((str(getattr(item, "pair_condition", None) or "reference"),
                      int(pair_clip)))
    return sides


def system_metrics(db: Session, test_id: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Mean of each stored objective metric (and predicted MOS such as DNSMOS) per system,
    over one set of inputs the test's rating pairs play, the same for every system
    (:func:`listening_tests.results.common_clip_means`).

    Returns:
        ``system`` and one column per metric; the number of inputs per metric.
    """
    clips: dict[int, tuple[str, str]] = {}
    for item in _test_items(db, test_id):
        name = str(item.sample_id or item.clip_id)
        clips.update({clip: (system, name) for system, clip in _sides(item)})
    if not clips:
        return pd.DataFrame(columns=["system"]), {}
    rows = db.execute(select(ObjectiveScore.clip_id, ObjectiveScore.metric, ObjectiveScore.value)
                      .where(ObjectiveScore.clip_id.in_(list(clips)),
                             ObjectiveScore.value.is_not(None))).all()
    if not rows:
        return pd.DataFrame(columns=["system"]), {}
    table = pd.DataFrame(rows, columns=["clip_id", "metric", "value"])
    table["system"] = table["clip_id"].map(lambda c: clips[c][0])
    table["input"] = table["clip_id"].map(lambda c: clips[c][1])
    means, counts = common_clip_means(table)
    return means.rename_axis("system").reset_index(), counts


def with_counts(frame: pd.DataFrame, counts: dict[str, int]) -> pd.DataFrame:
    """Metric columns renamed to say their input count: "PESQ (n=36)"."""
    return frame.rename(columns={m: f"{m} (n={n})" for m, n in counts.items()})


def pair_clips(db: Session, test_id: int, system_a: str, system_b: str
               ) -> list[tuple[str, int, int]]:
    """For every input where the test pairs the two systems: (input, clip of system_a, clip
    of system_b), in the input's name order."""
    found: dict[str, tuple[str, int, int]] = {}
    for item in _test_items(db, test_id):
        pair = _sides(item)
        sides = dict(pair)
        if len(pair) == 2 and pair[0][0] == system_a and system_b not in sides:
            sides[system_b] = pair[1][1]  # CCR: the reference, however the item names it
        if system_a in sides and system_b in sides and system_a != system_b:
            name = str(item.sample_id or item.clip_id)
            found.setdefault(name, (name, sides[system_a], sides[system_b]))
    return [found[k] for k in sorted(found)]


def comparison_outputs(context: AppContext, test_id: int, method: str) -> list[Any]:
    """Values of :attr:`ComparisonView.outputs` for a test (hidden for ACR)."""
    kind = method_of(method)
    if kind.dashboard != "comparison":
        return [gr.Column(visible=False), "", None, None, None, None, None, None]
    with context.sessions() as session:
        results = test_results(session, test_id)
        metrics, metric_n = system_metrics(session, test_id)
        spec = (load_test(session, test_id).spec or {}).get("pairs") or {}
    frames = result_frames(results, reference=spec.get("reference"))
    ranking, pairs = frames["ranking"], frames["pairs"]
    ccr = kind.takes_reference()  # each system against a reference: CMOS, no pairs
    text = (f"#### {method.upper()} results\n" +
            ("CMOS: the processed output against the reference (positive: people preferred "
             "the processed output), 95% CI." if ccr else
             "Bradley-Terry log-strengths with bootstrap 95% intervals; hollow grey points "
             "have too few comparisons yet. Marks between neighbours: Holm-corrected p of "
             "their A/B pair (*** < 0.001, ** < 0.01, * < 0.05, n.s., ? not compared)."))
    if not len(ranking):  # no empty plots: they come with the first answers that count
        return [gr.Column(visible=True), text + "\n\nNo answers that count yet.",
                gr.Plot(value=None, visible=False), gr.Plot(value=None, visible=False),
                None, None, gr.Plot(value=None, visible=False), pairs if len(pairs) else None]
    order = list(ranking["system"])
    ranking_plot = ranking_figure(ranking, pairs=None if ccr else pairs,
                                  value_label="CMOS" if ccr else "Bradley-Terry log-strength",
                                  title="Ranking, best first")
    matrix = win_matrix_figure(frames["win_matrix"], order,
                               pairs=None if ccr else pairs) if frames["win_matrix"] else None
    marks = neighbour_significance(ranking, pairs) if not ccr and len(pairs) else None
    table = with_counts(side_by_side(ranking, metrics), metric_n)
    metric_columns = [c for c in metrics.columns if c != "system"]
    agreement = rank_agreement_figure(
        rank_agreement(ranking, metrics).assign(
            metric=lambda f: f["metric"].map(lambda m: f"{m} (n={metric_n.get(m, 0)})")),
        title="Agreement with the human ranking (Kendall tau; each metric over the same "
              "inputs for every system)") if metric_columns and len(ranking) >= 2 else None
    return [gr.Column(visible=True), text, gr.Plot(value=ranking_plot, visible=True),
            gr.Plot(value=matrix, visible=matrix is not None),
            marks.round(4) if marks is not None else None, table.round(3),
            gr.Plot(value=agreement, visible=agreement is not None),
            pairs.round(4) if len(pairs) else None]


def build_comparison_view(context: AppContext, test_id: gr.Number) -> ComparisonView:
    """Lay out the view (hidden until a comparison test is selected) and wire the pair
    player; the tab fills :attr:`ComparisonView.outputs` from its dashboard handler."""
    with gr.Column(visible=False, elem_id="comparison-view") as group:
        summary = gr.Markdown(elem_id="comparison-summary")
        with gr.Row():
            ranking_plot = gr.Plot(elem_id="comparison-ranking")
            matrix_plot = gr.Plot(elem_id="comparison-win-matrix")
        marks = gr.Dataframe(label="Neighbours in the ranking: significance (Holm)",
                             interactive=False, elem_id="comparison-marks")
        table = gr.Dataframe(label="Human ranking beside objective metrics and predicted MOS",
                             interactive=False, elem_id="comparison-side-by-side")
        agreement_plot = gr.Plot(elem_id="comparison-agreement")
        pairs = gr.Dataframe(label="Pairs (select a row to hear both systems on one input)",
                             interactive=False, elem_id="comparison-pairs")
        pair_state = gr.State([])
        with gr.Row():
            pair_input = gr.Dropdown([], label="Input", elem_id="comparison-pair-input")
            pair_note = gr.Markdown(elem_id="comparison-pair-note")
        with gr.Row():
            audio_a = gr.Audio(label="first system", type="filepath", interactive=False,
                               elem_id="comparison-audio-a")
            audio_b = gr.Audio(label="second system", type="filepath", interactive=False,
                               elem_id="comparison-audio-b")
    view = ComparisonView(group, summary, ranking_plot, matrix_plot, marks, table,
                          agreement_plot, pairs, pair_state, pair_input, audio_a, audio_b,
                          pair_note)

    def path_of(clip_id: int) -> str:
        try:
            with context.sessions() as session:
                sha = clip_details(session, int(clip_id))["sha256"]
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        return str(context.store.path_for(sha))

    def play(found: list[list], name: str | None):
        chosen = next((f for f in found if f[0] == name), found[0] if found else None)
        if chosen is None:
            return gr.Audio(value=None), gr.Audio(value=None)
        _, _, a, b, clip_a, clip_b = chosen
        return (gr.Audio(value=path_of(clip_a), label=a),
                gr.Audio(value=path_of(clip_b), label=b))

    def select_pair(test: float | None, event: gr.SelectData):
        row = event.row_value or []
        if not test or len(row) < 2:
            return [], gr.Dropdown(choices=[], value=None), "", None, None
        a, b = str(row[0]), str(row[1])
        with context.sessions() as session:
            found = [[name, name, a, b, ca, cb]
                     for name, ca, cb in pair_clips(session, int(test), a, b)]
        if not found:
            return ([], gr.Dropdown(choices=[], value=None),
                    f"The test pairs no input of {a} with {b}.", None, None)
        audio_a, audio_b = play(found, found[0][0])
        return (found, gr.Dropdown(choices=[f[0] for f in found], value=found[0][0]),
                f"**{a}** (left) against **{b}** (right), {len(found)} inputs.",
                audio_a, audio_b)

    pairs.select(select_pair, test_id, [pair_state, pair_input, pair_note, audio_a, audio_b])
    pair_input.input(play, [pair_state, pair_input], [audio_a, audio_b])
    return view
