"""Test signals made in code: deterministic, any rate, no external tools."""

from __future__ import annotations

import numpy as np


def speech_like(seconds: float = 1.0, sample_rate: int = 16_000, *, seed: int = 0,
                level: float = 0.3) -> np.ndarray:
    """A voiced, syllable-rate modulated harmonic signal with a gliding pitch: it has the
    spectral shape and pauses that codecs, VADs and spectrograms care about."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    f0 = 120 + 30 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, np.pi))
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    harmonics = sum(np.sin(k * phase) / k for k in range(1, 30)
                    if k * 150 < sample_rate / 2)
    envelope = np.clip(np.sin(2 * np.pi * 3.0 * t + rng.uniform(0, np.pi)), 0, None) ** 2
    x = harmonics * envelope + 0.01 * rng.standard_normal(len(t))
    return (level * x / np.max(np.abs(x))).astype(np.float32)
