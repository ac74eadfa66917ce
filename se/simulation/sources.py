"""Speech, noise and RIR pools: from Kaldi ``wav.scp`` lists or the built-in synthetic source.

Audio is loaded (or synthesised) when a mixture needs it and resampled to the mixture's rate
with soxr. Synthetic speech comes from the named sources of :mod:`audio.speech_sources`
(espeak-ng with voices, languages, pitches and speeds drawn from the config; flite and
festival voices made from human recordings; ALSA's recorded prompts), split into the
categories of :mod:`se.simulation.categories` and transformed as each category says.
espeak-ng tops out at 11 kHz and flite / festival's diphone voices at 8 kHz, so at high rates
the clean target is band-limited (fine for pipelines and tests, not for claims about
high-band quality).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.noise import NOISE_RMS, generate_noise
from audio.resample import resample
from audio.speech_sources import SOURCES, SpeechSourceUnavailable, find_voice, get_source
from audio.speech_sources.accent import ACCENT_LANGUAGES
from audio.speech_sources.sentences import ENGLISH_SENTENCES
from audio.tts import SAMPLE_SENTENCES, TtsUnavailable, espeak_available, speak
from audio.voice_transforms import apply_transform
from se.manifest import read_wav_scp
from se.simulation.categories import CATEGORIES, allocate
from se.simulation.config import SimulationConfig
from se.simulation.manifest import NoiseItem, RirItem, SpeechItem


@dataclass(frozen=True)
class Pools:
    """What mixtures are drawn from; ``noise`` / ``rir`` None means synthetic."""

    speech: tuple[SpeechItem, ...]
    noise: tuple[NoiseItem, ...] | None
    rir: tuple[RirItem, ...] | None

    #: category -> weight, when the pool is split into categories (None: pick any item).
    category_weights: dict[str, float] | None = None

    @property
    def needs_espeak(self) -> bool:
        return any(s.synthetic and s.source == "espeak" for s in self.speech)

    def category_items(self, category: str) -> tuple[int, ...]:
        """Indices of the pool's utterances of ``category``."""
        return tuple(i for i, s in enumerate(self.speech) if s.category == category)


def synthetic_speech_items(config: SimulationConfig) -> tuple[SpeechItem, ...]:
    """The synthetic speech pool: text and voice of each utterance, drawn from the seed
    (no synthesis yet)."""
    syn = config.sources.synthetic
    rng = np.random.default_rng([config.seed, 7])
    items = []
    for i in range(syn.utterances):
        language = str(syn.languages[int(rng.integers(len(syn.languages)))])
        sentences = SAMPLE_SENTENCES[language]
        variant = syn.variants[int(rng.integers(len(syn.variants)))]
        items.append(SpeechItem(
            id=f"espeak_{i:05d}", text=sentences[int(rng.integers(len(sentences)))],
            language=language, variant=None if variant is None else str(variant),
            pitch=int(rng.integers(syn.pitch[0], syn.pitch[1] + 1)),
            speed_wpm=int(rng.integers(syn.speed_wpm[0], syn.speed_wpm[1] + 1))))
    return tuple(items)


def _is_default(config: SimulationConfig) -> bool:
    syn = config.sources.synthetic
    return syn.speech_sources == {"espeak": 1.0} and syn.categories == {"neutral": 1.0}


def _espeak_settings(config: SimulationConfig, rng: np.random.Generator) -> dict:
    syn = config.sources.synthetic
    variant = syn.variants[int(rng.integers(len(syn.variants)))]
    return {"variant": None if variant is None else str(variant),
            "pitch": int(rng.integers(syn.pitch[0], syn.pitch[1] + 1)),
            "speed_wpm": int(rng.integers(syn.speed_wpm[0], syn.speed_wpm[1] + 1))}


def diverse_speech_items(config: SimulationConfig) -> tuple[SpeechItem, ...]:
    """The synthetic pool split into categories by their weights, and each category's
    utterances split among the sources by theirs (largest remainder, at least one of each
    positive weight where the count allows, in seeded random order); voice, text, espeak
    settings and transform seed drawn from the seed (no synthesis yet).

    Accented English is always espeak-ng: a voice of :data:`ACCENT_LANGUAGES` reading an
    English sentence. Real recordings are never transformed into another category (only
    their own neutral category uses them): a transformed recording would be no more real.
    """
    syn = config.sources.synthetic
    rng = np.random.default_rng([config.seed, 8])
    counts = allocate(syn.categories, syn.utterances)
    items = []
    for category, count in counts.items():
        spec = CATEGORIES[category]
        allowed = {n: w for n, w in syn.speech_sources.items()
                   if spec.transform is None or n != "alsa_recordings"}
        sources = [n for n, k in allocate(allowed, count).items() for _ in range(k)]
        sources = [sources[int(j)] for j in rng.permutation(len(sources))]
        for source_name in sources:
            i = len(items)
            if spec.accented:
                voice_language = sorted(ACCENT_LANGUAGES)[int(rng.integers(len(ACCENT_LANGUAGES)))]
                items.append(SpeechItem(
                    id=f"espeak_{category}_{i:05d}",
                    text=ENGLISH_SENTENCES[int(rng.integers(len(ENGLISH_SENTENCES)))],
                    language="en", voice_name=voice_language, source="espeak",
                    category=category, accent=ACCENT_LANGUAGES[voice_language],
                    **_espeak_settings(config, rng)))
                continue
            source = SOURCES[source_name]
            if source_name == "espeak":
                voices = [v for v in source.voices() if v.language in syn.languages]
            else:
                voices = [v for v in source.voices() if source.installed(v)]
            if spec.age_group == "elderly":  # an aged child is no elderly speaker
                voices = [v for v in voices if v.age_group != "child"] or voices
            voice = voices[int(rng.integers(len(voices)))]
            texts = source.texts(voice)
            extra = _espeak_settings(config, rng) if source_name == "espeak" else {}
            seed = int(rng.integers(2**31)) if spec.transform else None
            age = voice.age_group if spec.age_group == "adult" else spec.age_group
            transform = None if voice.age_group == spec.age_group == "child" else spec.transform
            items.append(SpeechItem(
                id=f"{source_name}_{category}_{i:05d}",
                text=texts[int(rng.integers(len(texts)))], language=voice.language,
                voice_name=None if source_name == "espeak" else voice.name,
                source=source_name, transform=transform, transform_seed=seed,
                category=category, age_group=age, style=spec.style, accent="native",
                **extra))
    return tuple(items)


def build_pools(config: SimulationConfig) -> Pools:
    """Read the ``wav.scp`` lists (every listed file must exist) or set up synthetic pools.

    Raises:
        se.manifest.ManifestError: a list cannot be read or names a missing file.
        TtsUnavailable: synthetic speech is needed but espeak-ng is not installed.
    """
    src = config.sources
    categorized = src.speech is None and not _is_default(config)
    if categorized:
        for name, weight in src.synthetic.speech_sources.items():
            if weight > 0 and not SOURCES[name].available():
                raise SpeechSourceUnavailable(
                    f"speech source {name!r} is not installed ({SOURCES[name].description})")
    speech = (tuple(SpeechItem(id=k, path=str(v))
                    for k, v in read_wav_scp(Path(src.speech)).items())
              if src.speech is not None
              else diverse_speech_items(config) if categorized
              else synthetic_speech_items(config))
    noise = None if src.noise is None else tuple(
        NoiseItem(id=k, path=str(v)) for k, v in read_wav_scp(Path(src.noise)).items())
    rir = None if src.rir is None else tuple(
        RirItem(id=k, path=str(v)) for k, v in read_wav_scp(Path(src.rir)).items())
    pools = Pools(speech, noise, rir, dict(src.synthetic.categories) if categorized else None)
    if pools.needs_espeak and not espeak_available():
        raise TtsUnavailable("synthetic speech needs espeak-ng, which is not installed "
                             "(apt-get install espeak-ng), or give sources.speech")
    return pools


@functools.lru_cache(maxsize=512)
def _utterance(item: SpeechItem) -> tuple[np.ndarray, int]:
    """A synthetic item's samples at its source's rate: spoken, then transformed."""
    if item.source == "espeak":
        x, rate = _spoken(item.text or "", item.voice_name or item.language, item.variant,
                          item.pitch, item.speed_wpm)
    else:
        x, rate = get_source(str(item.source)).speak(
            item.text or "", find_voice(str(item.source), str(item.voice_name)))
    if item.transform is not None:
        x = apply_transform(item.transform, x, rate,
                            np.random.default_rng(item.transform_seed or 0))
    return x, rate


@functools.lru_cache(maxsize=512)
def _spoken(text: str, language: str | None, variant: str | None, pitch: int | None,
            speed_wpm: int | None) -> tuple[np.ndarray, int]:
    item = SpeechItem(id="", text=text, language=language, variant=variant, pitch=pitch,
                      speed_wpm=speed_wpm)
    return speak(text, item.voice())


@functools.lru_cache(maxsize=64)
def _file(path: str) -> tuple[np.ndarray, int]:
    data, rate = sf.read(path, dtype="float32", always_2d=True)
    return data[:, 0].copy(), int(rate)


def native_frames(item: SpeechItem | NoiseItem | RirItem, sample_rate: int) -> int:
    """Length of an item at ``sample_rate`` without loading a file's samples."""
    if isinstance(item, SpeechItem) and item.synthetic:
        x, rate = _utterance(item)
        return round(len(x) * sample_rate / rate)
    info = sf.info(str(item.path))
    return round(info.frames * sample_rate / info.samplerate)


def load_item(item: SpeechItem | NoiseItem | RirItem, sample_rate: int) -> np.ndarray:
    """A file's first channel, or a synthetic utterance, at ``sample_rate`` (float32)."""
    if isinstance(item, SpeechItem) and item.synthetic:
        x, rate = _utterance(item)
    else:
        x, rate = _file(str(item.path))
    return resample(x, rate, sample_rate)


def _window(x: np.ndarray, offset: int, num_frames: int) -> np.ndarray:
    """``num_frames`` from ``offset`` on, wrapping around (noise shorter than the clip)."""
    return np.take(x, np.arange(offset, offset + num_frames), mode="wrap").astype(np.float32)


def make_noise(item: NoiseItem, num_frames: int, sample_rate: int, offset_frames: int,
               rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """The noise of ``item`` for one mixture.

    Files are cut at ``offset_frames`` (repeated when short). Generated kinds come from
    :func:`audio.noise.generate_noise`; ``speech_babble`` overlaps the item's talkers, each
    circularly shifted and at -6..0 dB relative to the others, scaled to
    :data:`audio.noise.NOISE_RMS`.

    Returns:
        (noise, params): float32 of shape (num_frames,), and what was drawn.
    """
    if item.path is not None:
        return _window(load_item(item, sample_rate), offset_frames, num_frames), {
            "kind": "file"}
    if item.kind != "speech_babble":
        return generate_noise(str(item.kind), num_frames, sample_rate, rng)
    out = np.zeros(num_frames)
    shifts, gains = [], []
    for talker in item.talkers:
        x = load_item(talker, sample_rate)
        shift = int(rng.integers(len(x)))
        gain_db = float(rng.uniform(-6.0, 0.0))
        y = _window(x, shift, num_frames).astype(np.float64)
        out += y / (np.sqrt(np.mean(y**2)) + 1e-12) * 10.0 ** (gain_db / 20.0)
        shifts.append(shift)
        gains.append(gain_db)
    out *= NOISE_RMS / (np.sqrt(np.mean(out**2)) + 1e-12)
    return out.astype(np.float32), {"kind": "speech_babble", "talkers": len(item.talkers),
                                    "shifts": shifts, "gains_db": gains}


__all__ = ["Pools", "TtsUnavailable", "build_pools", "diverse_speech_items", "load_item",
           "make_noise", "native_frames", "synthetic_speech_items"]
