"""Scoring on worker processes gives exactly what scoring in the caller gives, and survives a
worker that dies."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest

from audio.io import load_audio
from audio.metrics import DEFAULT_METRICS, score_clip, workers

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo" / "clips"


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray, int]:
    noisy = load_audio(DEMO / "u02_de_16k_clipping.flac")
    clean = load_audio(DEMO / "u02_de_16k_clean.flac")
    n = min(noisy.samples.size, clean.samples.size)
    return noisy.samples[:n], clean.samples[:n], noisy.sample_rate


def test_workers_give_the_values_scoring_in_the_caller_gives(pair) -> None:
    noisy, clean, rate = pair
    workers.start_workers(wait=True)
    here = score_clip(noisy, rate, clean, DEFAULT_METRICS)
    there = workers.score_clip_in_workers(noisy, rate, clean, DEFAULT_METRICS)
    assert list(there.values) == list(DEFAULT_METRICS)
    # equal to rounding: a worker's BLAS runs on one thread, the caller's may split sums
    assert there.values == pytest.approx(here.values, rel=1e-9, abs=1e-12)
    assert all(math.isfinite(v) for v in there.values.values())
    assert set(there.seconds) == {"pesq", "estoi", "si_sdr", "sdr", "lsd", "mcd", "dnsmos"}


def test_a_failing_metric_is_nan_with_its_reason(pair) -> None:
    noisy, _, rate = pair
    scores = workers.score_clip_in_workers(noisy, rate, None, ("pesq", "dnsmos_ovrl"))
    assert math.isnan(scores.values["pesq"]) and scores.errors["pesq"] == "no reference"
    assert 1.0 <= scores.values["dnsmos_ovrl"] <= 5.0


def test_an_unknown_metric_is_refused_before_any_work(pair) -> None:
    noisy, clean, rate = pair
    with pytest.raises(ValueError, match="unknown metrics nope"):
        workers.score_clip_in_workers(noisy, rate, clean, ("pesq", "nope"))


def test_a_dead_worker_costs_no_scores(pair) -> None:
    noisy, clean, rate = pair
    expected = score_clip(noisy, rate, clean, ("pesq", "dnsmos_ovrl")).values
    dying = workers._pool().submit(os._exit, 1)  # a crash in native code looks like this
    with pytest.raises(BrokenProcessPool):
        dying.result(timeout=120)
    assert workers.score_clip_in_workers(noisy, rate, clean, ("pesq", "dnsmos_ovrl")
                                         ).values == pytest.approx(expected, rel=1e-9)
    # and the next clip goes to a fresh pool of workers
    assert workers.score_clip_in_workers(noisy, rate, clean, ("pesq", "dnsmos_ovrl")
                                         ).values == pytest.approx(expected, rel=1e-9)


def _alive(pid: int) -> bool:
    """Running, not gone and not a zombie (an orphan's exit is reaped by whatever runs as
    pid 1, which in a container may never do it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_workers_leave_when_their_parent_is_killed() -> None:
    # an app killed with SIGKILL (or by the OOM killer) must not leave its scoring workers
    # idling on with their DNSMOS sessions in memory
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "from audio.metrics import workers\n"
         "workers.start_workers(wait=True)\n"
         "print(*(p.pid for p in workers._pool()._processes.values()), flush=True)\n"
         "import time; time.sleep(600)\n"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]
        assert pids and all(_alive(pid) for pid in pids)
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=30)
    deadline = time.monotonic() + 20 * workers.ORPHAN_CHECK_SECONDS
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "scoring workers outlived their parent"
