"""The shipped spoken assets and the check sounds made from them."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from audio.tts import espeak_version
from listening_tests import checks
from listening_tests.make_assets import assets_wanted, make_assets
from listening_tests.spec import ChecksSpec
from listening_tests.stimuli import (
    ASSETS_DIR,
    asset,
    draw_environment_pairs,
    environment_sample,
    stereo_check,
    trap_prompt,
    trapping_clip,
)


def test_assets_are_small_mono_16_bit_flac():
    files = sorted(ASSETS_DIR.glob("*.flac"))
    assert {f.stem for f in files} == set(assets_wanted())
    assert sum(f.stat().st_size for f in files) < 300_000
    for path in files:
        info = sf.info(str(path))
        assert (info.channels, info.samplerate, info.subtype) == (1, 16000, "PCM_16"), path


@pytest.mark.skipif(espeak_version() != "1.51", reason="the assets were made by espeak-ng 1.51")
def test_the_script_remakes_the_committed_assets(tmp_path):
    for path in make_assets(tmp_path):
        made, _ = sf.read(str(path))
        shipped, _ = sf.read(str(ASSETS_DIR / path.name))
        np.testing.assert_array_equal(made, shipped)


def test_stereo_check_puts_one_digit_in_each_ear():
    sound = stereo_check(3, 7)
    assert sound.shape[0] == 2
    left_active = np.flatnonzero(np.abs(sound[0]) > 0.01)
    right_active = np.flatnonzero(np.abs(sound[1]) > 0.01)
    assert left_active.max() < right_active.min()  # left first, then right
    digit = asset("digit-3")
    start = int(np.flatnonzero(np.abs(sound[0]) > 0)[0])
    first = int(np.flatnonzero(digit)[0])
    np.testing.assert_array_equal(sound[0, start: start + 100], digit[first: first + 100])


def test_environment_pairs_have_one_same_pair_and_a_noisier_side():
    pairs = draw_environment_pairs(np.random.default_rng(5))
    assert sorted(p["expected"] for p in pairs).count("same") == 1
    for pair in pairs:
        a, b = environment_sample(pair, "a"), environment_sample(pair, "b")
        if pair["expected"] == "same":
            np.testing.assert_array_equal(a, b)
            continue
        clean = asset("speech")
        noisy, quiet = (a, b) if pair["expected"] == "A" else (b, a)
        np.testing.assert_array_equal(quiet, clean)
        residual = noisy - clean
        snr = 10 * np.log10(np.mean(clean**2) / np.mean(residual**2))
        assert 15 < snr < 40


def test_trapping_clip_is_the_clip_start_then_the_request():
    rate = 48_000
    clip = (0.3 * np.sin(np.arange(5 * rate) * 0.05)).astype(np.float32)
    trap = trapping_clip(clip, rate, 4)
    prompt = trap_prompt(4, rate)
    assert len(trap) == 2 * rate + round(0.5 * rate) + len(prompt)
    gain = trap[1000] / clip[1000]  # the whole clip may be scaled down to stay below 0.95
    np.testing.assert_allclose(trap[: rate], gain * clip[: rate], atol=1e-6)
    assert np.max(np.abs(trap)) <= 0.95 + 1e-6
    with pytest.raises(ValueError, match=r"score 1\.\.5"):
        trap_prompt(6, rate)


def test_setup_draws_and_grades():
    rng = np.random.default_rng(0)
    setup = checks.draw_setup(ChecksSpec(volume=False), ask_qualification=False, rng=rng)
    assert setup["checks"] == ["stereo", "environment-1", "environment-2", "environment-3",
                               "environment-4"]
    left, right = setup["stereo"]["left"], setup["stereo"]["right"]
    assert left != right
    assert checks.grade(setup, "stereo", {"left": left, "right": str(right)}) == (
        {"left": str(left), "right": str(right)}, True)
    assert checks.grade(setup, "stereo", {"left": right, "right": left})[1] is False
    audio, rate = checks.audio(setup, "environment-2", "b")
    assert rate == 16000 and audio.ndim == 1
