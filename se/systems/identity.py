"""The unprocessed input: the reference condition every comparison includes."""

from __future__ import annotations

import numpy as np

from se.systems.base import System


class Unprocessed(System):
    """Returns its input unchanged (after the shared checks), so it is scored and listened
    to exactly like a real system."""

    name = "unprocessed"
    kind = "identity"
    description = "the input as it is: the reference condition in every comparison"
    chunk_seconds = None

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return waveform.copy()
