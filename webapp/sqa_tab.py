"""The Quality model tab: import label sets, train the MOS predictor on chosen labels with a
live loss curve, judge it beside DNSMOS on the same held-out clips, keep a registry of
models, score the library and suggest clips to rate next. Every button calls a service of
:mod:`library.quality_labels`, :mod:`library.quality_models` or :mod:`library.quality_scoring`.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import gradio as gr
import pandas as pd

from library.clips import LibraryError
from library.quality_labels import (
    LabelUploadError,
    import_label_set,
    label_sources,
    training_labels,
)
from library.quality_models import (
    QualityModelError,
    TrainingRequest,
    activate_model,
    active_model,
    describe_data,
    get_model,
    list_models,
    train_model,
)
from library.quality_scoring import score_library, suggest_clips
from sqa.label_formats import FORMATS
from webapp.clip_views import clip_media
from webapp.context import AppContext
from webapp.sqa_charts import (
    METRIC_COLUMNS,
    POINT_COLUMNS,
    SUGGESTION_COLUMNS,
    loss_figure,
    metrics_table,
    points_table,
    registry_table,
    residual_figure,
    system_level_note,
    system_scatter,
    utterance_scatter,
)

SPLITS = [("held-out systems (unseen conditions)", "system"), ("held-out clips", "clip")]
SIZES = [("compact (1.0 M weights)", "compact"), ("tiny (a quick trial, new)", "tiny")]
#: Where a compact model's training starts: the shipped checkpoint unless told otherwise.
START_SHIPPED, START_ACTIVE, START_SCRATCH = "shipped checkpoint", "active model", "scratch"
START_CHOICES = [START_SHIPPED, START_ACTIVE, START_SCRATCH]
NO_MODEL = ("**No quality model yet.** Train one below, or place a pretrained model folder "
            "(holding `model.pt`) at `checkpoints/sqa/pretrained/` and restart.")


def models_dir(context: AppContext) -> Path:
    return Path(context.settings.data_dir) / "sqa_models"


def _status(context: AppContext) -> str:
    with context.sessions() as session:
        info = active_model(session)
    if info is None:
        return NO_MODEL
    return f"Active model: **{info.name}** ({info.kind}, {info.created_at:%Y-%m-%d %H:%M})."


def _registry(context: AppContext) -> pd.DataFrame:
    with context.sessions() as session:
        return registry_table(list_models(session))


def _results(metrics: dict | None, colour: str = "system_id"):
    """Metric table, why system-level cells are blank (if they are), two scatters, residuals
    and the held-out table of stored results."""
    points = pd.DataFrame((metrics or {}).get("points") or [])
    if points.empty:
        return None, "", None, None, None, None
    return (metrics_table(metrics), system_level_note(metrics),
            utterance_scatter(points, colour), system_scatter(points),
            residual_figure(points), points_table(points))


def _sources_signature(found: dict) -> list:
    """What the source lists show, to tell whether new votes or label sets arrived."""
    return [[s.key, s.ratings, s.clips] for kind in ("tests", "label_sets")
            for s in found[kind]]


def build_sqa_tab(context: AppContext, blocks: gr.Blocks) -> None:
    """Lay out the tab inside the current Blocks and wire its events."""

    def sources():
        with context.sessions() as session:
            found = label_sources(session)
        tests = [(f"{s.title} ({s.ratings} votes, {s.clips} clips)", s.key)
                 for s in found["tests"]]
        sets = [(f"{s.title} ({s.ratings} labels, {s.clips} clips)", s.key)
                for s in found["label_sets"]]
        return (gr.CheckboxGroup(choices=tests), gr.CheckboxGroup(choices=sets),
                _status(context), _registry(context), _sources_signature(found))

    def sources_if_changed(seen: list | None):
        """Every few seconds: new votes, tests or label sets show without a reload (and
        nothing is redrawn, or unticked, while nothing changed)."""
        with context.sessions() as session:
            signature = _sources_signature(label_sources(session))
        if signature == seen:
            return (gr.skip(),) * 5
        return sources()

    def upload(labels_file: str | None, audio_zip: str | None, name: str, fmt: str) -> str:
        if not labels_file:
            raise gr.Error("choose the label file (CSV) and the zip of its audio")
        try:
            report = import_label_set(context.write, context.store, Path(labels_file),
                                      Path(audio_zip) if audio_zip else None, name, fmt=fmt,
                                      max_seconds=context.settings.max_seconds)
        except LabelUploadError as exc:
            lines = "\n".join(f"- {p}" for p in exc.problems[:200])
            return f"**Nothing was imported** ({len(exc.problems)} problems):\n\n{lines}"
        return f"**{report.summary()}**"

    def train(tests: list[str], sets: list[str], split: str, fraction: float, steps: float,
              size: str, start: str, name: str, colour: str,
              progress: gr.Progress = gr.Progress()):
        try:
            with context.sessions() as session:
                table = training_labels(session, context.store, [int(t) for t in tests or []],
                                        sets or [])
                init = active_model(session) if start == START_ACTIVE else None
        except LibraryError as exc:
            raise gr.Error(str(exc)) from exc
        request = TrainingRequest(name=name or "", split=split, held_out_fraction=fraction,
                                  steps=int(steps or 0), size=size,
                                  init_model_id=init.id if init else None,
                                  from_scratch=start == START_SCRATCH)
        updates: queue.Queue = queue.Queue()
        outcome: dict = {}

        def work() -> None:
            try:
                outcome["model"] = train_model(
                    context.sessions, context.store, models_dir(context), table, request,
                    describe_data(table, tests or [], sets or []),
                    on_step=lambda step, total, loss: updates.put((step, total, loss)))
            except QualityModelError as exc:
                outcome["error"] = str(exc)
            except Exception as exc:  # shown to the user rather than lost in a thread
                outcome["error"] = f"training failed: {type(exc).__name__}: {exc}"

        worker = threading.Thread(target=work, daemon=True, name="sqa-train")
        worker.start()
        steps_seen: list[int] = []
        losses: list[float] = []
        total = request.steps
        skip = [gr.skip()] * 10
        # the previous model's results leave the screen while this one trains
        yield (loss_figure([], [], total), None, "", None, None, None, None, gr.skip(),
               f"Training **{request.name}**: starting (step 0 of {total}).", None,
               gr.Button(visible=False))
        while worker.is_alive() or not updates.empty():
            worker.join(timeout=0.7)
            fresh = False
            while not updates.empty():
                step, total, loss = updates.get()
                steps_seen.append(step)
                losses.append(loss)
                fresh = True
            if fresh:
                done = steps_seen[-1] >= total
                progress((steps_seen[-1], total), unit="steps",
                         desc="scoring held-out clips (model, DNSMOS)" if done else "training")
                doing = ("scoring the held-out clips with the model and DNSMOS" if done else
                         f"step {steps_seen[-1]} of {total}, loss {losses[-1]:.3f}")
                yield (loss_figure(steps_seen, losses, total), *skip[:7],
                       f"Training **{request.name}**: {doing}.", *skip[8:])
        if "error" in outcome:
            raise gr.Error(outcome["error"])
        model_id, _ = outcome["model"]
        with context.sessions() as session:
            info = get_model(session, model_id)
        offer = (f"{_status(context)}  \n**'{info.name}' is trained** and kept in the "
                 f"registry, not active yet: press *Make it the active model* to use it for "
                 f"scoring and predictions.")
        yield (loss_figure(steps_seen, losses, total), *_results(info.metrics, colour),
               _registry(context), offer, model_id,
               gr.Button(f"Make '{info.name}' the active model", visible=True))

    def show(model_id: float | None, colour: str):
        if not model_id:
            raise gr.Error("select a model in the table first")
        try:
            with context.sessions() as session:
                info = get_model(session, int(model_id))
        except QualityModelError as exc:
            raise gr.Error(str(exc)) from exc
        if not info.metrics:
            gr.Info(f"'{info.name}' has no held-out results stored (it was not trained here)")
        return *_results(info.metrics, colour), info.id

    def recolour(model_id: int | None, colour: str):
        if not model_id:
            return gr.skip()
        with context.sessions() as session:
            return _results(get_model(session, model_id).metrics, colour)[2]

    def activate(model_id: float | None):
        if not model_id:
            raise gr.Error("select a model in the table first")
        try:
            with context.write() as session:
                activate_model(session, int(model_id))
        except QualityModelError as exc:
            raise gr.Error(str(exc)) from exc
        return _registry(context), _status(context)

    def activate_trained(model_id: int | None):
        registry_value, status_value = activate(model_id)
        return registry_value, status_value, gr.Button(visible=False)

    def score(progress: gr.Progress = gr.Progress()) -> str:
        try:
            report = score_library(context.sessions, context.store, progress=lambda d, t, n:
                                   progress((d, t), unit="clips", desc=n))
        except QualityModelError as exc:
            raise gr.Error(str(exc)) from exc
        failed = "\n".join(f"- clip {c}: {why}" for c, why in report.failed[:50])
        return f"**{report.summary()}**" + (f"\n\n{failed}" if failed else "")

    def suggest(count: float) -> pd.DataFrame:
        try:
            with context.sessions() as session:
                table = suggest_clips(session, int(count or 20))
        except QualityModelError as exc:
            raise gr.Error(str(exc)) from exc
        if table.empty:
            gr.Info("no clip is scored yet: press 'Score the library' first")
        return table.round(3)

    def pick_row(event: gr.SelectData) -> int | None:
        row = event.row_value or []
        return int(row[0]) if row else None

    def play(clip_id: float | None) -> str | None:
        return clip_media(context, int(clip_id))[0] if clip_id else None

    status = gr.Markdown(elem_id="sqa-status")
    with gr.Accordion("Import a label set (label CSV + zip of its audio)", open=False):
        with gr.Row():
            labels_file = gr.File(label="Label file (URGENT CSV, BVCC, NISQA)", type="filepath",
                                  file_types=[".csv", ".txt", ".parquet"], elem_id="sqa-csv")
            audio_zip = gr.File(label="Audio (.zip; paths as in the label file)",
                                type="filepath", file_types=[".zip"], elem_id="sqa-zip")
            with gr.Column():
                set_name = gr.Textbox(label="Label set name", elem_id="sqa-set-name")
                fmt = gr.Dropdown(["auto", *FORMATS], value="auto", label="Format")
                upload_button = gr.Button("Check and import", elem_id="sqa-upload")
        upload_report = gr.Markdown(elem_id="sqa-upload-report")
    gr.Markdown("### Train a model")
    with gr.Row():
        tests = gr.CheckboxGroup(label="Ratings of listening tests", elem_id="sqa-tests")
        sets = gr.CheckboxGroup(label="Imported label sets", elem_id="sqa-sets")
    with gr.Row():
        split = gr.Radio(SPLITS, value="system", label="Evaluate on", elem_id="sqa-split")
        fraction = gr.Slider(0.1, 0.5, value=0.25, step=0.05, label="Held-out share")
        steps = gr.Number(300, precision=0, minimum=1, label="Training steps",
                          elem_id="sqa-steps")
        size = gr.Radio(SIZES, value="compact", label="Model", elem_id="sqa-size")
    with gr.Row():
        start = gr.Radio(START_CHOICES, value=START_SHIPPED, label="Start from",
                         elem_id="sqa-start")
        name = gr.Textbox(label="Model name", elem_id="sqa-name")
        train_button = gr.Button("Train", variant="primary", elem_id="sqa-train")
    loss = gr.Plot(label="Training loss", elem_id="sqa-loss")
    train_status = gr.Markdown(elem_id="sqa-train-status")
    activate_new = gr.Button("Make it the active model", visible=False,
                             elem_id="sqa-activate-new")
    metrics = gr.Dataframe(label="Held-out clips: this model beside DNSMOS on the same clips "
                                 "(MSE lower is better; LCC, SRCC, KTAU higher)",
                           headers=METRIC_COLUMNS, interactive=False, wrap=True,
                           elem_id="sqa-metrics")
    metrics_note = gr.Markdown(elem_id="sqa-metrics-note")
    colour = gr.Radio([("system", "system_id"), ("dataset", "dataset")], value="system_id",
                      label="Colour the utterances by")
    shown_model = gr.State(None)
    with gr.Row():
        scatter_utt = gr.Plot(label="Predicted vs human MOS per utterance",
                              elem_id="sqa-scatter-utt")
        scatter_sys = gr.Plot(label="Per system", elem_id="sqa-scatter-sys")
    residuals = gr.Plot(label="Residuals", elem_id="sqa-residuals")
    with gr.Row():
        points = gr.Dataframe(label="Held-out clips (select a row to listen)",
                              headers=POINT_COLUMNS, interactive=False, max_height=300,
                              wrap=True, elem_id="sqa-points")
        with gr.Column(scale=0, min_width=320):
            point_clip = gr.Number(label="Clip id", precision=0)
            player = gr.Audio(label="Clip", type="filepath", interactive=False,
                              elem_id="sqa-player")
    gr.Markdown("### Models")
    registry = gr.Dataframe(label="Registry (select a row, then activate or show it)",
                            interactive=False, wrap=True, elem_id="sqa-registry")
    with gr.Row():
        model_id = gr.Number(label="Model id", precision=0, elem_id="sqa-model-id")
        activate_button = gr.Button("Activate", elem_id="sqa-activate")
        show_button = gr.Button("Show its held-out results")
    gr.Markdown("### Use the active model")
    with gr.Row():
        score_button = gr.Button("Score the library", elem_id="sqa-score")
        count = gr.Number(20, precision=0, minimum=1, label="Clips to suggest")
        suggest_button = gr.Button("Suggest clips to rate next", elem_id="sqa-suggest")
    score_report = gr.Markdown(elem_id="sqa-score-report")
    suggestions = gr.Dataframe(label="Least certain clips (MC-dropout spread of the predicted "
                                     "MOS)", headers=SUGGESTION_COLUMNS, interactive=False,
                              wrap=True, elem_id="sqa-suggestions")

    results = [metrics, metrics_note, scatter_utt, scatter_sys, residuals, points]
    seen_sources = gr.State(None)
    refresh = [tests, sets, status, registry, seen_sources]
    upload_button.click(upload, [labels_file, audio_zip, set_name, fmt], upload_report).then(
        sources, None, refresh)
    train_button.click(train, [tests, sets, split, fraction, steps, size, start, name,
                               colour],
                       [loss, *results, registry, train_status, shown_model, activate_new],
                       show_progress_on=[loss])
    activate_new.click(activate_trained, shown_model, [registry, status, activate_new])
    gr.Timer(10).tick(sources_if_changed, seen_sources, refresh, show_progress="hidden")
    colour.change(recolour, [shown_model, colour], scatter_utt)
    points.select(pick_row, None, point_clip)
    point_clip.change(play, point_clip, player)
    registry.select(pick_row, None, model_id)
    show_button.click(show, [model_id, colour], [*results, shown_model])
    activate_button.click(activate, model_id, [registry, status])
    score_button.click(score, None, score_report)
    suggest_button.click(suggest, count, suggestions)
    blocks.load(sources, None, refresh)
