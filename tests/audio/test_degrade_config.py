"""DegradationConfig: strict dict/YAML round trip, and draws within the configured ranges."""

from __future__ import annotations

import numpy as np
import pytest

from audio import degrade
from audio.degrade_config import ConfigError, DegradationConfig
from audio.noise import NOISE_RMS, generate_noise


def test_defaults_round_trip_through_dict_and_yaml(tmp_path) -> None:
    config = DegradationConfig()
    assert DegradationConfig.from_dict(config.to_dict()) == config
    assert degrade.DegradationConfig is DegradationConfig
    path = tmp_path / "d.yaml"
    path.write_text("snr_db: [0, 5]\ncodecs: [mp3]\nhighpass_hz: null\n")
    loaded = DegradationConfig.from_yaml(path)
    assert loaded.snr_db == (0.0, 5.0) and loaded.codecs == ("mp3",)
    assert loaded.highpass_hz is None and loaded.peak == config.peak


@pytest.mark.parametrize(("data", "key", "words"), [
    ({"snr_dB": [0, 1]}, "degradation.snr_dB", "unknown key"),
    ({"reverb_probability": 1.5}, "degradation.reverb_probability", "out of range"),
    ({"wind_probability": -0.1}, "degradation.wind_probability", "out of range"),
    ({"noise_probability": 1.2}, "degradation.noise_probability", "out of range"),
    ({"snr_db": [20, -5]}, "degradation.snr_db", "greater than max"),
    ({"mp3_quality": [3, 10]}, "degradation.mp3_quality", "out of range"),
    ({"ogg_quality": [0.5, 3]}, "degradation.ogg_quality", "integer"),
    ({"codecs": ["aac"]}, "degradation.codecs", "aac"),
    ({"extra_count_probabilities": [0.5, 0.6]}, "degradation.extra_count_probabilities",
     "sum to 1"),
    ({"snr_db": 5}, "degradation.snr_db", "[min, max]"),
    ({"noise_kinds": []}, "degradation.noise_kinds", "non-empty"),
])
def test_bad_values_are_rejected_with_their_key_path(data: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        DegradationConfig.from_dict(data, "degradation")
    assert info.value.key == key and words in str(info.value)
    assert str(info.value).startswith(key + ":")


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ConfigError, match="peak"):
        DegradationConfig(peak=2.0)
    assert DegradationConfig(snr_db=[0, 1]).snr_db == (0.0, 1.0)  # lists become tuples


def test_transients_keep_length_level_and_seed() -> None:
    noise, params = generate_noise("transients", 16_000, 16_000, np.random.default_rng(1))
    again, _ = generate_noise("transients", 16_000, 16_000, np.random.default_rng(1))
    assert noise.shape == (16_000,) and noise.dtype == np.float32
    assert np.isclose(np.sqrt(np.mean(noise**2)), NOISE_RMS, rtol=1e-3)
    assert np.array_equal(noise, again) and params["events"] >= 1


@pytest.mark.parametrize("sample_rate", [8_000, 22_050, 48_000])
def test_simulate_keeps_length_and_draws_within_a_custom_config(sample_rate: int) -> None:
    config = DegradationConfig(
        snr_db=(3.0, 4.0), wind_probability=0.0, reverb_probability=1.0,
        rt60_seconds=(0.3, 0.4), drr_db=(0.0, 1.0), extra_count_probabilities=(0, 0, 0, 0, 1),
        clip_low_quantile=(0.01, 0.02), clip_high_quantile=(0.97, 0.98), codecs=("mp3",),
        mp3_quality=(4, 5), packet_loss_rate=(0.1, 0.12), bandwidth_methods=("fft",),
        noise_kinds=("transients",))
    x = np.sin(np.arange(sample_rate) * 2 * np.pi * 220 / sample_rate).astype(np.float32) * 0.5
    for seed in range(3):
        noisy, clean, p = degrade.simulate(x, sample_rate, np.random.default_rng(seed), config)
        assert noisy.shape == clean.shape == x.shape
        assert p["noise"]["kind"] == "transients" and 3.0 <= p["noise"]["snr_db"] <= 4.0
        assert 0.3 <= p["reverb"]["rt60_seconds"] <= 0.4 and 0.0 <= p["reverb"]["drr_db"] <= 1
        assert 0.01 <= p["clipping"]["low_quantile"] <= 0.02
        assert 0.97 <= p["clipping"]["high_quantile"] <= 0.98
        assert p["codec"] == {"codec": "mp3", "quality": p["codec"]["quality"]}
        assert 4 <= p["codec"]["quality"] <= 5
        assert 0.1 <= p["packet_loss"]["loss_rate"] <= 0.12
        if sample_rate > 8_000:
            assert p["bandwidth"]["method"] == "fft"
            assert p["bandwidth"]["cutoff_rate"] < sample_rate
