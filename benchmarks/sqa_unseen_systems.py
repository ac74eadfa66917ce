"""Simulated enhancement systems for the unseen-systems SQA benchmark.

Independent of the pretraining conditions (:mod:`sqa.conditions`) on purpose: the inputs are
noisy mixtures of espeak-ng speech (other sentences and voices than the pretraining pool)
with noises made here (``cafe``, ``fan``, ``street``; not :mod:`audio.noise`), and each
*system* is an enhancement recipe with fixed settings that leaves the kinds of artefact real
SE systems leave: residual and musical noise (spectral-subtraction / Wiener gains), mask
errors (a noisy ratio mask), noise gating, temporal smearing, phase artefacts, a reduced
output bandwidth, quantisation and saturation. Processing runs at 16 kHz; the output is
resampled to the system's rate (an 8 kHz system loses the band above 4 kHz; a 48 kHz one has
nothing above 8 kHz, as a 16 kHz model upsampled).

Each system is a list of ``(step, settings)``; ``SYSTEMS`` holds 20, of which
``held_out`` ones are only for testing: new combinations and settings of the same families.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from audio.resample import resample

RATE = 16_000
NPERSEG, HOP = 512, 128


@dataclass(frozen=True)
class System:
    """One simulated SE system: input noise and SNR, processing steps, output rate."""

    name: str
    noise: str | None
    snr_db: float
    steps: tuple[tuple[str, dict[str, Any]], ...] = field(default_factory=tuple)
    rate: int = RATE
    held_out: bool = False


def _s(name: str, noise: str | None, snr: float, *steps: tuple[str, dict[str, Any]],
       rate: int = RATE, held_out: bool = False) -> System:
    return System(name, noise, snr, tuple(steps), rate, held_out)


#: 14 training systems and 6 held-out ones (``held_out=True``), spanning the quality range.
SYSTEMS: tuple[System, ...] = (
    _s("T01-clean", None, 0.0),
    _s("T02-noisy-cafe5", "cafe", 5.0),
    _s("T03-noisy-fan15", "fan", 15.0),
    _s("T04-wiener-fan0", "fan", 0.0, ("wiener", {"alpha": 1.0, "floor": 0.1})),
    _s("T05-wiener-cafe10-musical", "cafe", 10.0, ("wiener", {"alpha": 2.5, "floor": 0.01})),
    _s("T06-mask-cafe5", "cafe", 5.0, ("mask", {"sigma": 0.3, "floor": 0.05})),
    _s("T07-mask-street0-rough", "street", 0.0, ("mask", {"sigma": 0.8, "floor": 0.02})),
    _s("T08-gate-street10", "street", 10.0, ("gate", {"threshold_db": -30.0, "depth_db": -25.0})),
    _s("T09-mask-street20-lp3k5", "street", 20.0, ("mask", {"sigma": 0.2, "floor": 0.1}),
       ("lowpass", {"cutoff_hz": 3500.0})),
    _s("T10-mask-cafe25-mulaw6", "cafe", 25.0, ("mask", {"sigma": 0.2, "floor": 0.1}),
       ("mulaw", {"bits": 6})),
    _s("T11-wiener-fan20-sat", "fan", 20.0, ("wiener", {"alpha": 1.0, "floor": 0.1}),
       ("saturate", {"drive": 6.0}), rate=48_000),
    _s("T12-mask-cafe10-smear", "cafe", 10.0, ("mask", {"sigma": 0.3, "floor": 0.05}),
       ("smear", {"release_s": 0.25})),
    _s("T13-mask-street15-phase", "street", 15.0, ("mask", {"sigma": 0.2, "floor": 0.05}),
       ("phase", {"above_hz": 2500.0})),
    _s("T14-wiener-street-5-harsh", "street", -5.0, ("wiener", {"alpha": 3.0, "floor": 0.0}),
       rate=8_000),
    _s("H01-noisy-street10", "street", 10.0, held_out=True),
    _s("H02-wiener-cafe5", "cafe", 5.0, ("wiener", {"alpha": 1.5, "floor": 0.05}),
       held_out=True),
    _s("H03-mask-fan10-lp5k5", "fan", 10.0, ("mask", {"sigma": 0.4, "floor": 0.05}),
       ("lowpass", {"cutoff_hz": 5500.0}), rate=48_000, held_out=True),
    _s("H04-gate-cafe0", "cafe", 0.0, ("gate", {"threshold_db": -20.0, "depth_db": -15.0}),
       held_out=True),
    _s("H05-mask-street5-mulaw7-sat", "street", 5.0, ("mask", {"sigma": 0.5, "floor": 0.03}),
       ("mulaw", {"bits": 7}), ("saturate", {"drive": 3.0}), held_out=True),
    _s("H06-mask-fan25-smear-phase", "fan", 25.0, ("mask", {"sigma": 0.15, "floor": 0.1}),
       ("smear", {"release_s": 0.12}), ("phase", {"above_hz": 4000.0}), rate=8_000,
       held_out=True),
)


def _lowpassed(x: np.ndarray, cutoff_hz: float, order: int = 4) -> np.ndarray:
    sos = signal.butter(order, cutoff_hz, "low", fs=RATE, output="sos")
    return signal.sosfilt(sos, x)


def make_noise(kind: str, frames: int, rng: np.random.Generator) -> np.ndarray:
    """``cafe`` (speech-shaped noise under syllabic modulation, with dish clinks), ``fan``
    (a hum's harmonics over low-passed noise) or ``street`` (brown noise, a passing car's
    swell, a horn now and then); unit RMS."""
    t = np.arange(frames) / RATE
    if kind == "cafe":
        out = np.zeros(frames)
        for _ in range(5):
            talker = _lowpassed(rng.standard_normal(frames), rng.uniform(1500, 3500), 2)
            rate_hz = rng.uniform(3.0, 6.0)
            envelope = np.maximum(0.0, np.sin(2 * np.pi * rate_hz * t + rng.uniform(0, 6.3)))
            out += talker * (0.3 + envelope) * rng.uniform(0.5, 1.0)
        for start in rng.integers(0, frames, size=int(frames / RATE * 1.5)):
            n = min(frames - start, RATE // 10)
            tt = np.arange(n) / RATE
            out[start:start + n] += (3.0 * np.sin(2 * np.pi * rng.uniform(2000, 5000) * tt)
                                     * np.exp(-tt * 60.0))
    elif kind == "fan":
        f0 = rng.uniform(90.0, 140.0)
        out = sum(np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3)) / k for k in range(1, 8))
        out = 0.5 * out + _lowpassed(rng.standard_normal(frames), 1200.0, 2)
    elif kind == "street":
        brown = np.cumsum(rng.standard_normal(frames))
        brown = signal.sosfilt(signal.butter(2, 30.0, "high", fs=RATE, output="sos"), brown)
        brown /= np.std(brown) + 1e-12
        centre = rng.uniform(0, t[-1])
        swell = 0.4 + np.exp(-((t - centre) / 1.2) ** 2)
        out = brown * swell + 0.3 * _lowpassed(rng.standard_normal(frames), 4000.0, 2)
        if rng.random() < 0.5:
            start = int(rng.integers(0, max(1, frames - RATE // 2)))
            n = min(frames - start, RATE // 3)
            tt = np.arange(n) / RATE
            out[start:start + n] += 2.0 * np.sign(np.sin(2 * np.pi * 420.0 * tt))
    else:
        raise ValueError(f"unknown noise {kind!r}")
    out = np.asarray(out, dtype=np.float64)
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def _stft(x: np.ndarray) -> np.ndarray:
    return signal.stft(x, RATE, nperseg=NPERSEG, noverlap=NPERSEG - HOP)[2]


def _istft(spec: np.ndarray, frames: int) -> np.ndarray:
    y = signal.istft(spec, RATE, nperseg=NPERSEG, noverlap=NPERSEG - HOP)[1]
    return np.pad(y[:frames], (0, max(0, frames - len(y))))


def _wiener(mix: np.ndarray, noise: np.ndarray, p: dict, rng: np.random.Generator,
            speech: np.ndarray) -> np.ndarray:
    """Spectral-subtraction style gain from the noise's long-term spectrum (a stationary
    noise estimate, so bursts stay; over-subtraction ``alpha`` leaves musical noise)."""
    spec, noise_psd = _stft(mix), np.mean(np.abs(_stft(noise)) ** 2, axis=1, keepdims=True)
    gain = np.maximum(1.0 - p["alpha"] * noise_psd / (np.abs(spec) ** 2 + 1e-12), p["floor"])
    return _istft(spec * np.sqrt(gain), len(mix))


def _mask(mix: np.ndarray, noise: np.ndarray, p: dict, rng: np.random.Generator,
          speech: np.ndarray) -> np.ndarray:
    """An oracle ratio mask with log-normal errors of ``sigma`` per bin (a DNN's mistakes)."""
    s, n, spec = _stft(speech), _stft(noise), _stft(mix)
    ratio = np.abs(s) ** 2 / (np.abs(s) ** 2 + np.abs(n) ** 2 + 1e-12)
    gain = np.clip(np.sqrt(ratio) * np.exp(p["sigma"] * rng.standard_normal(ratio.shape)),
                   p["floor"], 1.0)
    return _istft(spec * gain, len(mix))


def _gate(x: np.ndarray, p: dict) -> np.ndarray:
    """Frames 10 ms long below ``threshold_db`` of the loudest are attenuated by
    ``depth_db``, with a fast attack and a 50 ms release (breathing, clipped onsets)."""
    frame = RATE // 100
    n = len(x) // frame
    level = 10 * np.log10(np.mean(x[:n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    target = np.where(level > level.max() + p["threshold_db"], 0.0, p["depth_db"])
    smooth, g = np.empty(n), p["depth_db"]
    for i, value in enumerate(target):
        g = value if value > g else g + (value - g) * 0.2
        smooth[i] = g
    gain = np.repeat(10 ** (smooth / 20), frame)
    return x * np.pad(gain, (0, len(x) - len(gain)), mode="edge")


def _smear(x: np.ndarray, p: dict) -> np.ndarray:
    """Magnitudes decay no faster than a ``release_s`` time constant (a smeared tail)."""
    spec = _stft(x)
    mag, phase = np.abs(spec), np.angle(spec)
    decay = np.exp(-HOP / RATE / p["release_s"])
    for t in range(1, mag.shape[1]):
        mag[:, t] = np.maximum(mag[:, t], decay * mag[:, t - 1])
    return _istft(mag * np.exp(1j * phase), len(x))


def _phase(x: np.ndarray, p: dict, rng: np.random.Generator) -> np.ndarray:
    """Random phases above ``above_hz`` (a vocoder's rough, phasey highs)."""
    spec = _stft(x)
    bins = np.fft.rfftfreq(NPERSEG, 1 / RATE) > p["above_hz"]
    spec[bins] = np.abs(spec[bins]) * np.exp(2j * np.pi * rng.random(spec[bins].shape))
    return _istft(spec, len(x))


def _mulaw(x: np.ndarray, p: dict) -> np.ndarray:
    mu, peak = 255.0, np.max(np.abs(x)) + 1e-12
    y = np.sign(x) * np.log1p(mu * np.abs(x / peak)) / np.log1p(mu)
    levels = 2 ** (p["bits"] - 1)
    y = np.round(y * levels) / levels
    return np.sign(y) * np.expm1(np.abs(y) * np.log1p(mu)) / mu * peak


def _saturate(x: np.ndarray, p: dict) -> np.ndarray:
    peak = np.max(np.abs(x)) + 1e-12
    return np.tanh(p["drive"] * x / peak) / np.tanh(p["drive"]) * peak


def run_system(system: System, speech: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """The system's output for clean ``speech`` at 16 kHz: (output at ``system.rate``,
    the output at 16 kHz, which the listeners' quality function analyses). Peak 0.9."""
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.zeros_like(speech)
    if system.noise is not None:
        noise = make_noise(system.noise, len(speech), rng)
        noise *= np.sqrt(np.mean(speech ** 2)) / 10 ** (system.snr_db / 20)
    x = speech + noise
    for step, p in system.steps:
        if step == "wiener":
            x = _wiener(x, noise, p, rng, speech)
        elif step == "mask":
            x = _mask(x, noise, p, rng, speech)
        elif step == "gate":
            x = _gate(x, p)
        elif step == "smear":
            x = _smear(x, p)
        elif step == "phase":
            x = _phase(x, p, rng)
        elif step == "lowpass":
            x = _lowpassed(x, p["cutoff_hz"], 8)
        elif step == "mulaw":
            x = _mulaw(x, p)
        elif step == "saturate":
            x = _saturate(x, p)
        else:
            raise ValueError(f"unknown step {step!r}")
    x = 0.9 * x / (np.max(np.abs(x)) + 1e-12)
    if system.rate == 8_000:  # an 8 kHz system: the band above 4 kHz is gone for listeners too
        out = resample(x.astype(np.float32), RATE, 8_000)
        x = resample(out, 8_000, RATE).astype(np.float64)
    elif system.rate != RATE:
        out = resample(x.astype(np.float32), RATE, system.rate)
    else:
        out = x
    peak = max(1.0, float(np.max(np.abs(out))) / 0.99)
    return (np.asarray(out, dtype=np.float32) / peak, x / peak)
