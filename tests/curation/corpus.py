"""A small corpus on disk for the curation tests: two sources, clean and degraded files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from audio.io import save_audio
from tests.se.speech import add_white_noise, make_speech


def write_corpus(folder: Path, *, rate: int = 16_000) -> dict[str, Path]:
    """Six files in ``folder/studio`` and ``folder/crowd`` (clean, noisy at 0 dB, clipped,
    band-limited); returns id -> path."""
    speech = make_speech(rate, seconds=2.0)
    rng = np.random.default_rng(1)
    lowpassed = np.fft.irfft(np.fft.rfft(speech) * (np.fft.rfftfreq(len(speech), 1 / rate)
                                                    < 2000), len(speech))
    clipped = np.clip(speech * 4, -0.5, 0.5)
    files = {
        "studio/clean_a": speech,
        "studio/clean_b": (0.7 * speech + 1e-4 * rng.standard_normal(len(speech))),
        "studio/narrow": lowpassed,
        "crowd/noisy": add_white_noise(speech, 0.0),
        "crowd/clipped": clipped,
        "crowd/clean_c": np.roll(speech, rate // 4),
    }
    paths = {}
    for name, x in files.items():
        path = folder / f"{name}.flac"
        save_audio(path, np.asarray(x, dtype=np.float32), rate)
        paths[name.replace("/", "-")] = path
    return paths
