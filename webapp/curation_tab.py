"""The Data curation tab: pick a scored corpus (or score a library dataset), type thresholds
and see them on each metric's histogram, a scatter of any two metrics and the files and hours
kept per source as they change; listen to the files nearest a threshold (player and
spectrogram); export the selection. Every handler calls :mod:`library.curation`.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from audio.figures import spectrogram_figure
from curation.metrics import GROUPS
from curation.rules import RuleError, load_rules
from library.clips import LibraryError, filter_choices
from library.curation import (
    THRESHOLD_METRICS,
    apply_thresholds,
    clip_audio,
    corpus_folder,
    export_selection,
    load_corpus,
    near_threshold,
    score_dataset,
    scored_corpora,
)
from webapp.context import AppContext

RULES_DIR = Path(__file__).resolve().parents[1] / "conf" / "curation"
NO_PRESET = "(none)"
#: Every numeric column a scatter may show.
SCATTER_METRICS = [*THRESHOLD_METRICS, "sqa_spread", "peak_dbfs", "bandwidth_rate"]
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]


@functools.lru_cache(maxsize=8)
def _cached_table(folder: str, stamp: tuple[str, ...]) -> pd.DataFrame:
    from curation.store import read_scores

    return read_scores(folder)


def _table(context: AppContext, corpus: str) -> pd.DataFrame:
    """The scores of a corpus, re-read only when its parts change."""
    if not corpus:
        raise gr.Error("pick a scored corpus first (or score a library dataset)")
    folder = corpus_folder(context.settings.data_dir, corpus)
    stamp = tuple(sorted(p.name for p in folder.glob("part-*.parquet")))
    if not stamp:
        try:
            load_corpus(context.settings.data_dir, corpus)
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
    return _cached_table(str(folder), stamp)


def _bounds(values: list[str | None]) -> dict[str, tuple[float | None, float | None]]:
    """The typed thresholds (blank: none) as bounds per metric.

    Raises:
        gr.Error: a box holds something that is not a number.
    """
    out = {}
    for (metric, side), value in zip(THRESHOLD_METRICS.items(), values, strict=True):
        text = str(value or "").strip()
        try:
            v = float(text) if text else None
        except ValueError:
            raise gr.Error(f"{metric}: '{text}' is not a number (leave it empty for no "
                           f"threshold)") from None
        if v is not None and not np.isfinite(v):
            raise gr.Error(f"{metric}: '{text}' is not a finite number")
        out[metric] = (v, None) if side == "min" else (None, v)
    return out


def histograms(table: pd.DataFrame, bounds: dict[str, tuple[float | None, float | None]]
               ) -> go.Figure:
    """One histogram per scored metric, a colour per source, thresholds as red lines."""
    metrics = [m for m in THRESHOLD_METRICS if m in table and table[m].notna().any()]
    cols = 3
    rows = max(1, int(np.ceil(len(metrics) / cols)))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=metrics,
                        vertical_spacing=0.5 / rows, horizontal_spacing=0.06)
    sources = sorted(table["source"].astype(str).unique())
    for i, metric in enumerate(metrics):
        r, c = i // cols + 1, i % cols + 1
        for j, source in enumerate(sources):
            values = table.loc[table["source"] == source, metric].dropna()
            fig.add_trace(go.Histogram(x=values, name=source, legendgroup=source,
                                       showlegend=i == 0, opacity=0.6, nbinsx=30,
                                       marker_color=PALETTE[j % len(PALETTE)]), row=r, col=c)
        for edge in bounds.get(metric, (None, None)):
            if edge is not None:
                fig.add_vline(x=edge, line_color="red", line_width=2, line_dash="dash",
                              row=r, col=c)
    fig.update_layout(barmode="overlay", height=230 * rows + 80,
                      margin=dict(l=40, r=20, t=70, b=30),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0 + 0.12 / rows,
                                  x=0, title=dict(text="source ")))
    return fig


def scatter(table: pd.DataFrame, kept: pd.Series, x: str, y: str) -> go.Figure | None:
    if x not in table or y not in table:
        return None
    fig = go.Figure()
    for flag, name, colour in ((True, "kept", "#2ca02c"), (False, "dropped", "#d62728")):
        part = table[kept == flag]
        fig.add_trace(go.Scatter(x=part[x], y=part[y], mode="markers", name=name,
                                 marker=dict(color=colour, size=7, opacity=0.7),
                                 text=part["id"],
                                 hovertemplate="%{text}<br>%{x:.3g}, %{y:.3g}<extra></extra>"))
    fig.update_layout(height=380, xaxis_title=x, yaxis_title=y,
                      margin=dict(l=50, r=20, t=20, b=45))
    return fig


def build_curation_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""
    data_dir = context.settings.data_dir

    def choices():
        with context.sessions() as session:
            datasets = filter_choices(session)["dataset"]
        corpora = scored_corpora(data_dir)
        return (gr.Dropdown(choices=corpora, value=corpora[0] if corpora else None),
                gr.Dropdown(choices=datasets, value="demo" if "demo" in datasets else None))

    def score(dataset: str, groups: list[str], progress: gr.Progress = gr.Progress()):
        if not dataset:
            raise gr.Error("pick a library dataset to score")
        progress((0, 1), desc="exporting the dataset")
        try:
            name, report = score_dataset(
                context.sessions, context.store, data_dir, dataset,
                groups=tuple(g for g in GROUPS if g == "basic" or g in (groups or [])),
                progress=lambda done, total, item: progress((done, total), unit="files",
                                                            desc=f"scoring {item}"))
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        failed = "".join(f"\n- {line}" for line in report.failed[:20])
        corpora = scored_corpora(data_dir)
        return (f"**Dataset '{dataset}': {report.summary()}**{failed}",
                gr.Dropdown(choices=corpora, value=name))

    def preset(name: str):
        """Fill the boxes with a shipped rule set's fixed thresholds."""
        values: dict[str, str] = dict.fromkeys(THRESHOLD_METRICS, "")
        note = ""
        if name and name != NO_PRESET:
            try:
                rules = load_rules(RULES_DIR / f"{name}.yaml")
            except RuleError as exc:
                raise gr.Error(exc.problems[0]) from exc
            skipped = []
            for rule in rules.thresholds():
                side = THRESHOLD_METRICS.get(rule.metric)
                bound = rule.min if side == "min" else rule.max
                if side is None or bound is None or rule.sources or rule.min_quantile \
                        is not None or rule.max_quantile is not None:
                    skipped.append(rule.label)
                else:
                    values[rule.metric] = f"{bound:g}"
            if skipped:
                note = ("Not shown as boxes (quantiles, per-source or other-direction rules; "
                        "use `python -m curation select`): " + "; ".join(skipped))
        return [*values.values(), note]

    def view(corpus: str, x: str, y: str, *values: str):
        if not corpus:
            return (gr.skip(),) * 7
        table = _table(context, corpus)
        bounds = _bounds(list(values))
        live = apply_thresholds(table, bounds)
        counts = live.per_source.copy()
        for column in ("hours_in", "hours_kept"):
            counts[column] = counts[column].round(4)
        counts["kept_share"] = (100 * counts["kept_share"]).round(1)
        counts = counts.rename(columns={"kept_share": "kept %"})
        total = live.per_source.iloc[-1]
        status = (f"**{corpus}**: {total.files_in} files, {total.hours_in:.3f} h; kept "
                  f"**{total.files_kept} files, {total.hours_kept:.3f} h**"
                  + (f"; {int((table['error'] != '').sum())} files with a scoring failure"
                     if (table["error"] != "").any() else ""))
        near = near_threshold(live).round(4)
        metrics = [m for m in SCATTER_METRICS if m in table and table[m].notna().any()]
        x = x if x in metrics else (metrics[0] if metrics else None)
        y = y if y in metrics else next((m for m in metrics if m != x), x)
        return (status, counts, histograms(table, bounds),
                scatter(table, live.selection.table["kept"], x, y), near,
                gr.Dropdown(choices=metrics, value=x), gr.Dropdown(choices=metrics, value=y))

    def play(corpus: str, near: pd.DataFrame, event: gr.SelectData):
        row = event.row_value or []
        if not row:
            return None, None, ""
        table = _table(context, corpus)
        item = str(row[0])
        try:
            samples, rate, _ = clip_audio(table, item)
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        info = table[table["id"] == item].iloc[0]
        caption = (f"`{item}` ({info['source']}): " + ", ".join(
            f"{m} {info[m]:.3g}" for m in THRESHOLD_METRICS if m in info and pd.notna(info[m])))
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        return (rate, pcm), spectrogram_figure(samples, rate, title=item, height=260), caption

    def export(corpus: str, *values: str):
        table = _table(context, corpus)
        out = export_selection(data_dir, table, _bounds(list(values)), corpus)
        files = [str(out / n) for n in ("wav.scp", "utt2fs", "kept.tsv", "dropped.tsv",
                                        "rules.yaml", "report.md", "histograms.png")
                 if (out / n).is_file()]
        return f"Selection written to `{out}`.", files

    gr.Markdown("Score a speech corpus with many metrics, then choose thresholds by looking "
                "and listening. The command line does the same at scale: `python -m curation "
                "score|select` (README, Data curation).")
    with gr.Row():
        corpus = gr.Dropdown(label="Scored corpus (under the data folder)",
                             elem_id="cur-corpus", scale=3)
        path = gr.Textbox(label="... or a scores folder on the server", elem_id="cur-path",
                          scale=3)
        load_button = gr.Button("Show", variant="primary", elem_id="cur-load", scale=1)
    with gr.Accordion("Score a library dataset", open=False, elem_id="cur-score-box"):
        with gr.Row():
            dataset = gr.Dropdown(label="Dataset", elem_id="cur-dataset")
            groups = gr.CheckboxGroup([g for g in GROUPS if g != "basic"],
                                      value=[g for g in GROUPS if g != "basic"],
                                      label="Metrics (duration, rate, bandwidth, level and "
                                            "clipping always)", elem_id="cur-groups")
            score_button = gr.Button("Score", elem_id="cur-score")
        score_report = gr.Markdown(elem_id="cur-score-report")
    status = gr.Markdown(elem_id="cur-status")
    with gr.Row():
        rule_preset = gr.Dropdown([NO_PRESET, *sorted(p.stem for p in RULES_DIR.glob("*.yaml"))],
                                  value=NO_PRESET, label="Start from a rule set",
                                  elem_id="cur-preset")
        preset_note = gr.Markdown(elem_id="cur-preset-note")
    boxes = []
    items = list(THRESHOLD_METRICS.items())
    for start in range(0, len(items), 5):
        with gr.Row():
            for metric, side in items[start:start + 5]:
                boxes.append(gr.Textbox(label=f"{metric} {'≥' if side == 'min' else '≤'}",
                                        value="", placeholder="no threshold", max_lines=1,
                                        elem_id=f"cur-t-{metric}", min_width=120))
    counts = gr.Dataframe(label="Files and hours in and kept, per source", interactive=False,
                          elem_id="cur-counts")
    hist = gr.Plot(label="Histograms (dashed red: thresholds)", elem_id="cur-hist")
    with gr.Row():
        x_metric = gr.Dropdown(SCATTER_METRICS, label="Scatter x", value="snr_db",
                               elem_id="cur-x")
        y_metric = gr.Dropdown(SCATTER_METRICS, label="Scatter y", value="dnsmos_ovrl",
                               elem_id="cur-y")
    scatter_plot = gr.Plot(label="Kept (green) and dropped (red)", elem_id="cur-scatter")
    near = gr.Dataframe(label="Files nearest a threshold: select a row to listen",
                        interactive=False, max_height=360, elem_id="cur-near")
    with gr.Row():
        with gr.Column():
            player = gr.Audio(label="Clip", type="numpy", interactive=False,
                              elem_id="cur-audio")
            clip_caption = gr.Markdown(elem_id="cur-clip-caption")
        spectrogram = gr.Plot(label="Spectrogram", elem_id="cur-spectrogram")
    with gr.Row():
        export_button = gr.Button("Export the selection (wav.scp, utt2fs, lists, report)",
                                  elem_id="cur-export")
    export_report = gr.Markdown(elem_id="cur-export-report")
    export_files = gr.File(label="Selection files", file_count="multiple", interactive=False,
                           elem_id="cur-export-files")

    chosen = gr.State("")
    view_inputs = [chosen, x_metric, y_metric, *boxes]
    view_outputs = [status, counts, hist, scatter_plot, near, x_metric, y_metric]

    def pick(name: str, folder: str) -> str:
        folder = (folder or "").strip()
        if folder and not Path(folder).expanduser().is_dir():
            raise gr.Error(f"no folder {folder} on the server")
        return folder or name or ""

    load_button.click(pick, [corpus, path], chosen).then(view, view_inputs, view_outputs)
    corpus.input(pick, [corpus, path], chosen).then(view, view_inputs, view_outputs)
    score_button.click(score, [dataset, groups], [score_report, corpus],
                       show_progress_on=[score_report]).then(
        pick, [corpus, path], chosen).then(view, view_inputs, view_outputs)
    rule_preset.input(preset, rule_preset, [*boxes, preset_note]).then(
        view, view_inputs, view_outputs)
    for box in boxes:
        box.submit(view, view_inputs, view_outputs)
        box.blur(view, view_inputs, view_outputs)
    x_metric.input(view, view_inputs, view_outputs)
    y_metric.input(view, view_inputs, view_outputs)
    near.select(play, [chosen, near], [player, spectrogram, clip_caption])
    export_button.click(export, [chosen, *boxes], [export_report, export_files])
    blocks.load(choices, None, [corpus, dataset])
