"""Praat (through ``praat-parselmouth``) operations the transforms share: pitch analysis,
PSOLA "Change gender", and resynthesis from a Manipulation with new pitch, duration and pulses.

PSOLA keeps the waveform of each period, so transformed voices keep their own timbre. Praat's
overlap-add draws random numbers (for unvoiced stretches) from one process-wide generator, so
every resynthesis here first seeds it from the caller's ``rng``: the transforms are then pure
functions of input and generator (not safe to run from several threads at once).
"""

from __future__ import annotations

import numpy as np
import parselmouth
from parselmouth.praat import call, run

#: Pitch search range in Hz for adult, child and sung voices alike.
PITCH_FLOOR_HZ = 75.0
PITCH_CEILING_HZ = 600.0


def to_sound(x: np.ndarray, sample_rate: int) -> parselmouth.Sound:
    return parselmouth.Sound(np.asarray(x, dtype=np.float64), sampling_frequency=sample_rate)


def from_sound(sound: parselmouth.Sound, num_frames: int | None = None) -> np.ndarray:
    """float32 samples of a Praat sound (cut or zero-padded to ``num_frames`` if given)."""
    y = np.asarray(sound.values[0], dtype=np.float32)
    if num_frames is not None:
        y = y[:num_frames] if len(y) >= num_frames else np.pad(y, (0, num_frames - len(y)))
    return y


def f0_track(x: np.ndarray, sample_rate: int, time_step: float = 0.01
             ) -> tuple[np.ndarray, np.ndarray]:
    """(times in s, F0 in Hz with 0 where unvoiced) by Praat's autocorrelation method."""
    pitch = to_sound(x, sample_rate).to_pitch_ac(
        time_step=time_step, pitch_floor=PITCH_FLOOR_HZ, pitch_ceiling=PITCH_CEILING_HZ)
    return np.asarray(pitch.xs()), np.nan_to_num(pitch.selected_array["frequency"])


def median_f0(x: np.ndarray, sample_rate: int) -> float:
    """Median F0 over voiced frames (Hz); NaN when nothing is voiced."""
    f0 = f0_track(x, sample_rate)[1]
    return float(np.median(f0[f0 > 0])) if np.any(f0 > 0) else float("nan")


def seed_praat(rng: np.random.Generator) -> None:
    """Seed Praat's process-wide random generator from ``rng``."""
    run(f"random_initializeWithSeedUnsafelyButPredictably ({int(rng.integers(2**31))})")


def change_gender(x: np.ndarray, sample_rate: int, rng: np.random.Generator, *,
                  formant_ratio: float, new_median_hz: float, range_factor: float,
                  duration_factor: float) -> np.ndarray:
    """Praat's "Change gender": PSOLA to a new F0 median and range, duration scaled, and the
    spectral envelope stretched by ``formant_ratio`` (a shorter vocal tract when > 1)."""
    seed_praat(rng)
    out = call(to_sound(x, sample_rate), "Change gender", PITCH_FLOOR_HZ, PITCH_CEILING_HZ,
               float(formant_ratio), float(new_median_hz), float(range_factor),
               float(duration_factor))
    return from_sound(out)


def manipulation(x: np.ndarray, sample_rate: int) -> parselmouth.Data:
    """A Praat Manipulation (pulses, pitch tier, duration tier) of ``x`` for PSOLA."""
    return call(to_sound(x, sample_rate), "To Manipulation", 0.01, PITCH_FLOOR_HZ,
                PITCH_CEILING_HZ)


def voiced_intervals(x: np.ndarray, sample_rate: int, min_seconds: float = 0.06
                     ) -> list[tuple[float, float]]:
    """(start, end) in seconds of voiced runs at least ``min_seconds`` long (vowels and
    voiced consonants: where a held note can go)."""
    times, f0 = f0_track(x, sample_rate)
    runs, start = [], None
    for t, voiced in zip(times, f0 > 0, strict=True):
        if voiced and start is None:
            start = t
        elif not voiced and start is not None:
            runs.append((start, t))
            start = None
    if start is not None:
        runs.append((start, float(times[-1])))
    return [(a, b) for a, b in runs if b - a >= min_seconds]


def resynthesise(manip: parselmouth.Data, rng: np.random.Generator) -> np.ndarray:
    """Overlap-add resynthesis of a Manipulation."""
    seed_praat(rng)
    return from_sound(call(manip, "Get resynthesis (overlap-add)"))
