"""Tiny votes tables for the listening-test tests, built row by row so the numbers are visible."""

from __future__ import annotations

import pandas as pd


def vote(
    clip: str,
    condition: str,
    rater: str,
    score: float,
    *,
    is_gold: bool = False,
    is_trap: bool = False,
    accepted: bool = True,
    used: bool = True,
) -> dict[str, object]:
    """One row of the votes table; defaults describe a rating vote of an accepted session."""
    return {
        "clip": clip,
        "condition": condition,
        "rater": rater,
        "score": score,
        "is_gold": is_gold,
        "is_trap": is_trap,
        "accepted": accepted,
        "used": used,
    }


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    """The votes table of the given rows."""
    return pd.DataFrame(rows)


def noise_rows() -> list[dict[str, object]]:
    """Votes that statistics must ignore: gold, trapping, not-used and rejected, all extreme."""
    return [
        vote("a", "X", "g", 5, is_gold=True),
        vote("a", "X", "t", 1, is_trap=True),
        vote("a", "X", "u", 5, used=False),
        vote("a", "X", "x", 1, accepted=False, used=False),
        vote("c", "Y", "x", 1, accepted=False),
    ]
