"""ITU-T P.808 quality control of crowd rating sessions, as pure functions.

P.808 sorts a submitted session into three outcomes. *Rejected* (not paid): the rater did not
do the task as asked (a clip not played to the end, a failed setup check, a wrong trapping
answer, more sessions than allowed). *Not used* (paid, but left out of statistics): the rater
did the task but the answers are not trustworthy (straight-lining, a gold answer far off, a
poor listening environment). Otherwise *accepted*. The numbers below are the defaults of the
P.808 toolkit's ACR result parser.

Two optional checks work across sessions rather than within one: the correlation of a rater
with the other raters (:func:`rater_correlation_floor`) and vote outliers (:func:`vote_outliers`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd

from listening_tests.statistics import p808_inter_rater_reliability, rater_reliability
from listening_tests.votes import rating_votes

Status = Literal["accepted", "rejected", "not_used"]


@dataclass(frozen=True)
class Answer:
    """One answer in a session.

    Attributes:
        clip: Clip id.
        score: The rating given (1..5 on the ACR scale).
        played_to_end: Whether the clip was played to its end before rating.
        is_gold: A gold question: a clip whose rating is known (clearly excellent or bad).
        is_trap: A trapping question: a clip that asks the rater to select a given answer.
        expected: The known score of a gold clip or the requested answer of a trapping clip.
        allowed: The answers a trapping question takes as right, where more than
            ``expected`` is (P.808's DCR: an identical pair answered 4 or 5); empty: exactly
            ``expected``.
    """

    clip: str
    score: float
    played_to_end: bool = True
    is_gold: bool = False
    is_trap: bool = False
    expected: float | None = None
    allowed: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.is_gold and self.is_trap:
            raise ValueError(f"answer for clip {self.clip!r} cannot be both gold and trapping")
        if (self.is_gold or self.is_trap) and self.expected is None:
            raise ValueError(f"gold/trapping answer for clip {self.clip!r} needs `expected`")


@dataclass(frozen=True)
class SessionRecord:
    """What quality control needs to know about one submitted rater session.

    Attributes:
        answers: Every answer of the session: rating, gold and trapping questions.
        stereo_check_passed: Whether the check that both earphones are worn was passed.
        environment_pairs_right: Correct answers in the environment (just-noticeable
            difference) check.
        environment_pairs_total: Number of pairs in that check (4 in P.808).
        rater_sessions: Sessions this rater has submitted in the test, this one included.
    """

    answers: tuple[Answer, ...]
    stereo_check_passed: bool
    environment_pairs_right: int
    environment_pairs_total: int = 4
    rater_sessions: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "answers", tuple(self.answers))
        if not 0 <= self.environment_pairs_right <= self.environment_pairs_total:
            raise ValueError(
                f"environment_pairs_right={self.environment_pairs_right} outside "
                f"0..{self.environment_pairs_total}"
            )
        if self.rater_sessions < 1:
            raise ValueError("rater_sessions counts this session, so it is at least 1")


@dataclass(frozen=True)
class QcSettings:
    """Thresholds of the P.808 rules; defaults are the P.808 toolkit's.

    Attributes:
        min_rating_variance: Sessions whose rating variance (ddof=1, exact arithmetic) is below
            this are not used; 0 turns the rule off.
        gold_tolerance: A gold answer may differ from the known score by this much.
        min_environment_pairs_right: Fewer correct environment pairs than this: not used.
        max_sessions_per_rater: More sessions than this by one rater: rejected (the toolkit's
            example configuration allows 60). None means no limit.
        min_rater_correlation: Optional floor on a rater's correlation with the others' clip
            MOS; None (default) turns the check off.
        outlier_z: Optional |z| at or above which a vote is an outlier (P.808 suggests 3.29);
            None (default) turns the check off.
    """

    min_rating_variance: float = 0.1
    gold_tolerance: float = 1.0
    min_environment_pairs_right: int = 2
    max_sessions_per_rater: int | None = 60
    min_rater_correlation: float | None = None
    outlier_z: float | None = None


@dataclass(frozen=True)
class QcDecision:
    """Outcome of quality control for one session.

    Attributes:
        status: "accepted", "rejected" (not paid) or "not_used" (paid, left out of statistics).
        reasons: Every rule the session broke, as sentences with the numbers; empty if accepted.
    """

    status: Status
    reasons: tuple[str, ...] = field(default_factory=tuple)


def _num(x: float) -> str:
    """Format a number for a reason sentence: 0.04, 0.1, 3 (no trailing zeros)."""
    return f"{x:.3g}"


def rating_variance(scores: Sequence[float]) -> Fraction | None:
    """Sample variance (ddof=1) of a session's ratings on exact arithmetic; None below 2.

    ``(n * sum(x^2) - sum(x)^2) / (n * (n - 1))`` over fractions: the scores are integers (or
    exact binary floats), so the result is exact. Nine 4s and one 5 give exactly 1/10, where
    ``np.var(..., ddof=1)`` gives 0.09999999999999999 and would drop the session at P.808's
    ``variance >= 0.1`` rule, which its parser (``statistics.variance``) passes.
    """
    xs = [Fraction(x) for x in scores]
    n = len(xs)
    if n < 2:
        return None
    total = sum(xs, Fraction(0))
    total_sq = sum((x * x for x in xs), Fraction(0))
    return (n * total_sq - total * total) / (n * (n - 1))


def passes_variance_rule(scores: Sequence[float], min_variance: float) -> bool:
    """P.808's ``variance >= min_variance``, decided exactly (the threshold is read as the
    decimal it is written as: 0.1 is 1/10). Fewer than two ratings fail, as in P.808's parser,
    whose variance of such a session is -1."""
    variance = rating_variance(scores)
    return variance is not None and variance >= Fraction(str(min_variance))


def _reject_reasons(record: SessionRecord, settings: QcSettings) -> list[str]:
    reasons = []
    # one clip may carry several answers (P.835: one per scale); count clips
    unplayed = list(dict.fromkeys(a.clip for a in record.answers if not a.played_to_end))
    clips = len({a.clip for a in record.answers})
    if unplayed:
        reasons.append(
            f"{len(unplayed)} of {clips} clips not played to the end "
            f"({', '.join(map(str, unplayed))})"
        )
    if not record.stereo_check_passed:
        reasons.append("setup check failed: stereo check (both earphones) not passed")
    for a in record.answers:
        right = a.allowed or (a.expected,)
        if a.is_trap and a.expected is not None and a.score not in right:
            wanted = " or ".join(_num(x) for x in right)
            reasons.append(
                f"trapping question {a.clip} answered {_num(a.score)}, expected {wanted}")
    limit = settings.max_sessions_per_rater
    if limit is not None and record.rater_sessions > limit:
        reasons.append(
            f"rater has taken {record.rater_sessions} sessions, more than the {limit} allowed"
        )
    return reasons


def _not_used_reasons(record: SessionRecord, settings: QcSettings) -> list[str]:
    reasons = []
    ratings = [a.score for a in record.answers if not (a.is_gold or a.is_trap)]
    if settings.min_rating_variance > 0 and not passes_variance_rule(
            ratings, settings.min_rating_variance):
        variance = rating_variance(ratings)
        shown = "undefined (fewer than 2 ratings)" if variance is None else _num(float(variance))
        reasons.append(
            f"rating variance {shown} < {_num(settings.min_rating_variance)} (straight-lining)"
        )
    for a in record.answers:
        if a.is_gold and a.expected is not None:
            off = abs(a.score - a.expected)
            if off > settings.gold_tolerance:
                reasons.append(
                    f"gold question {a.clip} answered {_num(a.score)}, expected "
                    f"{_num(a.expected)} (off by {_num(off)} > {_num(settings.gold_tolerance)})"
                )
    if record.environment_pairs_right < settings.min_environment_pairs_right:
        reasons.append(
            f"environment check: {record.environment_pairs_right} of "
            f"{record.environment_pairs_total} pairs right "
            f"< {settings.min_environment_pairs_right} required"
        )
    return reasons


def evaluate_session(record: SessionRecord, settings: QcSettings | None = None) -> QcDecision:
    """Decide whether a session is accepted, rejected or paid but not used.

    Every rule is checked and every broken rule reported, so a rater and the researcher see the
    whole story; a reject reason outranks a not-used reason for the status. As in P.808's
    parser, a session with fewer than two rating answers fails the variance rule.

    Args:
        record: The session's answers and setup-check results.
        settings: Thresholds; P.808 defaults when None.
    """
    settings = settings or QcSettings()
    rejects = _reject_reasons(record, settings)
    unused = _not_used_reasons(record, settings)
    status: Status = "rejected" if rejects else "not_used" if unused else "accepted"
    return QcDecision(status=status, reasons=tuple(rejects + unused))


def vote_z_scores(votes: pd.DataFrame) -> pd.Series:
    """z of each rating vote against the mean and std (ddof=1) of the clip's other votes.

    Leaving the vote out keeps a wild vote from widening the very spread it is judged against.
    z is NaN for gold/trapping/unused rows, where the clip has fewer than two other votes, or
    where the other votes all agree (zero spread; P.808's parser also skips such clips).

    Returns:
        Float series aligned with ``votes.index``.
    """
    kept = rating_votes(votes)
    kept["score_sq"] = kept["score"] ** 2
    by_clip = kept.groupby("clip")
    n = by_clip["score"].transform("size").to_numpy(dtype=float)
    total = by_clip["score"].transform("sum").to_numpy(dtype=float)
    total_sq = by_clip["score_sq"].transform("sum").to_numpy(dtype=float)
    x = kept["score"].to_numpy(dtype=float)
    m = n - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (total - x) / m
        var = ((total_sq - x**2) - m * mean**2) / (m - 1.0)
        var = np.where(var < 1e-12, 0.0, var)  # cancellation noise on identical votes
        z = np.where((m >= 2) & (var > 0), (x - mean) / np.sqrt(var), np.nan)
    return pd.Series(z, index=kept.index, dtype=float).reindex(votes.index)


def vote_outliers(votes: pd.DataFrame, z: float = 3.29) -> pd.Series:
    """Mark rating votes whose |z| against the clip's other votes is at least ``z``.

    Args:
        votes: The votes table.
        z: Threshold; 3.29 is P.808's (two-sided p of about 0.001).

    Returns:
        Boolean series aligned with ``votes.index``; False where z is undefined.
    """
    scores = vote_z_scores(votes)
    return (scores.abs() >= z).fillna(False).astype(bool)


def rater_correlation_floor(votes: pd.DataFrame, min_correlation: float) -> pd.DataFrame:
    """Flag raters whose votes correlate with the other raters' clip MOS below a floor.

    A low or negative correlation points to a rater who misread the scale or answered at
    random; P.808 lists it as an optional not-used rule. Raters whose correlation is undefined
    (too few shared clips, no spread) are not flagged.

    Args:
        votes: The votes table.
        min_correlation: The floor on Pearson r.

    Returns:
        :func:`listening_tests.statistics.rater_reliability`'s frame plus ``below_floor`` (bool)
        and ``reason`` (a sentence for flagged raters, "" otherwise).
    """
    out = rater_reliability(votes)
    below = (out["r"] < min_correlation).to_numpy(dtype=bool)
    out["below_floor"] = below
    out["reason"] = [
        f"correlation with other raters r={_num(r)} < {_num(min_correlation)} over {n} votes"
        if flag
        else ""
        for r, n, flag in zip(out["r"], out["n_paired"], below, strict=True)
    ]
    return out


def rater_irr_floor(votes: pd.DataFrame, min_irr: float) -> pd.DataFrame:
    """Flag raters below P.808's ``rater_min_irr`` on P.808's inter-rater reliability.

    As in P.808's parser, a rater whose reliability is undefined (P.808 writes -2: fewer than
    two clips with three votes in common, or no spread) falls below any floor.

    Returns:
        :func:`listening_tests.statistics.p808_inter_rater_reliability`'s frame plus
        ``below_floor`` (bool) and ``reason`` (a sentence for flagged raters, "" otherwise).
    """
    out = p808_inter_rater_reliability(votes)
    irr = out["irr"].to_numpy(dtype=float)
    below = np.isnan(irr) | (irr < min_irr)
    out["below_floor"] = below
    out["reason"] = [
        (f"P.808 inter-rater reliability {'undefined' if np.isnan(r) else _num(r)} "
         f"< {_num(min_irr)} over {n} clips") if flag else ""
        for r, n, flag in zip(irr, out["n_samples"], below, strict=True)
    ]
    return out
