"""Short-time Fourier transforms and mel spectrograms.

STFT settings are given in seconds, not samples, so one :class:`StftConfig` means the same
time and frequency resolution at every sampling rate; this is the only place that turns them
into sample counts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class StftConfig:
    """Window and hop in seconds; ``n_fft`` is the next power of two above the window."""

    window_seconds: float = 0.025
    hop_seconds: float = 0.010
    window: str = "hann"

    def window_length(self, sample_rate: int) -> int:
        return max(2, round(self.window_seconds * sample_rate))

    def hop_length(self, sample_rate: int) -> int:
        return max(1, round(self.hop_seconds * sample_rate))

    def n_fft(self, sample_rate: int) -> int:
        return int(2 ** np.ceil(np.log2(self.window_length(sample_rate))))


def _window(name: str, length: int) -> np.ndarray:
    if name == "hann":
        return np.hanning(length + 1)[:-1].astype(np.float32)  # periodic Hann
    if name == "hamming":
        return np.hamming(length + 1)[:-1].astype(np.float32)
    raise ValueError(f"unknown window '{name}'; use 'hann' or 'hamming'")


def stft(samples: np.ndarray, sample_rate: int, config: StftConfig = StftConfig()) -> np.ndarray:
    """Complex STFT of a mono waveform, frames centred (padded by half a window).

    Returns:
        complex64 array of shape (n_fft // 2 + 1, frames), frequency first, time last.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"stft expects mono audio of shape (frames,), got {x.shape}")
    win_len, hop, n_fft = (config.window_length(sample_rate), config.hop_length(sample_rate),
                           config.n_fft(sample_rate))
    n_frames = 1 + len(x) // hop
    pad = win_len // 2
    x = np.pad(x, (pad, pad + win_len), mode="constant")
    idx = np.arange(win_len)[None, :] + hop * np.arange(n_frames)[:, None]
    frames = x[idx] * _window(config.window, win_len)[None, :]
    return np.fft.rfft(frames, n=n_fft, axis=1).T.astype(np.complex64)


def frequencies_hz(sample_rate: int, config: StftConfig = StftConfig()) -> np.ndarray:
    """Centre frequency of each STFT bin."""
    return np.fft.rfftfreq(config.n_fft(sample_rate), d=1.0 / sample_rate)


def frame_times_seconds(n_frames: int, sample_rate: int,
                        config: StftConfig = StftConfig()) -> np.ndarray:
    """Time of each STFT frame's centre."""
    return np.arange(n_frames) * config.hop_length(sample_rate) / sample_rate


def power_to_db(power: np.ndarray, *, floor_db: float = -120.0) -> np.ndarray:
    """10*log10 of a power spectrum, with a floor instead of -inf."""
    return np.maximum(10.0 * np.log10(np.maximum(power, 1e-30)), floor_db).astype(np.float32)


def spectrogram_db(samples: np.ndarray, sample_rate: int,
                   config: StftConfig = StftConfig()) -> np.ndarray:
    """Power spectrogram in dB relative to a full-scale sine (0 dB), shape (freq, time).

    The window's energy is normalised out so that levels compare across sampling rates.
    """
    spec = stft(samples, sample_rate, config)
    win = _window(config.window, config.window_length(sample_rate))
    scale = (win.sum() / 2.0) ** 2  # a full-scale sine peaks at 0 dB
    return power_to_db(np.abs(spec) ** 2 / scale)


def hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 64, *, f_min: float = 0.0,
                   f_max: float | None = None) -> np.ndarray:
    """Triangular mel filters, shape (n_mels, n_fft // 2 + 1), each with unit peak."""
    f_max = sample_rate / 2.0 if f_max is None else f_max
    if not 0.0 <= f_min < f_max <= sample_rate / 2.0:
        raise ValueError(f"need 0 <= f_min < f_max <= {sample_rate / 2} Hz, "
                         f"got {f_min} and {f_max}")
    bins = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    edges = mel_to_hz(np.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2))
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    falling = (upper - bins[None, :]) / np.maximum(upper - centre, 1e-9)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def mel_spectrogram_db(samples: np.ndarray, sample_rate: int, n_mels: int = 64, *,
                       config: StftConfig = StftConfig(), f_max: float | None = None
                       ) -> np.ndarray:
    """Log-mel power spectrogram in dB, shape (n_mels, frames)."""
    spec = stft(samples, sample_rate, config)
    fb = mel_filterbank(sample_rate, config.n_fft(sample_rate), n_mels, f_max=f_max)
    return power_to_db(fb @ (np.abs(spec) ** 2))
