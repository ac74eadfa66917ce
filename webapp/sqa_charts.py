"""Plotly figures and tables of the Quality model tab: the live loss curve, predicted
against human MOS per utterance and per system, residuals, and the metric comparison."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from library.quality_models import ModelInfo

LEVELS = (("utt", "utterance"), ("sys", "system"))
NAMES = ("MSE", "LCC", "SRCC", "KTAU")
PREDICTORS = {"model": "this model", "dnsmos_ovrl": "DNSMOS OVRL", "dnsmos_p808": "DNSMOS P.808"}


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=dict(text=title), height=height,
                      margin=dict(l=60, r=20, t=40, b=50),
                      xaxis=dict(title=dict(text=x)), yaxis=dict(title=dict(text=y)))
    return fig


def loss_figure(steps: list[int], losses: list[float], total: int) -> go.Figure:
    """Training loss per step, with its running mean over 10 steps."""
    fig = go.Figure()
    fig.add_scatter(x=steps, y=losses, mode="lines", name="loss", opacity=0.4)
    smooth = pd.Series(losses, dtype=float).rolling(10, min_periods=1).mean()
    fig.add_scatter(x=steps, y=smooth, mode="lines", name="mean of 10 steps")
    fig.update_xaxes(range=[0, max(total, 1)])
    return _layout(fig, f"Training loss (step {steps[-1] if steps else 0} of {total})",
                   "step", "loss", height=300)


def metrics_table(metrics: dict) -> pd.DataFrame:
    """One row per predictor (the model, DNSMOS OVRL, DNSMOS P.808), the eight metrics as
    columns, all on the same held-out clips."""
    rows = []
    for key, title in PREDICTORS.items():
        values = metrics.get(key) or {}
        row = {"predictor": title}
        for prefix, level in LEVELS:
            for name in NAMES:
                value = values.get(f"{prefix}_{name}")
                row[f"{level} {name}"] = None if value is None else round(float(value), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def system_level_note(metrics: dict | None) -> str:
    """Why the system-level correlations are blank, when they are: a correlation needs at
    least two systems' means, and a held-out-systems split over few systems can leave one."""
    points = pd.DataFrame((metrics or {}).get("points") or [])
    if points.empty or "system_id" not in points:
        return ""
    systems = sorted(points["system_id"].astype(str).unique())
    if len(systems) >= 2:
        return (f"System level: correlations of the means of {len(systems)} held-out "
                f"systems" + (" (few systems: read them with care)." if len(systems) < 5
                              else "."))
    return (f"System-level LCC, SRCC and KTAU are blank: the held-out clips come from one "
            f"system only ({systems[0]}), and a correlation needs at least two systems' "
            f"means. Hold out a larger share, add label sets with more systems, or evaluate "
            f"on held-out clips.")


def _scatter(frame: pd.DataFrame, colour: str, hover: str, title: str, x_title: str
             ) -> go.Figure:
    fig = go.Figure()
    for group, part in frame.groupby(colour, sort=True):
        fig.add_scatter(x=part["mos"], y=part["pred"], mode="markers", name=str(group),
                        text=part[hover], customdata=part[["clip_id"]] if "clip_id" in part
                        else None, marker=dict(size=9),
                        hovertemplate="%{text}<br>human %{x:.2f}, predicted %{y:.2f}"
                                      "<extra>%{fullData.name}</extra>")
    fig.add_scatter(x=[1, 5], y=[1, 5], mode="lines", name="y = x",
                    line=dict(dash="dot", color="grey"), hoverinfo="skip")
    fig.update_xaxes(range=[0.8, 5.2])
    fig.update_yaxes(range=[0.8, 5.2])
    return _layout(fig, title, x_title, "predicted MOS")


def utterance_scatter(points: pd.DataFrame, colour: str = "system_id") -> go.Figure:
    """Predicted against human MOS per held-out clip; hover names the clip."""
    return _scatter(points, colour, "name", "Per utterance (held-out clips)", "human MOS")


def system_scatter(points: pd.DataFrame) -> go.Figure:
    """Means per system of the predicted and human MOS."""
    systems = points.groupby("system_id", as_index=False)[["mos", "pred"]].mean()
    systems["label"] = systems["system_id"]
    return _scatter(systems, "system_id", "label", "Per system (means)", "human MOS")


def residual_figure(points: pd.DataFrame) -> go.Figure:
    """Prediction minus human MOS against human MOS: where the model is biased."""
    fig = go.Figure()
    for system, part in points.groupby("system_id", sort=True):
        fig.add_scatter(x=part["mos"], y=part["pred"] - part["mos"], mode="markers",
                        name=str(system), text=part["name"], marker=dict(size=8),
                        hovertemplate="%{text}<br>human %{x:.2f}, error %{y:+.2f}"
                                      "<extra>%{fullData.name}</extra>")
    fig.add_hline(y=0, line=dict(dash="dot", color="grey"))
    return _layout(fig, "Residuals (predicted - human)", "human MOS", "error", height=320)


POINT_COLUMNS = ["clip_id", "name", "system_id", "dataset", "mos", "pred", "dnsmos_ovrl",
                 "dnsmos_p808"]
#: The metric table's columns, so that it has headers before any model is shown.
METRIC_COLUMNS = ["predictor"] + [f"{level} {name}" for _, level in LEVELS for name in NAMES]
SUGGESTION_COLUMNS = ["clip_id", "name", "system", "predicted_mos", "spread"]


def points_table(points: pd.DataFrame) -> pd.DataFrame:
    """The held-out clips as a table (select a row to listen)."""
    return points[[c for c in POINT_COLUMNS if c in points]].round(3)


REGISTRY_COLUMNS = ["id", "name", "active", "kind", "created", "data", "split", "utt_LCC",
                    "utt_SRCC", "sys_LCC", "sys_SRCC", "utt_MSE"]


def registry_table(models: Sequence[ModelInfo]) -> pd.DataFrame:
    """The registered models, one row each, with what they learnt from and their own
    held-out scores."""
    rows = []
    for m in models:
        data = m.training_data or {}
        own = (m.metrics or {}).get("model") or {}
        row = {"id": m.id, "name": m.name, "active": "yes" if m.is_active else "",
               "kind": m.kind, "created": f"{m.created_at:%Y-%m-%d %H:%M}",
               "data": ", ".join(data.get("sources", [])) + (
                   f" ({data['ratings']} ratings)" if "ratings" in data else ""),
               "split": m.split_mode or ""}
        for key in REGISTRY_COLUMNS[7:]:
            row[key] = None if own.get(key) is None else round(own[key], 3)
        rows.append(row)
    return pd.DataFrame(rows, columns=REGISTRY_COLUMNS)
