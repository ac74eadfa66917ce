"""Simulated listeners for the SQA learning-curve benchmark.

Each clip's *latent quality* ``q`` follows from its degradation parameters (as recorded by
:func:`sqa.conditions.render`) through impairment factors ``I`` in [0, 1) that multiply, as
in the E-model's additive-on-a-transformed-scale spirit::

    q = 1 + 3.7 * prod(1 - I_k)           (1 = bad ... 4.7 = a clean full-band clip)

    noise      I = w / (1 + exp((snr_db - 8) / 5)),  w = 1.0 for babble, transients and
               wind, 0.85 for stationary noise (white, pink, brown, hum)
    reverb     I = clip(0.55 * (rt60_seconds - 0.1) - 0.015 * drr_db, 0, 0.6)
    bandwidth  I = 0.4 * clip(log2(12000 / B) / log2(6), 0, 1), B = the audio bandwidth in
               Hz (half the rate, or half the cut-off rate of a bandwidth limit)
    clipping   I = min(0.7, 3 * clipped fraction), fraction = low + (1 - high) quantile
    codec      I = 0.05 + 0.45 * c**2, c = the compression level 0 (best) .. 1 (worst):
               MP3 quality / 10, Vorbis and Opus (9 - quality) / 10
    packets    I = min(0.8, 2.5 * loss_rate)

A listener ``l`` has a scale slope ``a_l ~ N(1, 0.15)`` (clipped to 0.6-1.4) and a bias
``b_l ~ N(0, 0.3)``; each vote adds noise ``e ~ N(0, 0.5)``::

    vote = clip(round(3 + a_l * (q - 3) + b_l + e), 1, 5)

The ACR scale is an integer 1..5, so votes are rounded and clipped, as real ones are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

NONSTATIONARY_NOISE = ("babble", "transients", "wind")


def _codec_level(codec: str, quality: int) -> float:
    return quality / 10.0 if codec == "mp3" else (9 - quality) / 10.0


def impairments(params: dict[str, Any]) -> dict[str, float]:
    """The impairment factor of each distortion a clip has (see the module docstring)."""
    out: dict[str, float] = {}
    noise = params.get("noise")
    if noise:
        weight = 1.0 if noise["kind"] in NONSTATIONARY_NOISE else 0.85
        out["noise"] = weight / (1.0 + math.exp((noise["snr_db"] - 8.0) / 5.0))
    reverb = params.get("reverb")
    if reverb:
        out["reverb"] = float(np.clip(0.55 * (reverb["rt60_seconds"] - 0.1)
                                      - 0.015 * reverb["drr_db"], 0.0, 0.6))
    bandwidth = params["sample_rate"] / 2
    for name, p in params.get("extras", []):
        if name == "bandwidth":
            bandwidth = min(bandwidth, p["cutoff_rate"] / 2)
        elif name == "clipping":
            out["clipping"] = min(0.7, 3.0 * (p["low_quantile"] + 1.0 - p["high_quantile"]))
        elif name == "codec":
            out["codec"] = 0.05 + 0.45 * _codec_level(p["codec"], p["quality"]) ** 2
        elif name == "packet_loss":
            out["packet_loss"] = min(0.8, 2.5 * p["loss_rate"])
    out["bandwidth"] = 0.4 * float(np.clip(math.log2(12_000 / bandwidth) / math.log2(6),
                                           0.0, 1.0))
    return out


def latent_quality(params: dict[str, Any]) -> float:
    """``q`` in [1, 4.7] of a clip's parameters."""
    return 1.0 + 3.7 * float(np.prod([1.0 - i for i in impairments(params).values()]))


@dataclass(frozen=True)
class ListenerPanel:
    """Slopes and biases of ``len(slope)`` simulated listeners, ids ``L000``..."""

    slope: np.ndarray
    bias: np.ndarray
    noise_std: float = 0.5

    @classmethod
    def draw(cls, count: int, rng: np.random.Generator) -> ListenerPanel:
        return cls(np.clip(rng.normal(1.0, 0.15, count), 0.6, 1.4),
                   rng.normal(0.0, 0.3, count))

    def ids(self) -> list[str]:
        return [f"L{i:03d}" for i in range(len(self.slope))]

    def vote(self, quality: float, listener: int, rng: np.random.Generator) -> int:
        raw = 3.0 + self.slope[listener] * (quality - 3.0) + self.bias[listener]
        return int(np.clip(np.round(raw + rng.normal(0.0, self.noise_std)), 1, 5))


def vote_sequence(clips: Sequence[str], quality: dict[str, float], panel: ListenerPanel,
                  total: int, rng: np.random.Generator) -> list[tuple[str, str, int]]:
    """``total`` votes ``(clip, listener id, vote)`` spread evenly over ``clips`` (each
    round covers every clip once in a new random order) with distinct listeners per clip,
    so the first ``n`` votes are the votes of a smaller budget."""
    ids = panel.ids()
    if total > len(clips) * len(ids):
        raise ValueError(f"{total} votes need more than {len(ids)} listeners per clip")
    heard: dict[str, set[int]] = {c: set() for c in clips}
    out: list[tuple[str, str, int]] = []
    while len(out) < total:
        for index in rng.permutation(len(clips)):
            clip = clips[int(index)]
            free = [i for i in range(len(ids)) if i not in heard[clip]]
            listener = int(rng.choice(free))
            heard[clip].add(listener)
            out.append((clip, ids[listener], panel.vote(quality[clip], listener, rng)))
            if len(out) == total:
                break
    return out
