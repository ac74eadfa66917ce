"""Scoring on worker processes, one per core, shared by every caller of the process.

Scoring threads in one process contend for the GIL (PESQ, ESTOI, the DNSMOS features and MCD's
DTW hold it) and for the cores (every BLAS and OpenMP library starts a thread per core on its
own). Here each worker is one single-threaded process with its DNSMOS sessions built once,
and a clip's metrics go out as two tasks, DNSMOS and the rest, so a few clips in flight keep
every core busy. Workers start with the spawn method (no fork of a threaded server) and warm
up in the background: :func:`start_workers`.

The values are :func:`audio.metrics.score_clip`'s; only where the work runs changes.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np

from audio.metrics import nonintrusive
from audio.metrics.scoring import DEFAULT_METRICS, METRICS, ClipScores, score_clip

log = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ProcessPoolExecutor | None = None


def worker_count() -> int:
    """One worker per core."""
    return max(1, os.cpu_count() or 1)


#: How often a worker checks that the process that started it is still there.
ORPHAN_CHECK_SECONDS = 2.0


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_SECONDS)
    os._exit(0)


def leave_when_orphaned() -> None:
    """In a pool worker: exit once the process that started it is gone. A worker whose parent
    was killed (SIGKILL, OOM) never sees its task queue close (every worker holds both ends of
    it), so it would idle on, holding its memory, for good."""
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True,
                     name="orphan-check").start()


def _initialise() -> None:
    """In each worker: leave when the parent is gone, one thread for every numeric library,
    windows in the worker's own thread, DNSMOS sessions built and run once."""
    from threadpoolctl import threadpool_limits

    leave_when_orphaned()
    threadpool_limits(1)
    nonintrusive.run_windows_in_caller()
    nonintrusive.warm_up()


def _ready(pause_seconds: float) -> int:
    time.sleep(pause_seconds)  # lets a worker still starting take the next one
    return os.getpid()


def _pool() -> ProcessPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ProcessPoolExecutor(max_workers=worker_count(),
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_initialise)
        return _executor


def _forget(broken: ProcessPoolExecutor) -> None:
    global _executor
    with _lock:
        if _executor is broken:
            _executor = None
    broken.shutdown(wait=False, cancel_futures=True)


def start_workers(wait: bool = False, timeout_seconds: float = 300.0) -> None:
    """Start every worker now (each builds its DNSMOS sessions), so that the first scoring
    waits for none of it. Returns at once, or with ``wait`` once every worker has answered
    (what a benchmark of the warm app needs).

    Raises:
        TimeoutError: with ``wait``, a worker did not answer within ``timeout_seconds``.
    """
    pool = _pool()
    futures = [pool.submit(_ready, 0.2) for _ in range(worker_count())]
    if not wait:
        return
    deadline = time.monotonic() + timeout_seconds
    answered: set[int] = set()
    while True:
        answered.update(f.result(timeout=max(0.0, deadline - time.monotonic()))
                        for f in futures)
        if len(answered) >= worker_count():
            return
        futures = [pool.submit(_ready, 0.2) for _ in range(worker_count())]


def _groups(metrics: Sequence[str]) -> list[list[str]]:
    """DNSMOS (one model run for its four columns, the bulk of the cost) apart from the rest."""
    names = list(dict.fromkeys(metrics))
    dnsmos = [m for m in names if m.startswith("dnsmos_")]
    rest = [m for m in names if m not in dnsmos]
    return [group for group in (dnsmos, rest) if group]


def score_clip_in_workers(estimate: np.ndarray, sample_rate: int,
                          reference: np.ndarray | None = None,
                          metrics: Sequence[str] = DEFAULT_METRICS) -> ClipScores:
    """:func:`audio.metrics.score_clip` run on the worker processes; same arguments, same
    result. Should a worker die (a crash in native code), the clip is scored in this
    process instead and the pool is started afresh on the next call.

    Raises:
        ValueError: an unknown metric name.
    """
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {', '.join(unknown)}; known: {', '.join(METRICS)}")
    pool = _pool()
    try:
        futures = [pool.submit(score_clip, estimate, sample_rate, reference, group)
                   for group in _groups(metrics)]
        parts = [future.result() for future in futures]
    except BrokenProcessPool:
        log.warning("a scoring worker died; scoring this clip in the app's process")
        _forget(pool)
        return score_clip(estimate, sample_rate, reference, metrics)
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for part in parts:
        values.update(part.values)
        errors.update(part.errors)
        seconds.update(part.seconds)
    return ClipScores(values={m: values.get(m, math.nan) for m in metrics}, errors=errors,
                      seconds=seconds)
