"""Pseudo-labels for pretraining: objective metrics and a pseudo-MOS, as an URGENT CSV.

Before any human has rated anything, the quality model can still learn what degradations
do to speech from metrics that run offline: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 on the
degraded clip, PESQ and ESTOI against its clean reference. The ``score`` column is a
pseudo-MOS: the weighted mean of some of these (by default DNSMOS OVRL, DNSMOS P.808 and
PESQ, each on a MOS-like 1-4.6 scale), clipped to 1-5, over the metrics a clip has (a metric
that fails on a clip is NaN and left out of its mean, never dropped silently).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from audio.metrics import score_clip
from sqa.conditions import Condition
from sqa.pretrain_config import PSEUDO_METRICS

#: Dataset name of pretraining rows (a per-dataset bias keeps it apart from human labels).
PSEUDO_DATASET = "synthetic_pseudo"


def pseudo_mos(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Weighted mean of the finite ``values`` named in ``weights``, clipped to [1, 5]; NaN
    when none is finite."""
    pairs = [(values[k], w) for k, w in weights.items()
             if w > 0 and k in values and math.isfinite(values[k])]
    if not pairs:
        return math.nan
    mean = sum(v * w for v, w in pairs) / sum(w for _, w in pairs)
    return float(np.clip(mean, 1.0, 5.0))


def metric_scorer(weights: Mapping[str, float], *, workers: bool = False):
    """A :data:`sqa.synthetic_data.Scorer` giving every :data:`PSEUDO_METRICS` column and
    ``score``; with ``workers``, scored on :mod:`audio.metrics.workers`' single-threaded
    processes (one per core), the same values."""
    if workers:
        from audio.metrics.workers import score_clip_in_workers as scorer
    else:
        scorer = score_clip

    def score(condition: Condition, degraded: np.ndarray, reference: np.ndarray
              ) -> dict[str, float]:
        values = scorer(degraded, condition.sample_rate, reference, PSEUDO_METRICS).values
        return {**values, "score": pseudo_mos(values, weights)}
    return score


def write_label_csv(records: Sequence[Mapping[str, Any]], path: str | Path,
                    metrics: Sequence[str] = PSEUDO_METRICS,
                    dataset: str = PSEUDO_DATASET) -> Path:
    """Write the URGENT Track 2 CSV (``wav_path, system_id, sample_id, score``, ``dataset``
    and the metric columns; NaN is an empty cell). Rows without a finite score are left
    out: a label file cannot hold them (they are counted by the caller).

    Returns:
        ``path``.
    """
    path = Path(path)
    columns = ["wav_path", "system_id", "sample_id", "score", "dataset", *metrics]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for record in records:
            if not math.isfinite(record["score"]):
                continue
            row = {**record, "dataset": dataset}
            writer.writerow([_cell(row.get(c, math.nan)) for c in columns])
    return path


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:.4f}"
    return str(value)
