"""Synthetic rated-audio sets: synthetic utterances under degradation conditions.

:func:`make_clips` speaks a pool of utterances (espeak-ng voices, languages, pitches and
speeds drawn from the ``speech`` config; with ``speech.sources`` / ``speech.categories`` also
flite, festival and recorded voices, and children's, elderly, whispered, sung, emotional and
accented stand-ins made by :mod:`audio.voice_transforms`), draws the conditions
(:mod:`sqa.conditions`; the first ``clean_conditions`` are clean), renders
``clips_per_condition`` distinct utterances under each, writes them as 16-bit FLAC under
``clips/<system_id>/<sample_id>.flac`` and hands each
clip with its clean reference to a scoring function. Everything is drawn from one seeded
generator, so the same config gives the same set. The pretraining recipe scores clips with
objective metrics (:mod:`sqa.pseudo_labels`); the learning-curve benchmark with simulated
listeners.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from audio.degrade import highpass
from audio.io import save_audio
from audio.resample import resample
from audio.speech_sources import SOURCES
from audio.speech_sources.accent import ACCENT_LANGUAGES
from audio.speech_sources.sentences import ENGLISH_SENTENCES
from audio.tts import ESPEAK_SAMPLE_RATE, SAMPLE_SENTENCES, Voice, speak
from audio.voice_transforms import apply_transform
from sqa.conditions import Condition, draw_condition, render
from sqa.pretrain_config import SPEECH_CATEGORIES, PretrainConfig, SpeechConfig

#: Called per clip: (condition, degraded, reference) -> metric columns.
Scorer = Callable[[Condition, np.ndarray, np.ndarray], dict[str, float]]

CONDITIONS_FILE = "conditions.jsonl"
#: Rate at which 8 kHz clips are scored when ``wideband_labels`` is set.
WIDEBAND_RATE = 16_000

#: (sample_id, samples, their rate, voice): one utterance of the pool.
Utterance = tuple[str, np.ndarray, int, dict[str, Any]]


def _fit(samples: np.ndarray, frames: int) -> np.ndarray:
    """Cut to ``frames`` or pad with silence."""
    return np.pad(samples[:frames], (0, max(0, frames - len(samples)))).astype(np.float32)


def _draw(weights: Mapping[str, float], rng: np.random.Generator,
          allowed: Mapping[str, float] | None = None) -> str:
    names = [n for n, w in weights.items() if w > 0 and (allowed is None or n in allowed)]
    p = np.array([weights[n] for n in names], dtype=np.float64)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _espeak_voice(cfg: SpeechConfig, rng: np.random.Generator, language: str) -> Voice:
    variant = cfg.variants[int(rng.integers(len(cfg.variants)))]
    return Voice(language, variant, int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                 int(rng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1)))


def _text(sentences: tuple[str, ...], rng: np.random.Generator) -> str:
    return " ".join(sentences[k] for k in rng.permutation(len(sentences)))


def _sentences(source: Any, voice: Any, rng: np.random.Generator, seconds: float
               ) -> tuple[np.ndarray, int]:
    """The voice's sentences in a drawn order, said one by one (a recording can say only
    its own transcripts) until ``seconds`` are filled, 0.3 s apart."""
    texts = source.texts(voice)
    parts, rate, frames = [], 0, 0
    for k in rng.permutation(len(texts)):
        x, rate = source.speak(texts[int(k)], voice)
        parts += [x, np.zeros(round(0.3 * rate), np.float32)]
        frames += len(x) + round(0.3 * rate)
        if frames >= seconds * rate:
            break
    return np.concatenate(parts), rate


def diverse_utterance(cfg: SpeechConfig, rng: np.random.Generator
                      ) -> tuple[np.ndarray, int, dict[str, Any]]:
    """One utterance of ``cfg.seconds`` from a drawn category and source: (samples, rate,
    voice). The category's transform runs on the cut utterance; recordings are never
    transformed (only ``neutral`` draws them) and a child's voice is not made younger."""
    category = _draw(cfg.categories, rng)
    transform = SPEECH_CATEGORIES[category]
    if category == "accented":  # an espeak-ng voice of another language reading English
        language = sorted(ACCENT_LANGUAGES)[int(rng.integers(len(ACCENT_LANGUAGES)))]
        voice = _espeak_voice(cfg, rng, language)
        samples, rate = speak(_text(ENGLISH_SENTENCES, rng), voice)
        return _fit(samples, round(cfg.seconds * rate)), rate, {
            "category": category, "source": "espeak", "voice": language,
            "accent": ACCENT_LANGUAGES[language], "variant": voice.variant,
            "pitch": voice.pitch, "speed_wpm": voice.speed_wpm}
    usable = {n: w for n, w in cfg.sources.items() if transform is None or n != "alsa_recordings"}
    name = _draw(cfg.sources, rng, usable or cfg.sources)
    meta: dict[str, Any] = {"category": category, "source": name}
    if name == "espeak":
        language = str(rng.choice(cfg.languages))
        voice = _espeak_voice(cfg, rng, language)
        samples, rate = speak(_text(SAMPLE_SENTENCES[language], rng), voice)
        meta.update(voice=language, variant=voice.variant, pitch=voice.pitch,
                    speed_wpm=voice.speed_wpm, age_group="adult")
    else:
        source = SOURCES[name]
        voices = [v for v in source.voices() if source.installed(v)]
        if category == "elderly":  # an aged child is no elderly speaker
            voices = [v for v in voices if v.age_group != "child"] or voices
        picked = voices[int(rng.integers(len(voices)))]
        samples, rate = _sentences(source, picked, rng, cfg.seconds)
        meta.update(voice=picked.name, age_group=picked.age_group)
    samples = _fit(samples, round(cfg.seconds * rate))
    if transform is not None and not (category == "child" and meta["age_group"] == "child"):
        samples = _fit(apply_transform(transform, samples, rate, rng), len(samples))
        meta["transform"] = transform
    return samples, rate, meta


def speak_pool(cfg: SpeechConfig, rng: np.random.Generator, *, progress: bool = True
               ) -> list[Utterance]:
    """``cfg.utterances`` clips of ``cfg.seconds``: (sample_id, samples, rate, voice). A
    language's sentences are spoken in a drawn order and cut to length; a shorter result is
    padded with silence. Without diverse sources or categories, espeak-ng voices only, drawn
    exactly as the first recipe drew them."""
    frames = round(cfg.seconds * ESPEAK_SAMPLE_RATE)
    pool: list[Utterance] = []
    for i in tqdm(range(cfg.utterances), desc="speech", unit="utt", file=sys.stderr,
                  disable=not progress or None):
        if cfg.diverse:
            samples, rate, meta = diverse_utterance(cfg, rng)
            pool.append((f"u{i:04d}", samples, rate, meta))
            continue
        language = str(rng.choice(cfg.languages))
        variant = cfg.variants[int(rng.integers(len(cfg.variants)))]
        voice = Voice(language, variant, int(rng.integers(cfg.pitch[0], cfg.pitch[1] + 1)),
                      int(rng.integers(cfg.speed_wpm[0], cfg.speed_wpm[1] + 1)))
        sentences = list(SAMPLE_SENTENCES[language])
        text = " ".join(sentences[k] for k in rng.permutation(len(sentences)))
        samples, _ = speak(text, voice)
        pool.append((f"u{i:04d}", _fit(samples, frames), ESPEAK_SAMPLE_RATE,
                     {"language": language, "variant": variant, "pitch": voice.pitch,
                      "speed_wpm": voice.speed_wpm}))
    return pool


def draw_conditions(cfg: PretrainConfig, rng: np.random.Generator) -> list[Condition]:
    """The ``data.conditions`` conditions of a config, clean ones first; with
    ``data.narrowband_probability``, conditions above 8 kHz that are not clean are band-limited
    to 4 kHz at the end with that probability (drawn only when it is above 0)."""
    data = cfg.data
    conditions = []
    for i in range(data.conditions):
        condition = draw_condition(i, rng, cfg.degradation, sample_rates=data.sample_rates,
                                   noise_probability=data.noise_probability,
                                   clean=i < data.clean_conditions)
        if (data.narrowband_probability > 0 and i >= data.clean_conditions
                and condition.sample_rate > 8_000
                and rng.random() < data.narrowband_probability):
            method = str(rng.choice(cfg.degradation.bandwidth_methods))
            condition = dataclasses.replace(
                condition, name=condition.name.replace("_hp", "") + "_nb4k",
                extras=(*condition.extras, ("bandwidth", {"cutoff_rate": 8_000,
                                                          "method": method})))
        conditions.append(condition)
    return conditions


def _wideband(condition: Condition, degraded: np.ndarray, reference: np.ndarray,
              speech: np.ndarray, speech_rate: int, highpass_hz: float | None
              ) -> tuple[Condition, np.ndarray, np.ndarray]:
    """An 8 kHz clip as the 16 kHz clip it sounds like, with the wide-band clean speech (at
    the reference's level) as its reference."""
    wide = resample(speech, speech_rate, WIDEBAND_RATE)
    if highpass_hz is not None:
        wide = highpass(wide, WIDEBAND_RATE, highpass_hz)
    up = resample(degraded, condition.sample_rate, WIDEBAND_RATE)
    n = min(len(wide), len(up))
    wide = wide[:n] * (float(np.std(reference)) / max(float(np.std(wide[:n])), 1e-12))
    return (dataclasses.replace(condition, sample_rate=WIDEBAND_RATE), up[:n],
            wide.astype(np.float32))


def make_clips(cfg: PretrainConfig, folder: str | Path, scorer: Scorer, *,
               progress: bool = True, in_flight: int = 1) -> list[dict[str, Any]]:
    """Render, write and score every clip of ``cfg`` (see the module docstring).

    Clips are rendered here in a fixed order (the set depends on the seed only); with
    ``in_flight`` above 1 that many are scored at once on threads (for a scorer that hands
    the work to worker processes). With ``cfg.wideband_labels``, 8 kHz clips are scored as
    16 kHz clips against the wide-band clean speech (:func:`_wideband`).

    Returns:
        One record per clip: ``wav_path`` (relative to ``folder``), ``system_id``,
        ``sample_id``, the scorer's columns, and ``params`` (the clip's condition, voice and
        drawn values), also written one per line to ``conditions.jsonl``.
    """
    folder = Path(folder)
    rng = np.random.default_rng(cfg.seed)
    pool = speak_pool(cfg.speech, rng, progress=progress)
    conditions = draw_conditions(cfg, rng)
    records: list[dict[str, Any]] = []
    total = len(conditions) * cfg.data.clips_per_condition
    bar = tqdm(total=total, desc="clips", unit="clip", file=sys.stderr,
               disable=not progress or None)
    threads = ThreadPoolExecutor(max_workers=in_flight) if in_flight > 1 else None
    pending: deque[tuple[dict[str, Any], Future]] = deque()

    def finish_one() -> None:
        record, future = pending.popleft()
        record.update(future.result())
        bar.update(1)

    for condition in conditions:
        rate = condition.sample_rate
        for k in rng.choice(len(pool), size=cfg.data.clips_per_condition, replace=False):
            sample_id, speech, speech_rate, voice = pool[int(k)]
            clean = resample(speech, speech_rate, rate)
            degraded, reference, params = render(
                clean, condition, rng, snr_jitter_db=cfg.data.snr_jitter_db,
                highpass_hz=cfg.degradation.highpass_hz, peak=cfg.degradation.peak)
            rel = Path("clips") / condition.name / f"{sample_id}.flac"
            save_audio(folder / rel, degraded, rate)
            scored = (condition, degraded, reference)
            if cfg.wideband_labels and rate < WIDEBAND_RATE:
                scored = _wideband(condition, degraded, reference, speech, speech_rate,
                                   cfg.degradation.highpass_hz)
            record = {"wav_path": rel.as_posix(), "system_id": condition.name,
                      "sample_id": sample_id}
            records.append(record)
            if threads is None:
                record.update(scorer(*scored))
                bar.update(1)
            else:
                pending.append((record, threads.submit(scorer, *scored)))
                while len(pending) >= 2 * in_flight:
                    finish_one()
            record["params"] = {**params, "voice": voice}
    while pending:
        finish_one()
    if threads is not None:
        threads.shutdown()
    bar.close()
    with (folder / CONDITIONS_FILE).open("w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps({"utterance_id": f"{record['system_id']}-{record['sample_id']}",
                                **record["params"]}) + "\n")
    return records
