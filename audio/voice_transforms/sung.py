"""Sung speech: each vowel (voiced run) lengthened and held on one note of a melody, with
vibrato, the rest of the utterance kept at its own timing (PSOLA with new pitch and duration
tiers, Praat). A stand-in for singing corpora such as VocalSet, not singing itself."""

from __future__ import annotations

import numpy as np
from parselmouth.praat import call

from audio.voice_transforms.praat import (
    manipulation,
    median_f0,
    resynthesise,
    voiced_intervals,
)

#: Scale degrees (semitones above the tonic) melodies step through: a major scale.
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 12)
VIBRATO_HZ = (5.0, 6.0)
VIBRATO_CENTS = (30.0, 60.0)
STRETCH = (2.0, 3.0)


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69.0) / 12.0)


def sung(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Sung version of ``x`` (float32, same rate, longer).

    The tonic is the semitone nearest the speaker's median F0; each voiced run of 60 ms or
    more becomes a note 2-3 times longer on the next step of a random walk over a major
    scale, with vibrato of 5-6 Hz and 30-60 cents (of the output's time). Unvoiced parts
    keep their timing.
    """
    f0 = median_f0(x, sample_rate)
    runs = voiced_intervals(x, sample_rate)
    if not np.isfinite(f0) or not runs:
        return np.asarray(x, dtype=np.float32).copy()
    tonic = round(69 + 12 * np.log2(f0 / 440.0))
    manip = manipulation(x, sample_rate)
    start, end = 0.0, len(x) / sample_rate
    pitch = call("Create PitchTier", "melody", start, end)
    duration = call("Create DurationTier", "hold", start, end)
    vibrato_hz = float(rng.uniform(*VIBRATO_HZ))
    depth = float(rng.uniform(*VIBRATO_CENTS))
    degree = int(rng.integers(len(MAJOR_SCALE) - 2))
    call(duration, "Add point", start, 1.0)
    for a, b in runs:
        stretch = float(rng.uniform(*STRETCH))
        note = midi_to_hz(tonic + MAJOR_SCALE[degree])
        edge = min(0.005, (b - a) / 10)
        call(duration, "Add point", a - edge, 1.0)
        call(duration, "Add point", a, stretch)
        call(duration, "Add point", b, stretch)
        call(duration, "Add point", b + edge, 1.0)
        # vibrato at vibrato_hz in output time = vibrato_hz * stretch in input time
        for t in np.arange(a, b, 0.005):
            cents = depth * np.sin(2 * np.pi * vibrato_hz * stretch * (t - a))
            call(pitch, "Add point", float(t), note * 2.0 ** (cents / 1200.0))
        degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), 0, len(MAJOR_SCALE) - 1))
    call([manip, pitch], "Replace pitch tier")
    call([manip, duration], "Replace duration tier")
    return resynthesise(manip, rng)
