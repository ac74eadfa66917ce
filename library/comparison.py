"""Comparing systems on a dataset: enhance every input with every system, score every
output, and summarise per system, per distortion type and per sampling rate.

Results are cached in the database (enhancement runs and objective scores), so running a
comparison again, or with one more system, only does the new work. Long batches use short
transactions, one per clip and system, so that a comparison never blocks the listening tests
that write to the same database.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass
from pathlib import Path

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
from library.scores import Scores, submit_scores
from listening_tests.catalog import speech_category_of
from listening_tests.exports import write_csv
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
    # Distinct on the id alone: PostgreSQL cannot compare JSON columns (the condition).
    in_dataset = (
        select(Clip.id).join(DatasetClip, DatasetClip.clip_id == Clip.id).join(Dataset)
        .outerjoin(SystemRow, Clip.system_id == SystemRow.id)
        .where(Dataset.name == dataset, Clip.origin != ClipOrigin.ENHANCED.value,
               (SystemRow.kind.is_(None)) | (SystemRow.kind != SystemKind.REFERENCE.value)))
    clips = session.scalars(select(Clip).where(Clip.id.in_(in_dataset))
                            .order_by(Clip.id)).all()
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
    output (NaN until it scored the clip), any error, and ``metric_seconds`` (what computing
    each metric took now; empty when stored before).

    Enhancement runs here, one output after another, while the outputs already made are
    scored on the scoring pool (:func:`library.scores.submit_scores`), so both cores work.
    Progress counts each output twice: once made, once scored.

    A system that cannot process a clip gives a row with NaN metrics and the reason; the
    others go on.
    """
    rows: list[dict] = []
    scoring: dict[int, Future[Scores]] = {}
    waiting: list[tuple[dict, Future[Scores]]] = []
    total = 2 * len(inputs) * len(systems)
    done = 0

    def step(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    def collect(block: bool) -> None:
        still = []
        for row, future in waiting:
            if not (block or future.done()):
                still.append((row, future))
                continue
            scores = future.result()
            row.update(scores.values)
            row["error"] = "; ".join(f"{m}: {e}" for m, e in scores.errors.items())
            row["metric_seconds"] = scores.seconds  # empty where the scores were stored
            step(f"scored {row['system']} on {row['input']}")
        waiting[:] = still

    for clip, system in ((c, s) for c in inputs for s in systems):
        row: dict = {"input_clip_id": clip.id, "input": clip.name, "system": system.name,
                     "sample_rate": clip.sample_rate, "distortions": list(clip.distortions),
                     "speech_category": clip.speech_category,
                     "output_clip_id": None, "processing_seconds": math.nan,
                     "real_time_factor": math.nan, "error": ""}
        rows.append(row)
        try:
            result = enhance_clip(sessions, store, clip.id, system)
        except EnhancementError as exc:
            row.update({m: math.nan for m in metrics}, error=str(exc), metric_seconds={})
            step(f"{system.name} on {clip.name}")
            step(f"{system.name} on {clip.name}")
            continue
        row.update(output_clip_id=result.output_clip_id,
                   processing_seconds=result.processing_seconds,
                   real_time_factor=result.real_time_factor)
        if result.output_clip_id not in scoring:  # an identity output is its input
            scoring[result.output_clip_id] = submit_scores(sessions, store,
                                                           result.output_clip_id, metrics)
        waiting.append((row, scoring[result.output_clip_id]))
        step(f"enhanced {clip.name} with {system.name}")
        collect(block=False)
    collect(block=True)
    with sessions() as session:
        mos = predicted_mos(session, [r["output_clip_id"] for r in rows
                                      if r["output_clip_id"] is not None])
    for row in rows:
        row["predicted_mos"] = mos.get(row["output_clip_id"], math.nan)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class LiveUpdate:
    """One step of :func:`enhance_live`: a system's output exists (``output`` set, or
    ``error`` when the system failed), or a clip's scores are in (``scores`` set)."""

    system: str | None = None
    output: EnhancementResult | None = None
    error: str = ""
    scores: Scores | None = None


def enhance_live(sessions: sessionmaker[Session], store: AudioStore, clip_id: int,
                 systems: Sequence[System], metrics: Sequence[str] = DEFAULT_METRICS
                 ) -> Iterator[LiveUpdate]:
    """Enhance one clip with each system, reporting each output the moment it is stored
    and each clip's scores (the input's first submitted) the moment they are computed.

    Scoring runs on the scoring pool while the next system enhances, so a page can play
    the first output while the rest is still being made and measured.
    """
    futures: dict[int, Future[Scores]] = {clip_id: submit_scores(sessions, store, clip_id,
                                                                 metrics)}
    reported: set[int] = set()

    def finished(block: bool) -> Iterator[LiveUpdate]:
        ready = [c for c, f in futures.items() if c not in reported and (block or f.done())]
        if block:
            pending = {futures[c]: c for c in ready}
            ready = [pending[f] for f in as_completed(pending)]
        for clip in ready:
            reported.add(clip)
            yield LiveUpdate(scores=futures[clip].result())

    for system in systems:
        try:
            result = enhance_clip(sessions, store, clip_id, system)
        except EnhancementError as exc:
            yield LiveUpdate(system=system.name, error=str(exc))
        else:
            if result.output_clip_id not in futures:
                futures[result.output_clip_id] = submit_scores(
                    sessions, store, result.output_clip_id, metrics)
            yield LiveUpdate(system=system.name, output=result)
        yield from finished(block=False)
    yield from finished(block=True)


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


def common_clips(results: pd.DataFrame, metric: str) -> set[int]:
    """The input clips on which every system in ``results`` has a value of ``metric``: the
    one clip set a fair per-system mean of that metric is taken over."""
    systems = results["system"].nunique()
    finite = results[np.isfinite(pd.to_numeric(results[metric], errors="coerce"))]
    per_clip = finite.groupby("input_clip_id")["system"].nunique()
    return {int(c) for c in per_clip[per_clip == systems].index}


def clip_set_note(results: pd.DataFrame, metrics: Sequence[str]) -> str:
    """One sentence saying which clips the aggregates of ``summarize`` are over."""
    inputs = results["input_clip_id"].nunique()
    systems = results["system"].nunique()
    short = {m: len(common_clips(results, m)) for m in metrics}
    short = {m: n for m, n in short.items() if n < inputs}
    text = (f"Every mean is over the same clips for all {systems} systems: the {inputs} "
            f"input clips")
    if not short:
        return text + ", each of which every system processed and every metric scored."
    gaps = ", ".join(f"{m} {n}" for m, n in short.items())
    return (text + f", except where a system or a metric has no value for a clip; that clip "
            f"is then left out for every system (clips left: {gaps}; n in the cells).")


def summarize(results: pd.DataFrame, metrics: Sequence[str],
              by: Sequence[str] = ("system",)) -> pd.DataFrame:
    """Mean and 95% CI of each metric per group; ``distortions`` groups each clip under
    every distortion it has (a reverb+noise clip counts for both).

    Each metric is averaged over :func:`common_clips` only, so every system's mean of it
    comes from the same clips (a system that failed on a clip, or a metric that could not
    score one, removes that clip for all systems); ``<metric>_n`` says how many.
    """
    common = {m: common_clips(results, m) for m in metrics}
    frame = results.explode("distortions") if "distortions" in by else results
    out = []
    for keys, group in frame.groupby(list(by), sort=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        row = dict(zip(by, keys, strict=True))
        row["clips"] = int(group["input_clip_id"].nunique())
        row["rtf_mean"] = float(np.nanmean(group["real_time_factor"])) if \
            group["real_time_factor"].notna().any() else math.nan
        for metric in metrics:
            values = group.loc[group["input_clip_id"].isin(common[metric]), metric]
            mean, half, n = mean_ci95(values)
            row[f"{metric}_mean"], row[f"{metric}_ci95"], row[f"{metric}_n"] = mean, half, n
        out.append(row)
    return pd.DataFrame(out)


def write_exports(results: pd.DataFrame, metrics: Sequence[str], folder: Path
                  ) -> list[Path]:
    """``comparison_per_clip.csv`` and ``comparison_per_system.csv`` in ``folder``, escaped
    like every CSV the app writes (clip names and wav.scp ids come from outside)."""
    by_system = summarize(results, metrics)
    clips = results[["input_clip_id", "input", "system", "sample_rate", *metrics,
                     "real_time_factor", "error"]].copy()
    clips["distortions"] = results["distortions"].map(" + ".join)
    return [write_csv(clips, Path(folder) / "comparison_per_clip.csv"),
            write_csv(by_system, Path(folder) / "comparison_per_system.csv")]
