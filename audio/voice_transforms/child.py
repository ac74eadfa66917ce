"""Child-like speech from an adult voice: F0 raised to a child's range and the spectral
envelope stretched upward, as a vocal tract about a fifth shorter does (PSOLA, Praat)."""

from __future__ import annotations

import numpy as np

from audio.voice_transforms.praat import change_gender

#: Median F0 of 6-10 year olds is about 230-300 Hz; adults' formants sit ~20-30 % lower.
CHILD_F0_HZ = (240.0, 300.0)
FORMANT_RATIO = (1.18, 1.28)


def childlike(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Child-like version of ``x`` (float32, same rate; about 10 % longer: children speak
    slower). Draws the target F0 median and formant ratio from ``rng``."""
    f0 = float(rng.uniform(*CHILD_F0_HZ))
    ratio = float(rng.uniform(*FORMANT_RATIO))
    return change_gender(x, sample_rate, rng, formant_ratio=ratio, new_median_hz=f0,
                         range_factor=1.2, duration_factor=1.1)
