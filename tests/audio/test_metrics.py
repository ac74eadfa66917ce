"""Metrics agree with the reference packages (to 1e-3), behave on hand-computable cases,
and refuse bad inputs with a message."""

from __future__ import annotations

import math
import warnings

import fast_bss_eval
import librosa
import numpy as np
import pesq as pesq_package
import pytest
import soxr
import torch
from fastdtw import fastdtw
from pystoi import stoi
from scipy.spatial import distance
from speechmos import dnsmos as speechmos_dnsmos
from speechmos import plcmos as speechmos_plcmos

from audio import metrics
from audio.metrics import METRICS, score_clip
from tests.se.speech import add_white_noise, make_speech

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysptk imports the deprecated pkg_resources
    import pysptk

TOLERANCE = 1e-3
INTRUSIVE = {"pesq": metrics.pesq, "estoi": metrics.estoi, "si_sdr": metrics.si_sdr,
             "sdr": metrics.sdr, "lsd": metrics.lsd, "mcd": metrics.mcd}


def pair(rate: int, snr_db: float = 5.0, seconds: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    clean = make_speech(rate, seconds)
    return add_white_noise(clean, snr_db), clean


@pytest.mark.parametrize("rate", [8_000, 16_000, 48_000])
def test_pesq_matches_the_pesq_package(rate: int) -> None:
    est, ref = pair(rate)
    if rate == 48_000:  # URGENT resamples with soxr (HQ) to 16 kHz
        expected = pesq_package.pesq(16_000, soxr.resample(ref, rate, 16_000),
                                     soxr.resample(est, rate, 16_000), "wb")
    else:
        expected = pesq_package.pesq(rate, ref, est, "nb" if rate == 8_000 else "wb")
    assert metrics.pesq(est, ref, sample_rate=rate) == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_estoi_matches_pystoi(rate: int) -> None:
    est, ref = pair(rate)
    expected = stoi(ref, est, rate, extended=True)
    assert metrics.estoi(est, ref, sample_rate=rate) == pytest.approx(expected, abs=TOLERANCE)


def _fast_bss_eval_input(x: np.ndarray) -> torch.Tensor:
    # fast_bss_eval's numpy path fails under numpy 2 (np.linalg.solve shapes); its torch
    # path is the same algorithm and still works, so it is the reference here.
    return torch.from_numpy(x.astype(np.float64)[None])


def test_sdr_matches_fast_bss_eval() -> None:
    est, ref = pair(16_000)
    expected = fast_bss_eval.bss_eval_sources(_fast_bss_eval_input(ref),
                                              _fast_bss_eval_input(est),
                                              compute_permutation=False, clamp_db=50.0)[0]
    assert metrics.sdr(est, ref, sample_rate=16_000) == pytest.approx(float(expected[0]),
                                                                      abs=TOLERANCE)


def test_si_sdr_matches_fast_bss_eval() -> None:
    est, ref = pair(16_000)
    expected = fast_bss_eval.si_sdr(_fast_bss_eval_input(ref), _fast_bss_eval_input(est),
                                    zero_mean=True)
    assert metrics.si_sdr(est, ref, sample_rate=16_000) == pytest.approx(float(expected[0]),
                                                                         abs=TOLERANCE)


def urgent_lsd(ref: np.ndarray, inf: np.ndarray, fs: int, eps: float = 1e-8) -> float:
    """URGENT 2025's lsd_metric (librosa STFT, 32 ms / 16 ms, p = 2)."""
    inf = inf * (np.sum(ref * inf) / (np.sum(inf**2) + eps))
    nfft, hop = int(fs * 0.032), int(fs * 0.016)
    ref_spec = np.abs(librosa.stft(ref, hop_length=hop, n_fft=nfft)).T
    inf_spec = np.abs(librosa.stft(inf, hop_length=hop, n_fft=nfft)).T
    lsd = np.log(ref_spec**2 / ((inf_spec + eps) ** 2) + eps) ** 2
    return float(np.mean(np.mean(lsd, axis=1) ** 0.5, axis=0))


@pytest.mark.parametrize("rate", [16_000, 44_100])
def test_lsd_matches_the_urgent_definition(rate: int) -> None:
    est, ref = pair(rate)
    expected = urgent_lsd(ref.astype(np.float64), est.astype(np.float64), rate)
    assert metrics.lsd(est, ref, sample_rate=rate) == pytest.approx(expected, abs=TOLERANCE)


def urgent_mcd(ref: np.ndarray, inf: np.ndarray, order: int, alpha: float,
               eps: float = 1e-8) -> float:
    """URGENT 2025's mcd_metric / ESPnet mcd_utils.calculate, written out with pysptk."""
    inf = inf * (np.sum(ref * inf) / (np.sum(inf**2) + eps))

    def extract(x: np.ndarray) -> np.ndarray:
        win = pysptk.sptk.hamming(1024)
        n_frame = (len(x) - 1024) // 256 + 1
        return np.stack([pysptk.mcep(x[256 * i: 256 * i + 1024] * win, order, alpha,
                                     eps=1e-6, etype=1) for i in range(n_frame)])

    gen, gt = extract(ref), extract(inf)
    _, path = fastdtw(gen, gt, dist=distance.euclidean)
    twf = np.array(path).T
    diff2sum = np.sum((gen[twf[0]] - gt[twf[1]]) ** 2, 1)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2 * diff2sum), 0))


def test_mcd_matches_the_urgent_procedure() -> None:
    est, ref = pair(16_000, seconds=2.0)
    expected = urgent_mcd(ref, est, 23, 0.42)
    assert metrics.mcd(est, ref, sample_rate=16_000) == pytest.approx(expected, abs=TOLERANCE)


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_dnsmos_matches_speechmos(rate: int) -> None:
    est, _ = pair(rate, seconds=9.5)
    at_16k = est if rate == 16_000 else soxr.resample(est, rate, 16_000)
    expected = speechmos_dnsmos.run(np.clip(at_16k, -1, 1), 16_000)
    scores = metrics.dnsmos(est, sample_rate=rate)
    assert scores.ovrl == pytest.approx(expected["ovrl_mos"], abs=TOLERANCE)
    assert scores.sig == pytest.approx(expected["sig_mos"], abs=TOLERANCE)
    assert scores.bak == pytest.approx(expected["bak_mos"], abs=TOLERANCE)
    assert scores.p808 == pytest.approx(expected["p808_mos"], abs=TOLERANCE)


def test_dnsmos_without_p808_gives_the_same_p835_scores() -> None:
    est, _ = pair(16_000, seconds=3.0)
    full = metrics.dnsmos(est, sample_rate=16_000)
    lean = metrics.dnsmos(est, sample_rate=16_000, p808=False)
    assert (lean.ovrl, lean.sig, lean.bak) == (full.ovrl, full.sig, full.bak)
    assert math.isnan(lean.p808) and 1.0 <= full.p808 <= 5.0
    only_ovrl = score_clip(est, 16_000, None, ("dnsmos_ovrl",))
    assert only_ovrl.values == {"dnsmos_ovrl": full.ovrl}


def test_plcmos_matches_speechmos_with_the_same_seed() -> None:
    est, _ = pair(16_000)
    np.random.seed(3)
    expected = speechmos_plcmos.run(est, 16_000)["plcmos"]
    assert metrics.plcmos(est, sample_rate=16_000, seed=3) == pytest.approx(expected,
                                                                            abs=TOLERANCE)


def _orthogonal_noise(ref: np.ndarray, snr_db: float) -> np.ndarray:
    """Zero-mean noise orthogonal to the zero-mean reference, at exactly ``snr_db``."""
    r = ref - ref.mean()
    noise = np.random.default_rng(0).standard_normal(len(ref))
    noise -= noise.mean()
    noise -= np.dot(noise, r) / np.dot(r, r) * r
    return noise * np.sqrt(np.dot(r, r) / np.dot(noise, noise) / 10 ** (snr_db / 10))


def test_si_sdr_and_sdr_of_known_snr() -> None:
    ref = make_speech(16_000, 4.0).astype(np.float64)
    ref -= ref.mean()
    est = ref + _orthogonal_noise(ref, 10.0)
    assert metrics.si_sdr(est, ref, sample_rate=16_000) == pytest.approx(10.0, abs=1e-6)
    # the 512-tap filter absorbs about 512 / 64000 of white noise: 0.03 dB
    assert metrics.sdr(est, ref, sample_rate=16_000) == pytest.approx(10.0, abs=0.1)


def test_scaled_copy_scores_at_the_bounds() -> None:
    ref = make_speech(16_000, 2.0)
    assert metrics.si_sdr(0.5 * ref, ref, sample_rate=16_000) > 99.0
    assert metrics.sdr(0.5 * ref, ref, sample_rate=16_000) == pytest.approx(50.0)
    assert metrics.mcd(0.5 * ref, ref, sample_rate=16_000) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("name", list(INTRUSIVE))
def test_more_noise_scores_worse(name: str) -> None:
    light, ref = pair(16_000, snr_db=20.0)
    heavy = add_white_noise(ref, 0.0)
    better, worse = (INTRUSIVE[name](x, ref, sample_rate=16_000) for x in (light, heavy))
    assert (better > worse) if METRICS[name].higher_is_better else (better < worse)


def test_metric_table_directions() -> None:
    assert {n for n, m in METRICS.items() if not m.higher_is_better} == {"lsd", "mcd"}
    assert {n for n, m in METRICS.items() if m.intrusive} == set(INTRUSIVE)


_EST, _REF = pair(16_000, seconds=1.0)
BAD_PAIRS = [
    (np.zeros_like(_EST), _REF, 16_000, "silent"),
    (_EST[:800], _REF[:800], 16_000, "shorter than"),
    (np.stack([_EST, _EST]), _REF, 16_000, "mono"),
    (_EST, _REF, 96_000, "96000 Hz is outside"),
    (np.where(np.arange(len(_EST)) == 9, np.nan, _EST), _REF, 16_000, "NaN"),
    (_EST, np.where(np.arange(len(_REF)) == 9, np.inf, _REF), 16_000, "infinite"),
    (_EST[:-160], _REF, 16_000, "equally long"),
]


@pytest.mark.parametrize(("est", "ref", "rate", "words"), BAD_PAIRS)
@pytest.mark.parametrize("name", list(INTRUSIVE))
def test_bad_inputs_are_refused(name: str, est: np.ndarray, ref: np.ndarray, rate: int,
                                words: str) -> None:
    with pytest.raises(ValueError, match=words):
        INTRUSIVE[name](est, ref, sample_rate=rate)


@pytest.mark.parametrize(("est", "words"), [(np.zeros_like(_EST), "silent"),
                                            (np.stack([_EST, _EST]), "mono")])
def test_non_intrusive_bad_inputs(est: np.ndarray, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        metrics.dnsmos(est, sample_rate=16_000)


@pytest.mark.parametrize(("name", "words"), [("pesq", "PESQ needs 8000 Hz"),
                                             ("mcd", "MCD has settings for")])
def test_rates_without_a_definition(name: str, words: str) -> None:
    est, ref = pair(11_025, seconds=1.0)
    with pytest.raises(ValueError, match=words):
        INTRUSIVE[name](est, ref, sample_rate=11_025)


def test_estoi_refuses_instead_of_returning_a_fake_score() -> None:
    est, ref = pair(16_000, seconds=0.3)
    with pytest.raises(ValueError, match="too little speech"):
        metrics.estoi(est, ref, sample_rate=16_000)


def test_failures_become_nan_with_a_reason() -> None:
    est, ref = pair(16_000, seconds=2.0)
    scores = score_clip(est[:-1], 16_000, ref, ["pesq", "si_sdr", "dnsmos_ovrl"])
    assert list(scores.values) == ["pesq", "si_sdr", "dnsmos_ovrl"]
    assert math.isnan(scores.values["pesq"]) and math.isnan(scores.values["si_sdr"])
    assert 1.0 <= scores.values["dnsmos_ovrl"] <= 5.0
    assert set(scores.errors) == {"pesq", "si_sdr"}
    assert "equally long" in scores.errors["pesq"]


def test_without_reference_intrusive_metrics_say_so() -> None:
    scores = score_clip(pair(16_000, seconds=1.0)[0], 16_000, None, ["pesq"])
    assert math.isnan(scores.values["pesq"]) and scores.errors == {"pesq": "no reference"}


def test_unknown_metric_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown metrics visqol"):
        score_clip(_EST, 16_000, _REF, ["visqol"])
