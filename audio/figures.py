"""Plotly figures of audio: the spectrogram every page shows."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from audio.spectral import StftConfig, frame_times_seconds, frequencies_hz, spectrogram_db

#: Largest heatmap drawn; longer or finer spectrograms are pooled down to this size so a
#: 10-minute clip still renders quickly in a browser.
MAX_COLUMNS = 1200
MAX_ROWS = 400


def _pool_max(values: np.ndarray, axis: int, target: int) -> tuple[np.ndarray, int]:
    """Max-pool ``values`` along ``axis`` so that it has at most ``target`` entries."""
    n = values.shape[axis]
    factor = int(np.ceil(n / target))
    if factor <= 1:
        return values, 1
    pad = (-n) % factor
    widths = [(0, 0)] * values.ndim
    widths[axis] = (0, pad)
    padded = np.pad(values, widths, mode="edge")
    shape = list(padded.shape)
    shape[axis:axis + 1] = [padded.shape[axis] // factor, factor]
    return padded.reshape(shape).max(axis=axis + 1), factor


def spectrogram_figure(samples: np.ndarray, sample_rate: int, *, title: str = "",
                       db_range: tuple[float, float] = (-100.0, 0.0),
                       config: StftConfig = StftConfig(), height: int = 320) -> go.Figure:
    """A spectrogram heatmap: time in seconds, frequency in kHz, power in dB.

    Args:
        db_range: colour scale limits in dB (full-scale sine = 0 dB); pass the same range to
            figures that are compared side by side.
    """
    spec = spectrogram_db(samples, sample_rate, config)
    times = frame_times_seconds(spec.shape[1], sample_rate, config)
    freqs = frequencies_hz(sample_rate, config) / 1000.0
    spec, t_factor = _pool_max(spec, 1, MAX_COLUMNS)
    spec, f_factor = _pool_max(spec, 0, MAX_ROWS)
    times, freqs = times[::t_factor][: spec.shape[1]], freqs[::f_factor][: spec.shape[0]]
    fig = go.Figure(go.Heatmap(
        z=spec, x=times, y=freqs, zmin=db_range[0], zmax=db_range[1], colorscale="Magma",
        colorbar=dict(title=dict(text="dB")),
        hovertemplate="%{x:.2f} s<br>%{y:.2f} kHz<br>%{z:.1f} dB<extra></extra>",
    ))
    fig.update_layout(
        title=dict(text=title) if title else None, height=height,
        margin=dict(l=60, r=20, t=40 if title else 10, b=45),
        xaxis=dict(title=dict(text="time (s)")),
        yaxis=dict(title=dict(text="frequency (kHz)"), range=[0, sample_rate / 2000.0]),
    )
    return fig
