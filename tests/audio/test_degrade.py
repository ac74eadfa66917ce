"""Degradations do what a user checks by ear and by measurement, and never touch their input."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

import numpy as np
import pytest

from audio import degrade
from audio.noise import NOISE_KINDS, NOISE_RMS, generate_noise
from audio.resample import URGENT_SAMPLE_RATES
from audio.spectral import frequencies_hz, spectrogram_db
from tests.signals import speech_like


def gated_speech(sample_rate: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Speech-like bursts separated by digital silence on whole 20 ms frames, so the active
    part is known exactly; returns (signal, active mask)."""
    x = speech_like(2.0, sample_rate, seed=seed)
    frame = sample_rate // 50
    active = np.repeat(np.arange(len(x) // frame + 1) % 25 >= 10, frame)[: len(x)]
    x = np.where(active, 0.2 + np.abs(x), 0.0) * np.sign(np.sin(np.arange(len(x)) * 0.3))
    return x.astype(np.float32), active


def lag_of(y: np.ndarray, x: np.ndarray) -> int:
    """Lag (samples) of ``y`` behind ``x`` at the cross-correlation peak."""
    n = len(x) + len(y)
    corr = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    lag = int(np.argmax(corr))
    return lag if lag < len(y) else lag - n


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2)))


RNG = np.random.default_rng
DEGRADATIONS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "highpass": lambda x, sr: degrade.highpass(x, sr),
    "add_noise": lambda x, sr: degrade.add_noise(x, generate_noise("pink", 999, sr, RNG(1))[0],
                                                 5.0, sr)[0],
    "reverb": lambda x, sr: degrade.reverberate(x, degrade.synthetic_rir(sr, 0.5, RNG(1)), sr)[0],
    "reverb_target": lambda x, sr: degrade.reverberate(
        x, degrade.synthetic_rir(sr, 0.5, RNG(1)), sr)[1],
    "bandwidth": lambda x, sr: degrade.bandwidth_limit(x, sr, 8_000, "soxr_lq"),
    "clip": lambda x, sr: degrade.clip(x, 0.05, 0.95),
    "mp3": lambda x, sr: degrade.codec(x, sr, "mp3", 5),
    "vorbis": lambda x, sr: degrade.codec(x, sr, "vorbis", 3),
    "opus": lambda x, sr: degrade.codec(x, sr, "opus", 3),
    "packet_loss": lambda x, sr: degrade.packet_loss(x, sr, RNG(1), 0.2)[0],
    "peak_normalise": lambda x, sr: degrade.peak_normalise(x),
    "simulate": lambda x, sr: degrade.simulate(x, sr, RNG(3))[0],
}


@pytest.mark.parametrize("name", DEGRADATIONS)
@pytest.mark.parametrize("sample_rate", [22_050, 48_000])
def test_degradation_keeps_length_and_leaves_input_alone(name: str, sample_rate: int) -> None:
    x = speech_like(0.7, sample_rate, seed=1)
    before = x.copy()
    y = DEGRADATIONS[name](x, sample_rate)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y)) and np.any(y)
    assert not np.shares_memory(x, y)
    np.testing.assert_array_equal(x, before)


def test_highpass_removes_rumble_without_delay() -> None:
    sr = 16_000
    t = np.arange(sr) / sr
    rumble, tone = np.sin(2 * np.pi * 30 * t), np.sin(2 * np.pi * 1_000 * t)
    y = degrade.highpass((rumble + tone).astype(np.float32), sr, 70.0)
    mid = slice(sr // 4, 3 * sr // 4)  # away from the edges
    assert snr_db(tone[mid], y[mid]) > 30  # 30 Hz is more than 30 dB down, 1 kHz intact
    assert lag_of(degrade.highpass(tone.astype(np.float32), sr), tone) == 0


@pytest.mark.parametrize("kind", NOISE_KINDS)
def test_noise_kinds_have_the_promised_level_and_are_seeded(kind: str) -> None:
    noise, params = generate_noise(kind, 24_000, 24_000, RNG(5))
    again, _ = generate_noise(kind, 24_000, 24_000, RNG(5))
    assert noise.dtype == np.float32 and noise.shape == (24_000,)
    assert np.sqrt(np.mean(noise**2)) == pytest.approx(NOISE_RMS, rel=1e-3)
    np.testing.assert_array_equal(noise, again)
    assert params["kind"] == kind
    json.dumps(params)


def test_noise_spectra_match_their_names() -> None:
    sr = 16_000
    freqs = frequencies_hz(sr)

    def band_db(kind: str, low: float, high: float) -> float:
        power = 10 ** (spectrogram_db(generate_noise(kind, 2 * sr, sr, RNG(2))[0], sr) / 10)
        return float(10 * np.log10(power[(freqs >= low) & (freqs < high)].mean()))

    assert abs(band_db("white", 100, 500) - band_db("white", 4_000, 8_000)) < 2
    tilt = {k: band_db(k, 100, 500) - band_db(k, 4_000, 8_000) for k in ("pink", "brown")}
    assert 5 < tilt["pink"] < tilt["brown"]
    assert band_db("wind", 20, 300) - band_db("wind", 2_000, 8_000) > 30
    assert band_db("babble", 300, 2_000) - band_db("babble", 5_000, 8_000) > 20
    hum, params = generate_noise("hum", sr, sr, RNG(2))
    spectrum = np.abs(np.fft.rfft(hum))
    assert np.argmax(spectrum) == int(params["mains_hz"])  # 1 Hz bins over one second


@pytest.mark.parametrize("target_snr", [-5.0, 0.0, 7.5, 20.0])
@pytest.mark.parametrize("kind", ["white", "babble", "wind"])
def test_add_noise_reaches_snr_on_active_speech(target_snr: float, kind: str) -> None:
    sr = 16_000
    speech, active = gated_speech(sr)
    noise, _ = generate_noise(kind, sr // 3, sr, RNG(4))  # shorter: gets repeated
    mixture, scaled = degrade.add_noise(speech, noise, target_snr, sr)
    np.testing.assert_allclose(mixture - speech, scaled, atol=1e-6)
    measured = 10 * np.log10(np.mean(speech[active] ** 2) / np.mean(scaled**2))
    assert measured == pytest.approx(target_snr, abs=0.5)


def test_speech_activity_ignores_pauses_and_gain() -> None:
    speech, active = gated_speech(16_000)
    np.testing.assert_array_equal(degrade.speech_activity(speech, 16_000), active)
    np.testing.assert_array_equal(degrade.speech_activity(speech * 1e-3, 16_000), active)


def test_synthetic_rir_decays_at_the_requested_rt60() -> None:
    sr, rt60 = 16_000, 0.6
    rir = degrade.synthetic_rir(sr, rt60, RNG(0))
    onset = int(np.argmax(np.abs(rir)))
    tail = rir[onset + 1:].astype(np.float64)
    decay = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail**2))  # Schroeder
    t5, t25 = np.argmax(decay < -5) / sr, np.argmax(decay < -25) / sr
    assert 3 * (t25 - t5) == pytest.approx(rt60, rel=0.15)  # T20 extrapolated to 60 dB


def test_reverberate_keeps_alignment_and_early_target() -> None:
    sr = 16_000
    x = speech_like(1.0, sr, seed=2)
    delay_only = np.zeros(200, np.float32)
    delay_only[120] = 1.0
    wet, target = degrade.reverberate(x, delay_only, sr)
    np.testing.assert_allclose(wet, x, atol=1e-6)  # pure propagation delay: removed
    np.testing.assert_allclose(target, x, atol=1e-6)

    rir = degrade.synthetic_rir(sr, 0.8, RNG(1), drr_db=0.0)
    wet, target = degrade.reverberate(x, rir, sr)
    assert lag_of(wet, x) == 0 and lag_of(target, x) == 0
    # The target keeps only 50 ms of reflections, so it is closer to the dry speech.
    assert snr_db(x, target / np.dot(target, x) * np.dot(x, x)) > snr_db(
        x, wet / np.dot(wet, x) * np.dot(x, x)) + 3


@pytest.mark.parametrize("method", degrade.BANDWIDTH_METHODS)
@pytest.mark.parametrize(("sample_rate", "cutoff_rate"), [(48_000, 8_000), (44_100, 16_000),
                                                          (32_000, 22_050)])
def test_bandwidth_limit_removes_energy_above_half_the_cutoff(
        method: str, sample_rate: int, cutoff_rate: int) -> None:
    x = (0.1 * RNG(0).standard_normal(sample_rate)).astype(np.float32)
    y = degrade.bandwidth_limit(x, sample_rate, cutoff_rate, method)
    freqs = frequencies_hz(sample_rate)

    def band_db(z: np.ndarray, low: float, high: float) -> float:
        power = 10 ** (spectrogram_db(z, sample_rate) / 10)
        return float(10 * np.log10(power[(freqs >= low) & (freqs < high)].mean()))

    stop, passband = (0.55 * cutoff_rate, sample_rate / 2), (100.0, 0.4 * cutoff_rate)
    assert band_db(y, *stop) < band_db(x, *stop) - 30
    assert band_db(y, *passband) == pytest.approx(band_db(x, *passband), abs=0.5)
    assert lag_of(y, x) == 0


def test_bandwidth_limit_refuses_a_higher_rate_and_unknown_methods() -> None:
    x = speech_like(0.2, 16_000)
    with pytest.raises(ValueError, match="below"):
        degrade.bandwidth_limit(x, 16_000, 16_000)
    with pytest.raises(ValueError, match="unknown"):
        degrade.bandwidth_limit(x, 16_000, 8_000, "sinc")


@pytest.mark.parametrize(("low", "high"), [(0.0, 0.9), (0.05, 0.95), (0.1, 1.0), (0.02, 0.99)])
def test_clip_hits_the_quantiles(low: float, high: float) -> None:
    x = (0.2 * RNG(1).standard_normal(20_000)).astype(np.float32)
    y = degrade.clip(x, low, high)
    floor, ceiling = np.quantile(x, [low, high]).astype(np.float32)
    assert y.min() == pytest.approx(floor) and y.max() == pytest.approx(ceiling)
    assert np.mean(y >= ceiling) == pytest.approx(1 - high, abs=1e-3)
    assert np.mean(y <= floor) == pytest.approx(low, abs=1e-3)
    kept = (x > floor) & (x < ceiling)
    np.testing.assert_array_equal(y[kept], x[kept])


@pytest.mark.parametrize(("codec", "sample_rate"), [
    ("mp3", 8_000), ("mp3", 44_100), ("vorbis", 16_000), ("vorbis", 48_000),
    ("opus", 16_000), ("opus", 48_000), ("opus", 44_100), ("opus", 22_050), ("opus", 32_000)])
def test_codec_output_is_time_aligned(codec: str, sample_rate: int) -> None:
    x = speech_like(1.0, sample_rate, seed=3)
    y = degrade.codec(x, sample_rate, codec, 5)
    assert y.shape == x.shape
    assert lag_of(y, x) == 0
    assert np.corrcoef(x, y)[0, 1] > 0.9


@pytest.mark.parametrize(("codec", "best", "worst"), [("mp3", 0, 9), ("vorbis", 9, -1),
                                                       ("opus", 9, -1)])
def test_codec_quality_scale_runs_from_best_to_worst(codec: str, best: int, worst: int) -> None:
    x = speech_like(1.0, 16_000, seed=4)
    good = snr_db(x, degrade.codec(x, 16_000, codec, best))
    bad = snr_db(x, degrade.codec(x, 16_000, codec, worst))
    assert good > bad + 3
    with pytest.raises(ValueError, match="out of range"):
        degrade.codec(x, 16_000, codec, worst + (1 if worst > best else -1))


def test_codec_adds_no_clipping_to_loud_input() -> None:
    x = 1.6 * speech_like(0.5, 16_000, seed=5) / 0.3
    y = degrade.codec(x, 16_000, "vorbis", 9)
    assert np.max(np.abs(y)) > 1.3


@pytest.mark.parametrize("loss_rate", [0.05, 0.15, 0.25])
@pytest.mark.parametrize("sample_rate", [16_000, 44_100])
def test_packet_loss_zeroes_the_requested_share_of_packets(loss_rate: float,
                                                           sample_rate: int) -> None:
    x = (0.5 + 0.1 * RNG(0).standard_normal(3 * sample_rate)).astype(np.float32)  # no zeros
    y, params = degrade.packet_loss(x, sample_rate, RNG(7), loss_rate, max_burst=9)
    packet = round(0.02 * sample_rate)
    zeroed = [i for i in range(0, len(x), packet) if not np.any(y[i: i + packet])]
    kept = [i for i in range(0, len(x), packet) if np.array_equal(y[i: i + packet],
                                                                  x[i: i + packet])]
    n_packets = -(-len(x) // packet)
    assert len(zeroed) + len(kept) == n_packets  # whole packets only
    assert [i // packet for i in zeroed] == params["lost_packets"]
    assert len(zeroed) == round(loss_rate * n_packets)  # the share, to the nearest packet
    json.dumps(params)


def test_packet_loss_comes_in_bursts() -> None:
    x = np.ones(160 * 2000, np.float32)
    lost = degrade.packet_loss(x, 8_000, RNG(3), 0.25, max_burst=9)[1]["lost_packets"]
    starts = np.flatnonzero(np.diff(lost, prepend=-2) > 1)
    runs = np.diff([*starts, len(lost)])
    assert runs.mean() > 2  # bursts, not isolated packets
    single = degrade.packet_loss(x, 8_000, RNG(3), 0.05, max_burst=1)[1]["lost_packets"]
    assert len(single) == 100


def test_peak_normalise() -> None:
    x = speech_like(0.3, 16_000)
    assert np.max(np.abs(degrade.peak_normalise(x, 0.9))) == pytest.approx(0.9)
    silence = np.zeros(100, np.float32)
    np.testing.assert_array_equal(degrade.peak_normalise(silence), silence)


def _check_ranges(params: dict, sample_rate: int, config: degrade.DegradationConfig) -> None:
    def inside(value: float, bounds: tuple[float, float]) -> bool:
        return bounds[0] <= value <= bounds[1]

    names = params["distortions"]
    assert names[: names.index("noise") + 1] in (["noise"], ["reverb", "noise"])
    assert len(set(names)) == len(names) and len(names) - names.count("reverb") <= 4
    noise = params["noise"]
    assert inside(noise["snr_db"], config.wind_snr_db if noise["kind"] == "wind"
                  else config.snr_db)
    if "reverb" in names:
        assert inside(params["reverb"]["rt60_seconds"], config.rt60_seconds)
    if "bandwidth" in names:
        assert params["bandwidth"]["cutoff_rate"] in URGENT_SAMPLE_RATES
        assert params["bandwidth"]["cutoff_rate"] < sample_rate
        assert params["bandwidth"]["method"] in degrade.BANDWIDTH_METHODS
    if "clipping" in names:
        assert inside(params["clipping"]["low_quantile"], (0.0, 0.1))
        assert inside(params["clipping"]["high_quantile"], (0.9, 1.0))
    if "codec" in names:
        quality = params["codec"]["quality"]
        assert inside(quality, (1, 9) if params["codec"]["codec"] == "mp3" else (-1, 9))
    if "packet_loss" in names:
        assert inside(params["packet_loss"]["loss_rate"], (0.05, 0.25))


def test_simulate_draws_inside_the_urgent_ranges() -> None:
    config = degrade.DegradationConfig()
    sr = 8_000
    x = speech_like(0.6, sr, seed=6)
    counts: Counter[str] = Counter()
    extras: Counter[int] = Counter()
    for seed in range(300):
        degraded, target, params = degrade.simulate(x, sr, RNG(seed), config)
        assert np.max(np.abs(degraded)) == pytest.approx(0.9, rel=1e-5)
        assert target.shape == degraded.shape == x.shape
        _check_ranges(params, sr, config)
        assert json.loads(json.dumps(params)) == params
        counts.update(params["distortions"])
        counts["wind"] += params["noise"]["kind"] == "wind"
        extras[len(params["distortions"]) - 1 - ("reverb" in params["distortions"])] += 1
    assert counts["noise"] == 300 and counts["bandwidth"] == 0  # no URGENT rate below 8 kHz
    assert 120 < counts["reverb"] < 180 and 3 <= counts["wind"] <= 35
    for k, p in enumerate(config.extra_count_probabilities):
        assert extras[k] == pytest.approx(300 * p, abs=30)


def test_noise_probability_below_one_leaves_some_pairs_without_noise() -> None:
    sr = 16_000
    x = speech_like(0.5, sr, seed=8)
    config = degrade.DegradationConfig(noise_probability=0.5)
    noisy = [("noise" in degrade.simulate(x, sr, RNG(seed), config)[2]) for seed in range(60)]
    assert 15 <= sum(noisy) <= 45
    never = degrade.DegradationConfig(noise_probability=0.0, reverb_probability=0.0,
                                      extra_count_probabilities=[1.0])
    degraded, target, params = degrade.simulate(x, sr, RNG(0), never)
    assert params["distortions"] == [] and "noise" not in params
    np.testing.assert_allclose(degraded, target)  # nothing drawn: the pair is clean -> clean


def test_simulate_uses_bandwidth_at_higher_rates_and_is_reproducible() -> None:
    sr = 48_000
    x = speech_like(0.5, sr, seed=7)
    seen: set[str] = set()
    for seed in range(40):
        params = degrade.simulate(x, sr, RNG(seed))[2]
        _check_ranges(params, sr, degrade.DegradationConfig())
        seen.update(params["distortions"])
    assert seen == set(degrade.DISTORTIONS)
    a = degrade.simulate(x, sr, RNG(11))
    b = degrade.simulate(x, sr, RNG(11))
    c = degrade.simulate(x, sr, RNG(12))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert a[2] == b[2] and a[2] != c[2]


def test_simulate_with_forced_distortions_and_given_sources() -> None:
    sr = 16_000
    x = speech_like(0.5, sr, seed=8)
    noise = generate_noise("brown", sr, sr, RNG(0))[0]
    delay_only = np.r_[np.zeros(10), 1.0].astype(np.float32)
    config = degrade.DegradationConfig(wind_probability=0.0)
    _, target, params = degrade.simulate(x, sr, RNG(0), config, noise, delay_only,
                                         distortions=["codec", "noise", "reverb"])
    assert params["distortions"] == ["reverb", "noise", "codec"]
    assert params["noise"]["kind"] == "given" and params["reverb"] == {"rir": "given"}
    clean = degrade.highpass(x, sr)
    np.testing.assert_allclose(target, clean * params["scale"], atol=1e-5)
    only_clipping = degrade.simulate(x, sr, RNG(0), distortions=["clipping"])
    assert only_clipping[2]["distortions"] == ["clipping"] and "noise" not in only_clipping[2]
    with pytest.raises(ValueError, match="distinct names"):
        degrade.simulate(x, sr, RNG(0), distortions=["codec", "codec"])
    with pytest.raises(ValueError, match="distinct names"):
        degrade.simulate(x, sr, RNG(0), distortions=["reverse"])
