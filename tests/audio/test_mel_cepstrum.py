"""The batched mel-cepstral analysis gives SPTK's numbers on real speech, and recovers an
envelope it can represent exactly (the defining property of the analysis)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from audio.io import load_audio
from audio.metrics import mcd
from audio.metrics.intrusive import MCEP_PARAMS
from audio.metrics.mel_cepstrum import mel_cepstrum

DEMO = Path(__file__).resolve().parents[2] / "demo" / "clips"
#: (degraded, clean) demo pairs at three of URGENT's rates
PAIRS = [("u01_en-us_8k_noise-white.flac", "u01_en-us_8k_clean.flac"),
         ("u02_de_16k_clipping.flac", "u02_de_16k_clean.flac"),
         ("u07_nl_48k_noise-brown.flac", "u07_nl_48k_clean.flac")]

#: SPTK and this module do the same arithmetic in a different order: the mel-cepstra agree
#: to rounding, and MCD (dB) to far below anything a table shows.
MCEP_TOLERANCE = 1e-9
MCD_TOLERANCE_DB = 1e-6


def _pysptk():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysptk imports the deprecated pkg_resources
        return pytest.importorskip("pysptk", reason="pysptk (the old SPTK implementation, "
                                                    "requirements-dev.txt) is not installed")


def _frames(x: np.ndarray, window: np.ndarray) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, 1024)[::256] * window


@pytest.mark.parametrize("noisy_name, _clean", PAIRS)
def test_mel_cepstra_equal_sptk_on_real_speech(noisy_name: str, _clean: str) -> None:
    pysptk = _pysptk()
    audio = load_audio(DEMO / noisy_name)
    order, alpha = MCEP_PARAMS[audio.sample_rate]
    frames = _frames(audio.samples.astype(np.float64), pysptk.sptk.hamming(1024))
    expected = np.stack([pysptk.mcep(f, order, alpha, eps=1e-6, etype=1) for f in frames])
    got = mel_cepstrum(frames, order, alpha, eps=1e-6)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=MCEP_TOLERANCE)


def _urgent_mcd(pysptk, ref: np.ndarray, inf: np.ndarray, order: int, alpha: float) -> float:
    """URGENT 2025's mcd_metric, with pysptk as it calls it."""
    from fastdtw import fastdtw
    from scipy.spatial import distance

    inf = inf * (np.sum(ref * inf) / (np.sum(inf**2) + 1e-8))
    window = pysptk.sptk.hamming(1024)

    def extract(x: np.ndarray) -> np.ndarray:
        return np.stack([pysptk.mcep(f, order, alpha, eps=1e-6, etype=1)
                         for f in _frames(x, window)])

    gen, gt = extract(ref), extract(inf)
    _, path = fastdtw(gen, gt, dist=distance.euclidean)
    pairs = np.array(path).T
    diff2 = np.sum((gen[pairs[0]] - gt[pairs[1]]) ** 2, 1)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2 * diff2)))


@pytest.mark.parametrize("noisy_name, clean_name", PAIRS)
def test_mcd_equals_the_sptk_procedure_on_real_clips(noisy_name: str, clean_name: str
                                                     ) -> None:
    pysptk = _pysptk()
    noisy, clean = load_audio(DEMO / noisy_name), load_audio(DEMO / clean_name)
    rate = noisy.sample_rate
    n = min(noisy.samples.size, clean.samples.size)
    est, ref = noisy.samples[:n], clean.samples[:n]
    expected = _urgent_mcd(pysptk, ref.astype(np.float64), est.astype(np.float64),
                           *MCEP_PARAMS[rate])
    got = mcd(est, ref, sample_rate=rate)
    assert got > 1.0  # a degraded clip is measurably far from its clean speech
    assert got == pytest.approx(expected, abs=MCD_TOLERANCE_DB)


@pytest.mark.parametrize("alpha", [0.0, 0.42, 0.55])
def test_an_envelope_of_the_model_order_is_recovered_exactly(alpha: float) -> None:
    """Tokuda et al. (1994): log|H(e^jw)| = sum_m c(m) cos(m beta(w)), beta the all-pass
    warped frequency. A frame whose spectrum is exactly such an |H| minimises the unbiased
    log-spectral criterion at c, so the analysis must return c."""
    order, n_fft = 23, 1024
    m = np.arange(order + 1)
    true = 0.6 * 0.75**m * np.cos(1.3 * m)
    omega = np.linspace(0.0, np.pi, n_fft // 2 + 1)
    beta = omega + 2.0 * np.arctan(alpha * np.sin(omega) / (1.0 - alpha * np.cos(omega)))
    amplitude = np.exp(np.cos(np.outer(beta, m)) @ true)
    frame = np.fft.irfft(amplitude, n_fft)  # zero-phase: its periodogram is amplitude**2
    got = mel_cepstrum(frame[np.newaxis], order, alpha, eps=0.0)[0]
    np.testing.assert_allclose(got, true, rtol=0, atol=1e-9)


def test_frames_are_analysed_independently() -> None:
    rng = np.random.default_rng(0)
    frames = rng.normal(size=(5, 1024)) * np.hamming(1024)
    together = mel_cepstrum(frames, 23, 0.42)
    one_by_one = np.stack([mel_cepstrum(f[np.newaxis], 23, 0.42)[0] for f in frames])
    np.testing.assert_allclose(together, one_by_one, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", [(1000,), (3, 1000), (2, 2)])
def test_frames_of_the_wrong_shape_are_refused(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match="frames"):
        mel_cepstrum(np.ones(shape), 23, 0.42)


def test_a_silent_frame_without_a_floor_is_refused() -> None:
    with pytest.raises(ValueError, match="eps > 0"):
        mel_cepstrum(np.zeros((1, 1024)), 23, 0.42, eps=0.0)
