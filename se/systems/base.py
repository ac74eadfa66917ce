"""The one interface every enhancement system has, and the wrapper that makes them alike.

A system only implements :meth:`System._process` for a valid mono waveform at a rate it
supports. :meth:`System.enhance` does everything else in one place, so every system refuses
the same bad inputs with the same words, handles every rate from 8 to 48 kHz, keeps memory
bounded on long files and returns exactly as many float32 samples as it was given.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Literal

import numpy as np

from audio.io import check_mono
from audio.resample import nearest_rate, resample

#: What a system is: the input itself, signal processing, a shipped pretrained model, one of
#: our checkpoints, or outputs another system produced elsewhere.
SystemKind = Literal["identity", "dsp", "pretrained", "neural", "external"]
SYSTEM_KINDS: tuple[str, ...] = ("identity", "dsp", "pretrained", "neural", "external")

#: Rates the systems accept (the URGENT range); others are refused, not guessed at.
MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 48_000

#: Shorter clips are refused: too few STFT frames for any noise estimate to mean anything.
MIN_SECONDS = 0.1


class SystemOutputError(RuntimeError):
    """A system returned something unusable (NaN, wrong shape): a bug, not a bad input."""


def check_input(waveform: np.ndarray, sample_rate: int, *, name: str = "audio") -> np.ndarray:
    """Return ``waveform`` as contiguous float32 if a system can enhance it.

    Raises:
        AudioError: not a mono 1-D array, rate outside 8-48 kHz, shorter than
            :data:`MIN_SECONDS`, empty, silent, or holding NaN or infinite samples.
    """
    return check_mono(waveform, sample_rate, name=name, min_seconds=MIN_SECONDS,
                      max_rate=MAX_SAMPLE_RATE, user="the systems")


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Cut or zero-pad to ``length`` samples (STFT round trips and resamplers add a few)."""
    if samples.shape[-1] >= length:
        return samples[..., :length]
    return np.pad(samples, (0, length - samples.shape[-1]))


def process_in_chunks(process: Callable[[np.ndarray], np.ndarray], samples: np.ndarray,
                      chunk_frames: int, overlap_frames: int, warmup_frames: int = 0
                      ) -> np.ndarray:
    """Apply ``process`` to overlapping chunks of equal length and cross-fade them.

    Only one chunk's intermediate data exists at a time, so memory grows with the chunk,
    not the file. The sin²/cos² cross-fade sums to one, so a system that is the identity
    stays the identity across chunk borders.

    Args:
        process: maps a 1-D chunk to an output of (about) the same length.
        samples: mono waveform, shape (frames,).
        chunk_frames: longest chunk; inputs up to this length go through in one call.
        overlap_frames: samples shared by neighbouring chunks, where they are cross-faded.
        warmup_frames: input before each chunk (but the first) that ``process`` also sees
            and whose output is dropped, so adaptive estimates have settled where the
            chunk's own output begins.
    """
    total = samples.shape[0]
    if total <= chunk_frames:
        return fit_length(process(samples), total).astype(np.float32)
    if not 0 < 3 * overlap_frames <= chunk_frames:
        raise ValueError(f"overlap of {overlap_frames} samples must be positive and at most "
                         f"a third of the {chunk_frames}-sample chunk")
    count = math.ceil((total - overlap_frames) / (chunk_frames - overlap_frames))
    length = math.ceil((total - overlap_frames) / count) + overlap_frames
    step = length - overlap_frames
    fade_in = np.sin(0.5 * np.pi * (np.arange(overlap_frames) + 0.5) / overlap_frames) ** 2
    out = np.zeros(total, dtype=np.float32)
    for index in range(count):
        start = index * step
        stop = min(start + length, total)
        lead = min(start, warmup_frames)
        chunk = fit_length(process(samples[start - lead:stop]), lead + stop - start)[lead:]
        chunk = chunk.astype(np.float32)
        if index > 0:
            chunk[:overlap_frames] *= fade_in
        if index < count - 1:
            chunk[-overlap_frames:] *= fade_in[::-1]
        out[start:stop] += chunk
    return out


class System(ABC):
    """An enhancement system: ``enhance(waveform, sample_rate) -> waveform``.

    Subclasses set ``name``, ``kind`` and ``description`` (class attributes or in
    ``__init__``), optionally ``sample_rates`` and the chunking sizes, and implement
    :meth:`_process`.

    Attributes:
        name: unique short name, used on the command line and in tables.
        kind: one of :data:`SYSTEM_KINDS`.
        description: one line for people choosing a system.
        sample_rates: rates :meth:`_process` works at; None for every rate from 8 to
            48 kHz. Other inputs are resampled to the nearest and back.
        chunk_seconds: longest piece :meth:`_process` sees; None to never chunk.
        overlap_seconds: cross-fade between neighbouring chunks.
        warmup_seconds: input before each chunk that the system also sees and whose
            output is dropped: long enough for adaptive state (noise estimates, recurrent
            layers) to settle, so that chunked output matches whole-file output.
    """

    name: str
    kind: SystemKind
    description: str
    sample_rates: tuple[int, ...] | None = None
    chunk_seconds: float | None = 30.0
    overlap_seconds: float = 1.0
    warmup_seconds: float = 0.0

    def enhance(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """Enhance a mono waveform; the output has the input's rate and length.

        Args:
            waveform: shape (frames,), float samples in [-1, 1].
            sample_rate: 8000 to 48000 Hz.

        Returns:
            float32 array of shape (frames,).

        Raises:
            AudioError: the input is unusable (see :func:`check_input`).
            SystemOutputError: the system produced NaN or infinite samples.
        """
        x = check_input(waveform, sample_rate, name=f"{self.name} input")
        rate = sample_rate if self.sample_rates is None else nearest_rate(
            sample_rate, self.sample_rates)
        y = resample(x, sample_rate, rate) if rate != sample_rate else x
        if self.chunk_seconds is None:
            y = fit_length(self._process(y, rate), y.shape[0])
        else:
            y = process_in_chunks(lambda chunk: self._process(chunk, rate), y,
                                  round(self.chunk_seconds * rate),
                                  round(self.overlap_seconds * rate),
                                  round(self.warmup_seconds * rate))
        if rate != sample_rate:
            y = resample(y, rate, sample_rate)
        y = np.ascontiguousarray(fit_length(y, x.shape[0]), dtype=np.float32)
        if not np.all(np.isfinite(y)):
            raise SystemOutputError(f"system {self.name} produced NaN or infinite samples")
        return y

    def enhance_item(self, item_id: str, waveform: np.ndarray, sample_rate: int
                     ) -> np.ndarray:
        """Enhance one named input. Systems that need the name (external outputs, matched
        by file name) override this; the others ignore it."""
        del item_id
        return self.enhance(waveform, sample_rate)

    @abstractmethod
    def _process(self, waveform: np.ndarray, sample_rate: int) -> np.ndarray:
        """Enhance a checked float32 mono chunk at a supported rate (length may be off by
        a few samples; the wrapper fixes it)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, kind={self.kind!r})"
