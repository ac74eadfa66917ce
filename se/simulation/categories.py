"""Kinds of speech a simulation draws (URGENT 2026 focus 2), and how each is made.

A category names its labels (age group, style, accent) and how an utterance of it is made from
a source voice: a voice transformation (:mod:`audio.voice_transforms`) or, for accented
English, an espeak-ng voice of another language reading English. Every category other than
``neutral`` (and the real ALSA recordings within it) is a synthetic or transformed stand-in
for real corpora (NNCES children, SeniorTalk elderly, VocalSet singing, ESD emotions,
whispered and accented speech), and is labelled so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpeechCategory:
    """Labels of a kind of speech and the transform (None: the voice as it is) that makes it."""

    name: str
    age_group: str = "adult"
    style: str = "neutral"
    accented: bool = False
    transform: str | None = None


CATEGORIES: dict[str, SpeechCategory] = {c.name: c for c in (
    SpeechCategory("neutral"),
    SpeechCategory("child", age_group="child", transform="child"),
    SpeechCategory("elderly", age_group="elderly", transform="elderly"),
    SpeechCategory("whispered", style="whispered", transform="whispered"),
    SpeechCategory("sung", style="sung", transform="sung"),
    SpeechCategory("happy", style="happy", transform="happy"),
    SpeechCategory("sad", style="sad", transform="sad"),
    SpeechCategory("angry", style="angry", transform="angry"),
    SpeechCategory("accented", accented=True),
)}

#: The manifest fields every utterance carries (and benchmarks break results down by).
LABEL_KEYS = ("category", "age_group", "style", "language", "accent", "source")


def allocate(weights: Mapping[str, float], total: int) -> dict[str, int]:
    """Counts per name proportional to ``weights`` summing to ``total`` (largest remainder),
    at least one for every positive weight when ``total`` allows."""
    names = [n for n, w in weights.items() if w > 0]
    weight_sum = sum(weights[n] for n in names)
    counts = {n: 1 if total >= len(names) else 0 for n in names}
    rest = total - sum(counts.values())
    shares = {n: rest * weights[n] / weight_sum for n in names}
    for n in names:
        counts[n] += int(shares[n])
    left = total - sum(counts.values())
    for n in sorted(names, key=lambda n: shares[n] - int(shares[n]), reverse=True)[:left]:
        counts[n] += 1
    return counts


def weighted_sequence(weights: Mapping[str, float], length: int) -> list[str]:
    """``length`` names in smooth weighted round-robin order: every prefix holds each name in
    proportion to its weight (to within one), so a short run still has every category."""
    names = [n for n, w in weights.items() if w > 0]
    total = sum(weights[n] for n in names)
    current = dict.fromkeys(names, 0.0)
    out = []
    for _ in range(length):
        for n in names:
            current[n] += weights[n]
        pick = max(names, key=lambda n: current[n])
        current[pick] -= total
        out.append(pick)
    return out


def draw_name(weights: Mapping[str, float], rng: np.random.Generator,
              allowed: Sequence[str] | None = None) -> str:
    """One name drawn with probability proportional to its weight (among ``allowed``)."""
    names = [n for n, w in weights.items() if w > 0 and (allowed is None or n in allowed)]
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]
