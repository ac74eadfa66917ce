"""Whispered speech: the voice source replaced by aspiration noise, so no F0 remains, while
the spectral envelope (what is said, who says it) is kept. Frame by frame, the magnitude
spectrum's cepstrally smoothed envelope drives white noise (a source-filter vocoder)."""

from __future__ import annotations

import numpy as np
from scipy.signal import istft, stft

#: Envelope smoothing: cepstral coefficients below this quefrency (shorter than any pitch
#: period of 600 Hz and below) describe the vocal tract, not the voice source.
LIFTER_SECONDS = 0.0012


def whispered(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Whispered version of ``x`` (float32, same rate and length, same overall RMS).

    Whispers also have a flatter spectrum below 1 kHz (no voicing bar): the envelope is
    attenuated by 6 dB there, as in recorded whispers.
    """
    x = np.asarray(x, dtype=np.float64)
    n_fft = 1 << int(np.ceil(np.log2(0.032 * sample_rate)))
    freqs, _, spec = stft(x, fs=sample_rate, nperseg=n_fft, noverlap=n_fft * 3 // 4)
    log_mag = np.log(np.abs(spec) + 1e-9)
    cep = np.fft.irfft(log_mag, n=n_fft, axis=0)
    keep = max(2, round(LIFTER_SECONDS * sample_rate))
    cep[keep:n_fft - keep + 1] = 0.0
    envelope = np.exp(np.fft.rfft(cep, n=n_fft, axis=0).real)
    envelope *= np.where(freqs < 1000.0, 0.5, 1.0)[:, None]
    noise = (rng.standard_normal(spec.shape) + 1j * rng.standard_normal(spec.shape)) / np.sqrt(2)
    _, y = istft(envelope * noise, fs=sample_rate, nperseg=n_fft, noverlap=n_fft * 3 // 4)
    y = np.pad(y[:len(x)], (0, max(0, len(x) - len(y))))
    y *= np.sqrt(np.mean(x**2)) / (np.sqrt(np.mean(y**2)) + 1e-12)
    return y.astype(np.float32)
