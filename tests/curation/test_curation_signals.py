"""The signal measurements against signals whose answer is known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from audio.resample import resample
from curation.signals import (
    bandwidth_rate,
    clipping_ratio,
    effective_bandwidth_hz,
    levels_dbfs,
    speech_ratio,
    wada_snr_db,
)
from tests.se.speech import add_white_noise, make_speech


def _lowpass(x: np.ndarray, rate: int, cutoff: float) -> np.ndarray:
    spectrum = np.fft.rfft(x)
    spectrum[np.fft.rfftfreq(len(x), 1 / rate) > cutoff] = 0
    return np.fft.irfft(spectrum, len(x)).astype(np.float32)


@pytest.mark.parametrize("rate", [8_000, 16_000, 22_050, 48_000])
def test_bandwidth_of_white_noise_is_the_nyquist_band_and_of_lowpassed_noise_its_cutoff(rate):
    noise = np.random.default_rng(0).standard_normal(rate * 2).astype(np.float32) * 0.1
    full = effective_bandwidth_hz(noise, rate)
    assert full >= 0.95 * rate / 2
    assert bandwidth_rate(full, rate) == rate
    cut = effective_bandwidth_hz(_lowpass(noise, rate, 3000.0), rate)
    assert 2900 <= cut <= 3100
    assert bandwidth_rate(cut, rate) == 8_000


def test_upsampled_speech_shows_its_original_band_and_the_urgent_rate_for_it():
    speech = make_speech(16_000, seconds=2.0)
    up = resample(speech, 16_000, 48_000)
    bandwidth = effective_bandwidth_hz(up, 48_000)
    assert 7_000 <= bandwidth <= 8_300
    assert bandwidth_rate(bandwidth, 48_000) == 16_000 if bandwidth <= 8000 else 22_050


def test_speech_ratio_counts_speech_frames_and_not_silence():
    speech = make_speech(16_000, seconds=2.0)
    padded = np.concatenate([np.zeros(16_000 * 6, np.float32), speech])
    assert speech_ratio(speech, 16_000) > 0.6
    assert speech_ratio(padded, 16_000) < 0.3
    assert speech_ratio(resample(padded, 16_000, 44_100), 44_100) < 0.3


def test_wada_snr_follows_the_added_noise():
    speech = make_speech(16_000, seconds=3.0)
    estimates = [wada_snr_db(add_white_noise(speech, snr)) for snr in (0.0, 10.0, 20.0)]
    assert estimates[0] < estimates[1] < estimates[2]
    assert abs(estimates[1] - 10.0) < 6.0
    assert wada_snr_db(speech) > estimates[2]


def test_clipping_ratio_is_small_for_speech_and_the_clipped_share_for_clipped_speech():
    speech = make_speech(16_000, seconds=2.0)
    assert clipping_ratio(speech) < 0.001
    limit = np.quantile(np.abs(speech), 0.95)
    clipped = np.clip(speech, -limit, limit)
    assert 0.03 < clipping_ratio(clipped) < 0.08


def test_levels_of_a_full_scale_sine():
    t = np.arange(16_000) / 16_000
    rms, peak = levels_dbfs(np.sin(2 * np.pi * 440 * t))
    assert rms == pytest.approx(-3.01, abs=0.05)
    assert peak == pytest.approx(0.0, abs=0.01)
