"""Spectral gating through ``noisereduce``: a widely used practical denoiser to compare with."""

from __future__ import annotations

import numpy as np

from se.systems.base import System


class SpectralGating(System):
    """Non-stationary spectral gating (Sainburg et al.): a bin passes when it rises above
    a threshold set by its own time-smoothed level; ``noisereduce``'s defaults."""

    name = "spectral_gating"
    kind = "dsp"
    description = "non-stationary spectral gating (noisereduce)"
    warmup_seconds = 3.0  # its noise floor is smoothed over 2 s

    def __init__(self, *, stationary: bool = False, prop_decrease: float = 1.0) -> None:
        self.stationary = stationary
        self.prop_decrease = prop_decrease

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        import noisereduce

        # chunk_size=None: the shared wrapper already chunks, and noisereduce's own chunking
        # goes through a temporary memory-mapped file.
        return noisereduce.reduce_noise(y=waveform, sr=sample_rate,
                                        stationary=self.stationary,
                                        prop_decrease=self.prop_decrease,
                                        chunk_size=None, n_jobs=1)
