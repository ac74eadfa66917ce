"""Emotional prosody: neutral, happy, sad and angry speech by changing F0 level and range,
speaking rate and energy (PSOLA, Praat), after the acoustic profiles reported for acted
emotions (happy and angry: higher and wider F0, faster, louder; sad: lower, narrower,
slower, softer; angry also with more high-frequency energy, i.e. vocal effort)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from audio.voice_transforms.praat import change_gender, median_f0


@dataclass(frozen=True)
class ProsodyProfile:
    """Multipliers of an emotion relative to the neutral input."""

    f0_factor: float
    range_factor: float
    duration_factor: float
    gain_db: float
    pre_emphasis: float = 0.0  # 0 = none; 0.6 = strong high-frequency boost


EMOTIONS: dict[str, ProsodyProfile] = {
    "neutral": ProsodyProfile(1.0, 1.0, 1.0, 0.0),
    "happy": ProsodyProfile(1.2, 1.5, 0.9, 3.0),
    "sad": ProsodyProfile(0.88, 0.55, 1.25, -6.0),
    "angry": ProsodyProfile(1.1, 1.4, 0.85, 6.0, pre_emphasis=0.6),
}


def emotional(x: np.ndarray, sample_rate: int, rng: np.random.Generator, emotion: str
              ) -> np.ndarray:
    """``x`` spoken with the prosody of ``emotion`` (one of :data:`EMOTIONS`); each factor
    varies by +-5 % (drawn from ``rng``). Neutral returns a copy.

    Raises:
        ValueError: unknown emotion.
    """
    if emotion not in EMOTIONS:
        raise ValueError(f"unknown emotion {emotion!r} (known: {', '.join(EMOTIONS)})")
    profile = EMOTIONS[emotion]
    if emotion == "neutral":
        return np.asarray(x, dtype=np.float32).copy()
    vary = rng.uniform(0.95, 1.05, 3)
    f0 = median_f0(x, sample_rate)
    y = change_gender(x, sample_rate, rng, formant_ratio=1.0,
                      new_median_hz=float(f0 * profile.f0_factor * vary[0])
                      if np.isfinite(f0) else 0.0,
                      range_factor=profile.range_factor * vary[1],
                      duration_factor=profile.duration_factor * vary[2]).astype(np.float64)
    if profile.pre_emphasis:
        rms = np.sqrt(np.mean(y**2))
        y = lfilter([1.0, -profile.pre_emphasis], [1.0], y)
        y *= rms / (np.sqrt(np.mean(y**2)) + 1e-12)
    return (y * 10.0 ** (profile.gain_db / 20.0)).astype(np.float32)
