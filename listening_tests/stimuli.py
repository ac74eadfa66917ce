"""The sounds a rating session plays besides the clips under test, made with numpy.

Spoken material comes from the committed assets (``listening_tests/assets/``, made by
:mod:`listening_tests.make_assets` with espeak-ng), so nothing here needs espeak-ng at run
time. Everything is deterministic given its arguments: a session stores only the digits,
seeds and levels it drew, and its audio is rebuilt on request.

Waveforms are float32 with time last: (frames,) mono, (2, frames) stereo.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from audio.degrade import add_noise, bandwidth_limit, clip, peak_normalise
from audio.noise import generate_noise
from audio.resample import resample

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
ASSET_SAMPLE_RATE = 16_000
#: Seconds of a rating clip that a trapping clip keeps before the spoken request.
TRAP_LEAD_SECONDS = 2.0
#: Noise-to-speech levels of the environment check's noisier sample (just audible in a quiet
#: room with headphones, masked in a noisy one).
ENVIRONMENT_SNRS_DB = (20.0, 25.0, 30.0)
ENVIRONMENT_CHOICES = ("A", "B", "same")
#: SNRs of training versions from near-clean to bad; the first training clip is clean.
TRAINING_SNR_RANGE_DB = (30.0, -5.0)


@functools.lru_cache(maxsize=32)
def asset(name: str) -> np.ndarray:
    """A committed asset (``digit-3``, ``trap-prefix``, ``trap-suffix``, ``speech``) at
    :data:`ASSET_SAMPLE_RATE`, read once per process."""
    path = ASSETS_DIR / f"{name}.flac"
    samples, rate = sf.read(str(path), dtype="float32")
    if rate != ASSET_SAMPLE_RATE or samples.ndim != 1:
        raise ValueError(f"asset {path.name} should be mono at {ASSET_SAMPLE_RATE} Hz")
    samples.setflags(write=False)
    return samples


def _silence(seconds: float, sample_rate: int) -> np.ndarray:
    return np.zeros(round(seconds * sample_rate), dtype=np.float32)


def _active_rms(x: np.ndarray) -> float:
    """RMS of the louder half of 20 ms frames (speech level without the pauses)."""
    frame = 320
    x = np.asarray(x, dtype=np.float64)
    frames = np.pad(x, (0, -len(x) % frame)).reshape(-1, frame)
    power = np.sort(np.mean(frames**2, axis=1))
    return float(np.sqrt(np.mean(power[len(power) // 2:]))) or 1e-4


def trap_prompt(score: int, sample_rate: int) -> np.ndarray:
    """"This is an interruption. Please select the answer <score> to confirm your
    attention." at ``sample_rate``."""
    if score not in range(1, 6):
        raise ValueError(f"a trapping prompt asks for a score 1..5, got {score}")
    gap = _silence(0.12, ASSET_SAMPLE_RATE)
    speech = np.concatenate([asset("trap-prefix"), gap, asset(f"digit-{score}"), gap,
                             asset("trap-suffix")])
    return resample(speech, ASSET_SAMPLE_RATE, sample_rate)


def trapping_clip(samples: np.ndarray, sample_rate: int, score: int) -> np.ndarray:
    """The start of a rating clip, a pause, then the spoken request for ``score``.

    The request is set to the clip's speech level, so it is neither startling nor lost.
    """
    lead = np.asarray(samples, dtype=np.float32)[: round(TRAP_LEAD_SECONDS * sample_rate)]
    fade = min(len(lead), round(0.05 * sample_rate))
    lead = lead.copy()
    lead[len(lead) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    prompt = trap_prompt(score, sample_rate)
    prompt = prompt * (_active_rms(lead) / _active_rms(prompt))
    out = np.concatenate([lead, _silence(0.5, sample_rate), prompt.astype(np.float32)])
    peak = float(np.max(np.abs(out)))
    return (out * (0.95 / peak) if peak > 0.95 else out).astype(np.float32)


def heavily_degraded(samples: np.ndarray, sample_rate: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    """A version any attentive rater calls "Bad" (a gold clip expected 1): 2 kHz bandwidth,
    white noise at -5 dB SNR and hard clipping."""
    x = bandwidth_limit(samples, sample_rate, 4_000)
    noise, _ = generate_noise("white", len(x), sample_rate, rng)
    x, _ = add_noise(x, noise, -5.0, sample_rate)
    x = peak_normalise(clip(x, 0.03, 0.97), 0.9)
    return x, {"gold": "heavily degraded", "bandwidth_hz": 2_000, "noise": "white",
               "snr_db": -5.0, "clipping_quantiles": [0.03, 0.97]}


def training_snrs(count: int) -> list[float | None]:
    """Quality levels of ``count`` training clips: clean (None) then SNRs down to -5 dB."""
    if count <= 0:
        return []
    return [None, *np.linspace(*TRAINING_SNR_RANGE_DB, count - 1).round(1).tolist()]


def with_noise(samples: np.ndarray, sample_rate: int, snr_db: float,
               rng: np.random.Generator) -> tuple[np.ndarray, dict[str, Any]]:
    """``samples`` with pink noise at ``snr_db`` (a training clip of known quality)."""
    noise, _ = generate_noise("pink", len(samples), sample_rate, rng)
    x, _ = add_noise(np.asarray(samples, dtype=np.float32), noise, snr_db, sample_rate)
    return peak_normalise(x, 0.9), {"training": "noise", "noise": "pink", "snr_db": snr_db}


def _frozen(x: np.ndarray) -> np.ndarray:
    x.setflags(write=False)  # cached: callers must not change it
    return x


@functools.lru_cache(maxsize=128)
def stereo_check(left_digit: int, right_digit: int) -> np.ndarray:
    """One digit in the left ear, then another in the right: (2, frames) at 16 kHz
    (read-only, cached)."""
    left, right = asset(f"digit-{left_digit}"), asset(f"digit-{right_digit}")
    pause, gap = _silence(0.3, ASSET_SAMPLE_RATE), _silence(0.6, ASSET_SAMPLE_RATE)
    frames = len(pause) + len(left) + len(gap) + len(right) + len(pause)
    out = np.zeros((2, frames), dtype=np.float32)
    out[0, len(pause): len(pause) + len(left)] = left
    start = len(pause) + len(left) + len(gap)
    out[1, start: start + len(right)] = right
    return _frozen(out)


@functools.lru_cache(maxsize=1)
def volume_sample() -> np.ndarray:
    """Speech to set the volume by: the sentence twice (read-only, cached)."""
    speech = asset("speech")
    return _frozen(np.concatenate([speech, _silence(0.5, ASSET_SAMPLE_RATE), speech]))


def draw_environment_pairs(rng: np.random.Generator, count: int = 4) -> list[dict[str, Any]]:
    """The environment check's pairs: which sample is noisier (one pair "same"), the level
    and a noise seed each; stored with the session."""
    expected = ["same"] + [str(rng.choice(["A", "B"])) for _ in range(count - 1)]
    order = rng.permutation(count)
    snrs = [float(rng.choice(ENVIRONMENT_SNRS_DB)) for _ in range(count)]
    return [{"expected": expected[int(i)], "snr_db": snrs[k],
             "seed": int(rng.integers(0, 2**31 - 1))} for k, i in enumerate(order)]


def environment_sample(pair: dict[str, Any], side: str) -> np.ndarray:
    """Sample ``side`` ("a" or "b") of an environment pair, mono at 16 kHz (read-only).

    The noisier side carries pink noise at the pair's SNR; the other is the clean sentence.
    A "same" pair plays the noisy version on both sides, so the two are identical.
    """
    if side not in ("a", "b"):
        raise ValueError(f"side must be 'a' or 'b', got {side!r}")
    noisier = {"A": "a", "B": "b"}.get(pair["expected"])
    if noisier in (None, side):
        return _noisy_speech(float(pair["snr_db"]), int(pair["seed"]))
    return asset("speech")


@functools.lru_cache(maxsize=256)
def _noisy_speech(snr_db: float, seed: int) -> np.ndarray:
    speech = asset("speech")
    noise, _ = generate_noise("pink", len(speech), ASSET_SAMPLE_RATE,
                              np.random.default_rng(seed))
    return _frozen(add_noise(speech, noise, snr_db, ASSET_SAMPLE_RATE)[0])
