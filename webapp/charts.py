"""Plotly figures of results: bars with confidence intervals and box plots."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from audio.metrics import METRICS


def _axis_title(metric: str) -> str:
    info = METRICS.get(metric)
    if info is None:
        return metric
    arrow = "higher is better" if info.higher_is_better else "lower is better"
    unit = f" ({info.unit})" if info.unit else ""
    return f"{metric}{unit}, {arrow}"


def bars_with_ci(summary: pd.DataFrame, metric: str, *, x: str = "system",
                 color: str | None = None, title: str = "") -> go.Figure:
    """Mean of ``metric`` per ``x`` with 95% CI error bars (columns ``<metric>_mean`` and
    ``<metric>_ci95`` from ``library.comparison.summarize``); ``color`` splits the bars."""
    fig = go.Figure()
    groups = [(None, summary)] if color is None else list(summary.groupby(color, sort=True))
    for name, frame in groups:
        fig.add_bar(x=frame[x].astype(str), y=frame[f"{metric}_mean"], name=str(name or metric),
                    error_y=dict(type="data", array=frame[f"{metric}_ci95"].fillna(0),
                                 visible=True),
                    customdata=frame[[f"{metric}_ci95", f"{metric}_n"]],
                    hovertemplate="%{x}: %{y:.3f} ± %{customdata[0]:.3f} "
                                  "(n=%{customdata[1]})<extra>%{fullData.name}</extra>")
    fig.update_layout(barmode="group", title=dict(text=title) if title else None, height=380,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=60),
                      yaxis=dict(title=dict(text=_axis_title(metric))),
                      showlegend=color is not None)
    return fig


def box_by_system(results: pd.DataFrame, metric: str, *, title: str = "") -> go.Figure:
    """Distribution of ``metric`` over clips, one box per system, every clip as a point."""
    fig = go.Figure()
    for system, frame in results.groupby("system", sort=True):
        fig.add_box(y=frame[metric], name=str(system), boxpoints="all", jitter=0.4,
                    pointpos=0, text=frame["input"],
                    hovertemplate="%{text}: %{y:.3f}<extra>%{fullData.name}</extra>")
    fig.update_layout(title=dict(text=title) if title else None, height=380,
                      margin=dict(l=60, r=20, t=40 if title else 10, b=60),
                      yaxis=dict(title=dict(text=_axis_title(metric))), showlegend=False)
    return fig
