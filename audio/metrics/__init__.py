"""Objective speech-quality metrics of the URGENT challenge that run offline.

Each metric is a pure function ``(estimate, reference, *, sample_rate) -> float``
(non-intrusive ones take no reference) that checks its inputs and raises ValueError with a
message meant for the user. :data:`METRICS` says which way each one is better;
:func:`score_clip` runs many at once and turns failures into NaN with a reason.
"""

from audio.metrics.inputs import check_pair, check_signal
from audio.metrics.intrusive import estoi, lsd, mcd, pesq, sdr, si_sdr
from audio.metrics.nonintrusive import DnsmosScores, dnsmos, plcmos
from audio.metrics.scoring import (
    DEFAULT_METRICS,
    METRICS,
    ClipScores,
    MetricInfo,
    score_clip,
)

__all__ = [
    "DEFAULT_METRICS",
    "METRICS",
    "ClipScores",
    "DnsmosScores",
    "MetricInfo",
    "check_pair",
    "check_signal",
    "dnsmos",
    "estoi",
    "lsd",
    "mcd",
    "pesq",
    "plcmos",
    "score_clip",
    "sdr",
    "si_sdr",
]
