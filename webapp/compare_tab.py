"""The Compare tab: several systems over a dataset, summarised with confidence intervals,
broken down by distortion, sampling rate and speech category, with every clip one click
away."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from audio.metrics import METRICS
from library.clips import LibraryError, filter_choices, get_clip
from library.comparison import (
    clip_set_note,
    comparison_inputs,
    run_comparison,
    summarize,
    write_exports,
)
from library.systems import import_outputs
from webapp.charts import bars_with_ci, box_by_system
from webapp.clip_views import render_clip_panels
from webapp.context import AppContext

DEFAULT_METRICS_SHOWN = ["pesq", "estoi", "si_sdr", "dnsmos_ovrl"]
#: Brings the opened clip into view once its players and spectrograms are drawn.
SCROLL_TO_CLIP = """() => { setTimeout(() => document.querySelector('#compare-clip-view')
  ?.scrollIntoView({behavior: 'smooth', block: 'start'}), 300); }"""


def _cell(mean: float, ci: float, n: int, clips: int) -> str:
    """`mean ± ci`, with `(n=..)` where fewer clips than the row's count were averaged."""
    text = f"{mean:.3f} ± {ci:.3f}" if pd.notna(ci) else (f"{mean:.3f}" if pd.notna(mean)
                                                          else "")
    return f"{text} (n={n})" if text and n < clips else text


def _summary_table(summary: pd.DataFrame, metrics: list[str], by: list[str]) -> pd.DataFrame:
    """`mean ± ci` text per metric, as a person reads it."""
    table = summary[[*by, "clips"]].copy()
    if "rtf_mean" in summary and by == ["system"]:
        table["RTF"] = summary["rtf_mean"].round(4)
    for m in metrics:
        table[m] = [_cell(mean, ci, n, clips) for mean, ci, n, clips in zip(
            summary[f"{m}_mean"], summary[f"{m}_ci95"], summary[f"{m}_n"], summary["clips"],
            strict=True)]
    return table


def build_compare_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def choices() -> list[gr.Dropdown | gr.CheckboxGroup]:
        with context.sessions() as session:
            datasets = filter_choices(session)["dataset"]
        return [gr.Dropdown(choices=datasets, value="demo" if "demo" in datasets else None),
                gr.CheckboxGroup(choices=list(context.systems()),
                                 value=["unprocessed", "mmse_lsa", "rnnoise"])]

    def run(dataset: str, systems: list[str], metrics: list[str],
            progress: gr.Progress = gr.Progress()):
        if not dataset or not systems or not metrics:
            raise gr.Error("pick a dataset, at least one system and one metric")
        catalog = context.systems()
        try:
            with context.sessions() as session:
                inputs = comparison_inputs(session, dataset)
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        results = run_comparison(
            context.sessions, context.store, inputs, [catalog[s] for s in systems], metrics,
            progress=lambda done, total, what: progress((done, total), desc=what))
        results.attrs["metrics"] = metrics
        return (results, gr.Dropdown(choices=metrics, value=metrics[0]),
                *views(results, metrics[0]))

    def views(results: pd.DataFrame, metric: str):
        if results is None or results.empty:
            return "", None, None, None, None, None, None, None, None
        metrics = results.attrs.get("metrics", [metric])
        if "predicted_mos" in results and results["predicted_mos"].notna().any():
            metrics = [*metrics, "predicted_mos"]  # the active quality model's MOS
        by_system = summarize(results, metrics)
        by_distortion = summarize(results, [metric], by=("system", "distortions"))
        by_rate = summarize(results, [metric], by=("system", "sample_rate"))
        by_category = summarize(results, [metric], by=("system", "speech_category"))
        clips = results[["input_clip_id", "input", "system", "sample_rate", *metrics,
                         "real_time_factor", "error"]].copy()
        clips["distortions"] = results["distortions"].map(" + ".join)
        folder = Path(tempfile.mkdtemp(prefix="comparison-"))
        return (clip_set_note(results, metrics),
                _summary_table(by_system, metrics, ["system"]),
                bars_with_ci(by_system, metric, title=f"{metric}: mean and 95% CI"),
                box_by_system(results, metric, title=f"{metric} per clip"),
                _summary_table(by_distortion, [metric], ["system", "distortions"]).pivot(
                    index="distortions", columns="system", values=metric).reset_index(),
                _summary_table(by_rate, [metric], ["system", "sample_rate"]).pivot(
                    index="sample_rate", columns="system", values=metric).reset_index(),
                _summary_table(by_category, [metric], ["system", "speech_category"]).pivot(
                    index="speech_category", columns="system", values=metric).reset_index(),
                # on screen an all-empty error column only squeezes the others
                (clips if clips["error"].astype(bool).any()
                 else clips.drop(columns="error")).round(3),
                [str(path) for path in write_exports(results, metrics, folder)])

    def select_clip(results: pd.DataFrame, event: gr.SelectData):
        row = event.row_value or []
        if results is None or not row:
            return [], ""
        clip_id = int(row[0])
        chosen = results[results["input_clip_id"] == clip_id]
        panels = [{"title": "input", "clip_id": clip_id}]
        with context.sessions() as session:
            reference = get_clip(session, clip_id).reference_clip_id
        if reference:
            panels.append({"title": "clean reference", "clip_id": reference})
        metrics = results.attrs.get("metrics", [])
        for item in chosen.to_dict("records"):
            if item["output_clip_id"] is not None and pd.notna(item["output_clip_id"]):
                caption = ", ".join(f"{m} {item[m]:.2f}" for m in metrics if pd.notna(item[m]))
                panels.append({"title": item["system"], "clip_id": int(item["output_clip_id"]),
                               "caption": caption})
        name = chosen["input"].iloc[0] if len(chosen) else clip_id
        return panels, f"#### {name}: the input, its clean reference and every output"

    def import_folder(folder: str, name: str, dataset: str,
                      progress: gr.Progress = gr.Progress()) -> str:
        if not folder.strip() or not dataset:
            raise gr.Error("give the outputs folder and pick the dataset they belong to")
        try:
            with context.sessions() as session:
                inputs = comparison_inputs(session, dataset)
            report = import_outputs(
                context.sessions, context.store, Path(folder.strip()), inputs, name=name,
                progress=lambda done, total, what: progress((done, total), desc=what))
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        lines = [f"**{report.summary()}**"]
        lines += [f"- refused `{n}`: {why}" for n, why in report.refused]
        if report.inputs_without_output:
            lines.append("- inputs without an output: " +
                         ", ".join(report.inputs_without_output[:20]))
        if report.outputs_without_input:
            lines.append("- files matching no input: " +
                         ", ".join(report.outputs_without_input[:20]))
        return "\n".join(lines)

    with gr.Row():
        dataset = gr.Dropdown(label="Dataset", elem_id="compare-dataset")
        metrics = gr.CheckboxGroup(choices=list(METRICS), value=DEFAULT_METRICS_SHOWN,
                                   label="Metrics", elem_id="compare-metrics")
    systems = gr.CheckboxGroup(label="Systems", elem_id="compare-systems")
    with gr.Accordion("Import another system's outputs (matched to the dataset by file name)",
                      open=False):
        with gr.Row():
            outputs_folder = gr.Textbox(label="Outputs folder on the server")
            outputs_name = gr.Textbox(label="System name (default: folder name)")
            outputs_button = gr.Button("Import outputs")
        outputs_report = gr.Markdown()
    run_button = gr.Button("Compare", variant="primary", elem_id="compare-run")
    results = gr.State(None)
    clip_set = gr.Markdown(elem_id="compare-clip-set")
    summary = gr.Dataframe(label="Per system: mean ± 95% CI (t-distribution) over clips",
                           interactive=False, wrap=True, elem_id="compare-summary")
    chart_metric = gr.Dropdown(label="Metric for charts and breakdowns",
                               elem_id="compare-chart-metric")
    with gr.Row():
        bars = gr.Plot(label="Mean with 95% CI", elem_id="compare-bars")
        boxes = gr.Plot(label="Per clip", elem_id="compare-boxes")
    # one under the other, full width: side by side they cut off the last systems
    by_distortion = gr.Dataframe(label="By distortion type (a clip counts for each of its "
                                       "distortions)", interactive=False, wrap=True,
                                 elem_id="compare-by-distortion")
    by_rate = gr.Dataframe(label="By sampling rate (Hz)", interactive=False, wrap=True,
                           elem_id="compare-by-rate")
    by_category = gr.Dataframe(label="By speech category (from the clip's condition: "
                                     "speech.category; unknown where none)",
                               interactive=False, wrap=True, elem_id="compare-by-category")
    clips = gr.Dataframe(label="Per clip (select a row to listen: it opens just below)",
                         interactive=False, max_height=400, wrap=True,
                         elem_id="compare-clips")
    with gr.Column(elem_id="compare-clip-view"):
        clip_title = gr.Markdown(elem_id="compare-clip-title")
        panels = gr.State([])

        @gr.render(inputs=panels)
        def show_clip(items: list[dict]) -> None:
            if items:
                render_clip_panels(context, items)
    downloads = gr.File(label="CSV export", file_count="multiple", interactive=False,
                        elem_id="compare-csv")

    view_outputs = [clip_set, summary, bars, boxes, by_distortion, by_rate, by_category, clips,
                    downloads]
    run_button.click(run, [dataset, systems, metrics], [results, chart_metric, *view_outputs],
                     show_progress_on=[summary])
    chart_metric.input(views, [results, chart_metric], view_outputs)
    clips.select(select_clip, results, [panels, clip_title]).then(
        None, None, None, js=SCROLL_TO_CLIP)
    outputs_button.click(import_folder, [outputs_folder, outputs_name, dataset],
                         outputs_report).then(choices, None, [dataset, systems])
    blocks.load(choices, None, [dataset, systems])
