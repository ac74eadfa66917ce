"""Objective metrics of library clips, computed once and kept in ``objective_scores``.

Intrusive metrics compare a clip with its clean reference (``Clip.reference_clip_id``, which
enhanced outputs inherit from their input); without one they are NaN with the reason "no
clean reference", and nothing is stored. A metric that fails on a clip is stored with its
error, so the gap is explained and not retried on every view.

:func:`submit_scores` scores on a small pool of threads, so that a page can show each score as
it arrives; the metrics themselves run on worker processes, one per core
(:mod:`audio.metrics.workers`), where one clip's Python-bound metrics (MCD, PESQ, ESTOI) never
wait for another's GIL.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audio.metrics import DEFAULT_METRICS, METRICS
from audio.metrics.workers import score_clip_in_workers, worker_count
from db.models import ObjectiveScore
from db.store import AudioStore
from library.clips import get_clip

NO_REFERENCE = "no clean reference"


@dataclass(frozen=True)
class Scores:
    """Metric values of one clip (NaN where missing) and the reason for each NaN."""

    clip_id: int
    values: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)
    #: seconds each metric computed now took (empty for stored ones; see ClipScores)
    seconds: dict[str, float] = field(default_factory=dict)


def _stored(session: Session, clip_id: int, reference_id: int, metrics: Sequence[str]
            ) -> dict[str, ObjectiveScore]:
    rows = session.scalars(select(ObjectiveScore).where(
        ObjectiveScore.clip_id == clip_id, ObjectiveScore.metric.in_(list(metrics)),
        ObjectiveScore.reference_clip_id.in_([0, reference_id]))).all()
    return {row.metric: row for row in rows
            if row.reference_clip_id == (reference_id if METRICS[row.metric].intrusive else 0)}


def ensure_scores(sessions: sessionmaker[Session], store: AudioStore, clip_id: int,
                  metrics: Sequence[str] = DEFAULT_METRICS) -> Scores:
    """The clip's scores, computing (outside any transaction) and storing the missing ones.

    Takes the session factory, not a session, so that minutes of metric computation never
    hold the database's write lock: one short read, the computation, one short write.
    """
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {', '.join(unknown)}; known: {', '.join(METRICS)}")
    with sessions() as session:
        clip = get_clip(session, clip_id)
        reference_id = clip.reference_clip_id or 0
        reference_sha = get_clip(session, reference_id).sha256 if reference_id else None
        stored = _stored(session, clip_id, reference_id, metrics)
        sha = clip.sha256
    values = {m: (math.nan if row.value is None else row.value) for m, row in stored.items()}
    errors = {m: row.error for m, row in stored.items() if row.error}
    wanted = [m for m in metrics if m not in stored]
    no_reference = [m for m in wanted if METRICS[m].intrusive and reference_sha is None]
    values.update({m: math.nan for m in no_reference})
    errors.update({m: NO_REFERENCE for m in no_reference})
    to_compute = [m for m in wanted if m not in no_reference]
    seconds: dict[str, float] = {}
    if to_compute:
        samples, rate = store.read(sha)
        reference = store.read(reference_sha)[0] if reference_sha else None
        computed = score_clip_in_workers(samples, rate, reference, to_compute)
        values.update(computed.values)
        errors.update(computed.errors)
        seconds = computed.seconds
        _save(sessions, clip_id, reference_id, computed.values, computed.errors)
    return Scores(clip_id, {m: values[m] for m in metrics},
                  {m: e for m, e in errors.items() if m in metrics}, seconds)


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """Clips in flight: two per worker process, so that a worker always has the next task
    while a thread reads audio or writes scores."""
    return ThreadPoolExecutor(max_workers=2 * worker_count(), thread_name_prefix="scores")


def submit_scores(sessions: sessionmaker[Session], store: AudioStore, clip_id: int,
                  metrics: Sequence[str] = DEFAULT_METRICS) -> Future[Scores]:
    """:func:`ensure_scores` on the shared scoring pool; the future's result is the same."""
    return _pool().submit(ensure_scores, sessions, store, clip_id, tuple(metrics))


def _save(sessions: sessionmaker[Session], clip_id: int, reference_id: int,
          values: dict[str, float], errors: dict[str, str]) -> None:
    try:
        with sessions.begin() as session:
            for metric, value in values.items():
                session.add(ObjectiveScore(
                    clip_id=clip_id, metric=metric,
                    reference_clip_id=reference_id if METRICS[metric].intrusive else 0,
                    value=None if math.isnan(value) else float(value),
                    error=errors.get(metric, None) and errors[metric][:500]))
    except IntegrityError:
        pass  # a concurrent request stored the same scores first; theirs are equal
