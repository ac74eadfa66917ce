"""Input features of the quality model: 16 kHz log-mel spectrograms.

Every input is resampled to :data:`MODEL_SAMPLE_RATE` by :func:`audio.resample.resample`,
then turned into a log-mel spectrogram by :func:`audio.spectral.mel_spectrogram_db`, whose
:class:`~audio.spectral.StftConfig` is the one place STFT settings become sample counts.
The window, hop and mel count travel in the model's config (:class:`FeatureConfig` is built
from it), so training and inference cannot disagree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audio.io import load_audio
from audio.resample import resample
from audio.spectral import StftConfig, mel_spectrogram_db

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


def log_mel(samples: np.ndarray, sample_rate: int, config: FeatureConfig = FeatureConfig()
            ) -> np.ndarray:
    """Log-mel features of a mono waveform at any rate.

    Returns:
        float32 array of shape (frames, n_mels), time first, scaled to order one.
    """
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected mono audio of shape (frames,), got {x.shape}")
    if sample_rate != config.sample_rate:
        x = resample(x, sample_rate, config.sample_rate)
    db = mel_spectrogram_db(x, config.sample_rate, config.n_mels, config=config.stft)
    feats = (np.maximum(db, -100.0) - DB_OFFSET) / DB_SCALE
    return np.ascontiguousarray(feats.T, dtype=np.float32)


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
