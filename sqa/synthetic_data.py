"""Synthetic rated-audio sets: espeak-ng utterances under degradation conditions.

:func:`make_clips` speaks a pool of utterances (voices, languages, pitches and speeds drawn
from the ``speech`` config), draws the conditions (:mod:`sqa.conditions`; the first
``clean_conditions`` are clean), renders ``clips_per_condition`` distinct utterances under
each, writes them as 16-bit FLAC under ``clips/<system_id>/<sample_id>.flac`` and hands each
clip with its clean reference to a scoring function. Everything is drawn from one seeded
generator, so the same config gives the same set. The pretraining recipe scores clips with
objective metrics (:mod:`sqa.pseudo_labels`); the learning-curve benchmark with simulated
listeners.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from audio.io import save_audio
from audio.resample import resample
from audio.tts import ESPEAK_SAMPLE_RATE, SAMPLE_SENTENCES, Voice, speak
from sqa.conditions import Condition, draw_condition, render
from sqa.pretrain_config import PretrainConfig, SpeechConfig

#: Called per clip: (condition, degraded, reference) -> metric columns.
Scorer = Callable[[Condition, np.ndarray, np.ndarray], dict[str, float]]

CONDITIONS_FILE = "conditions.jsonl"


def speak_pool(cfg: SpeechConfig, rng: np.random.Generator, *, progress: bool = True
               ) -> list[tuple[str, np.ndarray, dict[str, Any]]]:
    """``cfg.utterances`` clips of ``cfg.seconds`` at espeak-ng's rate: (sample_id, samples,
    voice). The language's sentences are spoken in a drawn order and cut to length; a
    shorter result is padded with silence."""
    frames = round(cfg.seconds * ESPEAK_SAMPLE_RATE)
    pool = []
    for i in tqdm(range(cfg.utterances), desc="speech", unit="utt", file=sys.stderr,
                  disable=not progress or None):
        language = str(rng.choice(cfg.languages))
        variant = cfg.variants[int(rng.integers(len(cfg.variants)))]
        voice = Voice(language, variant, int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                      int(rng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1)))
        sentences = list(SAMPLE_SENTENCES[language])
        text = " ".join(sentences[k] for k in rng.permutation(len(sentences)))
        samples, _ = speak(text, voice)
        samples = np.pad(samples[:frames], (0, max(0, frames - len(samples))))
        pool.append((f"u{i:04d}", samples.astype(np.float32),
                     {"language": language, "variant": variant, "pitch": voice.pitch,
                      "speed_wpm": voice.speed_wpm}))
    return pool


def draw_conditions(cfg: PretrainConfig, rng: np.random.Generator) -> list[Condition]:
    """The ``data.conditions`` conditions of a config, clean ones first."""
    data = cfg.data
    return [draw_condition(i, rng, cfg.degradation, sample_rates=data.sample_rates,
                           noise_probability=data.noise_probability,
                           clean=i < data.clean_conditions)
            for i in range(data.conditions)]


def make_clips(cfg: PretrainConfig, folder: str | Path, scorer: Scorer, *,
               progress: bool = True) -> list[dict[str, Any]]:
    """Render, write and score every clip of ``cfg`` (see the module docstring).

    Returns:
        One record per clip: ``wav_path`` (relative to ``folder``), ``system_id``,
        ``sample_id``, the scorer's columns, and ``params`` (the clip's condition, voice and
        drawn values), also written one per line to ``conditions.jsonl``.
    """
    folder = Path(folder)
    rng = np.random.default_rng(cfg.seed)
    pool = speak_pool(cfg.speech, rng, progress=progress)
    conditions = draw_conditions(cfg, rng)
    records = []
    total = len(conditions) * cfg.data.clips_per_condition
    bar = tqdm(total=total, desc="clips", unit="clip", file=sys.stderr,
               disable=not progress or None)
    for condition in conditions:
        rate = condition.sample_rate
        for k in rng.choice(len(pool), size=cfg.data.clips_per_condition, replace=False):
            sample_id, speech, voice = pool[int(k)]
            clean = resample(speech, ESPEAK_SAMPLE_RATE, rate)
            degraded, reference, params = render(
                clean, condition, rng, snr_jitter_db=cfg.data.snr_jitter_db,
                highpass_hz=cfg.degradation.highpass_hz, peak=cfg.degradation.peak)
            rel = Path("clips") / condition.name / f"{sample_id}.flac"
            save_audio(folder / rel, degraded, rate)
            records.append({"wav_path": rel.as_posix(), "system_id": condition.name,
                            "sample_id": sample_id,
                            **scorer(condition, degraded, reference),
                            "params": {**params, "voice": voice}})
            bar.update(1)
    bar.close()
    with (folder / CONDITIONS_FILE).open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps({"utterance_id": f"{record['system_id']}-{record['sample_id']}",
                                **record["params"]}) + "\n")
    return records
