"""What the metrics accept, checked in one place so that every metric refuses the same
inputs with the same words."""

from __future__ import annotations

import numpy as np

from audio.io import check_mono

#: Rates the metrics accept: the URGENT range (the models behind them know no other).
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 48_000

#: PESQ needs a quarter of a second; shorter clips get no meaningful score from any metric.
MIN_SECONDS = 0.25


def check_signal(samples: np.ndarray, sample_rate: int, *, role: str = "estimate"
                 ) -> np.ndarray:
    """Return ``samples`` as float32 if a metric can score it.

    Raises:
        ValueError: not mono (frames,), rate outside 8-48 kHz, shorter than
            :data:`MIN_SECONDS`, empty, silent, or holding NaN or infinite samples.
    """
    if np.ndim(samples) != 1:
        raise ValueError(f"{role}: expected mono audio of shape (frames,), got shape "
                         f"{np.shape(samples)}")
    return check_mono(samples, sample_rate, name=role, min_seconds=MIN_SECONDS,
                      max_rate=MAX_SAMPLE_RATE, user="the metrics")


def check_pair(estimate: np.ndarray, reference: np.ndarray, sample_rate: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Check both signals with :func:`check_signal` and that they are equally long.

    Raises:
        ValueError: either signal is unusable, or their lengths differ (intrusive metrics
            compare sample by sample; a shifted or cut estimate must be fixed, not guessed).
    """
    est = check_signal(estimate, sample_rate, role="estimate")
    ref = check_signal(reference, sample_rate, role="reference")
    if est.shape[0] != ref.shape[0]:
        raise ValueError(f"estimate has {est.shape[0]} samples but reference has "
                         f"{ref.shape[0]}; they must be equally long")
    return est, ref
