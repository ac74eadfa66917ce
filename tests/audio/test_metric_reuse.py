"""Work shared between metrics (the reference's mel-cepstra, 16 kHz copies) is reused only
for the very same audio, and reuse leaves every score as it was."""

from __future__ import annotations

import numpy as np
import pytest

from audio.metrics import intrusive, nonintrusive
from audio.metrics.reuse import at_rate, by_content
from tests.signals import speech_like


def test_results_are_remembered_by_content_not_by_object():
    calls = []

    @by_content(entries=2)
    def double(x: np.ndarray, factor: int) -> np.ndarray:
        calls.append(1)
        return x * factor

    x = np.arange(4.0)
    assert double(x, 2).tolist() == [0, 2, 4, 6]
    assert double(x.copy(), 2).tolist() == [0, 2, 4, 6] and len(calls) == 1  # equal content
    x[0] = 10.0  # changed in place: a new fingerprint, computed afresh
    assert double(x, 2).tolist() == [20, 2, 4, 6] and len(calls) == 2
    assert double(x, 3).tolist() == [30, 3, 6, 9] and len(calls) == 3  # other arguments
    with pytest.raises(ValueError):
        double(x, 2)[0] = 1.0  # shared results are read-only


def test_reused_work_gives_the_same_scores_as_fresh_work():
    rate = 48_000
    ref = speech_like(2.0, rate).astype(np.float32)
    noisy = (ref + 0.05 * np.random.default_rng(1).standard_normal(ref.size)).astype(np.float32)
    fresh = [intrusive.mcd(noisy, ref, sample_rate=rate), intrusive.pesq(
        noisy, ref, sample_rate=rate), nonintrusive.dnsmos(noisy, sample_rate=rate).ovrl]
    again = [intrusive.mcd(noisy, ref, sample_rate=rate), intrusive.pesq(
        noisy, ref, sample_rate=rate), nonintrusive.dnsmos(noisy, sample_rate=rate).ovrl]
    at_rate.cache_clear()
    intrusive._mel_cepstrum.cache_clear()
    cleared = [intrusive.mcd(noisy, ref, sample_rate=rate), intrusive.pesq(
        noisy, ref, sample_rate=rate), nonintrusive.dnsmos(noisy, sample_rate=rate).ovrl]
    assert fresh == again == cleared
