"""Synthetic noise for degradations when no recorded noise corpus is at hand.

Recorded noise (DNS, WHAM!, FSD50K in the URGENT recipes) cannot be downloaded here, so these
generators cover the spectral and temporal families that matter for enhancement: stationary
coloured noise, speech-shaped fluctuating babble, tonal mains hum and gusty wind.
Every kind is scaled to the same RMS so that a mixing SNR means the same for each.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

#: Noise kinds :func:`generate_noise` makes (the demo data set cycles through all of them).
NOISE_KINDS = ("white", "pink", "brown", "babble", "hum", "wind")
#: Kinds added later, kept out of :data:`NOISE_KINDS` so the demo set stays as it is.
EXTRA_NOISE_KINDS = ("transients",)
#: Every kind :func:`generate_noise` accepts.
ALL_NOISE_KINDS = (*NOISE_KINDS, *EXTRA_NOISE_KINDS)

#: RMS of every generated noise (about -20 dBFS), leaving headroom before mixing.
NOISE_RMS = 0.1


def _coloured(num_frames: int, exponent: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise whose power falls as 1/f**exponent (1 pink, 2 brown), DC removed.

    Shaped in the frequency domain rather than by integration, so brown noise does not drift.
    """
    spectrum = np.fft.rfft(rng.standard_normal(num_frames))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    spectrum[0] = 0.0
    spectrum[1:] /= freqs[1:] ** (exponent / 2.0)
    return np.fft.irfft(spectrum, n=num_frames)


def _smooth_envelope(num_frames: int, sample_rate: int, rate_hz: float,
                     rng: np.random.Generator) -> np.ndarray:
    """A random envelope through standard-normal knots ``1 / rate_hz`` seconds apart.

    Interpolating knots (rather than low-pass filtering noise) has no start-up transient and
    keeps varying even when the clip is shorter than one period of ``rate_hz``.
    """
    knots = int(np.ceil(num_frames / sample_rate * rate_hz)) + 2
    positions = (np.arange(knots) - rng.uniform(0.0, 1.0)) / rate_hz
    return np.interp(np.arange(num_frames) / sample_rate, positions, rng.standard_normal(knots))


def _babble(num_frames: int, sample_rate: int, rng: np.random.Generator
            ) -> tuple[np.ndarray, dict]:
    """Several "talkers": speech-band noise with a formant-like peak, modulated at syllable rate
    by a log-normal envelope (always positive, so no talker falls silent for good)."""
    talkers = int(rng.integers(3, 8))
    out = np.zeros(num_frames)
    top = min(4_000.0, 0.45 * sample_rate)
    for _ in range(talkers):
        centre = rng.uniform(300.0, min(2_000.0, top / 1.5))
        band = signal.butter(2, [centre / 1.5, min(centre * 1.5, top)], btype="bandpass",
                             fs=sample_rate, output="sos")
        voice = signal.sosfilt(band, rng.standard_normal(num_frames))
        gate = np.exp(1.5 * _smooth_envelope(num_frames, sample_rate, rng.uniform(3.0, 6.0), rng))
        out += voice / (np.std(voice) + 1e-12) * gate
    return out, {"talkers": talkers}


def _hum(num_frames: int, sample_rate: int, rng: np.random.Generator
         ) -> tuple[np.ndarray, dict]:
    """Mains hum: 50 or 60 Hz with odd and even harmonics falling as 1/k, random phases."""
    mains_hz = float(rng.choice([50.0, 60.0]))
    harmonics = int(rng.integers(3, 11))
    t = np.arange(num_frames) / sample_rate
    out = np.zeros(num_frames)
    for k in range(1, harmonics + 1):
        if k * mains_hz < sample_rate / 2:
            out += np.sin(2 * np.pi * k * mains_hz * t + rng.uniform(0, 2 * np.pi)) / k
    return out, {"mains_hz": mains_hz, "harmonics": harmonics}


def _wind(num_frames: int, sample_rate: int, rng: np.random.Generator
          ) -> tuple[np.ndarray, dict]:
    """Gusty wind: brown-ish rumble below a few hundred Hz under a slow log-normal envelope."""
    cutoff_hz = float(rng.uniform(150.0, 600.0))
    gust_hz = float(rng.uniform(0.3, 1.5))
    sos = signal.butter(2, cutoff_hz, fs=sample_rate, output="sos")
    rumble = signal.sosfilt(sos, _coloured(num_frames, 1.0, rng))
    gusts = np.exp(0.8 * _smooth_envelope(num_frames, sample_rate, gust_hz, rng))
    return rumble * gusts, {"cutoff_hz": cutoff_hz, "gust_hz": gust_hz}


def _transients(num_frames: int, sample_rate: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, dict]:
    """Impulsive events (knocks, clicks, clatter): exponentially decaying band-passed noise
    bursts at random times over a faint pink floor, at 0.5..4 events per second (at least one).
    """
    rate_hz = float(rng.uniform(0.5, 4.0))
    events = max(1, int(rng.poisson(rate_hz * num_frames / sample_rate)))
    floor = _coloured(num_frames, 1.0, rng)
    out = 0.01 * floor / (np.std(floor) + 1e-12)
    nyquist = sample_rate / 2
    for _ in range(events):
        start = int(rng.integers(0, num_frames))
        decay_seconds = float(rng.uniform(0.005, 0.1))
        length = min(num_frames - start, max(1, round(5 * decay_seconds * sample_rate)))
        low = float(rng.uniform(100.0, 0.3 * nyquist))
        band = signal.butter(2, [low, min(low * 8, 0.95 * nyquist)], btype="bandpass",
                             fs=sample_rate, output="sos")
        burst = signal.sosfilt(band, rng.standard_normal(length))
        burst *= np.exp(-np.arange(length) / (decay_seconds * sample_rate))
        out[start: start + length] += burst / (np.max(np.abs(burst)) + 1e-12) * rng.uniform(
            0.3, 1.0)
    return out, {"events": events, "rate_hz": rate_hz}


def generate_noise(kind: str, num_frames: int, sample_rate: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, dict]:
    """Make ``num_frames`` of noise of one of :data:`ALL_NOISE_KINDS`, at RMS :data:`NOISE_RMS`.

    Args:
        kind: ``white``, ``pink``, ``brown``, ``babble`` (modulated band-limited noise, a
            stand-in until overlapped synthetic speech is used), ``hum``, ``wind`` or
            ``transients`` (knocks and clicks).
        num_frames: length in samples.
        sample_rate: in Hz; the spectral shapes are defined in Hz, so every rate gets the
            same sound.
        rng: source of all randomness.

    Returns:
        (noise, params): float32 array of shape (num_frames,), and the kind plus every value
        drawn, as plain JSON types.
    """
    if kind not in ALL_NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}; use one of {ALL_NOISE_KINDS}")
    if num_frames <= 0:
        raise ValueError(f"num_frames must be positive, got {num_frames}")
    params: dict = {}
    if kind == "white":
        out = rng.standard_normal(num_frames)
    elif kind == "pink":
        out = _coloured(num_frames, 1.0, rng)
    elif kind == "brown":
        out = _coloured(num_frames, 2.0, rng)
    elif kind == "babble":
        out, params = _babble(num_frames, sample_rate, rng)
    elif kind == "hum":
        out, params = _hum(num_frames, sample_rate, rng)
    elif kind == "transients":
        out, params = _transients(num_frames, sample_rate, rng)
    else:
        out, params = _wind(num_frames, sample_rate, rng)
    out = out * (NOISE_RMS / (np.sqrt(np.mean(out**2)) + 1e-12))
    return out.astype(np.float32), {"kind": kind, **params}
