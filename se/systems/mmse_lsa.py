"""MMSE log-spectral amplitude estimation: the classical statistical baseline of the field.

Ephraim & Malah (1985) gain on each STFT bin, with the a-priori SNR from their
decision-directed rule and the noise power from Cohen & Berdugo's minima-controlled
recursive averaging (MCRA, 2002), which keeps tracking noise while speech is present.
Written here with numpy/scipy so that every step is visible and testable.

Window and hop are given in seconds and the smoothing constants are per hop, so the
enhancer behaves the same at every sampling rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, signal, special

from se.systems.base import System


@dataclass(frozen=True)
class MmseLsaConfig:
    """Settings of the enhancer; constants are per hop of ``hop_seconds``.

    Attributes:
        window_seconds: Hann analysis window (32 ms: a few pitch periods).
        hop_seconds: frame advance (75 % overlap keeps musical noise low).
        dd_alpha: weight of the previous frame's estimate in the decision-directed
            a-priori SNR; 0.98 is Ephraim & Malah's value.
        xi_min_db: a-priori SNR floor; bounds the attenuation and the musical noise.
        init_seconds: the first frames, averaged, give the initial noise estimate.
        mcra_alpha_s: time smoothing of the power spectrum that minima are taken of.
        mcra_alpha_p: smoothing of the speech-presence probability.
        mcra_alpha_d: noise update rate where speech is absent.
        mcra_delta: smoothed power above ``delta`` times the minimum counts as speech.
        mcra_window_seconds: minima are tracked over one to two such windows; longer
            than a word, so a minimum is noise, not a speech pause.
    """

    window_seconds: float = 0.032
    hop_seconds: float = 0.008
    dd_alpha: float = 0.98
    xi_min_db: float = -25.0
    init_seconds: float = 0.064
    mcra_alpha_s: float = 0.8
    mcra_alpha_p: float = 0.2
    mcra_alpha_d: float = 0.95
    mcra_delta: float = 5.0
    mcra_window_seconds: float = 0.8


def _running_minimum(smoothed: np.ndarray, block: int) -> np.ndarray:
    """MCRA's minimum: the minimum over the previous block of frames and the current block
    so far (Cohen's Smin/Stmp recursion, computed block-wise). Shape (freq, time)."""
    freqs, frames = smoothed.shape
    blocks = -(-frames // block)
    padded = np.full((freqs, blocks * block), np.inf)
    padded[:, :frames] = smoothed
    padded = padded.reshape(freqs, blocks, block)
    current = np.minimum.accumulate(padded, axis=2)
    previous = np.concatenate([np.full((freqs, 1, 1), np.inf), current[:, :-1, -1:]], axis=1)
    return np.minimum(current, previous).reshape(freqs, -1)[:, :frames]


def mcra_noise_psd(power: np.ndarray, config: MmseLsaConfig = MmseLsaConfig()) -> np.ndarray:
    """Noise power per bin and frame by minima-controlled recursive averaging.

    Args:
        power: |STFT|² of the noisy signal, shape (freq, time).

    Returns:
        Noise power estimate of the same shape.
    """
    smoothed_f = ndimage.convolve1d(power, np.array([0.25, 0.5, 0.25]), axis=0,
                                    mode="nearest")
    a_s = config.mcra_alpha_s
    smoothed, _ = signal.lfilter([1.0 - a_s], [1.0, -a_s], smoothed_f, axis=1,
                                 zi=a_s * smoothed_f[:, :1])
    block = max(1, round(config.mcra_window_seconds / config.hop_seconds))
    present = (smoothed > config.mcra_delta * _running_minimum(smoothed, block)).astype(float)
    a_p = config.mcra_alpha_p
    presence, _ = signal.lfilter([1.0 - a_p], [1.0, -a_p], present, axis=1,
                                 zi=np.zeros((power.shape[0], 1)))
    alpha = config.mcra_alpha_d + (1.0 - config.mcra_alpha_d) * presence
    init = max(1, round(config.init_seconds / config.hop_seconds))
    noise = power[:, :init].mean(axis=1)
    out = np.empty_like(power)
    for t in range(power.shape[1]):  # time-varying coefficient: no closed form
        noise = alpha[:, t] * noise + (1.0 - alpha[:, t]) * power[:, t]
        out[:, t] = noise
    return out


def lsa_gain(power: np.ndarray, noise_psd: np.ndarray,
             config: MmseLsaConfig = MmseLsaConfig()) -> np.ndarray:
    """Log-spectral amplitude gain with the decision-directed a-priori SNR.

    Args:
        power: noisy |STFT|², shape (freq, time).
        noise_psd: noise power estimate of the same shape.

    Returns:
        Gains in (0, 1] of the same shape.
    """
    xi_min = 10.0 ** (config.xi_min_db / 10.0)
    gamma_all = power / np.maximum(noise_psd, 1e-12)
    gains = np.empty_like(power)
    previous = np.ones(power.shape[0])  # |A(t-1)|² / noise: Ephraim & Malah's start value
    for t in range(power.shape[1]):
        gamma = gamma_all[:, t]
        xi = np.maximum(config.dd_alpha * previous
                        + (1.0 - config.dd_alpha) * np.maximum(gamma - 1.0, 0.0), xi_min)
        ratio = xi / (1.0 + xi)
        v = np.maximum(ratio * gamma, 1e-10)
        gain = np.minimum(ratio * np.exp(0.5 * special.exp1(v)), 1.0)
        gains[:, t] = gain
        previous = gain**2 * gamma
    return gains


def mmse_lsa(waveform: np.ndarray, sample_rate: int,
             config: MmseLsaConfig = MmseLsaConfig()) -> np.ndarray:
    """Enhance a mono waveform (frames,) at any rate; returns float32 of the same length."""
    win_len = max(4, round(config.window_seconds * sample_rate))
    hop = max(1, round(config.hop_seconds * sample_rate))
    stft = signal.ShortTimeFFT(signal.windows.hann(win_len, sym=False), hop, fs=sample_rate)
    spec = stft.stft(np.asarray(waveform, dtype=np.float64))
    power = spec.real**2 + spec.imag**2
    gains = lsa_gain(power, mcra_noise_psd(power, config), config)
    out = stft.istft(spec * gains, k1=len(waveform))
    return out.astype(np.float32)


class MmseLsa(System):
    """MMSE-LSA with decision-directed a-priori SNR and an MCRA noise estimate."""

    name = "mmse_lsa"
    kind = "dsp"
    description = ("MMSE log-spectral amplitude estimator, decision-directed a-priori SNR, "
                   "MCRA noise tracking")
    warmup_seconds = 3.0

    def __init__(self, config: MmseLsaConfig = MmseLsaConfig()) -> None:
        self.config = config

    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        return mmse_lsa(waveform, sample_rate, self.config)
