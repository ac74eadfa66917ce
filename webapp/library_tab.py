"""The Library tab: browse, filter, play and inspect clips; upload files; import datasets."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from library.clips import ClipFilter, LibraryError, filter_choices, list_clips
from library.importing import (
    ImportPlan,
    ImportRejected,
    ImportReport,
    import_in_batches,
    plan_files,
    plan_path,
    plan_zip,
)
from webapp.clip_views import clip_media
from webapp.context import AppContext

ANY = "(any)"
COLUMNS = ["id", "name", "datasets", "system", "rate (kHz)", "duration (s)", "origin",
           "condition", "predicted MOS"]


def _condition_text(condition: dict | None) -> str:
    if not condition:
        return ""
    if "distortions" in condition:
        return " + ".join(map(str, condition["distortions"])) or "clean"
    return ", ".join(f"{k}={v}" for k, v in condition.items() if not isinstance(v, dict))[:80]


def _table(rows) -> pd.DataFrame:
    return pd.DataFrame([[r.id, r.name, ", ".join(r.datasets), r.system or "",
                          r.sample_rate / 1000, round(r.duration_seconds, 2), r.origin,
                          _condition_text(r.condition),
                          None if r.predicted_mos is None else round(r.predicted_mos, 2)]
                         for r in rows], columns=COLUMNS)


def _report_markdown(report: ImportReport) -> str:
    lines = [f"**{report.summary()}**"]
    for name, reason in report.skipped:
        lines.append(f"- skipped `{name}`: {reason}")
    for name, note in report.notes:
        lines.append(f"- note on `{name}`: {note}")
    return "\n".join(lines)


def build_library_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def choices() -> list[gr.Dropdown]:
        with context.sessions() as session:
            options = filter_choices(session)
        return [gr.Dropdown(choices=[ANY] + [str(v) for v in options[key]])
                for key in ("dataset", "system", "sample_rate", "origin")]

    def refresh(dataset: str, system: str, rate: str, origin: str) -> pd.DataFrame:
        def pick(value: str) -> str | None:
            return None if value in (None, "", ANY) else value
        with context.sessions() as session:
            rows = list_clips(session, ClipFilter(
                dataset=pick(dataset), system=pick(system),
                sample_rate=int(rate) if pick(rate) else None, origin=pick(origin)))
        return _table(rows)

    def show(clip_id: float | None):
        if not clip_id:
            return None, None, None
        return clip_media(context, int(clip_id))

    def select(event: gr.SelectData) -> int | None:
        row = event.row_value or []
        return int(row[0]) if row else None

    def upload(files: list[str] | None, dataset: str,
               progress: gr.Progress = gr.Progress()) -> str:
        if not files:
            raise gr.Error("choose one or more audio files (or a .zip) first")
        paths = [Path(f) for f in files]
        zips = [p for p in paths if p.suffix.lower() == ".zip"]
        plain = [(p.name, p) for p in paths if p.suffix.lower() != ".zip"]
        try:
            plans = ([plan_files(plain, dataset_name=dataset or "uploads")] if plain else []) \
                + [plan_zip(archive, dataset_name=dataset or None) for archive in zips]
            reports = [run_import(plan, progress) for plan in plans]
        except (ImportRejected, LibraryError) as exc:
            raise gr.Error(str(exc)) from exc
        return "\n\n".join(_report_markdown(r) for r in reports)

    def run_import(plan: ImportPlan, progress: gr.Progress) -> ImportReport:
        return import_in_batches(
            context.write, context.store, plan, max_seconds=context.settings.max_seconds,
            progress=lambda done, total, _n: progress((done, total), unit="files"))

    def import_server_path(source: str, dataset: str,
                           progress: gr.Progress = gr.Progress()) -> str:
        if not source.strip():
            raise gr.Error("give the path of a folder, a .zip or a wav.scp on the server")
        try:
            report = run_import(plan_path(Path(source.strip()),
                                          dataset_name=dataset.strip() or None), progress)
        except (ImportRejected, LibraryError) as exc:
            raise gr.Error(str(exc)) from exc
        return _report_markdown(report)

    with gr.Row():
        dataset = gr.Dropdown([ANY], value=ANY, label="Dataset", elem_id="filter-dataset")
        system = gr.Dropdown([ANY], value=ANY, label="System", elem_id="filter-system")
        rate = gr.Dropdown([ANY], value=ANY, label="Sampling rate (Hz)", elem_id="filter-rate")
        origin = gr.Dropdown([ANY], value=ANY, label="Origin", elem_id="filter-origin")
        refresh_button = gr.Button("Refresh", scale=0)
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="clip-table",
                         max_height=420, label="Clips (select a row to open it)", wrap=True,
                         column_widths=["5%", "22%", "12%", "10%", "7%", "8%", "8%", "18%",
                                        "10%"])
    with gr.Row():
        with gr.Column(scale=3):
            clip_id = gr.Number(label="Clip id", precision=0, elem_id="clip-id")
            player = gr.Audio(label="Player", type="filepath", interactive=False,
                              elem_id="clip-player")
            spectrogram = gr.Plot(label="Spectrogram", elem_id="clip-spectrogram")
        with gr.Column(scale=2):
            metadata = gr.JSON(label="Metadata", elem_id="clip-metadata")
    with gr.Accordion("Add clips", open=False, elem_id="add-clips"):
        with gr.Row():
            files = gr.File(file_count="multiple", label="Audio files or .zip archives",
                            file_types=[".wav", ".flac", ".ogg", ".opus", ".mp3", ".zip"],
                            elem_id="upload-files")
            with gr.Column():
                upload_dataset = gr.Textbox("uploads", label="Dataset name",
                                            elem_id="upload-dataset")
                upload_button = gr.Button("Add to library", variant="primary",
                                          elem_id="upload-button")
        gr.Markdown("Or import a folder, a `.zip` or a Kaldi `wav.scp` on the server:")
        with gr.Row():
            server_path = gr.Textbox(label="Path on the server", elem_id="import-path")
            import_dataset = gr.Textbox(label="Dataset name (default: folder or file name)")
            import_button = gr.Button("Import", elem_id="import-button")
        report = gr.Markdown(elem_id="import-report")

    filters = [dataset, system, rate, origin]
    for control in filters:
        control.change(refresh, filters, table)
    refresh_button.click(choices, None, filters).then(refresh, filters, table)
    table.select(select, None, clip_id)
    clip_id.change(show, clip_id, [player, spectrogram, metadata])
    # the box empties once its files are in, so the next upload cannot add them again
    upload_button.click(upload, [files, upload_dataset], report).success(
        lambda: None, None, files).then(choices, None, filters).then(refresh, filters, table)
    import_button.click(import_server_path, [server_path, import_dataset], report).then(
        choices, None, filters).then(refresh, filters, table)
    blocks.load(choices, None, filters).then(refresh, filters, table)
