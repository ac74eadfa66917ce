"""RNNoise (Valin, 2018) through ``pyrnnoise``, whose pretrained model ships in its library.

The model runs at 48 kHz on 10 ms frames of int16-scaled floats and delays its output by two
frames; both facts are handled here so that the output lines up with the input sample for
sample. Each call gets a fresh recurrent state: no state leaks from one file to the next.
"""

from __future__ import annotations

import ctypes
import functools
from types import ModuleType

import numpy as np

from se.systems.base import System

#: RNNoise's one rate, and its output delay in samples (two 480-sample frames).
RNNOISE_SAMPLE_RATE = 48_000
RNNOISE_DELAY = 960
_INT16_SCALE = 32768.0


@functools.cache
def _rnnoise_library() -> ModuleType:
    """Load the shared library once (importing pyrnnoise opens it with ctypes)."""
    from pyrnnoise import rnnoise

    return rnnoise


def rnnoise_denoise(waveform: np.ndarray) -> np.ndarray:
    """Denoise a 48 kHz mono waveform (frames,); returns float32 of the same length."""
    lib = _rnnoise_library()
    frame = lib.FRAME_SIZE
    total = len(waveform) + RNNOISE_DELAY
    padded = np.zeros(-(-total // frame) * frame, dtype=np.float32)
    padded[: len(waveform)] = waveform * _INT16_SCALE
    frames = padded.reshape(-1, frame)
    state = lib.create()
    try:
        for row in frames:  # processed in place, frame by frame
            pointer = row.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
            lib.lib.rnnoise_process_frame(state, pointer, pointer)
    finally:
        lib.destroy(state)
    return padded[RNNOISE_DELAY:total] / np.float32(_INT16_SCALE)


class RNNoise(System):
    """RNNoise, a small recurrent network that predicts band gains; pretrained, 48 kHz."""

    name = "rnnoise"
    kind = "pretrained"
    description = "RNNoise recurrent denoiser, pretrained model shipped in pyrnnoise (48 kHz)"
    sample_rates = (RNNOISE_SAMPLE_RATE,)
    chunk_seconds = 60.0
    warmup_seconds = 1.0

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return rnnoise_denoise(waveform)
