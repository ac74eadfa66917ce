"""Voice transformations measured for what each claims: F0 median and range, formant shift,
jitter/shimmer/breathiness, voiced-frame ratio, held notes with vibrato, prosody profiles."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from parselmouth.praat import call

from audio.speech_sources import SpeechSourceUnavailable, find_voice, get_source
from audio.voice_transforms import TRANSFORMS, apply_transform
from audio.voice_transforms.emotion import emotional
from audio.voice_transforms.praat import change_gender, f0_track, median_f0, to_sound

SENTENCE = "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background."


@functools.cache
def _speech() -> tuple[np.ndarray, int]:
    """A female HTS voice (flite slt, 16 kHz), else espeak-ng's en-us."""
    for source, voice in (("flite", "slt"), ("espeak", "en-us")):
        try:
            return get_source(source).speak(SENTENCE, find_voice(source, voice))
        except SpeechSourceUnavailable:
            continue
    pytest.skip("neither flite nor espeak-ng is installed")


def _semitone_range(x: np.ndarray, rate: int) -> float:
    f0 = f0_track(x, rate)[1]
    st = 12 * np.log2(f0[f0 > 0])
    return float(np.percentile(st, 95) - np.percentile(st, 5))


def _voiced_ratio(x: np.ndarray, rate: int) -> float:
    return float(np.mean(f0_track(x, rate)[1] > 0))


def _envelope_shift(x: np.ndarray, y: np.ndarray, rate: int) -> float:
    """The frequency ratio that best maps x's spectral envelope onto y's: long-term power
    spectra of both, cepstrally smoothed (vocal tract, not harmonics), compared on a log
    frequency axis from 300 Hz to 5 kHz; > 1 means y's formants sit higher."""
    def envelope(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = 1024
        frames = np.lib.stride_tricks.sliding_window_view(s, n)[:: n // 4] * np.hanning(n)
        power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
        loud = power.sum(axis=1) > 0.05 * power.sum(axis=1).max()
        log_power = np.log(power[loud].mean(axis=0) + 1e-12)
        cep = np.fft.irfft(log_power)
        keep = round(0.0012 * rate)
        cep[keep:n - keep + 1] = 0
        return np.fft.rfftfreq(n, 1 / rate), np.fft.rfft(cep).real

    grid = np.exp(np.linspace(np.log(300), np.log(5000), 400))
    fx, ex = envelope(x)
    fy, ey = envelope(y)
    a = np.interp(grid, fx, ex)
    ratios = np.exp(np.linspace(np.log(0.7), np.log(1.5), 161))
    scores = [np.corrcoef(a, np.interp(grid * r, fy, ey))[0, 1] for r in ratios]
    return float(ratios[int(np.argmax(scores))])


def _spectral_centroid(x: np.ndarray, rate: int) -> float:
    mag = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return float(np.sum(freqs * mag**2) / np.sum(mag**2))


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_is_seeded_and_pure(name: str) -> None:
    x, rate = _speech()
    before = x.copy()
    a = apply_transform(name, x, rate, np.random.default_rng(5))
    b = apply_transform(name, x, rate, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(x, before)  # input untouched
    assert a.dtype == np.float32 and a.ndim == 1 and np.max(np.abs(a)) <= 0.99
    assert np.sqrt(np.mean(a**2)) > 0.005


def test_unknown_transform_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown voice transform 'robot'"):
        apply_transform("robot", np.zeros(100, np.float32), 16000, np.random.default_rng(0))


def test_child_raises_f0_to_a_childs_and_shifts_formants_up() -> None:
    x, rate = _speech()
    y = apply_transform("child", x, rate, np.random.default_rng(1))
    assert 230 <= median_f0(y, rate) <= 310  # children 6-10 years: about 230-300 Hz
    assert 1.12 <= _envelope_shift(x, y, rate) <= 1.35  # shorter vocal tract: formants up
    # control: the same F0 change without the envelope stretch measures no shift
    pitch_only = change_gender(x, rate, np.random.default_rng(1), formant_ratio=1.0,
                               new_median_hz=280.0, range_factor=1.2, duration_factor=1.1)
    assert 0.97 <= _envelope_shift(x, pitch_only, rate) <= 1.03


def test_elderly_is_lower_with_more_jitter_shimmer_and_breath() -> None:
    x, rate = _speech()
    y = apply_transform("elderly", x, rate, np.random.default_rng(2))
    assert median_f0(y, rate) < 0.93 * median_f0(x, rate)
    assert 0.9 <= _envelope_shift(x, y, rate) <= 1.0

    def voice_report(s: np.ndarray) -> tuple[float, float, float]:
        sound = to_sound(s, rate)
        pulses = call(sound, "To PointProcess (periodic, cc)", 75, 600)
        jitter = call(pulses, "Get jitter (local)", 0, 0, 0.0001, 0.02, 1.3)
        shimmer = call([sound, pulses], "Get shimmer (local)", 0, 0, 0.0001, 0.02, 1.3, 1.6)
        hnr = call(call(sound, "To Harmonicity (cc)", 0.01, 75, 0.1, 1.0), "Get mean", 0, 0)
        return jitter, shimmer, hnr

    jitter0, shimmer0, hnr0 = voice_report(x)
    jitter1, shimmer1, hnr1 = voice_report(y)
    assert jitter1 > 1.5 * jitter0 and jitter1 > 0.01, (jitter0, jitter1)
    assert shimmer1 > 1.2 * shimmer0, (shimmer0, shimmer1)
    assert hnr1 < hnr0 - 2.0, (hnr0, hnr1)  # breathier: less harmonic energy


def test_whisper_has_no_f0_but_keeps_the_spectral_envelope() -> None:
    x, rate = _speech()
    y = apply_transform("whispered", x, rate, np.random.default_rng(3))
    assert _voiced_ratio(x, rate) > 0.4
    assert _voiced_ratio(y, rate) < 0.08
    assert len(y) == len(x)
    # the words' envelope stays: long-term spectra (1-4 kHz, in dB) correlate
    def ltas(s: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(s, 512)[::256] * np.hanning(512)
        power = np.mean(np.abs(np.fft.rfft(frames, axis=1)) ** 2, axis=0)
        band = (np.fft.rfftfreq(512, 1 / rate) > 1000) & (np.fft.rfftfreq(512, 1 / rate) < 4000)
        return 10 * np.log10(power[band] + 1e-12)
    assert np.corrcoef(ltas(x), ltas(y))[0, 1] > 0.8


def test_sung_vowels_are_held_notes_with_vibrato() -> None:
    x, rate = _speech()
    y = apply_transform("sung", x, rate, np.random.default_rng(4))
    f0 = f0_track(y, rate)[1]
    voiced_seconds = lambda s: float(np.sum(f0_track(s, rate)[1] > 0)) * 0.01  # noqa: E731
    assert voiced_seconds(y) > 1.8 * voiced_seconds(x)  # vowels lengthened
    runs, start = [], None
    for i, v in enumerate(np.r_[f0 > 0, False]):
        if v and start is None:
            start = i
        elif not v and start is not None:
            if i - start >= 40:  # notes of 0.4 s and more
                runs.append(f0[start + 3:i - 3])
            start = None
    assert len(runs) >= 3
    steady, vibrato_rates = [], []
    for run in runs:
        cents = 1200 * np.log2(run / np.median(run))
        smooth = np.convolve(cents, np.ones(18) / 18, mode="valid")  # ~one vibrato period
        steady.append(np.std(smooth))
        wobble = cents - np.convolve(cents, np.ones(18) / 18, mode="same")
        spectrum = np.abs(np.fft.rfft(wobble[9:-9] * np.hanning(len(wobble) - 18), n=512))
        vibrato_rates.append(np.fft.rfftfreq(512, 0.01)[np.argmax(spectrum[1:]) + 1])
    assert np.median(steady) < 25.0, steady  # a held note: under a quarter tone of drift
    assert 4.0 <= np.median(vibrato_rates) <= 7.0, vibrato_rates  # vibrato at 5-6 Hz


def test_emotions_move_pitch_rate_and_energy_as_their_profiles_say() -> None:
    x, rate = _speech()
    out = {e: emotional(x, rate, np.random.default_rng(6), e)
           for e in ("neutral", "happy", "sad", "angry")}
    f0 = {e: median_f0(y, rate) for e, y in out.items()}
    span = {e: _semitone_range(y, rate) for e, y in out.items()}
    seconds = {e: len(y) / rate for e, y in out.items()}
    rms = {e: float(np.sqrt(np.mean(y.astype(np.float64) ** 2))) for e, y in out.items()}
    np.testing.assert_array_equal(out["neutral"], x)
    assert f0["happy"] > 1.1 * f0["neutral"] and span["happy"] > 1.2 * span["neutral"]
    assert f0["sad"] < 0.95 * f0["neutral"] and span["sad"] < 0.8 * span["neutral"]
    assert seconds["sad"] > 1.15 * seconds["neutral"] > seconds["happy"] > seconds["angry"]
    assert rms["sad"] < 0.6 * rms["neutral"] < 0.6 * rms["angry"]
    assert _spectral_centroid(out["angry"], rate) > 1.2 * _spectral_centroid(x, rate)
    with pytest.raises(ValueError, match="unknown emotion"):
        emotional(x, rate, np.random.default_rng(0), "bored")
