"""Statistics of comparison tests: CCR/CMOS (ITU-T P.808) and blind A/B preference.

CCR: each item pairs a processed clip with its reference, played in a random order that is
stored with the vote. P.808 plays sample A, then sample B, and asks for the quality of the
*second* compared with the *first* on the 7-point comparison scale (-3 much worse, -2 worse,
-1 slightly worse, 0 about the same, +1 slightly better, +2 better, +3 much better). The stored
score is sign-corrected to "processed versus reference" (see :func:`sign_corrected`), so a
positive CMOS means raters preferred the processed clip to its reference. The CCR votes table
is the ordinary votes table of :mod:`listening_tests.votes` with the corrected score in
``score``; :func:`cmos_per_system` filters it through
:func:`~listening_tests.votes.rating_votes`, like every MOS statistic.

A/B: the answers table has one row per answer with the columns ``system_a`` (the system played
first), ``system_b`` (played second) and ``choice``, one of ``"a"``, ``"b"`` or ``"none"`` (no
preference), case-insensitive. If it carries any of the flags ``is_gold``, ``is_trap``,
``accepted`` and ``used`` it must carry all four, and only accepted, used rating answers count;
a table without flags is taken as already filtered.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from listening_tests.statistics import holm_correction, normal_ci95, t_ci95
from listening_tests.votes import FLAG_COLUMNS, check_votes, rating_votes, vote_flag

__all__ = [
    "ANSWER_COLUMNS",
    "CCR_MAX",
    "CHOICES",
    "PreferenceResult",
    "answer_systems",
    "cmos_per_system",
    "comparison_answers",
    "pairwise_preferences",
    "preference",
    "sign_corrected",
    "sign_corrected_scores",
    "win_matrix",
]

CCR_MAX = 3
ANSWER_COLUMNS: tuple[str, ...] = ("system_a", "system_b", "choice")
CHOICES: tuple[str, ...] = ("a", "b", "none")
TieRule = Literal["split", "drop"]
CiMethod = Literal["exact", "wilson"]


def sign_corrected(score: int, processed_first: bool) -> int:
    """Turn a CCR answer into the processed-versus-reference score.

    The rater always answers "the second sample compared with the first" (P.808's question). If
    the reference played first, the answer already rates processed against reference; if the
    processed clip played first, the answer rates the reference against the processed clip and
    its sign flips. Randomising the order and correcting afterwards cancels the bias raters have
    towards the sample they heard last.

    Args:
        score: The answer on -3..3 (+3: the second sample is much better than the first).
        processed_first: Whether the processed clip was played first (sample A).

    Returns:
        The score of the processed clip compared with its reference, on -3..3.

    Raises:
        ValueError: If ``score`` is not an integer in -3..3.
    """
    if isinstance(score, bool) or int(score) != score or not -CCR_MAX <= score <= CCR_MAX:
        raise ValueError(f"a CCR score must be an integer in -3..3, got {score!r}")
    return -int(score) if processed_first else int(score)


def sign_corrected_scores(
    scores: Sequence[int] | np.ndarray, processed_first: Sequence[bool] | np.ndarray
) -> np.ndarray:
    """Vectorised :func:`sign_corrected` for a whole column of answers.

    Raises:
        ValueError: If the shapes differ or a score is not an integer in -3..3.
    """
    s = np.asarray(scores, dtype=float).ravel()
    first = np.asarray(processed_first, dtype=bool).ravel()
    if s.shape != first.shape:
        raise ValueError(f"{s.size} scores but {first.size} order flags")
    if np.isnan(s).any() or (s != np.round(s)).any() or (np.abs(s) > CCR_MAX).any():
        raise ValueError("CCR scores must be integers in -3..3")
    return np.where(first, -s, s).astype(int)


def cmos_per_system(votes: pd.DataFrame, by: str = "condition") -> pd.DataFrame:
    """Comparison mean opinion score per system, with intervals and a test against 0.

    Votes pool over the system's clips (n = votes), as P.808 does for ACR conditions. The
    one-sample t-test asks whether the system differs from its reference at all, which is the
    question a CCR test is run to answer.

    Args:
        votes: The votes table with sign-corrected scores (processed versus reference).
        by: The column that names the system.

    Returns:
        Frame indexed by ``by``, sorted, with columns n, cmos, std (ddof=1), ci95 (t-based
        half-width), ci95_normal (P.808's ``1.96 * std / sqrt(n)``) and p_value (two-sided,
        scipy's ``ttest_1samp`` against 0). std, both intervals and p are NaN for one vote; p is
        NaN when all votes are equal to 0 and 0 when all are equal to some other value.

    Raises:
        ValueError: If a column is missing or a kept score lies outside -3..3.
    """
    check_votes(votes, (*FLAG_COLUMNS, "score", by))
    kept = rating_votes(votes)
    if (kept["score"].abs() > CCR_MAX).any():
        raise ValueError("CCR scores must lie in -3..3; were they sign-corrected twice?")
    grouped = kept.groupby(by, sort=True)["score"]
    out = pd.DataFrame({"n": grouped.size(), "cmos": grouped.mean(), "std": grouped.std(ddof=1)})
    out["n"] = out["n"].astype(int)
    out["ci95"] = t_ci95(out["std"].to_numpy(), out["n"].to_numpy())
    out["ci95_normal"] = normal_ci95(out["std"].to_numpy(), out["n"].to_numpy())
    out["p_value"] = [_one_sample_p(g.to_numpy()) for _, g in grouped]
    out.index.name = by
    return out.loc[:, ["n", "cmos", "std", "ci95", "ci95_normal", "p_value"]]


def _one_sample_p(x: np.ndarray) -> float:
    if x.size < 2:
        return float("nan")
    if np.ptp(x) == 0:
        return float("nan") if x[0] == 0 else 0.0
    return float(stats.ttest_1samp(x, 0.0).pvalue)


@dataclass(frozen=True)
class PreferenceResult:
    """Share of answers preferring A, with its 95 % interval and exact binomial test.

    Attributes:
        share: Preference share of A (ties counted per the tie rule); NaN when n is 0.
        ci_low: Lower end of the 95 % interval of the share.
        ci_high: Upper end of the 95 % interval of the share.
        p_value: Two-sided exact binomial test of share = 0.5.
        n: Number of answers the test uses (ties included under "split", excluded under "drop").
    """

    share: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def preference(
    wins_a: int,
    wins_b: int,
    ties: int = 0,
    *,
    tie_rule: TieRule = "drop",
    ci_method: CiMethod = "exact",
) -> PreferenceResult:
    """Preference share of A over B with a binomial 95 % interval and an exact test.

    Tie rules: "drop" (default) ignores "no preference" answers, which makes the test the
    classic sign test and the share read "of the raters who heard a difference". "split" counts
    each tie as half a win for each side, which pulls the share towards 0.5 and costs power.
    The exact test needs whole counts, so an odd number of split ties rounds A's count towards
    n/2 (never making the result more significant); the share itself keeps the half.

    The interval is Clopper-Pearson ("exact", default): it inverts the exact binomial test and
    never covers less than 95 %, so a preference is never overstated at the few dozen answers
    of a crowd test. Wilson ("wilson") is narrower with coverage near 95 % on average.

    Args:
        wins_a: Answers preferring A.
        wins_b: Answers preferring B.
        ties: "No preference" answers.
        tie_rule: "drop" or "split", see above.
        ci_method: "exact" (Clopper-Pearson) or "wilson", passed to scipy's
            ``BinomTestResult.proportion_ci``.

    Returns:
        The result; all NaN with n = 0 when no answer counts.

    Raises:
        ValueError: If a count is negative or not whole, or a rule or method is unknown.
    """
    for name, value in (("wins_a", wins_a), ("wins_b", wins_b), ("ties", ties)):
        if int(value) != value or value < 0:
            raise ValueError(f"{name} must be a non-negative whole count, got {value!r}")
    if tie_rule not in ("split", "drop"):
        raise ValueError(f"tie_rule must be 'split' or 'drop', got {tie_rule!r}")
    if ci_method not in ("exact", "wilson"):
        raise ValueError(f"ci_method must be 'exact' or 'wilson', got {ci_method!r}")
    a, b, t = int(wins_a), int(wins_b), int(ties)
    if tie_rule == "drop":
        t = 0
    n = a + b + t
    if n == 0:
        nan = float("nan")
        return PreferenceResult(share=nan, ci_low=nan, ci_high=nan, p_value=nan, n=0)
    share = (a + t / 2) / n
    k = a + t // 2 + (t % 2 if a < b else 0)  # odd split tie rounds towards n/2
    res = stats.binomtest(k, n, 0.5, alternative="two-sided")
    ci = res.proportion_ci(confidence_level=0.95, method=ci_method)
    return PreferenceResult(
        share=float(share),
        ci_low=float(ci.low),
        ci_high=float(ci.high),
        p_value=float(res.pvalue),
        n=n,
    )


def comparison_answers(answers: pd.DataFrame) -> pd.DataFrame:
    """Check an A/B answers table and keep the answers that count.

    Returns:
        A copy with ``choice`` lower-cased, filtered by the flags when the table has them.

    Raises:
        ValueError: If a column is missing, only some flags are present, a choice is unknown or
            a row pairs a system with itself.
    """
    check_votes(answers, ANSWER_COLUMNS)
    present = [c for c in FLAG_COLUMNS if c in answers.columns]
    kept = answers
    if present:
        check_votes(answers, FLAG_COLUMNS)
        keep = (
            vote_flag(answers, "accepted")
            & vote_flag(answers, "used")
            & ~vote_flag(answers, "is_gold")
            & ~vote_flag(answers, "is_trap")
        )
        kept = answers.loc[keep]
    kept = kept.copy()
    kept["choice"] = kept["choice"].astype(str).str.strip().str.lower()
    unknown = sorted(set(kept["choice"]) - set(CHOICES))
    if unknown:
        raise ValueError(f"unknown A/B choices {unknown}; expected one of {list(CHOICES)}")
    if (kept["system_a"] == kept["system_b"]).any():
        raise ValueError("an A/B answer pairs a system with itself")
    return kept


def answer_systems(answers: pd.DataFrame) -> list[str]:
    """The sorted systems that appear on either side of the answers."""
    return sorted(set(answers["system_a"]).union(answers["system_b"]))


def win_matrix(
    answers: pd.DataFrame,
    systems: Sequence[str] | None = None,
    *,
    tie_rule: TieRule = "split",
) -> pd.DataFrame:
    """Count who beat whom: rows are winners, columns losers.

    Under "split" (default) a "no preference" answer adds half a win to both cells of the pair,
    the usual Bradley-Terry treatment of ties, so the matrix keeps every answer and
    ``m + m.T`` counts comparisons; under "drop" ties are left out. Presentation order does not
    matter here: a win is a win whether the system played first or second.

    Args:
        answers: The A/B answers table (see the module docstring).
        systems: Row and column labels, in this order; defaults to the systems in the answers.
            Systems without answers get zero rows and columns.
        tie_rule: "split" or "drop".

    Returns:
        Square float frame; the diagonal is 0.

    Raises:
        ValueError: As :func:`comparison_answers`, or if an answer names a system not in
            ``systems``.
    """
    if tie_rule not in ("split", "drop"):
        raise ValueError(f"tie_rule must be 'split' or 'drop', got {tie_rule!r}")
    kept = comparison_answers(answers)
    labels = answer_systems(kept) if systems is None else list(systems)
    index = {s: i for i, s in enumerate(labels)}
    missing = sorted(set(answer_systems(kept)) - set(index))
    if missing:
        raise ValueError(f"answers name systems {missing} that are not in systems")
    a = kept["system_a"].map(index).to_numpy(dtype=int)
    b = kept["system_b"].map(index).to_numpy(dtype=int)
    choice = kept["choice"].to_numpy()
    m = np.zeros((len(labels), len(labels)))
    np.add.at(m, (a[choice == "a"], b[choice == "a"]), 1.0)
    np.add.at(m, (b[choice == "b"], a[choice == "b"]), 1.0)
    if tie_rule == "split":
        tie = choice == "none"
        np.add.at(m, (a[tie], b[tie]), 0.5)
        np.add.at(m, (b[tie], a[tie]), 0.5)
    out = pd.DataFrame(m, index=pd.Index(labels, name="winner"), columns=labels)
    out.columns.name = "loser"
    return out


def pairwise_preferences(
    answers: pd.DataFrame,
    *,
    tie_rule: TieRule = "drop",
    ci_method: CiMethod = "exact",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Preference of every compared pair of systems, Holm-corrected over the pairs.

    Args:
        answers: The A/B answers table.
        tie_rule: How :func:`preference` treats "no preference" answers.
        ci_method: Interval method of :func:`preference`.
        alpha: Family-wise significance level.

    Returns:
        One row per pair (a, b) with a < b that has answers, with columns a, b, wins_a, wins_b,
        ties, n, share (of a), ci_low, ci_high, p, p_holm, significant.
    """
    kept = comparison_answers(answers)
    rows = []
    for x, y in itertools.combinations(answer_systems(kept), 2):
        ab = kept["system_a"].eq(x) & kept["system_b"].eq(y)
        ba = kept["system_a"].eq(y) & kept["system_b"].eq(x)
        if not (ab | ba).any():
            continue
        choice = kept["choice"]
        wins_x = int(((ab & choice.eq("a")) | (ba & choice.eq("b"))).sum())
        wins_y = int(((ab & choice.eq("b")) | (ba & choice.eq("a"))).sum())
        ties = int(((ab | ba) & choice.eq("none")).sum())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = preference(wins_x, wins_y, ties, tie_rule=tie_rule, ci_method=ci_method)
        rows.append(
            {
                "a": x,
                "b": y,
                "wins_a": wins_x,
                "wins_b": wins_y,
                "ties": ties,
                "n": res.n,
                "share": res.share,
                "ci_low": res.ci_low,
                "ci_high": res.ci_high,
                "p": res.p_value,
            }
        )
    columns = ["a", "b", "wins_a", "wins_b", "ties", "n", "share", "ci_low", "ci_high", "p"]
    out = pd.DataFrame(rows, columns=columns)
    out["p_holm"] = holm_correction(out["p"].to_numpy(dtype=float))
    out["significant"] = (out["p_holm"] < alpha).to_numpy(dtype=bool)
    return out
