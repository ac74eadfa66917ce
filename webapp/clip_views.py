"""What every page shows of a clip: a player, its spectrogram and its metadata.

A clip's audio never changes (the store is content-addressed), so its spectrogram and its
download copy are made once and reused when a page re-renders its panels, as the Enhance
tab does each time another output arrives.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from audio.figures import spectrogram_figure
from audio.io import save_audio
from db.store import AudioStore
from library.clips import LibraryError, clip_details
from webapp.context import AppContext


def clip_media(context: AppContext, clip_id: int, *, title: str | None = None
               ) -> tuple[str, go.Figure, dict]:
    """The stored file to play, the spectrogram (fixed -100..0 dBFS scale, so figures side
    by side compare) and the metadata of a clip."""
    try:
        with context.sessions() as session:
            details = clip_details(session, int(clip_id))
    except LibraryError as exc:
        raise gr.Error(str(exc)) from exc
    figure = _spectrogram(context.store, details["sha256"], title or details["name"])
    return str(context.store.path_for(details["sha256"])), figure, details


@functools.lru_cache(maxsize=64)
def _spectrogram(store: AudioStore, sha256: str, title: str) -> go.Figure:
    samples, rate = store.read(sha256)
    return spectrogram_figure(samples, rate, title=title, height=260)


def download_copy(context: AppContext, clip_id: int, file_name: str) -> str:
    """A 16-bit FLAC copy of a clip under a readable name (the URGENT submission format)."""
    with context.sessions() as session:
        sha = clip_details(session, int(clip_id))["sha256"]
    path = _download_copy(context.store, sha, Path(file_name).stem)
    if not Path(path).is_file():  # a temporary folder cleaned up under us
        _download_copy.cache_clear()
        path = _download_copy(context.store, sha, Path(file_name).stem)
    return path


@functools.lru_cache(maxsize=64)
def _download_copy(store: AudioStore, sha256: str, stem: str) -> str:
    samples, rate = store.read(sha256)
    folder = Path(tempfile.mkdtemp(prefix="download-"))
    return str(save_audio(folder / f"{stem}.flac", samples, rate))


def render_clip_panels(context: AppContext, panels: list[dict]) -> None:
    """Inside a ``@gr.render``: one column per clip, players and spectrograms side by side
    (at most three a row). Each panel is ``{"title", "clip_id"}`` and may carry
    ``"download"`` (a file name) and ``"caption"`` (Markdown)."""
    for start in range(0, len(panels), 3):
        with gr.Row(equal_height=True):
            for panel in panels[start:start + 3]:
                path, figure, _ = clip_media(context, panel["clip_id"], title=panel["title"])
                with gr.Column(min_width=320):
                    gr.Audio(path, label=panel["title"], type="filepath", interactive=False,
                             key=f"audio-{panel['title']}-{panel['clip_id']}")
                    gr.Plot(figure, key=f"plot-{panel['title']}-{panel['clip_id']}")
                    if panel.get("caption"):
                        gr.Markdown(panel["caption"])
                    if panel.get("download"):
                        gr.File(download_copy(context, panel["clip_id"], panel["download"]),
                                label="16-bit FLAC", interactive=False)
