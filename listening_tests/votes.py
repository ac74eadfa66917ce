"""The votes table that every listening-test function takes, and the filter statistics use.

One row per answer, with at least the columns ``clip``, ``condition`` (the system or condition
the clip belongs to), ``rater``, ``score`` and the boolean flags ``is_gold``, ``is_trap``,
``accepted`` (the session was accepted and paid) and ``used`` (it passed the P.808 usefulness
checks). The database layer builds this frame; nothing here knows where it came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

VOTE_COLUMNS: tuple[str, ...] = (
    "clip",
    "condition",
    "rater",
    "score",
    "is_gold",
    "is_trap",
    "accepted",
    "used",
)
FLAG_COLUMNS: tuple[str, ...] = ("is_gold", "is_trap", "accepted", "used")


def check_votes(votes: pd.DataFrame, columns: Sequence[str] = VOTE_COLUMNS) -> None:
    """Raise ValueError naming the columns the votes table lacks."""
    missing = [c for c in columns if c not in votes.columns]
    if missing:
        raise ValueError(f"votes table lacks columns {missing}; it has {list(votes.columns)}")


def vote_flag(votes: pd.DataFrame, column: str) -> np.ndarray:
    """One boolean flag column as an array; a missing flag is an error, not a silent False."""
    values = votes[column]
    if values.isna().any():
        raise ValueError(f"votes column {column!r} has missing values; flags must be True/False")
    return values.astype(bool).to_numpy()


def rating_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """Keep the votes that enter statistics: accepted, used, and neither gold nor trapping.

    "Not used" sessions were paid for but failed a P.808 usefulness check; gold and trapping
    answers test the rater, not the systems. Every consumer filters through here so that the
    app, the exports and the tests agree on the set of votes.

    Args:
        votes: The votes table (see the module docstring).

    Returns:
        The kept rows (a copy), original index preserved, ``score`` as float.

    Raises:
        ValueError: If a column is missing, a flag is missing, or a kept score is NaN.
    """
    check_votes(votes)
    keep = (
        vote_flag(votes, "accepted")
        & vote_flag(votes, "used")
        & ~vote_flag(votes, "is_gold")
        & ~vote_flag(votes, "is_trap")
    )
    kept = votes.loc[keep].copy()
    kept["score"] = pd.to_numeric(kept["score"]).astype(float)
    if kept["score"].isna().any():
        raise ValueError("a rating vote has no score")
    return kept
