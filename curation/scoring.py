"""Scoring files: one row per file with every chosen metric group, each file decoded once.

:func:`score_file` is the unit of work; :func:`score_corpus` runs it in this process, in a
process pool, or on a Dask cluster (any ``distributed`` scheduler address; dask-jobqueue
starts such workers on Slurm or PBS), writes rows to the scores folder as they arrive and
skips what is already there.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from tqdm import tqdm

from audio.io import AudioError, load_audio
from audio.metrics.workers import leave_when_orphaned
from curation.inputs import CorpusFile, in_shard
from curation.metrics import DEFAULT_GROUPS, DEFAULT_SQA_MODEL, GROUPS, error_column
from curation.store import done_groups, write_part

#: The rates URGENT data come at; other files are refused with their rate.
MIN_RATE, MAX_RATE = 8_000, 48_000
#: Files per task sent to a worker (a pool process or a Dask worker).
TASK_FILES = 4
#: Rows kept in memory before they are written as a part.
FLUSH_ROWS = 64
#: ... or this many seconds after the last write, whichever comes first.
FLUSH_SECONDS = 30.0

ProgressCallback = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ScoreOptions:
    """What to compute (picklable: it travels to pool and Dask workers)."""

    groups: tuple[str, ...] = DEFAULT_GROUPS
    sqa_model: str = DEFAULT_SQA_MODEL
    max_seconds: float = 600.0


@dataclass
class ScoreReport:
    """What a scoring run did: files scored now, skipped as already scored, and failures."""

    scored: int = 0
    skipped: int = 0
    outside_shard: int = 0
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        text = (f"{self.scored} files scored, {self.skipped} already scored"
                + (f", {self.outside_shard} in other shards" if self.outside_shard else ""))
        return text + (f", {len(self.failed)} with a failure" if self.failed else "") + "."


def score_file(item: CorpusFile, options: ScoreOptions,
               groups: Sequence[str] | None = None) -> dict:
    """The row of one file: what it is, each group's values, each group's error ("" when
    it worked), and ``score_seconds`` (CPU time of this process spent on it)."""
    start = time.process_time()
    groups = tuple(groups or options.groups)
    row: dict = {"id": item.id, "source": item.source, "path": item.path}
    try:
        audio = load_audio(item.path, max_seconds=options.max_seconds, name=item.path)
        if not MIN_RATE <= audio.sample_rate <= MAX_RATE:
            raise AudioError(f"{item.path}: sampling rate {audio.sample_rate} Hz is outside "
                             f"the {MIN_RATE // 1000}-{MAX_RATE // 1000} kHz that URGENT data "
                             f"have")
    except (AudioError, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        row.update({error_column(g): f"not decoded: {reason}" for g in groups})
        row["score_seconds"] = time.process_time() - start
        return row
    samples = audio.samples
    row.update(duration_s=audio.duration_seconds, sample_rate=float(audio.sample_rate),
               channels=float(audio.source_channels))
    for name in groups:
        group = GROUPS[name]
        try:
            values = group.compute(samples, audio.sample_rate, sqa_model=options.sqa_model)
            bad = [c for c, v in values.items() if not math.isfinite(v)]
            if bad:
                raise ValueError(f"{', '.join(bad)} not finite")
        except (ValueError, RuntimeError, OSError) as exc:
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            row[error_column(name)] = f"{name}: {message}"
            continue
        row.update(values)
        row[error_column(name)] = ""
    row["score_seconds"] = time.process_time() - start
    return row


def score_task(task: list[tuple[CorpusFile, tuple[str, ...]]], options: ScoreOptions
               ) -> list[dict]:
    """Rows of a task's files (each with the groups it still needs); runs in a worker."""
    _one_thread()
    return [score_file(item, options, groups) for item, groups in task]


def _one_thread() -> None:
    """Workers use one thread each: parallelism comes from the number of workers."""
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _pool_init() -> None:
    leave_when_orphaned()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _one_thread()


def plan(files: Iterable[CorpusFile], folder: Path, options: ScoreOptions,
         shard: tuple[int, int] | None = None, *, retry_failed: bool = False
         ) -> tuple[list[tuple[CorpusFile, tuple[str, ...]]], ScoreReport]:
    """Which files still need which groups (files already scored for every requested group
    are skipped; with ``retry_failed``, groups that failed are tried again)."""
    done = done_groups(folder)
    failed: dict[str, set[str]] = {}
    if retry_failed and done:
        from curation.store import read_scores

        table = read_scores(folder)
        for row in table.itertuples(index=False):
            values = row._asdict()
            failed[values["id"]] = {g for g in GROUPS
                                    if isinstance(values.get(error_column(g)), str)
                                    and values.get(error_column(g))}
    report = ScoreReport()
    todo = []
    for item in files:
        if shard is not None and not in_shard(item.id, shard):
            report.outside_shard += 1
            continue
        have = done.get(item.id, set()) - failed.get(item.id, set())
        need = tuple(g for g in options.groups if g not in have)
        if not need:
            report.skipped += 1
            continue
        todo.append((item, need))
    return todo, report


def score_corpus(files: Sequence[CorpusFile], out: str | Path, options: ScoreOptions, *,
                 workers: int = 1, scheduler: str | None = None,
                 shard: tuple[int, int] | None = None, retry_failed: bool = False,
                 progress: bool | ProgressCallback = True) -> ScoreReport:
    """Score ``files`` into the folder ``out``, skipping what it already holds.

    Args:
        workers: processes on this machine (1: in this process).
        scheduler: a Dask distributed scheduler address (``tcp://host:8786``) or a
            ``distributed.Client``; the work then runs on its workers (which must import
            this project: start them from its folder or put it on their PYTHONPATH).
        shard: (K, N): score only this shard of the list (a job array's share).
        progress: a tqdm bar (True), nothing (False), or a callback (done, total, id).
    """
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    todo, report = plan(files, out, options, shard, retry_failed=retry_failed)
    tasks = [todo[i:i + TASK_FILES] for i in range(0, len(todo), TASK_FILES)]
    bar = tqdm(total=len(todo), unit="file", desc="scoring", disable=progress is not True) \
        if progress is not False else None
    callback = progress if callable(progress) else None
    pending: list[dict] = []
    last_write = time.monotonic()
    done_count = 0

    def take(rows: list[dict]) -> None:
        nonlocal last_write, done_count
        for row in rows:
            errors = [row[c] for c in row if c.startswith("error_") and row[c]]
            if errors:
                report.failed.append(f"{row['id']}: {errors[0]}")
            done_count += 1
            if bar is not None:
                bar.update(1)
            if callback is not None:
                callback(done_count, len(todo), row["id"])
        pending.extend(rows)
        report.scored += len(rows)
        if len(pending) >= FLUSH_ROWS or time.monotonic() - last_write > FLUSH_SECONDS:
            write_part(out, pending)
            pending.clear()
            last_write = time.monotonic()

    try:
        if not tasks:
            pass
        elif scheduler is not None:
            _run_dask(tasks, options, scheduler, take)
        elif workers <= 1:
            for task in tasks:
                take(score_task(task, options))
        else:
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                     initializer=_pool_init) as pool:
                futures = [pool.submit(score_task, task, options) for task in tasks]
                for future in as_completed(futures):
                    take(future.result())
    finally:
        write_part(out, pending)  # whatever arrived is kept, even when interrupted
        if bar is not None:
            bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _run_dask(tasks: list, options: ScoreOptions, scheduler, take: Callable[[list], None]
              ) -> None:
    from distributed import Client
    from distributed import as_completed as dask_completed

    client = scheduler if isinstance(scheduler, Client) else Client(scheduler)
    try:
        futures = client.map(score_task, tasks, options=options, pure=False)
        for future in dask_completed(futures):
            take(future.result())
    finally:
        if client is not scheduler:
            client.close()
