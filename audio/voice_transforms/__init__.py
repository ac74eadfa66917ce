"""Voice transformations that make ages and speaking styles from a clean utterance.

Each is a pure function ``(samples, sample_rate, rng) -> samples`` (float32 mono, same rate;
the length may change), seeded only by ``rng``; :data:`TRANSFORMS` names them. All run PSOLA
or a noise vocoder on the input, so the output is a *transformed* voice: a synthetic stand-in
for children's, elderly, whispered, sung and emotional corpora, labelled as such.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from audio.voice_transforms.child import childlike
from audio.voice_transforms.elderly import elderly_like
from audio.voice_transforms.emotion import EMOTIONS, emotional
from audio.voice_transforms.sung import sung
from audio.voice_transforms.whisper import whispered

Transform = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]

TRANSFORMS: dict[str, Transform] = {
    "child": childlike,
    "elderly": elderly_like,
    "whispered": whispered,
    "sung": sung,
    **{e: functools.partial(emotional, emotion=e) for e in EMOTIONS if e != "neutral"},
}


def apply_transform(name: str, x: np.ndarray, sample_rate: int, rng: np.random.Generator
                    ) -> np.ndarray:
    """``TRANSFORMS[name]`` applied, peak kept below full scale; ValueError if unknown."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown voice transform {name!r} (known: {', '.join(TRANSFORMS)})")
    y = TRANSFORMS[name](x, sample_rate, rng)
    peak = float(np.max(np.abs(y), initial=0.0))
    return (y * (0.99 / peak) if peak > 0.99 else y).astype(np.float32)


__all__ = ["TRANSFORMS", "Transform", "apply_transform"]
