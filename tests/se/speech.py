"""Test speech and degraded versions of it, made in code (espeak-ng when installed)."""

from __future__ import annotations

import functools

import numpy as np
from scipy.signal import fftconvolve

from audio.resample import resample
from audio.tts import TtsUnavailable, Voice, espeak_available, speak
from tests.signals import speech_like

SENTENCE = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."


@functools.cache
def _espeak_sentence() -> tuple[np.ndarray, int] | None:
    if not espeak_available():
        return None
    try:
        return speak(SENTENCE, Voice())
    except TtsUnavailable:
        return None


def make_speech(sample_rate: int = 16_000, seconds: float | None = None) -> np.ndarray:
    """About 4.5 s of synthetic speech at ``sample_rate`` (a harmonic stand-in without
    espeak-ng), peak 0.5, cut to ``seconds`` when given."""
    spoken = _espeak_sentence()
    if spoken is None:
        x = speech_like(4.5, sample_rate)
    else:
        x = resample(spoken[0], spoken[1], sample_rate)
    x = 0.5 * x / np.max(np.abs(x))
    if seconds is not None:
        x = np.tile(x, int(np.ceil(seconds * sample_rate / len(x))))[: round(seconds * sample_rate)]
    return x.astype(np.float32)


def add_white_noise(x: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """``x`` plus white noise at ``snr_db`` over the whole clip."""
    noise = np.random.default_rng(seed).standard_normal(len(x))
    noise *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return (x + noise).astype(np.float32)


def reverberate(x: np.ndarray, sample_rate: int, rt60_seconds: float = 0.6, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """(reverberant, target): ``x`` through an exponentially decaying noise RIR, and through
    its first 50 ms only (URGENT's dereverberation target), both peak-normalised alike."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(rt60_seconds * sample_rate)) / sample_rate
    rir = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_seconds)
    rir[0] = 4.0
    early = np.where(t < 0.05, rir, 0.0)
    wet, dry = fftconvolve(x, rir)[: len(x)], fftconvolve(x, early)[: len(x)]
    peak = np.max(np.abs(wet)) / 0.9
    return (wet / peak).astype(np.float32), (dry / peak).astype(np.float32)


def si_sdr_db(estimate: np.ndarray, reference: np.ndarray) -> float:
    """Zero-mean SI-SDR, written out here so system tests do not lean on the metric code."""
    e = estimate.astype(np.float64) - np.mean(estimate)
    r = reference.astype(np.float64) - np.mean(reference)
    target = np.dot(e, r) / np.dot(r, r) * r
    return float(10 * np.log10(np.sum(target**2) / np.sum((e - target) ** 2)))
