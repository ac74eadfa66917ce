"""The Enhance tab: one clip (uploaded, recorded or from the library) through several systems,
compared by ear, by spectrogram and by metrics."""

from __future__ import annotations

import math
from pathlib import Path

import gradio as gr
import pandas as pd

from audio.io import AudioError, load_audio
from audio.metrics import DEFAULT_METRICS
from library.clips import LibraryError, get_clip
from library.comparison import input_clip, run_comparison
from library.importing import ImportRejected, import_files
from library.scores import ensure_scores
from se.systems import check_input
from webapp.clip_views import render_clip_panels
from webapp.context import AppContext

DEFAULT_SYSTEMS = ["unprocessed", "mmse_lsa", "rnnoise"]


def _fmt(value: float) -> float | str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else round(float(value), 3)


def build_enhance_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def system_choices() -> gr.CheckboxGroup:
        names = [n for n, s in context.systems().items() if s.kind != "external"]
        return gr.CheckboxGroup(choices=names, value=[n for n in DEFAULT_SYSTEMS if n in names])

    def resolve_input(upload: str | None, clip_id: float | None) -> int:
        if upload:
            try:  # refuse what no system can take before anything is stored
                audio = load_audio(Path(upload), max_seconds=context.settings.max_seconds)
                check_input(audio.samples, audio.sample_rate, name=Path(upload).name)
            except AudioError as exc:
                raise gr.Error(str(exc)) from exc
            try:
                with context.sessions.begin() as session:
                    report = import_files(session, context.store, [(Path(upload).name,
                                                                     Path(upload))],
                                          max_seconds=context.settings.max_seconds)
            except (ImportRejected, LibraryError) as exc:
                raise gr.Error(str(exc)) from exc
            if not report.clip_ids:
                raise gr.Error(report.skipped[0][1] if report.skipped else "nothing imported")
            return report.clip_ids[0]
        if clip_id:
            return int(clip_id)
        raise gr.Error("upload or record a clip, or give a library clip id")

    def run(upload: str | None, clip_id: float | None, chosen: list[str],
            progress: gr.Progress = gr.Progress()):
        if not chosen:
            raise gr.Error("pick at least one system")
        source_id = resolve_input(upload, clip_id)
        systems = context.systems()
        with context.sessions() as session:
            try:
                clip = input_clip(session, source_id)
            except LibraryError as exc:
                raise gr.Error(str(exc)) from exc
            reference_id = get_clip(session, source_id).reference_clip_id
        progress(0, desc="scoring the input")
        source_scores = ensure_scores(context.sessions, context.store, source_id)
        results = run_comparison(
            context.sessions, context.store, [clip], [systems[n] for n in chosen],
            progress=lambda done, total, what: progress((done, total), desc=what))
        table = [{"system": "(input)", **{m: _fmt(v) for m, v in source_scores.values.items()},
                  "seconds": "", "RTF": "", "notes": "; ".join(
                      f"{m}: {e}" for m, e in source_scores.errors.items())}]
        panels = [{"title": "input", "clip_id": source_id, "download": clip.name}]
        if reference_id:
            panels.append({"title": "clean reference", "clip_id": reference_id})
        for row in results.to_dict("records"):
            table.append({"system": row["system"],
                          **{m: _fmt(row[m]) for m in DEFAULT_METRICS},
                          "seconds": _fmt(row["processing_seconds"]),
                          "RTF": _fmt(row["real_time_factor"]), "notes": row["error"]})
            if row["output_clip_id"] is not None:
                panels.append({"title": row["system"], "clip_id": int(row["output_clip_id"]),
                               "download": f"{Path(clip.name).stem}_{row['system']}"})
        return pd.DataFrame(table), panels

    gr.Markdown("Upload or record a clip (any rate; 8-48 kHz for the systems), or pick one "
                "from the library by id. Intrusive metrics (PESQ, ESTOI, SI-SDR, SDR, LSD, "
                "MCD) need a known clean reference, as the demo clips have.")
    with gr.Row():
        upload = gr.Audio(sources=["upload", "microphone"], type="filepath",
                          label="Upload or record", elem_id="enhance-upload")
        with gr.Column():
            clip_id = gr.Number(label="...or a library clip id", precision=0,
                                elem_id="enhance-clip-id")
            systems = gr.CheckboxGroup(label="Systems", elem_id="enhance-systems")
            run_button = gr.Button("Enhance", variant="primary", elem_id="enhance-run")
    metrics = gr.Dataframe(label="Metrics (higher is better except LSD and MCD; RTF = "
                                 "processing time / duration, one call)",
                           interactive=False, elem_id="enhance-metrics")
    panels = gr.State([])

    @gr.render(inputs=panels)
    def show_outputs(items: list[dict]) -> None:
        if items:
            render_clip_panels(context, items)

    run_button.click(run, [upload, clip_id, systems], [metrics, panels],
                     show_progress_on=[metrics])
    blocks.load(system_choices, None, systems)
