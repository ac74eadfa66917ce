"""Comparing systems on a dataset: enhance every input with every system, score every
output, and summarise per system, per distortion type and per sampling rate.

Results are cached in the database (enhancement runs and objective scores), so running a
comparison again, or with one more system, only does the new work. Long batches use short
transactions, one per clip and system, so that a comparison never blocks the listening tests
that write to the same database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from audio.metrics import DEFAULT_METRICS
from db.models import Clip, ClipOrigin, Dataset, DatasetClip, SystemKind
from db.models import System as SystemRow
from db.store import AudioStore
from library.clips import LibraryError, predicted_mos
from library.enhancement import (
    EnhancementError,
    EnhancementResult,
    cached_run,
    compute,
    input_audio,
    record,
)
from library.scores import ensure_scores
from se.systems import System

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class InputClip:
    """A clip a comparison enhances, with what the table groups by."""

    id: int
    name: str
    sample_rate: int
    distortions: tuple[str, ...]
    speech_category: str = "unknown"


def speech_category_of(condition: dict | None) -> str:
    """The speech category (neutral, child, sung ...) a clip's condition names, as
    ``se.simulate`` records it (``speech.category``); "unknown" where it names none."""
    speech = (condition or {}).get("speech")
    category = speech.get("category") if isinstance(speech, dict) else None
    return str(category or (condition or {}).get("speech_category") or "unknown")


def distortions_of(condition: dict | None) -> tuple[str, ...]:
    """The distortion types a clip's condition names ("unknown" where it names none)."""
    if not condition or "distortions" not in condition:
        return ("unknown",)
    return tuple(condition["distortions"]) or ("clean",)


def comparison_inputs(session: Session, dataset: str) -> list[InputClip]:
    """The clips of ``dataset`` that a comparison enhances: all but clean references and
    outputs of other systems."""
    if session.scalar(select(Dataset.id).where(Dataset.name == dataset)) is None:
        raise LibraryError(f"no dataset named '{dataset}'")
    clips = session.scalars(
        select(Clip).join(DatasetClip, DatasetClip.clip_id == Clip.id).join(Dataset)
        .outerjoin(SystemRow, Clip.system_id == SystemRow.id)
        .where(Dataset.name == dataset, Clip.origin != ClipOrigin.ENHANCED.value,
               (SystemRow.kind.is_(None)) | (SystemRow.kind != SystemKind.REFERENCE.value))
        .order_by(Clip.id).distinct()).all()
    if not clips:
        raise LibraryError(f"dataset '{dataset}' has no input clips (only references)")
    return [InputClip(c.id, c.name, c.sample_rate, distortions_of(c.condition),
                      speech_category_of(c.condition)) for c in clips]


def input_clip(session: Session, clip_id: int) -> InputClip:
    """One library clip as a comparison input."""
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise LibraryError(f"no clip with id {clip_id}")
    return InputClip(clip.id, clip.name, clip.sample_rate, distortions_of(clip.condition),
                     speech_category_of(clip.condition))


def enhance_clip(sessions: sessionmaker[Session], store: AudioStore, clip_id: int,
                 system: System) -> EnhancementResult:
    """Enhance one clip with one system unless that was done before; store the output."""
    with sessions() as session:
        cached = cached_run(session, clip_id, system)
        if cached is not None:
            return cached
        clip, samples, rate = input_audio(session, store, clip_id)
        name = clip.name
    output = compute(system, samples, rate, name)
    with sessions.begin() as session:
        return record(session, store, clip_id, system, output)


def run_comparison(sessions: sessionmaker[Session], store: AudioStore,
                   inputs: Sequence[InputClip], systems: Sequence[System],
                   metrics: Sequence[str] = DEFAULT_METRICS,
                   progress: ProgressCallback | None = None) -> pd.DataFrame:
    """One row per (input, system): output clip, timing, every metric, the input's
    ``speech_category`` (so ``summarize(..., by=("system", "speech_category"))`` breaks
    results down by kind of speech), the active quality model's ``predicted_mos`` of the
    output (NaN until it scored the clip), and any error.

    A system that cannot process a clip gives a row with NaN metrics and the reason; the
    others go on.
    """
    rows: list[dict] = []
    total = len(inputs) * len(systems)
    for index, (clip, system) in enumerate(((c, s) for c in inputs for s in systems), 1):
        row: dict = {"input_clip_id": clip.id, "input": clip.name, "system": system.name,
                     "sample_rate": clip.sample_rate, "distortions": list(clip.distortions),
                     "speech_category": clip.speech_category,
                     "output_clip_id": None, "processing_seconds": math.nan,
                     "real_time_factor": math.nan, "error": ""}
        try:
            result = enhance_clip(sessions, store, clip.id, system)
        except EnhancementError as exc:
            row.update({m: math.nan for m in metrics}, error=str(exc))
        else:
            scores = ensure_scores(sessions, store, result.output_clip_id, metrics)
            row.update(output_clip_id=result.output_clip_id,
                       processing_seconds=result.processing_seconds,
                       real_time_factor=result.real_time_factor, **scores.values)
            row["error"] = "; ".join(f"{m}: {e}" for m, e in scores.errors.items())
        rows.append(row)
        if progress is not None:
            progress(index, total, f"{system.name} on {clip.name}")
    with sessions() as session:
        mos = predicted_mos(session, [r["output_clip_id"] for r in rows
                                      if r["output_clip_id"] is not None])
    for row in rows:
        row["predicted_mos"] = mos.get(row["output_clip_id"], math.nan)
    return pd.DataFrame(rows)


def mean_ci95(values: Sequence[float]) -> tuple[float, float, int]:
    """Mean, half-width of the t-based 95% confidence interval, and n (NaNs left out)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, 0
    if x.size == 1:
        return float(x[0]), math.nan, 1
    half = stats.t.ppf(0.975, x.size - 1) * stats.sem(x)
    return float(x.mean()), float(half), int(x.size)


def summarize(results: pd.DataFrame, metrics: Sequence[str],
              by: Sequence[str] = ("system",)) -> pd.DataFrame:
    """Mean and 95% CI of each metric per group; ``distortions`` groups each clip under
    every distortion it has (a reverb+noise clip counts for both)."""
    frame = results.explode("distortions") if "distortions" in by else results
    out = []
    for keys, group in frame.groupby(list(by), sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = dict(zip(by, keys, strict=True))
        row["clips"] = int(group["input_clip_id"].nunique())
        row["rtf_mean"] = float(np.nanmean(group["real_time_factor"])) if \
            group["real_time_factor"].notna().any() else math.nan
        for metric in metrics:
            mean, half, n = mean_ci95(group[metric])
            row[f"{metric}_mean"], row[f"{metric}_ci95"], row[f"{metric}_n"] = mean, half, n
        out.append(row)
    return pd.DataFrame(out)
