"""Rank many systems from pairwise answers: Bradley-Terry, bootstrap intervals, pair selection.

The Bradley-Terry model says system i beats system j with probability
``s_i / (s_i + s_j) = sigmoid(b_i - b_j)`` where ``b = log s``. It is fitted with Hunter's MM
algorithm (Hunter 2004, "MM algorithms for generalized Bradley-Terry models", eq. 3): each step
sets ``s_i = W_i / sum_j n_ij / (s_i + s_j)`` with W_i the wins of i and n_ij the comparisons of
i and j, which increases the likelihood every step and needs no step size.

The plain maximum-likelihood fit does not exist when a system never loses (its strength runs to
infinity) or never wins, which is the usual state of a ranking test after its first answers. A
weak prior fixes that: every system gets ``prior_strength`` virtual wins and as many virtual
losses against a virtual average opponent of fixed strength 1 (log-strength 0). That is a
Beta-like pull of each system towards the average, worth ``2 * prior_strength`` comparisons,
which real answers quickly outweigh; it also ties the scale, so the fit converges for any
answers, even disconnected ones.

Answers come in the A/B answers table of :mod:`listening_tests.comparison_stats`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from listening_tests.comparison_stats import (
    TieRule,
    answer_systems,
    comparison_answers,
    win_matrix,
)

__all__ = ["BTResult", "bootstrap_bradley_terry", "bradley_terry", "next_pairs"]


@dataclass(frozen=True)
class BTResult:
    """A Bradley-Terry fit.

    Attributes:
        systems: System labels, in the order of the win matrix.
        log_strengths: Log-strengths b, shape (n_systems,), shifted to mean zero; system i beats
            j with probability ``1 / (1 + exp(b_j - b_i))``.
        iterations: MM steps taken.
        converged: Whether the largest change of b fell below the tolerance.
    """

    systems: tuple[str, ...]
    log_strengths: np.ndarray
    iterations: int
    converged: bool

    def win_probability(self, a: str, b: str) -> float:
        """Probability that system ``a`` beats system ``b`` under the fit."""
        i, j = self.systems.index(a), self.systems.index(b)
        return float(1.0 / (1.0 + np.exp(self.log_strengths[j] - self.log_strengths[i])))


def _as_matrix(wins: np.ndarray | pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(wins, pd.DataFrame):
        if list(wins.index) != list(wins.columns):
            raise ValueError(
                "the win matrix needs the same systems, in the same order, as rows and columns"
            )
        labels = tuple(str(s) for s in wins.index)
        m = wins.to_numpy(dtype=float)
    else:
        m = np.asarray(wins, dtype=float)
        labels = tuple(str(i) for i in range(m.shape[0])) if m.ndim == 2 else ()
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"the win matrix must be square, got shape {m.shape}")
    if not np.isfinite(m).all() or (m < 0).any():
        raise ValueError("win counts must be finite and non-negative")
    m = m.copy()
    np.fill_diagonal(m, 0.0)
    return m, labels


def bradley_terry(
    wins: np.ndarray | pd.DataFrame,
    *,
    prior_strength: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-10,
) -> BTResult:
    """Fit Bradley-Terry strengths to a win matrix by MM with a weak prior.

    Args:
        wins: Square matrix, ``wins[i, j]`` = times i beat j (halves allowed for split ties);
            a frame gives the labels (see :func:`~listening_tests.comparison_stats.win_matrix`).
            The diagonal is ignored.
        prior_strength: Virtual wins and, as many, losses of each system against a virtual
            opponent of log-strength 0 (see the module docstring). 0 gives the plain
            maximum-likelihood fit, which exists only if every system has a win and a loss and
            the comparisons connect the systems in both directions.
        max_iter: Most MM steps.
        tol: Stop when no log-strength moves by more than this in one step.

    Returns:
        The fit, log-strengths shifted to mean zero.

    Raises:
        ValueError: If the matrix is not square, has negative or non-finite counts, the prior
            is negative, or with prior 0 a system has no win or no loss.
    """
    m, labels = _as_matrix(wins)
    if prior_strength < 0 or not np.isfinite(prior_strength):
        raise ValueError(f"prior_strength must be finite and >= 0, got {prior_strength!r}")
    k = m.shape[0]
    if k == 0:
        return BTResult(systems=(), log_strengths=np.zeros(0), iterations=0, converged=True)
    won = m.sum(axis=1) + prior_strength
    if prior_strength == 0 and ((won == 0).any() or (m.sum(axis=0) == 0).any()):
        raise ValueError(
            "without a prior every system needs a win and a loss; the maximum-"
            "likelihood strengths are infinite otherwise"
        )
    n = m + m.T
    s = np.ones(k)
    b = np.zeros(k)
    converged, steps = False, 0
    while steps < max_iter:
        steps += 1
        denom = (n / (s[:, None] + s[None, :])).sum(axis=1) + 2 * prior_strength / (s + 1.0)
        with np.errstate(divide="ignore"):
            s_new = won / denom
        if prior_strength == 0:
            s_new = s_new / np.exp(np.log(s_new).mean())  # the scale is free without a prior
        b_new = np.log(s_new)
        delta = float(np.max(np.abs(b_new - b)))
        s, b = s_new, b_new
        if delta < tol:
            converged = True
            break
    return BTResult(
        systems=labels, log_strengths=b - b.mean(), iterations=steps, converged=converged
    )


def _codes(kept: pd.DataFrame, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Index of the first-played and second-played system of each answer."""
    index = {s: i for i, s in enumerate(labels)}
    return (
        kept["system_a"].map(index).to_numpy(dtype=int),
        kept["system_b"].map(index).to_numpy(dtype=int),
    )


def bootstrap_bradley_terry(
    answers: pd.DataFrame,
    n_boot: int = 500,
    rng: np.random.Generator | None = None,
    *,
    systems: Sequence[str] | None = None,
    prior_strength: float = 1.0,
    min_comparisons: int = 20,
    tie_rule: TieRule = "split",
    max_iter: int = 1000,
    tol: float = 1e-8,
) -> pd.DataFrame:
    """Bradley-Terry ranking with percentile-bootstrap 95 % intervals.

    Answers (not raters or pairs) are resampled with replacement, the model refitted on each
    resample, and the 2.5 and 97.5 percentiles of each log-strength taken. The prior keeps every
    refit finite, even where a resample leaves a system unbeaten. A system with fewer than
    ``min_comparisons`` answers is flagged preliminary: its strength is still mostly prior.

    Args:
        answers: The A/B answers table.
        n_boot: Bootstrap resamples.
        rng: Source of the resamples; required, so results repeat.
        systems: Systems to rank, including any without answers; defaults to those answered.
        prior_strength: Passed to :func:`bradley_terry`.
        min_comparisons: Fewest answers for a system not to be preliminary.
        tie_rule: How :func:`~listening_tests.comparison_stats.win_matrix` counts ties.
        max_iter: Passed to :func:`bradley_terry`.
        tol: Passed to :func:`bradley_terry`; looser than its default since the bootstrap
            spread dwarfs it.

    Returns:
        One row per system, best first, with columns system, strength (mean-zero log-strength
        of the full data), ci_low, ci_high, rank (1 = best, equal strengths share the lower
        rank), n_comparisons and preliminary.

    Raises:
        ValueError: If ``rng`` is missing or ``n_boot`` < 1, or as :func:`win_matrix`.
    """
    if rng is None:
        raise ValueError("bootstrap_bradley_terry needs an explicit rng so results repeat")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    kept = comparison_answers(answers)
    labels = answer_systems(kept) if systems is None else list(systems)
    full = win_matrix(kept, labels, tie_rule=tie_rule)
    fit = bradley_terry(full, prior_strength=prior_strength, max_iter=max_iter, tol=tol)
    a, b = _codes(kept, labels)
    choice = kept["choice"].to_numpy()
    k = len(labels)
    # Per answer: the weight it adds to (a beats b) and to (b beats a).
    w_ab = np.where(choice == "a", 1.0, 0.0)
    w_ba = np.where(choice == "b", 1.0, 0.0)
    if tie_rule == "split":
        w_ab = w_ab + np.where(choice == "none", 0.5, 0.0)
        w_ba = w_ba + np.where(choice == "none", 0.5, 0.0)
    boots = np.empty((n_boot, k))
    for r in range(n_boot):
        pick = rng.integers(0, len(kept), size=len(kept)) if len(kept) else np.zeros(0, int)
        m = np.zeros((k, k))
        np.add.at(m, (a[pick], b[pick]), w_ab[pick])
        np.add.at(m, (b[pick], a[pick]), w_ba[pick])
        boots[r] = bradley_terry(
            m, prior_strength=prior_strength, max_iter=max_iter, tol=tol
        ).log_strengths
    n_comp = np.bincount(a, minlength=k) + np.bincount(b, minlength=k)
    out = pd.DataFrame(
        {
            "system": labels,
            "strength": fit.log_strengths,
            "ci_low": np.percentile(boots, 2.5, axis=0),
            "ci_high": np.percentile(boots, 97.5, axis=0),
            "n_comparisons": n_comp.astype(int),
        }
    )
    out["rank"] = out["strength"].rank(ascending=False, method="min").astype(int)
    out["preliminary"] = (out["n_comparisons"] < min_comparisons).to_numpy(dtype=bool)
    out = out.sort_values(["rank", "system"], kind="stable").reset_index(drop=True)
    columns = ["system", "strength", "ci_low", "ci_high", "rank", "n_comparisons", "preliminary"]
    return out.loc[:, columns]


def next_pairs(
    answers: pd.DataFrame,
    systems: Sequence[str],
    k: int,
    rng: np.random.Generator,
    *,
    prior_strength: float = 1.0,
) -> list[tuple[str, str]]:
    """Choose the next ``k`` pairs to ask about: the least certain, least sampled ones.

    Each unordered pair scores ``p (1 - p) / sqrt(1 + n_pair)``, with p the Bradley-Terry
    probability that one beats the other (fitted with the prior, so it is 0.5 before any answer)
    and n_pair the answers the pair already has. ``p (1 - p)`` is the variance of the next
    answer, largest for evenly matched systems, whose order is what the ranking is least sure of;
    the ``sqrt(1 + n_pair)`` divisor moves votes on to pairs not yet asked, so a pair that looks
    even only because nobody has compared it is asked first, and a truly even pair cannot swallow
    every vote. Pairs are taken greedily: after each pick its n_pair grows by one, so with ``k``
    above the number of pairs the pairs repeat in turn. Equal scores are broken at random, and
    each pair comes back in random order, to be played as (first, second).

    Args:
        answers: The A/B answers table so far (may be empty); answers naming systems outside
            ``systems`` are ignored.
        systems: The systems under test; at least two, distinct.
        k: Number of pairs to return.
        rng: Source of the tie-breaking and the presentation order.

    Returns:
        ``k`` pairs of two different systems.

    Raises:
        ValueError: If fewer than two distinct systems are given, or ``k`` < 0.
    """
    labels = list(dict.fromkeys(systems))
    if len(labels) < 2 or len(labels) != len(systems):
        raise ValueError("next_pairs needs at least two distinct systems")
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    if len(answers):
        kept = comparison_answers(answers)
        inside = kept["system_a"].isin(labels) & kept["system_b"].isin(labels)
        kept = kept.loc[inside]
    else:
        kept = pd.DataFrame({c: pd.Series(dtype=object) for c in ("system_a", "system_b")})
        kept["choice"] = pd.Series(dtype=object)
    fit = bradley_terry(win_matrix(kept, labels), prior_strength=prior_strength)
    a, b = _codes(kept, labels)
    counts = np.zeros((len(labels), len(labels)))
    np.add.at(counts, (a, b), 1.0)
    counts = counts + counts.T
    pairs = list(itertools.combinations(range(len(labels)), 2))
    i_idx = np.array([p[0] for p in pairs])
    j_idx = np.array([p[1] for p in pairs])
    p_win = 1.0 / (1.0 + np.exp(fit.log_strengths[j_idx] - fit.log_strengths[i_idx]))
    spread = p_win * (1.0 - p_win)
    n_pair = counts[i_idx, j_idx]
    tie_break = rng.permutation(len(pairs))
    chosen: list[tuple[str, str]] = []
    for _ in range(k):
        score = spread / np.sqrt(1.0 + n_pair)
        # Highest score first; among equal scores (to rounding), the lowest random key.
        best = np.flatnonzero(np.isclose(score, score.max(), rtol=1e-12, atol=0.0))
        pick = best[np.argmin(tie_break[best])]
        n_pair[pick] += 1.0
        x, y = labels[i_idx[pick]], labels[j_idx[pick]]
        chosen.append((y, x) if rng.random() < 0.5 else (x, y))
    return chosen
