"""The metric groups a corpus can be scored with, behind one interface.

A group computes several columns of a file's row from the decoded waveform (each file is
decoded once for all groups). ``basic`` (duration, rate, bandwidth, levels, clipping) is
always computed; the others are chosen by ``--metrics``. :data:`GROUPS` is the registry.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from curation import signals

#: The shipped quality model (``sqa/``), used by the ``sqa`` group unless told otherwise.
DEFAULT_SQA_MODEL = str(Path(__file__).resolve().parents[1] / "checkpoints" / "sqa" / "pretrained")
#: Monte-Carlo dropout passes for the quality model's spread (as the library's scoring).
MC_SAMPLES = 8
#: The stretch of a clip the spread is measured on (the MOS uses the whole clip).
SPREAD_SECONDS = 10.0


class MetricGroup(Protocol):
    """Columns computed together from one decoded clip."""

    name: str
    columns: tuple[str, ...]
    description: str

    def compute(self, samples: np.ndarray, sample_rate: int, *, sqa_model: str
                ) -> dict[str, float]:
        """Values of :attr:`columns`; raises ValueError (or RuntimeError) with a reason."""
        ...


@dataclass(frozen=True)
class _Group:
    name: str
    columns: tuple[str, ...]
    description: str

    def compute(self, samples: np.ndarray, sample_rate: int, *, sqa_model: str
                ) -> dict[str, float]:
        return _COMPUTE[self.name](samples, sample_rate, sqa_model)


def _basic(x: np.ndarray, rate: int, _model: str) -> dict[str, float]:
    bandwidth = signals.effective_bandwidth_hz(x, rate)
    rms, peak = signals.levels_dbfs(x)
    return {"bandwidth_hz": bandwidth,
            "bandwidth_rate": float(signals.bandwidth_rate(bandwidth, rate)),
            "bandwidth_ratio": bandwidth / (rate / 2),
            "rms_dbfs": rms, "peak_dbfs": peak,
            "clipping_ratio": signals.clipping_ratio(x)}


def _vad(x: np.ndarray, rate: int, _model: str) -> dict[str, float]:
    return {"speech_ratio": signals.speech_ratio(x, rate)}


def _snr(x: np.ndarray, _rate: int, _model: str) -> dict[str, float]:
    return {"snr_db": signals.wada_snr_db(x)}


def _dnsmos(x: np.ndarray, rate: int, _model: str) -> dict[str, float]:
    from audio.metrics import dnsmos

    s = dnsmos(x, sample_rate=rate)
    return {"dnsmos_sig": s.sig, "dnsmos_bak": s.bak, "dnsmos_ovrl": s.ovrl,
            "dnsmos_p808": s.p808}


def _plcmos(x: np.ndarray, rate: int, _model: str) -> dict[str, float]:
    from audio.metrics import plcmos

    return {"plcmos": plcmos(x, sample_rate=rate)}


@functools.lru_cache(maxsize=2)
def _sqa_models(path: str):
    """The quality model and a copy of it for dropout sampling, loaded once per process."""
    from sqa.predict import load_predictor

    model = load_predictor(path)
    return model, copy.deepcopy(model)


def _sqa(x: np.ndarray, rate: int, model_path: str) -> dict[str, float]:
    import torch
    from torch import nn

    from sqa.features import log_mel
    from sqa.predict import predict_features

    model, sampler = _sqa_models(model_path)
    feats = log_mel(x, rate, model.feature_config())
    mos = predict_features(model, feats)
    # Monte-Carlo dropout, as library.quality_scoring does for the library: dropout left on,
    # each pass a different thinned network; the spread is the std of MC_SAMPLES passes.
    size = model.feature_config().frames(SPREAD_SECONDS)
    batch = torch.from_numpy(np.ascontiguousarray(feats[:size]))[None].repeat(MC_SAMPLES, 1, 1)
    sampler.eval()
    for module in sampler.modules():
        if isinstance(module, (nn.Dropout, nn.TransformerEncoderLayer, nn.MultiheadAttention)):
            module.train()
    torch.manual_seed(0)
    with torch.no_grad():
        draws = sampler(batch)["mos"].cpu().numpy().astype(float)
    sampler.eval()
    if not np.isfinite(mos):
        raise ValueError("the prediction is not finite")
    return {"sqa_mos": float(mos), "sqa_spread": float(np.std(draws, ddof=1))}


_COMPUTE = {"basic": _basic, "vad": _vad, "snr": _snr, "dnsmos": _dnsmos,
            "plcmos": _plcmos, "sqa": _sqa}

GROUPS: dict[str, MetricGroup] = {
    "basic": _Group("basic", ("bandwidth_hz", "bandwidth_rate", "bandwidth_ratio", "rms_dbfs",
                              "peak_dbfs", "clipping_ratio"),
                    "effective bandwidth (URGENT estimate), its rate and its share of the "
                    "file's Nyquist band, RMS and peak level, clipping ratio"),
    "vad": _Group("vad", ("speech_ratio",), "share of 30 ms frames WebRTC VAD (mode 2) calls "
                                             "speech"),
    "snr": _Group("snr", ("snr_db",), "WADA-SNR estimate in dB"),
    "dnsmos": _Group("dnsmos", ("dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl", "dnsmos_p808"),
                     "DNSMOS P.835 SIG/BAK/OVRL and P.808 (speechmos)"),
    "plcmos": _Group("plcmos", ("plcmos",), "PLCMOS v2 (speechmos)"),
    "sqa": _Group("sqa", ("sqa_mos", "sqa_spread"),
                  "MOS of our quality model and its MC-dropout spread"),
}

#: Columns every row has whatever the groups: what the file is.
FILE_COLUMNS = ("id", "source", "path", "duration_s", "sample_rate")
#: Groups computed when ``--metrics`` is not given.
DEFAULT_GROUPS = tuple(GROUPS)


def parse_groups(text: str | None) -> tuple[str, ...]:
    """``"vad,dnsmos"`` -> ("basic", "vad", "dnsmos") in registry order; ``all`` or None for
    every group.

    Raises:
        ValueError: an unknown group, naming the known ones.
    """
    if text is None or text.strip() in ("", "all"):
        return DEFAULT_GROUPS
    asked = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in asked if t not in GROUPS]
    if unknown:
        raise ValueError(f"unknown metrics {', '.join(unknown)}; choose from "
                         f"{', '.join(GROUPS)} (or all)")
    return tuple(g for g in GROUPS if g == "basic" or g in asked)


def metric_columns(groups: tuple[str, ...] = DEFAULT_GROUPS) -> list[str]:
    """The value columns of ``groups``, in order."""
    return [c for g in groups for c in GROUPS[g].columns]


def error_column(group: str) -> str:
    """The column holding a group's failure reason ("" when it succeeded)."""
    return f"error_{group}"
