"""Listeners of the unseen-systems SQA benchmark: a quality function measured on the signals.

Unlike :mod:`benchmarks.sqa_listeners` (a formula of the degradation *parameters*), quality
here is measured from each output against its clean speech, P.835 style, in 32 mel bands of
32 ms frames (both at 16 kHz, the output scaled by its least-squares gain to the speech):

    SIG  = 1 + 4 * exp(-D / 6)       D = RMS dB difference in the bins where the speech is
                                      within 30 dB of its frame's peak (speech frames only):
                                      distortion, lost bandwidth, noise that covers speech
    BAK  = 1 + 4 / (1 + exp((R + 30 + 5 * M) / 6))
                                      R = residual (output - speech) power in speech pauses
                                      over speech power in speech frames, dB; M = how much
                                      the residual's dB values spread over time beyond a
                                      steady noise's 5.6 dB, in units of 6 dB (musical noise,
                                      pumping)
    OVRL = 1 + 3.6 * ((SIG - 1) / 4) ** 0.62 * ((BAK - 1) / 4) ** 0.38

A listener ``l`` has an offset ``b_l ~ N(0, 0.25)``, a slope ``a_l ~ U(0.75, 1.25)``, a
preference ``c_l ~ N(0, 0.25)`` for signal over background, a noise level
``s_l ~ U(0.3, 0.7)`` and a reluctance ``r_l ~ U(0, 0.5)`` to give a 5::

    v = 3 + a_l * (OVRL - 3) + c_l * (SIG - BAK) / 2 + b_l + N(0, s_l)
    vote = 5 if v >= 4.5 + r_l else clip(round(v), 1, 4)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from audio.spectral import mel_filterbank

RATE = 16_000
N_FFT, HOP, BANDS = 512, 256, 32


def _band_db(x: np.ndarray) -> np.ndarray:
    """(frames, 32) mel band power in dB of 32 ms frames, 16 ms apart."""
    frames = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT), axis=1)) ** 2
    return 10 * np.log10(spec @ mel_filterbank(RATE, N_FFT, BANDS).T + 1e-10)


def quality(output: np.ndarray, speech: np.ndarray) -> dict[str, float]:
    """``sig``, ``bak``, ``ovrl`` of a system output (16 kHz) against its clean speech."""
    speech = np.asarray(speech, dtype=np.float64)
    y = np.asarray(output, dtype=np.float64)[:len(speech)]
    gain = float(np.dot(y, speech) / (np.dot(speech, speech) + 1e-12))
    s = gain * speech
    s_db, y_db, r_db = _band_db(s), _band_db(y), _band_db(y - s)
    energy = 10 * np.log10(np.mean(10 ** (s_db / 10), axis=1) + 1e-12)
    active = energy > energy.max() - 35.0
    strong = (s_db > s_db.max(axis=1, keepdims=True) - 20.0) & active[:, None]
    error = np.minimum(np.abs(y_db[strong] - s_db[strong]), 15.0)
    distortion = float(np.sqrt(np.mean(error ** 2)))
    sig = 1 + 4 * np.exp(-distortion / 7.0)
    pauses = ~active if (~active).sum() >= 5 else np.ones_like(active)
    speech_power = np.mean(10 ** (s_db[active] / 10))
    residual = 10 * np.log10(np.mean(10 ** (r_db[pauses] / 10)) / speech_power + 1e-12)
    spread = float(np.mean(np.std(r_db[pauses], axis=0)))
    musical = max(0.0, spread - 5.6) / 6.0
    bak = 1 + 4 / (1 + np.exp((residual + 15 + 5 * musical) / 5.0))
    ovrl = 1 + 3.6 * ((sig - 1) / 4) ** 0.62 * ((bak - 1) / 4) ** 0.38
    return {"sig": float(sig), "bak": float(bak), "ovrl": float(ovrl)}


@dataclass(frozen=True)
class Panel:
    """Listeners ``P000``...: offset, slope, signal preference, noise, reluctance to give 5."""

    offset: np.ndarray
    slope: np.ndarray
    preference: np.ndarray
    noise: np.ndarray
    reluctance: np.ndarray

    @classmethod
    def draw(cls, count: int, rng: np.random.Generator) -> Panel:
        return cls(rng.normal(0.0, 0.25, count), rng.uniform(0.75, 1.25, count),
                   rng.normal(0.0, 0.25, count), rng.uniform(0.3, 0.7, count),
                   rng.uniform(0.0, 0.5, count))

    def ids(self) -> list[str]:
        return [f"P{i:03d}" for i in range(len(self.offset))]

    def vote(self, q: dict[str, float], listener: int, rng: np.random.Generator) -> int:
        v = (3 + self.slope[listener] * (q["ovrl"] - 3)
             + self.preference[listener] * (q["sig"] - q["bak"]) / 2 + self.offset[listener]
             + rng.normal(0.0, self.noise[listener]))
        if v >= 4.5 + self.reluctance[listener]:
            return 5
        return int(np.clip(np.round(v), 1, 4))


def votes(clips: Sequence[str], qualities: dict[str, dict[str, float]], panel: Panel,
          per_clip: int | None, total: int | None, rng: np.random.Generator
          ) -> list[tuple[str, str, int]]:
    """``(clip, listener, vote)`` with distinct listeners per clip: ``per_clip`` each, or
    ``total`` spread evenly in rounds over the clips (then a random order each round)."""
    ids = panel.ids()
    heard: dict[str, set[int]] = {c: set() for c in clips}
    out: list[tuple[str, str, int]] = []
    goal = total if total is not None else per_clip * len(clips)
    while len(out) < goal:
        for index in rng.permutation(len(clips)):
            clip = clips[int(index)]
            free = [i for i in range(len(ids)) if i not in heard[clip]]
            listener = int(rng.choice(free))
            heard[clip].add(listener)
            out.append((clip, ids[listener], panel.vote(qualities[clip], listener, rng)))
            if len(out) == goal:
                break
    return out
