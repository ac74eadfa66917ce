"""Non-intrusive metrics: a model predicts quality from the estimate alone.

DNSMOS P.835 (SIG, BAK, OVRL) and P.808 MOS, and PLCMOS, use the ONNX models that ship
inside ``speechmos`` (no download at run time). The models take 16 kHz audio; other rates
are resampled with soxr HQ. Sessions load once and are reused.

DNSMOS dominates the cost of scoring (its P.835 network is about half a second of
convolutions per 9 s window, and a clip shorter than 9 s is repeated until it fills at least
one window, so a 2.2 s clip becomes 17.6 s: eight windows). The windows are therefore run
here one per ONNX call on single-threaded sessions, spread over a pool with one thread per
core: every caller shares the pool, so concurrent requests never oversubscribe the cores,
and one clip's windows still use all of them (in the app's scoring worker processes, one per
core already, they run in the worker's own thread). The numbers are speechmos's: the same windows,
the same features, the same averaging.
"""

from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from audio.metrics.inputs import check_signal
from audio.metrics.reuse import at_rate

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
        x = at_rate(x, sample_rate, MODEL_SAMPLE_RATE)
    return np.clip(x, -1.0, 1.0)


#: DNSMOS window length in seconds and hop between windows (speechmos / Microsoft's script).
DNSMOS_WINDOW_SECONDS = 9.01

_model_lock = threading.Lock()


def _single_thread_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@functools.cache
def _window_pool() -> ThreadPoolExecutor:
    """One ONNX run at a time per core, shared by every caller."""
    return ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1),
                              thread_name_prefix="dnsmos")


#: True in a process that is itself one of a pool of one-per-core workers
#: (:mod:`audio.metrics.workers`): there, a clip's windows run one after another.
_windows_in_caller = False


def run_windows_in_caller() -> None:
    """Score DNSMOS windows in the calling thread from now on, in this process: for worker
    processes that are already one per core, where a window pool would only oversubscribe."""
    global _windows_in_caller
    _windows_in_caller = True


def _dnsmos_model() -> Any:
    """speechmos's DNSMOS (its features and polynomial mapping) with single-threaded P.835
    and P.808 sessions, built once (under a lock: two first requests build it once)."""
    with _model_lock:
        return _build_dnsmos_model()


@functools.cache
def _build_dnsmos_model() -> Any:
    from speechmos import dnsmos

    models = Path(dnsmos.__file__).parent / "dnsmos_models"
    model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
    model.primary_model_path = str(models / "sig_bak_ovr.onnx")
    model.onnx_sess = _single_thread_session(models / "sig_bak_ovr.onnx")
    model.p808_onnx_sess = _single_thread_session(models / "model_v8.onnx")
    return model


def warm_up() -> None:
    """Build the DNSMOS sessions and run each model once (the first call also imports
    librosa and compiles its kernels: seconds a person would otherwise wait on first use)."""
    silence = np.zeros(MODEL_SAMPLE_RATE, dtype=np.float32)
    silence[::100] = 0.01
    dnsmos(silence, sample_rate=MODEL_SAMPLE_RATE)


@functools.cache
def _plcmos_model() -> Any:
    """speechmos's PLCMOS v2 session, built once."""
    from speechmos import plcmos

    return plcmos.PLCMOS()


def dnsmos(estimate: np.ndarray, *, sample_rate: int, p808: bool = True) -> DnsmosScores:
    """DNSMOS P.835 and P.808 of one clip (Microsoft's models, as ``speechmos`` runs them:
    9 s windows a second apart, clips shorter than 9 s repeated to fill one).

    With ``p808=False`` the P.808 model and its mel features are skipped (an eighth of the
    cost) and ``p808`` is NaN; the P.835 scores are the same either way.

    Raises:
        ValueError: see :func:`audio.metrics.inputs.check_signal`.
    """
    model = _dnsmos_model()
    audio = _at_model_rate(estimate, sample_rate)
    window = int(DNSMOS_WINDOW_SECONDS * MODEL_SAMPLE_RATE)
    while len(audio) < window:  # speechmos repeats a short clip by doubling it
        audio = np.append(audio, audio)
    hops = int(np.floor(len(audio) / MODEL_SAMPLE_RATE) - DNSMOS_WINDOW_SECONDS) + 1
    # bounds computed as speechmos does: the end's float rounding varies with the index
    bounds = [(int(i * MODEL_SAMPLE_RATE),
               int((i + DNSMOS_WINDOW_SECONDS) * MODEL_SAMPLE_RATE)) for i in range(hops)]
    bounds = [(a, b) for a, b in bounds if len(audio[a:b]) >= window]

    def one_window(bound: tuple[int, int]) -> tuple[float, float, float, float]:
        segment = audio[bound[0]:bound[1]]
        p808_mos = math.nan
        if p808:
            features = np.array(model.audio_melspec(audio=segment[:-160])).astype("float32")
            p808_mos = model.p808_onnx_sess.run(None, {"input_1": features[np.newaxis]}
                                                )[0][0][0]
        sig, bak, ovr = model.onnx_sess.run(
            None, {"input_1": segment.astype("float32")[np.newaxis]})[0][0]
        sig, bak, ovr = model.get_polyfit_val(sig, bak, ovr, False)
        return sig, bak, ovr, p808_mos

    results = list(map(one_window, bounds) if _windows_in_caller
                   else _window_pool().map(one_window, bounds))
    return DnsmosScores(ovrl=float(np.mean([r[2] for r in results])),
                        sig=float(np.mean([r[0] for r in results])),
                        bak=float(np.mean([r[1] for r in results])),
                        p808=float(np.mean([r[3] for r in results])))


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
