"""How well predicted MOS matches human MOS: MSE, LCC, SRCC, KTAU at two levels.

As in the VoiceMOS challenges and URGENT 2026 Track 2: *utterance level* compares each
utterance's prediction with its human MOS; *system level* first averages both per
``system_id`` and compares the means. Correlations are scipy's (Pearson, Spearman,
Kendall tau-b). Lower MSE is better; higher correlations are better.

Predictions travel as ``mos.scp``: one ``<utterance_id> <score>`` line per utterance.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sqa.labels import LabelTable, mean_opinion, system_mean

#: Metric names in report order, with whether higher is better.
METRICS: dict[str, bool] = {"MSE": False, "LCC": True, "SRCC": True, "KTAU": True}


class EvaluationError(ValueError):
    """Predictions and labels cannot be compared; the message says why, for the user."""


class MosScpError(ValueError):
    """A ``mos.scp`` file is malformed; ``problems`` holds ``line N: ...`` strings."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        prefix = f"{source}: " if source else ""
        shown = [prefix + p for p in problems[:20]]
        if len(problems) > 20:
            shown.append(f"{prefix}... and {len(problems) - 20} more problems")
        super().__init__("\n".join(shown))


def _pair(pred: np.ndarray | list[float], true: np.ndarray | list[float]
          ) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=float)
    t = np.asarray(true, dtype=float)
    if p.ndim != 1 or p.shape != t.shape:
        raise ValueError(f"expected two 1-D arrays of one length, got shapes {p.shape} and "
                         f"{t.shape}")
    if p.size == 0:
        raise ValueError("no values to compare")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))):
        raise ValueError("the values contain NaN or infinity")
    return p, t


def mse(pred: np.ndarray | list[float], true: np.ndarray | list[float]) -> float:
    """Mean squared error of ``pred`` against ``true`` (shape (n,) each; lower is better).

    Raises:
        ValueError: shapes differ, arrays are empty, or contain NaN/infinity.
    """
    p, t = _pair(pred, true)
    return float(np.mean((p - t) ** 2))


def _correlation(fn: Callable, pred: np.ndarray | list[float],
                 true: np.ndarray | list[float]) -> float:
    p, t = _pair(pred, true)
    if p.size < 2:
        return math.nan
    with warnings.catch_warnings():
        # constant input: scipy warns and returns NaN, which is what we report
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(fn(p, t)[0])


def lcc(pred: np.ndarray | list[float], true: np.ndarray | list[float]) -> float:
    """Linear (Pearson) correlation coefficient; NaN for fewer than 2 items or constant
    input. Raises ValueError as :func:`mse`."""
    return _correlation(stats.pearsonr, pred, true)


def srcc(pred: np.ndarray | list[float], true: np.ndarray | list[float]) -> float:
    """Spearman rank correlation coefficient; NaN as :func:`lcc`."""
    return _correlation(stats.spearmanr, pred, true)


def ktau(pred: np.ndarray | list[float], true: np.ndarray | list[float]) -> float:
    """Kendall rank correlation (tau-b, scipy's default); NaN as :func:`lcc`."""
    return _correlation(stats.kendalltau, pred, true)


def scores(pred: np.ndarray | list[float], true: np.ndarray | list[float]
           ) -> dict[str, float]:
    """The four metrics of :data:`METRICS` and the item count ``n``."""
    return {"MSE": mse(pred, true), "LCC": lcc(pred, true), "SRCC": srcc(pred, true),
            "KTAU": ktau(pred, true), "n": len(pred)}


def _ids_note(ids: list[str], what: str) -> str:
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    return f"{len(ids)} {what}: {shown}"


def align(pred: pd.Series, labels: LabelTable | pd.DataFrame) -> pd.DataFrame:
    """Predictions beside the human MOS of each utterance.

    Args:
        pred: predicted score indexed by utterance id.
        labels: a label table (ratings are averaged by :func:`sqa.labels.mean_opinion`) or
            its MOS (columns ``utterance_id, system_id, mos``).

    Returns:
        Columns ``utterance_id, system_id, mos, pred``, in label order.

    Raises:
        EvaluationError: labels without a prediction, predictions without a label, NaN
            predictions or MOS, repeated prediction ids.
    """
    mos = labels if "mos" in labels.columns else mean_opinion(labels)
    if pred.index.has_duplicates:
        repeated = sorted(set(pred.index[pred.index.duplicated()].astype(str)))
        raise EvaluationError(_ids_note(repeated, "ids predicted twice"))
    label_ids = mos["utterance_id"].astype(str)
    pred_ids = pd.Index(pred.index.astype(str))
    problems = []
    missing = [i for i in label_ids if i not in pred_ids]
    if missing:
        problems.append(_ids_note(missing, "labelled utterances have no prediction"))
    extra = [i for i in pred_ids if i not in set(label_ids)]
    if extra:
        problems.append(_ids_note(extra, "predictions have no label"))
    if problems:
        raise EvaluationError("; ".join(problems))
    values = pd.Series(pred.to_numpy(dtype=float), index=pred_ids)
    out = pd.DataFrame({"utterance_id": label_ids.to_numpy(),
                        "system_id": mos["system_id"].astype(str).to_numpy(),
                        "mos": mos["mos"].to_numpy(dtype=float),
                        "pred": values.loc[label_ids].to_numpy()})
    for column, what in (("pred", "predictions"), ("mos", "human MOS values")):
        bad = out.loc[~np.isfinite(out[column]), "utterance_id"].tolist()
        if bad:
            raise EvaluationError(_ids_note(bad, f"{what} are NaN or infinite"))
    return out


def evaluate(pred: pd.Series, labels: LabelTable | pd.DataFrame) -> dict[str, dict]:
    """MSE, LCC, SRCC and KTAU at utterance and system level.

    Returns:
        ``{"utterance": {"MSE", "LCC", "SRCC", "KTAU", "n"}, "system": {... same}}``;
        system-level correlations are NaN with fewer than two systems.

    Raises:
        EvaluationError: as :func:`align`.
    """
    pairs = align(pred, labels)
    systems = system_mean(pairs, ["pred", "mos"])
    return {"utterance": scores(pairs["pred"].to_numpy(), pairs["mos"].to_numpy()),
            "system": scores(systems["pred"].to_numpy(), systems["mos"].to_numpy())}


def read_mos_scp(path: str | Path) -> pd.Series:
    """Read ``<id> <score>`` lines (blank lines skipped) into a float Series named ``mos``.

    Raises:
        MosScpError: every malformed line (not two fields, not a finite number, a repeated
            id) with its 1-based line number, or no entries at all.
    """
    path = Path(path)
    if not path.is_file():
        raise MosScpError(["file not found"], str(path))
    ids: list[str] = []
    values: list[float] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            problems.append(f"line {number}: expected '<id> <score>', got '{line.strip()}'")
            continue
        item, text = parts
        try:
            value = float(text)
        except ValueError:
            problems.append(f"line {number}: score '{text}' is not a number")
            continue
        if not math.isfinite(value):
            problems.append(f"line {number}: score '{text}' is not finite")
            continue
        if item in seen:
            problems.append(f"line {number}: id '{item}' already on line {seen[item]}")
            continue
        seen[item] = number
        ids.append(item)
        values.append(value)
    if not problems and not ids:
        problems.append("line 1: no entries")
    if problems:
        raise MosScpError(problems, path.name)
    return pd.Series(values, index=pd.Index(ids, name="utterance_id"), name="mos",
                     dtype=float)


def write_mos_scp(series: pd.Series, path: str | Path) -> None:
    """Write ``<id> <score>`` lines; scores keep full precision (``repr``), so
    :func:`read_mos_scp` gives back the same numbers.

    Raises:
        ValueError: an id is empty or has whitespace, or a score is not finite.
    """
    lines = []
    for item, value in series.items():
        item = str(item)
        if not item or any(ch.isspace() for ch in item):
            raise ValueError(f"id '{item}' cannot be written to mos.scp (empty or whitespace)")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"score of '{item}' is not finite ({value})")
        lines.append(f"{item} {value!r}\n")
    Path(path).write_text("".join(lines), encoding="utf-8")
