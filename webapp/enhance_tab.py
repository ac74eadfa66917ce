"""The Enhance tab: one clip (uploaded, recorded or picked from the library) through several
systems, compared by ear, by spectrogram and by metrics.

Each system's output appears the moment it exists and each metric cell fills in as its clip
is scored (:func:`library.comparison.enhance_live`), so a person listens to the first output
while the others are still being made and measured.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pandas as pd

from audio.io import AudioError, load_audio
from audio.metrics import DEFAULT_METRICS
from audio.metrics.workers import start_workers
from library.clips import LibraryError, get_clip
from library.comparison import enhance_live, input_clip
from library.enhancement import find_input_clips
from library.importing import ImportRejected, import_in_batches, plan_files
from se.systems import check_input
from webapp.clip_views import render_clip_panels
from webapp.context import AppContext

DEFAULT_SYSTEMS = ["unprocessed", "mmse_lsa", "rnnoise"]
PENDING = "…"
INPUT_ROW = "(input)"


def _fmt(value: float | None) -> float | str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else round(float(value), 3)


def notes_text(errors: dict[str, str]) -> str:
    """Why cells are empty, one entry per reason: "pesq, estoi, ...: no clean reference"
    rather than the same words once per metric."""
    by_reason: dict[str, list[str]] = {}
    for metric, reason in errors.items():
        by_reason.setdefault(reason, []).append(metric)
    return "; ".join(f"{', '.join(metrics)}: {reason}" for reason, metrics in by_reason.items())


@functools.cache
def warm_metrics_once() -> None:
    """Start the scoring worker processes (each builds its DNSMOS sessions: seconds of work)
    in the background the first time an admin page opens, so the first Enhance does not
    wait for them; not at server start, where it would delay the first answer."""
    threading.Thread(target=start_workers, daemon=True, name="warm-metrics").start()


def _row(system: str) -> dict:
    return {"system": system, **{m: PENDING for m in DEFAULT_METRICS}, "seconds": "",
            "RTF": "", "notes": ""}


def build_enhance_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def system_choices() -> gr.CheckboxGroup:
        names = [n for n, s in context.systems().items() if s.kind != "external"]
        return gr.CheckboxGroup(choices=names, value=[n for n in DEFAULT_SYSTEMS if n in names])

    def clip_choices(query: str = "") -> gr.Dropdown:
        with context.sessions() as session:
            found = find_input_clips(session, query or "")
        return gr.Dropdown(choices=[(c.label, c.id) for c in found], value=None,
                           label=f"...or a library clip ({len(found)} found"
                                 f"{', newest first' if len(found) > 1 else ''})")

    def resolve_input(upload: str | None, clip_id: int | None) -> int:
        if upload:
            try:  # refuse what no system can take before anything is stored
                audio = load_audio(Path(upload), max_seconds=context.settings.max_seconds)
                check_input(audio.samples, audio.sample_rate, name=Path(upload).name)
            except AudioError as exc:
                raise gr.Error(str(exc)) from exc
            try:  # decoded and stored outside any transaction; the row under the write lock
                report = import_in_batches(context.write, context.store,
                                           plan_files([(Path(upload).name, Path(upload))]),
                                           max_seconds=context.settings.max_seconds)
            except (ImportRejected, LibraryError) as exc:
                raise gr.Error(str(exc)) from exc
            if not report.clip_ids:
                raise gr.Error(report.skipped[0][1] if report.skipped else "nothing imported")
            return report.clip_ids[0]
        if clip_id:
            return int(clip_id)
        raise gr.Error("upload or record a clip, or pick one from the library")

    def run(upload: str | None, clip_id: int | None, chosen: list[str]) -> Iterator[tuple]:
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
        rows = {INPUT_ROW: _row(INPUT_ROW), **{name: _row(name) for name in chosen}}
        for name in chosen:
            rows[name]["notes"] = "waiting"
        scored_by: dict[int, list[str]] = {source_id: [INPUT_ROW]}
        panels = [{"title": "input", "clip_id": source_id, "download": clip.name}]
        if reference_id:
            panels.append({"title": "clean reference", "clip_id": reference_id})
        made, scored = 0, 0

        def status() -> str:
            left = len(scored_by) - scored
            return (f"{made} of {len(chosen)} outputs ready; "
                    f"{scored} of {len(scored_by)} clips scored"
                    + (f", {left} being scored" if left else "") + ".")

        yield pd.DataFrame(rows.values()), panels, status()
        for update in enhance_live(context.sessions, context.store, source_id,
                                   [systems[n] for n in chosen]):
            if update.system is not None:
                made += 1
                row = rows[update.system]
                if update.output is None:
                    row.update({m: "" for m in DEFAULT_METRICS}, notes=update.error)
                    yield pd.DataFrame(rows.values()), gr.skip(), status()
                    continue
                output = update.output
                row.update(seconds=_fmt(output.processing_seconds),
                           RTF=_fmt(output.real_time_factor), notes="")
                scored_by.setdefault(output.output_clip_id, []).append(update.system)
                if output.output_clip_id == source_id:  # the input's scores may be in
                    row.update({m: rows[INPUT_ROW][m] for m in DEFAULT_METRICS},
                               notes=rows[INPUT_ROW]["notes"])
                panels = [*panels, {"title": update.system, "clip_id": output.output_clip_id,
                                    "download": f"{Path(clip.name).stem}_{update.system}"}]
                yield pd.DataFrame(rows.values()), panels, status()
            elif update.scores is not None:
                scored += 1
                for name in scored_by.get(update.scores.clip_id, []):
                    rows[name].update({m: _fmt(v) for m, v in update.scores.values.items()})
                    rows[name]["notes"] = notes_text(update.scores.errors)
                yield pd.DataFrame(rows.values()), gr.skip(), status()
        yield pd.DataFrame(rows.values()), gr.skip(), "Done: " + status()

    gr.Markdown("Upload or record a clip (any rate; 8-48 kHz for the systems), or pick one "
                "from the library (type to search by name or dataset). Intrusive metrics "
                "(PESQ, ESTOI, SI-SDR, SDR, LSD, MCD) need a known clean reference, as the "
                "demo clips have. Each output plays as soon as it is made; its metrics "
                "follow.")
    with gr.Row():
        upload = gr.Audio(sources=["upload", "microphone"], type="filepath",
                          label="Upload or record", elem_id="enhance-upload")
        with gr.Column():
            with gr.Row():
                search = gr.Textbox(label="Search the library", placeholder="name or dataset",
                                    elem_id="enhance-search", scale=2)
                search_button = gr.Button("Search", scale=0, elem_id="enhance-search-button")
            clip_id = gr.Dropdown(label="...or a library clip", filterable=True,
                                  elem_id="enhance-clip")
            systems = gr.CheckboxGroup(label="Systems", elem_id="enhance-systems")
            run_button = gr.Button("Enhance", variant="primary", elem_id="enhance-run")
    status = gr.Markdown(elem_id="enhance-status")
    metrics = gr.Dataframe(label="Metrics (higher is better except LSD and MCD; RTF = "
                                 "processing time / duration, one call; … = being computed)",
                           interactive=False, wrap=True, elem_id="enhance-metrics")
    panels = gr.State([])

    @gr.render(inputs=panels)
    def show_outputs(items: list[dict]) -> None:
        if items:
            render_clip_panels(context, items)

    run_button.click(run, [upload, clip_id, systems], [metrics, panels, status],
                     show_progress_on=[status])
    search.submit(clip_choices, search, clip_id)
    search_button.click(clip_choices, search, clip_id)
    blocks.load(system_choices, None, systems).then(clip_choices, None, clip_id).then(
        warm_metrics_once)
