"""Weighted prediction error (WPE) dereverberation through ``nara_wpe``.

WPE predicts the late reverberation of each STFT bin from earlier frames and subtracts it;
with one microphone it shortens the reverberation tail and leaves noise alone, which is why
it is also offered followed by the MMSE-LSA enhancer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from se.systems.base import System
from se.systems.mmse_lsa import mmse_lsa


@dataclass(frozen=True)
class WpeConfig:
    """WPE settings; STFT sizes in seconds so that ``taps`` and ``delay`` (in frames) mean
    the same time span at every rate (nara_wpe's 16 kHz defaults: 512/128 samples).

    Attributes:
        hop_seconds: STFT shift; the window is four hops.
        taps: prediction filter length in frames (10 x 8 ms: the late tail).
        delay: frames skipped before prediction, so the direct sound and early
            reflections are kept.
        iterations: alternations between the filter and the power estimate.
    """

    hop_seconds: float = 0.008
    taps: int = 10
    delay: int = 3
    iterations: int = 3


def wpe_dereverberate(waveform: np.ndarray, sample_rate: int,
                      config: WpeConfig = WpeConfig()) -> np.ndarray:
    """Dereverberate a mono waveform (frames,); returns float32 of the same length."""
    from nara_wpe.utils import istft, stft
    from nara_wpe.wpe import wpe_v8

    shift = max(1, round(config.hop_seconds * sample_rate))
    size = 4 * shift
    spec = stft(np.asarray(waveform, dtype=np.float64), size=size, shift=shift)  # (T, F)
    # wpe_v8 loops over frequencies: memory for one bin at a time, not all of them.
    dereverberated = wpe_v8(spec.T[:, None, :], taps=config.taps, delay=config.delay,
                            iterations=config.iterations, statistics_mode="full")
    out = istft(dereverberated[:, 0, :].T, size=size, shift=shift)
    return out[: len(waveform)].astype(np.float32)


class Wpe(System):
    """Single-channel WPE dereverberation."""

    name = "wpe"
    kind = "dsp"
    description = "WPE dereverberation, single channel (nara_wpe)"
    chunk_seconds = 20.0

    def __init__(self, config: WpeConfig = WpeConfig()) -> None:
        self.config = config

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return wpe_dereverberate(waveform, sample_rate, self.config)


class WpeMmseLsa(Wpe):
    """WPE dereverberation, then MMSE-LSA denoising: reverberation first, since the noise
    estimate of MMSE-LSA assumes noise that is uncorrelated with the speech."""

    name = "wpe_mmse_lsa"
    description = "WPE dereverberation followed by the MMSE-LSA enhancer"
    warmup_seconds = 3.0

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return mmse_lsa(wpe_dereverberate(waveform, sample_rate, self.config), sample_rate)
