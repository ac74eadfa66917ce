"""Speech, noise and RIR pools: from Kaldi ``wav.scp`` lists or the built-in synthetic source.

Audio is loaded (or synthesised) when a mixture needs it and resampled to the mixture's rate
with soxr. Synthetic speech is espeak-ng with voices, languages, pitches and speeds drawn from
the config; it tops out at espeak's 11 kHz bandwidth, so at 24 kHz and above the clean target
is band-limited (fine for pipelines and tests, not for claims about high-band quality).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from audio.noise import NOISE_RMS, generate_noise
from audio.resample import resample
from audio.tts import SAMPLE_SENTENCES, TtsUnavailable, espeak_available, speak
from se.manifest import read_wav_scp
from se.simulation.config import SimulationConfig
from se.simulation.manifest import NoiseItem, RirItem, SpeechItem


@dataclass(frozen=True)
class Pools:
    """What mixtures are drawn from; ``noise`` / ``rir`` None means synthetic."""

    speech: tuple[SpeechItem, ...]
    noise: tuple[NoiseItem, ...] | None
    rir: tuple[RirItem, ...] | None

    @property
    def needs_espeak(self) -> bool:
        return any(s.synthetic for s in self.speech)


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


def build_pools(config: SimulationConfig) -> Pools:
    """Read the ``wav.scp`` lists (every listed file must exist) or set up synthetic pools.

    Raises:
        se.manifest.ManifestError: a list cannot be read or names a missing file.
        TtsUnavailable: synthetic speech is needed but espeak-ng is not installed.
    """
    src = config.sources
    speech = (synthetic_speech_items(config) if src.speech is None else tuple(
        SpeechItem(id=k, path=str(v)) for k, v in read_wav_scp(Path(src.speech)).items()))
    noise = None if src.noise is None else tuple(
        NoiseItem(id=k, path=str(v)) for k, v in read_wav_scp(Path(src.noise)).items())
    rir = None if src.rir is None else tuple(
        RirItem(id=k, path=str(v)) for k, v in read_wav_scp(Path(src.rir)).items())
    pools = Pools(speech, noise, rir)
    if pools.needs_espeak and not espeak_available():
        raise TtsUnavailable("synthetic speech needs espeak-ng, which is not installed "
                             "(apt-get install espeak-ng), or give sources.speech")
    return pools


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
        x, rate = _spoken(item.text or "", item.language, item.variant, item.pitch,
                          item.speed_wpm)
        return round(len(x) * sample_rate / rate)
    info = sf.info(str(item.path))
    return round(info.frames * sample_rate / info.samplerate)


def load_item(item: SpeechItem | NoiseItem | RirItem, sample_rate: int) -> np.ndarray:
    """A file's first channel, or a synthetic utterance, at ``sample_rate`` (float32)."""
    if isinstance(item, SpeechItem) and item.synthetic:
        x, rate = _spoken(item.text or "", item.language, item.variant, item.pitch,
                          item.speed_wpm)
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


__all__ = ["Pools", "TtsUnavailable", "build_pools", "load_item", "make_noise",
           "native_frames", "synthetic_speech_items"]
