"""Non-intrusive metrics: a model predicts quality from the estimate alone.

DNSMOS P.835 (SIG, BAK, OVRL) and P.808 MOS, and PLCMOS, run through ``speechmos``, whose
ONNX models ship inside the package (no download at run time). The models take 16 kHz
audio; other rates are resampled with soxr HQ. Sessions load once and are reused.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audio.metrics.inputs import check_signal
from audio.resample import resample

#: The only rate the speechmos models take.
MODEL_SAMPLE_RATE = 16_000

#: PLCMOS averages its prediction over this many random rater embeddings.
PLCMOS_RATER_DRAWS = 15


@dataclass(frozen=True)
class DnsmosScores:
    """DNSMOS P.835 on a 1-5 scale (higher is better): speech signal (``sig``), background
    (``bak``), overall (``ovrl``), and the P.808 overall MOS (``p808``)."""

    ovrl: float
    sig: float
    bak: float
    p808: float


def _at_model_rate(estimate: np.ndarray, sample_rate: int) -> np.ndarray:
    """Checked mono at 16 kHz within [-1, 1] (the models refuse anything else; a resampler
    can overshoot a full-scale input by a hair)."""
    x = check_signal(estimate, sample_rate, role="estimate")
    if sample_rate != MODEL_SAMPLE_RATE:
        x = resample(x, sample_rate, MODEL_SAMPLE_RATE)
    return np.clip(x, -1.0, 1.0)


@functools.cache
def _dnsmos_model() -> Any:
    """speechmos's DNSMOS with the P.835 and P.808 sessions, built once."""
    from speechmos import dnsmos

    models = Path(dnsmos.__file__).parent / "dnsmos_models"
    return dnsmos.DNSMOS(str(models / "sig_bak_ovr.onnx"), str(models / "model_v8.onnx"))


@functools.cache
def _plcmos_model() -> Any:
    """speechmos's PLCMOS v2 session, built once."""
    from speechmos import plcmos

    return plcmos.PLCMOS()


def dnsmos(estimate: np.ndarray, *, sample_rate: int) -> DnsmosScores:
    """DNSMOS P.835 and P.808 of one clip (Microsoft's models, as ``speechmos`` runs them:
    9 s windows a second apart, clips shorter than 9 s repeated to fill one).

    Raises:
        ValueError: see :func:`audio.metrics.inputs.check_signal`.
    """
    scores = _dnsmos_model()(_at_model_rate(estimate, sample_rate), MODEL_SAMPLE_RATE, False)
    return DnsmosScores(ovrl=float(scores["ovrl_mos"]), sig=float(scores["sig_mos"]),
                        bak=float(scores["bak_mos"]), p808=float(scores["p808_mos"]))


def plcmos(estimate: np.ndarray, *, sample_rate: int, seed: int = 0) -> float:
    """PLCMOS v2 (1-5, higher is better): quality of packet-loss concealment.

    It applies where packets were lost and concealed (the URGENT packet-loss distortion);
    on other audio it is a general quality guess it was not trained for. speechmos draws
    the rater embeddings from numpy's global generator; here they come from ``seed``, so the
    score is reproducible (``np.random.seed(seed)`` before ``speechmos.plcmos.run`` gives
    the same number).
    """
    model = _plcmos_model()
    features = np.float32(model.stft_transform(_at_model_rate(estimate, sample_rate)))
    features = features[np.newaxis, np.newaxis, ...]
    draws = np.random.RandomState(seed)
    total = 0.0
    for _ in range(PLCMOS_RATER_DRAWS):
        rater = draws.normal(size=(1, 64)).astype(np.float32)
        output = model.session.run(None, {"degraded_audio": features, "rater_embed": rater})
        total += float(np.asarray(output[0]).reshape(-1)[0])
    return total / PLCMOS_RATER_DRAWS
