"""Elderly-like speech: lower and narrower F0, slower, with the voice instability of age:
jitter (period-to-period timing), shimmer (period-to-period amplitude) and breathiness
(aspiration noise in voiced parts), by PSOLA with perturbed glottal pulses (Praat)."""

from __future__ import annotations

import numpy as np
from parselmouth.praat import call
from scipy.signal import butter, sosfilt

from audio.voice_transforms.praat import (
    change_gender,
    manipulation,
    median_f0,
    resynthesise,
)


def _perturb_pulses(manip, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """Move each glottal pulse by up to ``jitter`` of its period; returns the new times."""
    pulses = call(manip, "Extract pulses")
    times = np.array([call(pulses, "Get time from index", i + 1)
                      for i in range(call(pulses, "Get number of points"))])
    if len(times) < 3:
        return times
    periods = np.diff(times, prepend=times[0] - (times[1] - times[0]))
    periods = np.minimum(periods, 1 / 75.0)  # across a pause: no bigger than one period
    moved = np.sort(times + rng.normal(0.0, jitter, len(times)) * periods)
    new = call("Create empty PointProcess", "pulses", call(pulses, "Get start time"),
               call(pulses, "Get end time"))
    for t in moved:
        call(new, "Add point", float(t))
    call([manip, new], "Replace pulses")
    return moved


def elderly_like(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Elderly-like version of ``x`` (float32, same rate, about 15 % longer).

    F0 median lowered by 10-20 %, range narrowed, formants 3 % lower; jitter about 2-3 % of a
    period, shimmer about 1.5-2 dB per period, aspiration noise at -24..-18 dB of the voice.
    """
    f0 = median_f0(x, sample_rate)
    target = float(f0 * rng.uniform(0.8, 0.9)) if np.isfinite(f0) else 0.0
    y = change_gender(x, sample_rate, rng, formant_ratio=0.97, new_median_hz=target,
                      range_factor=0.8, duration_factor=1.15)
    manip = manipulation(y, sample_rate)
    pulses = _perturb_pulses(manip, rng, float(rng.uniform(0.02, 0.03)))
    y = resynthesise(manip, rng).astype(np.float64)
    # shimmer: one random gain per period, smoothed over 1 ms so no clicks
    if len(pulses) > 2:
        edges = np.clip(np.round(pulses * sample_rate).astype(int), 0, len(y))
        gains_db = rng.normal(0.0, float(rng.uniform(1.5, 2.0)), len(edges) + 1)
        gain = np.repeat(10.0 ** (gains_db / 20.0), np.diff(np.r_[0, edges, len(y)]))
        ramp = max(1, sample_rate // 1000)
        gain = np.convolve(gain, np.ones(ramp) / ramp, mode="same")
        y = y * gain
    # breathiness: high-passed noise following the voice's envelope
    sos = butter(4, min(2000.0, 0.45 * sample_rate) / (sample_rate / 2), "highpass",
                 output="sos")
    noise = sosfilt(sos, rng.standard_normal(len(y)))
    window = max(1, sample_rate // 50)
    envelope = np.sqrt(np.convolve(y**2, np.ones(window) / window, mode="same"))
    noise *= envelope / (np.sqrt(np.mean(noise**2)) + 1e-12)
    y = y + noise * 10.0 ** (float(rng.uniform(-24.0, -18.0)) / 20.0)
    return y.astype(np.float32)
