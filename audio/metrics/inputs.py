"""What the metrics accept, checked in one place so that every metric refuses the same
inputs with the same words."""

from __future__ import annotations

import numpy as np

from audio.io import check_waveform

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
    x = np.asarray(samples)
    if x.ndim != 1:
        raise ValueError(f"{role}: expected mono audio of shape (frames,), got shape {x.shape}")
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(f"{role}: sampling rate {sample_rate} Hz is outside the "
                         f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz the metrics support")
    check_waveform(x, sample_rate, name=role, max_seconds=None)
    if x.shape[0] < MIN_SECONDS * sample_rate:
        raise ValueError(f"{role}: {x.shape[0] / sample_rate:.3f} s is shorter than the "
                         f"{MIN_SECONDS:g} s the metrics need")
    return x.astype(np.float32, copy=False)


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
