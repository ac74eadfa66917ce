"""Paired stimuli weigh the same: what a rater's browser receives for the checks and the
trapping clips tells nothing by its size about the answer (issue 13)."""

from __future__ import annotations

import itertools

import numpy as np

from audio.io import pcm_wav_bytes
from listening_tests import checks
from listening_tests.stimuli import (
    ASSET_SAMPLE_RATE,
    draw_environment_pairs,
    stereo_check,
    trapping_clip,
)
from tests.signals import speech_like


def test_every_stereo_check_has_the_same_size_whichever_digits():
    sizes = {len(pcm_wav_bytes(stereo_check(left, right), ASSET_SAMPLE_RATE))
             for left, right in itertools.permutations(range(10), 2)}
    assert len(sizes) == 1


def test_trapping_clips_last_as_long_whichever_score_they_ask_for():
    clip = speech_like(3.0, 16000, seed=4)
    assert len({len(trapping_clip(clip, 16000, score)) for score in range(1, 6)}) == 1


def test_environment_sides_are_equal_in_size_and_a_same_pair_is_not_byte_identical():
    pairs = draw_environment_pairs(np.random.default_rng(3), 12)
    setup = {"checks": [f"environment-{i}" for i in range(1, 13)], "environment": pairs}
    for i in range(1, len(pairs) + 1):
        a, b = (pcm_wav_bytes(checks.audio(setup, f"environment-{i}", side)[0],
                              ASSET_SAMPLE_RATE) for side in ("a", "b"))
        assert len(a) == len(b)
        assert a != b  # "same" pairs too: a bot comparing bytes learns nothing either
