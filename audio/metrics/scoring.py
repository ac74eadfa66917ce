"""The metric table and scoring of one clip with many metrics, failures kept as NaN.

A metric that cannot score a clip (no speech for PESQ, a length mismatch, a silent file)
gives NaN in its place and a reason, so a batch keeps its shape and every gap is explained
(the torchmetrics batched PESQ path drops such items instead).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from audio.metrics import intrusive, nonintrusive


@dataclass(frozen=True)
class MetricInfo:
    """What a metric column means and which way is better."""

    name: str
    higher_is_better: bool
    intrusive: bool
    unit: str
    description: str


METRICS: dict[str, MetricInfo] = {m.name: m for m in (
    MetricInfo("pesq", True, True, "MOS-LQO", "PESQ: wide-band at 16 kHz and above, "
               "narrow-band at 8 kHz"),
    MetricInfo("estoi", True, True, "", "extended short-time objective intelligibility"),
    MetricInfo("si_sdr", True, True, "dB", "scale-invariant signal-to-distortion ratio"),
    MetricInfo("sdr", True, True, "dB", "BSS-eval SDR, 512-tap distortion filter"),
    MetricInfo("lsd", False, True, "", "log-spectral distance"),
    MetricInfo("mcd", False, True, "dB", "mel-cepstral distortion"),
    MetricInfo("dnsmos_ovrl", True, False, "MOS", "DNSMOS P.835 overall quality"),
    MetricInfo("dnsmos_sig", True, False, "MOS", "DNSMOS P.835 speech signal quality"),
    MetricInfo("dnsmos_bak", True, False, "MOS", "DNSMOS P.835 background noise quality"),
    MetricInfo("dnsmos_p808", True, False, "MOS", "DNSMOS P.808 overall quality"),
    MetricInfo("plcmos", True, False, "MOS", "PLCMOS v2: packet-loss concealment quality"),
)}

#: The columns an evaluation has by default (PLCMOS only where packets were lost).
DEFAULT_METRICS: tuple[str, ...] = tuple(name for name in METRICS if name != "plcmos")

IntrusiveMetric = Callable[..., float]

INTRUSIVE_FUNCTIONS: dict[str, IntrusiveMetric] = {
    "pesq": intrusive.pesq, "estoi": intrusive.estoi, "si_sdr": intrusive.si_sdr,
    "sdr": intrusive.sdr, "lsd": intrusive.lsd, "mcd": intrusive.mcd,
}


@dataclass(frozen=True)
class ClipScores:
    """Scores of one clip: ``values`` has every requested metric (NaN where it failed),
    ``errors`` says why for each NaN, ``seconds`` the wall time each took (the four DNSMOS
    columns come from one model run, timed once under ``"dnsmos"``)."""

    values: dict[str, float]
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _dnsmos_values(estimate: np.ndarray, sample_rate: int, names: Sequence[str]
                   ) -> dict[str, float]:
    scores = nonintrusive.dnsmos(estimate, sample_rate=sample_rate,
                                 p808="dnsmos_p808" in names)
    return {"dnsmos_ovrl": scores.ovrl, "dnsmos_sig": scores.sig, "dnsmos_bak": scores.bak,
            "dnsmos_p808": scores.p808}


def score_clip(estimate: np.ndarray, sample_rate: int, reference: np.ndarray | None = None,
               metrics: Sequence[str] = DEFAULT_METRICS) -> ClipScores:
    """Score one estimate with each of ``metrics``; a metric that fails gives NaN.

    Args:
        estimate: mono (frames,).
        sample_rate: of both signals.
        reference: clean speech of the same length, or None (intrusive metrics then get
            NaN with the reason "no reference").
        metrics: names from :data:`METRICS`.

    Raises:
        ValueError: an unknown metric name (a caller's mistake, not the clip's).
    """
    unknown = [name for name in metrics if name not in METRICS]
    if unknown:
        raise ValueError(f"unknown metrics {', '.join(unknown)}; known: {', '.join(METRICS)}")
    def one(name: str) -> dict[str, float]:
        if name == "plcmos":
            return {name: nonintrusive.plcmos(estimate, sample_rate=sample_rate)}
        if reference is None:
            raise ValueError("no reference")
        return {name: INTRUSIVE_FUNCTIONS[name](estimate, reference, sample_rate=sample_rate)}

    dnsmos_names = [name for name in dict.fromkeys(metrics) if name.startswith("dnsmos_")]
    tasks: list[tuple[list[str], Callable[[], dict[str, float]]]] = [
        ([name], functools.partial(one, name))
        for name in dict.fromkeys(metrics) if name not in dnsmos_names]
    if dnsmos_names:  # one model run gives the three P.835 columns, P.808 only if asked
        tasks.append((dnsmos_names, functools.partial(_dnsmos_values, estimate, sample_rate,
                                                      dnsmos_names)))
    values: dict[str, float] = {}
    errors: dict[str, str] = {}
    seconds: dict[str, float] = {}
    for names, run in tasks:
        started = time.perf_counter()
        try:
            result = run()
            values.update({name: result[name] for name in names})
        except (ValueError, RuntimeError) as exc:
            for name in names:
                values[name], errors[name] = math.nan, str(exc)
        seconds["dnsmos" if names is dnsmos_names else names[0]] = \
            time.perf_counter() - started
    return ClipScores(values={name: values[name] for name in metrics}, errors=errors,
                      seconds=seconds)
