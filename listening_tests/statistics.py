"""MOS statistics over crowd votes: summaries, confidence intervals, significance, reliability.

Every function here takes the votes table: one row per answer with at least the columns
``clip``, ``condition`` (the system or condition the clip belongs to), ``rater``, ``score`` and
the boolean flags ``is_gold``, ``is_trap``, ``accepted`` and ``used``. Statistics use only the
rows that :func:`rating_votes` keeps (accepted and used sessions, rating questions only), so the
app, the exports and the significance tests agree on which votes count.

Intervals: ``ci95`` is the half-width from the t-distribution, right for the small vote counts of
crowd tests; ``ci95_normal`` is ITU-T P.808's own ``1.96 * std / sqrt(n)``, kept so that the
P.808-format exports match the toolkit on the same votes.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from listening_tests.votes import VOTE_COLUMNS, check_votes, rating_votes

__all__ = [
    "MosSummary",
    "holm_correction",
    "mos_summary",
    "normal_ci95",
    "p808_inter_rater_reliability",
    "pairwise_differences",
    "per_clip",
    "per_condition",
    "rater_reliability",
    "rating_votes",
    "split_half_reliability",
    "t_ci95",
]

SUMMARY_COLUMNS: tuple[str, ...] = ("n", "mos", "std", "ci95", "ci95_normal")
NORMAL_Z95 = 1.96  # P.808's result parser uses this constant, not norm.ppf(0.975).


@dataclass(frozen=True)
class MosSummary:
    """Mean opinion score of one set of votes.

    Attributes:
        n: Number of votes.
        mos: Mean score.
        std: Sample standard deviation (ddof=1); NaN for a single vote.
        ci95: Half-width of the 95 % confidence interval from the t-distribution; NaN for n=1.
    """

    n: int
    mos: float
    std: float
    ci95: float

    @property
    def ci95_normal(self) -> float:
        """P.808's normal-approximation half-width ``1.96 * std / sqrt(n)``."""
        return NORMAL_Z95 * self.std / np.sqrt(self.n)


def t_ci95(std: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """Half-width of the t-based 95 % interval, NaN where n < 2.

    Args:
        std: Sample standard deviations.
        n: Vote counts, same shape as ``std``.
    """
    std_arr = np.asarray(std, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    quantile = stats.t.ppf(0.975, np.maximum(n_arr - 1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        half = quantile * std_arr / np.sqrt(n_arr)
    return np.where(n_arr >= 2, half, np.nan)


def normal_ci95(std: np.ndarray | float, n: np.ndarray | float) -> np.ndarray:
    """P.808's normal-approximation half-width ``1.96 * std / sqrt(n)``, NaN where n < 2."""
    std_arr = np.asarray(std, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = NORMAL_Z95 * std_arr / np.sqrt(n_arr)
    return np.where(n_arr >= 2, half, np.nan)


def mos_summary(scores: Sequence[float] | np.ndarray) -> MosSummary:
    """Summarise a set of votes as MOS, std and t-based 95 % CI.

    Args:
        scores: The votes, any 1-D sequence of numbers.

    Raises:
        ValueError: If there are no votes or a vote is NaN.
    """
    arr = np.asarray(scores, dtype=float).ravel()
    if arr.size == 0:
        raise ValueError("mos_summary needs at least one vote")
    if np.isnan(arr).any():
        raise ValueError("mos_summary got a NaN vote")
    n = int(arr.size)
    std = float(arr.std(ddof=1)) if n > 1 else float("nan")
    return MosSummary(n=n, mos=float(arr.mean()), std=std, ci95=float(t_ci95(std, n)))


def _summaries(votes: pd.DataFrame, by: str) -> pd.DataFrame:
    grouped = votes.groupby(by, sort=True)["score"]
    out = pd.DataFrame({"n": grouped.size(), "mos": grouped.mean(), "std": grouped.std(ddof=1)})
    out["n"] = out["n"].astype(int)
    out["ci95"] = t_ci95(out["std"].to_numpy(), out["n"].to_numpy())
    out["ci95_normal"] = normal_ci95(out["std"].to_numpy(), out["n"].to_numpy())
    out.index.name = by
    return out.loc[:, list(SUMMARY_COLUMNS)]


def per_clip(votes: pd.DataFrame) -> pd.DataFrame:
    """MOS per clip over rating votes.

    Returns:
        Frame indexed by ``clip``, sorted, with columns n, mos, std, ci95, ci95_normal; std and
        both intervals are NaN for a clip with one vote.
    """
    return _summaries(rating_votes(votes), "clip")


def per_condition(votes: pd.DataFrame, by: str = "condition") -> pd.DataFrame:
    """MOS per condition, pooling all votes of the condition's clips (n = votes, not clips).

    Pooling votes rather than averaging clip MOS is what P.808's result parser does, so the
    numbers match its ``votes_per_cond`` file.

    Args:
        votes: The votes table.
        by: The column that names the condition.

    Returns:
        Frame indexed by ``by`` with columns n, mos, std, ci95, ci95_normal.
    """
    check_votes(votes, (*VOTE_COLUMNS, by))
    return _summaries(rating_votes(votes), by)


def holm_correction(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of p-values for multiple comparisons.

    The i-th smallest of m p-values becomes ``max_{j<=i} min(1, (m - j + 1) * p_(j))``, which
    keeps the adjusted values in the same order as the raw ones. NaN p-values stay NaN and do
    not count towards m.

    Raises:
        ValueError: If a p-value lies outside [0, 1].
    """
    p = np.asarray(pvalues, dtype=float).ravel()
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    if valid.size == 0:
        return out
    if (p[valid] < 0).any() or (p[valid] > 1).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = valid[np.argsort(p[valid], kind="stable")]
    m = order.size
    scaled = (m - np.arange(m)) * p[order]
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


def pairwise_differences(
    votes: pd.DataFrame, by: str = "condition", alpha: float = 0.05
) -> pd.DataFrame:
    """Compare every pair of conditions with Welch's t-test, Holm-corrected.

    Welch's test does not assume equal variances, which crowd votes of different systems rarely
    have; Holm controls the family-wise error over all pairs without Bonferroni's loss of power.

    Args:
        votes: The votes table.
        by: The column that names the condition.
        alpha: Family-wise significance level.

    Returns:
        One row per pair (a, b) in sorted order with columns a, b, n_a, n_b, mos_a, mos_b,
        diff (mos_a - mos_b), t, p, p_holm, significant. p is NaN where a side has fewer than
        two votes; such rows are never significant. Two constant, different sides give
        scipy's t = ±inf and p = 0.
    """
    check_votes(votes, (*VOTE_COLUMNS, by))
    kept = rating_votes(votes)
    groups = {key: g["score"].to_numpy() for key, g in kept.groupby(by, sort=True)}
    rows = []
    for a, b in itertools.combinations(groups, 2):
        x, y = groups[a], groups[b]
        t_stat, p_value = float("nan"), float("nan")
        if x.size >= 2 and y.size >= 2:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                res = stats.ttest_ind(x, y, equal_var=False)
            t_stat, p_value = float(res.statistic), float(res.pvalue)
        rows.append(
            {
                "a": a,
                "b": b,
                "n_a": int(x.size),
                "n_b": int(y.size),
                "mos_a": float(x.mean()),
                "mos_b": float(y.mean()),
                "diff": float(x.mean() - y.mean()),
                "t": t_stat,
                "p": p_value,
            }
        )
    columns = ["a", "b", "n_a", "n_b", "mos_a", "mos_b", "diff", "t", "p"]
    out = pd.DataFrame(rows, columns=columns)
    out["p_holm"] = holm_correction(out["p"].to_numpy(dtype=float))
    out["significant"] = (out["p_holm"] < alpha).to_numpy(dtype=bool)
    return out


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r, NaN when fewer than two points or either side is constant."""
    if x.size < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def rater_reliability(votes: pd.DataFrame) -> pd.DataFrame:
    """Correlate each rater's votes with the clip MOS of the other raters.

    Leaving the rater out of the clip MOS keeps a rater from agreeing with themself, which
    inflates r when clips have few votes. A rater who inverts the scale gets a strongly
    negative r; one who answers at random gets r near 0.

    Returns:
        Frame indexed by ``rater`` with columns n_votes (rating votes), n_paired (votes on clips
        that other raters also rated) and r (NaN where fewer than two pairs or no spread).
    """
    kept = rating_votes(votes)
    by_clip = kept.groupby("clip")["score"]
    by_rater_clip = kept.groupby(["rater", "clip"])["score"]
    others_n = by_clip.transform("size") - by_rater_clip.transform("size")
    others_sum = by_clip.transform("sum") - by_rater_clip.transform("sum")
    with np.errstate(invalid="ignore", divide="ignore"):
        kept["others_mos"] = np.where(others_n > 0, others_sum / others_n, np.nan)
    rows = {}
    for rater, g in kept.groupby("rater", sort=True):
        paired = g.dropna(subset=["others_mos"])
        rows[rater] = {
            "n_votes": len(g),
            "n_paired": len(paired),
            "r": _pearson(paired["score"].to_numpy(), paired["others_mos"].to_numpy()),
        }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["n_votes", "n_paired", "r"])
    out = out.astype({"n_votes": int, "n_paired": int, "r": float})
    out.index.name = "rater"
    return out


P808_MIN_CLIP_VOTES = 3  # P.808 correlates on clips with at least this many votes


def p808_inter_rater_reliability(votes: pd.DataFrame) -> pd.DataFrame:
    """ITU-T P.808's inter-rater reliability: each rater against the clip MOS, self included.

    As P.808's result parser computes it (``calc_inter_rater_reliability``): the rater's mean
    vote per clip is correlated (Pearson) with the clip MOS over all used rating votes, the
    rater's own included, on the clips with at least three votes. It reads higher than
    :func:`rater_reliability`'s leave-one-out r on clips with few votes, which is why P.808's
    ``rater_min_irr`` thresholds belong to this number and not to that one.

    Returns:
        Frame indexed by ``rater`` with columns n_samples (clips correlated) and irr (NaN
        where P.808 writes -2: fewer than two clips, or no spread on either side).
    """
    kept = rating_votes(votes)
    by_clip = kept.groupby("clip")["score"]
    counts = by_clip.size()
    clip_mos = by_clip.mean()[counts >= P808_MIN_CLIP_VOTES]
    rows = {}
    for rater, g in kept.groupby("rater", sort=True):
        own = g.groupby("clip")["score"].mean()
        shared = own.index.intersection(clip_mos.index)
        x = own.loc[shared].to_numpy(dtype=float)
        y = clip_mos.loc[shared].to_numpy(dtype=float)
        rows[rater] = {"n_samples": len(shared), "irr": _pearson(x, y)}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["n_samples", "irr"])
    out = out.astype({"n_samples": int, "irr": float})
    out.index.name = "rater"
    return out


def split_half_reliability(
    votes: pd.DataFrame,
    rng: np.random.Generator,
    n_splits: int = 200,
    by: str = "condition",
) -> float:
    """Split-half reliability of the condition MOS, Spearman-Brown corrected.

    Raters (not votes) are split at random into two halves, so a rater's habits stay on one
    side; the condition MOS of the halves are correlated, the correlation is averaged over
    splits and stepped up with Spearman-Brown (``2r / (1 + r)``) to the reliability of the full
    panel. Near 1 means another panel of the same size would rank the conditions the same way.

    The correlations are averaged before the step-up rather than after it: ``2r / (1 + r)`` is
    unbounded below as r approaches -1, so averaging corrected values lets one unlucky split
    dominate when the raters agree little. Where they agree well both orders give the same
    number.

    Args:
        votes: The votes table.
        rng: Source of the random splits.
        n_splits: Number of random splits to average.
        by: The column that names the condition.

    Returns:
        The corrected reliability from the splits where r is defined (at least two conditions
        rated in both halves, both sides with spread), in [-1, 1]; NaN when none is, or when
        the halves disagree so much (mean r below -1/3) that the step-up would leave
        [-1, 1]: the two halves rank the conditions in opposite orders, and no reliability
        can be claimed.
    """
    check_votes(votes, (*VOTE_COLUMNS, by))
    kept = rating_votes(votes)
    rater_codes, raters = pd.factorize(kept["rater"])
    cond_codes, conds = pd.factorize(kept[by])
    scores = kept["score"].to_numpy()
    n_raters, n_conds = len(raters), len(conds)
    if n_raters < 2 or n_conds < 2:
        return float("nan")
    correlations = []
    for _ in range(n_splits):
        half = np.zeros(n_raters, dtype=bool)
        half[rng.permutation(n_raters)[: n_raters // 2]] = True
        in_a = half[rater_codes]
        means = []
        for side in (in_a, ~in_a):
            counts = np.bincount(cond_codes[side], minlength=n_conds)
            sums = np.bincount(cond_codes[side], weights=scores[side], minlength=n_conds)
            with np.errstate(invalid="ignore", divide="ignore"):
                means.append(sums / counts)
        both = ~np.isnan(means[0]) & ~np.isnan(means[1])
        r = _pearson(means[0][both], means[1][both])
        if not np.isnan(r):
            correlations.append(r)
    if not correlations:
        return float("nan")
    mean_r = float(np.mean(correlations))
    if mean_r < -1.0 / 3.0:  # 2r / (1 + r) would fall below -1: no reliability to report
        return float("nan")
    return 2.0 * mean_r / (1.0 + mean_r)
