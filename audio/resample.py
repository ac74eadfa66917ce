"""Sampling-rate conversion through soxr (the SoX resampler), the one place rates change."""

from __future__ import annotations

import numpy as np
import soxr

#: The sampling rates of the URGENT challenge data, in Hz.
URGENT_SAMPLE_RATES = (8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000)


def resample(samples: np.ndarray, from_rate: int, to_rate: int, *,
             quality: str = "HQ") -> np.ndarray:
    """Resample ``samples`` (time last; 1-D or (channels, frames)) to ``to_rate``.

    Args:
        quality: soxr quality recipe: ``QQ``, ``LQ``, ``MQ``, ``HQ`` or ``VHQ``. Lower
            settings give the wider transition bands that bandwidth-limitation
            degradations want.

    Returns:
        float32 array of ``round(frames * to_rate / from_rate)`` frames.
    """
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sampling rates must be positive, got {from_rate} and {to_rate}")
    data = np.asarray(samples, dtype=np.float32)
    if from_rate == to_rate:
        return data.copy()
    if data.ndim == 1:
        return soxr.resample(data, from_rate, to_rate, quality=quality).astype(np.float32)
    out = soxr.resample(np.ascontiguousarray(data.T), from_rate, to_rate, quality=quality)
    return np.ascontiguousarray(out.T, dtype=np.float32)


def nearest_rate(sample_rate: int, supported: tuple[int, ...] = URGENT_SAMPLE_RATES) -> int:
    """The supported rate closest to ``sample_rate`` (ties go to the higher one)."""
    return min(supported, key=lambda r: (abs(r - sample_rate), -r))
