"""Input features of the quality model: 16 kHz log-mel spectrograms.

Every input is resampled to :data:`MODEL_SAMPLE_RATE` by :func:`audio.resample.resample`,
then turned into a log-mel spectrogram: the computation of
:func:`audio.spectral.mel_spectrogram_db` (same window, filterbank and dB floor), done in torch
on whole batches with the window and filters made once per setting. Its
:class:`~audio.spectral.StftConfig` is the one place STFT settings become sample counts.
The window, hop and mel count travel in the model's config (:class:`FeatureConfig` is built
from it), so training and inference cannot disagree.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from audio.io import load_audio
from audio.resample import resample
from audio.spectral import StftConfig, _window, mel_filterbank

#: The rate every input is converted to before features are taken.
MODEL_SAMPLE_RATE = 16_000

#: dB values are divided by this so that features are of order one.
DB_SCALE = 20.0
#: Features are shifted by this (dB) before scaling; about the level of quiet speech.
DB_OFFSET = -40.0


@dataclass(frozen=True)
class FeatureConfig:
    """Log-mel settings. ``window_seconds``/``hop_seconds`` go to :class:`StftConfig`."""

    sample_rate: int = MODEL_SAMPLE_RATE
    n_mels: int = 64
    window_seconds: float = 0.032
    hop_seconds: float = 0.010

    @property
    def stft(self) -> StftConfig:
        return StftConfig(window_seconds=self.window_seconds, hop_seconds=self.hop_seconds)

    def frames(self, seconds: float) -> int:
        """Feature frames of ``seconds`` of audio (at least one)."""
        return max(1, round(seconds / self.hop_seconds))


@functools.lru_cache(maxsize=16)
def _stft_constants(sample_rate: int, n_mels: int, stft: StftConfig
                    ) -> tuple[int, int, int, torch.Tensor, torch.Tensor]:
    """(window length, hop, n_fft, window, mel filterbank transposed (bins, n_mels)), made
    once per setting: the same window and filters as :mod:`audio.spectral`."""
    win_len, hop = stft.window_length(sample_rate), stft.hop_length(sample_rate)
    n_fft = stft.n_fft(sample_rate)
    window = torch.from_numpy(_window(stft.window, win_len))
    fb = torch.from_numpy(np.ascontiguousarray(mel_filterbank(sample_rate, n_fft, n_mels).T))
    return win_len, hop, n_fft, window, fb


def log_mel_batch(samples: np.ndarray | torch.Tensor, sample_rate: int,
                  config: FeatureConfig = FeatureConfig()) -> torch.Tensor:
    """Log-mel features of equal-length mono waveforms, shape (batch, samples), at any rate.

    The same numbers as :func:`audio.spectral.mel_spectrogram_db` (up to float rounding):
    frames centred by padding half a window, periodic window, zero-padded FFT of ``n_fft``,
    mel power in dB floored at -120, then clipped at -100 dB, shifted and scaled.

    Returns:
        float32 tensor of shape (batch, frames, n_mels), time first, scaled to order one.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected waveforms of shape (batch, samples), got {x.shape}")
    if sample_rate != config.sample_rate:
        x = resample(x, sample_rate, config.sample_rate)  # (channels, frames) is supported
    win_len, hop, n_fft, window, fb = _stft_constants(config.sample_rate, config.n_mels,
                                                      config.stft)
    n_frames = 1 + x.shape[1] // hop
    pad = win_len // 2
    wave = torch.nn.functional.pad(torch.from_numpy(np.ascontiguousarray(x)),
                                   (pad, pad + win_len))
    with torch.inference_mode():
        frames = wave.unfold(1, win_len, hop)[:, :n_frames] * window
        spec = torch.fft.rfft(frames, n=n_fft, dim=-1)
        mel = torch.matmul(spec.abs().square(), fb)
        db = (10.0 * torch.log10(mel.clamp_min(1e-30))).clamp_min(-120.0)
        return ((db.clamp_min(-100.0) - DB_OFFSET) / DB_SCALE).contiguous()


def log_mel(samples: np.ndarray, sample_rate: int, config: FeatureConfig = FeatureConfig()
            ) -> np.ndarray:
    """Log-mel features of a mono waveform at any rate (:func:`log_mel_batch` of one).

    Returns:
        float32 array of shape (frames, n_mels), time first, scaled to order one.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (frames,), got {x.shape}")
    return log_mel_batch(x[None], sample_rate, config)[0].numpy()


def crop_or_pad(feats: np.ndarray, max_frames: int, rng: np.random.Generator | None = None
                ) -> tuple[np.ndarray, int]:
    """A random (or, without ``rng``, the first) window of at most ``max_frames`` frames.

    Returns:
        (features, valid length); shorter inputs are returned as they are (padding happens
        in the batch collation).
    """
    n = feats.shape[0]
    if n <= max_frames:
        return feats, n
    start = int(rng.integers(0, n - max_frames + 1)) if rng is not None else 0
    return feats[start:start + max_frames], max_frames


class FeatureCache:
    """Full-length features of audio files, kept in memory and keyed by path, modification
    time and size, so an edited file is read again. Used during training."""

    def __init__(self, config: FeatureConfig, max_seconds: float | None = None) -> None:
        self.config = config
        self.max_seconds = max_seconds
        self._store: dict[tuple[str, int, int], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._store)

    def get(self, path: str | os.PathLike) -> np.ndarray:
        """Features of the file at ``path`` (shape (frames, n_mels)).

        Raises:
            audio.io.AudioError: the file cannot be used.
        """
        file = Path(path)
        stat = file.stat()
        key = (str(file), stat.st_mtime_ns, stat.st_size)
        feats = self._store.get(key)
        if feats is None:
            audio = load_audio(file, max_seconds=self.max_seconds)
            feats = log_mel(audio.samples, audio.sample_rate, self.config)
            self._store[key] = feats
        return feats
