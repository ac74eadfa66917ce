"""Results and exports of comparison tests (CCR, A/B, ranking) from the stored votes.

The stored vote is the raw answer as the rater saw the pair (CCR: B compared with A;
A/B: the side chosen) and the session item the order (``swapped``). Here CCR scores are
sign-corrected to "processed versus reference" (:func:`comparison_stats.sign_corrected`)
and choices mapped to systems, then :mod:`listening_tests.comparison_stats` and
:mod:`listening_tests.ranking` compute everything. Same filter as ACR: only accepted, used
sessions' rating answers count (gold and training answers never do).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    ItemRole,
    ListeningTestItem,
    QcStatus,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
)
from listening_tests.comparison_stats import (
    cmos_per_system,
    pairwise_preferences,
    sign_corrected_scores,
    win_matrix,
)
from listening_tests.design import load_test
from listening_tests.errors import NotFound
from listening_tests.exports import (
    accept_reject_p808,
    csv_text,
    escape_formulas,
    votes_per_clip,
    votes_per_cond,
    votes_per_worker,
)
from listening_tests.methods import method_of
from listening_tests.ranking import bootstrap_bradley_terry
from listening_tests.spec import article

N_BOOT = 200  # bootstrap resamples of the ranking: enough for 95 % intervals, quick
COLUMNS = ("clip", "condition", "pair_condition", "rater", "raw_score", "score", "choice",
           "swapped", "system_a", "system_b", "ab_choice", "is_gold", "is_trap", "accepted",
           "used", "role", "sample_id", "elapsed_ms", "voted_at", "session_id", "qc_status",
           "vote_id")


def pair_name(item: ListeningTestItem) -> str:
    """The export name of a pair item."""
    return f"{item.sample_id}:{item.condition}-vs-{item.pair_condition}#{item.id}"


def comparison_frame(db: Session, test_id: int) -> pd.DataFrame:
    """Every answer of a comparison test, training excluded (see :data:`COLUMNS`).

    ``score`` is the sign-corrected CCR score (NaN for A/B); ``system_a``/``system_b`` are
    the systems as played and ``ab_choice`` the choice in lower case (A/B tables).
    """
    test = load_test(db, test_id)
    rows = db.execute(
        select(Vote, SessionItem.swapped, ListeningTestItem, RatingSession, Rater.external_id)
        .join(SessionItem, Vote.session_item_id == SessionItem.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(RatingSession, Vote.session_id == RatingSession.id)
        .join(Rater, RatingSession.rater_id == Rater.id)
        .where(RatingSession.test_id == test_id,
               ListeningTestItem.role != ItemRole.TRAINING.value)
        .order_by(Vote.id)).all()
    records = []
    for vote, swapped, item, rs, rater in rows:
        submitted = rs.state == SessionState.SUBMITTED.value
        first, second = item.condition, item.pair_condition
        if swapped:
            first, second = second, first
        records.append({
            "clip": pair_name(item), "condition": item.condition,
            "pair_condition": item.pair_condition, "rater": rater, "raw_score": vote.score,
            "score": np.nan, "choice": vote.choice, "swapped": bool(swapped),
            "system_a": first, "system_b": second,
            "ab_choice": vote.choice.lower() if vote.choice else None,
            "is_gold": item.role == ItemRole.GOLD.value, "is_trap": False,
            "accepted": submitted and rs.qc_status in (QcStatus.ACCEPTED.value,
                                                      QcStatus.NOT_USED.value),
            "used": submitted and rs.qc_status == QcStatus.ACCEPTED.value,
            "role": item.role, "sample_id": item.sample_id, "elapsed_ms": vote.elapsed_ms,
            "voted_at": vote.created_at, "session_id": rs.id, "qc_status": rs.qc_status,
            "vote_id": vote.id})
    frame = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    frame = frame.astype({c: bool for c in ("swapped", "is_gold", "is_trap", "accepted",
                                            "used")})
    return method_of(test.method).scored_frame(frame)


def sign_corrected_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """CCR: ``score`` is the raw answer sign-corrected to processed versus reference."""
    if len(frame):
        # the item's clip is the processed one; it played first unless swapped
        frame["score"] = sign_corrected_scores(frame["raw_score"].astype(int),
                                               ~frame["swapped"]).astype(float)
    return frame


def answers_frame(db: Session, test_id: int) -> pd.DataFrame:
    """The A/B answers table of :mod:`comparison_stats` (system_a, system_b, choice and
    the four flags)."""
    frame = comparison_frame(db, test_id)
    out = frame[["system_a", "system_b", "ab_choice", "is_gold", "is_trap", "accepted",
                 "used"]].rename(columns={"ab_choice": "choice"})
    return out[out["choice"].notna()].reset_index(drop=True)


def _num(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(float(value)) else float(value)
    return value


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _num(v) for k, v in row.items()} for row in df.to_dict("records")]


def ranking_table(answers: pd.DataFrame, systems: list[str], seed: int) -> pd.DataFrame:
    """Bradley-Terry strengths with bootstrap intervals, repeatable (seeded by the test)."""
    return bootstrap_bradley_terry(answers, n_boot=N_BOOT, rng=np.random.default_rng(seed),
                                   systems=systems)


def pairs_table(answers: pd.DataFrame) -> pd.DataFrame:
    """Per compared system pair, as the results and ``pairs.csv`` name the columns."""
    prefs = pairwise_preferences(answers)
    return prefs.rename(columns={"a": "system_a", "b": "system_b", "share": "share_a",
                                 "p": "p_value"})[
        ["system_a", "system_b", "n", "wins_a", "wins_b", "ties", "share_a", "ci_low",
         "ci_high", "p_value", "p_holm"]]


def ccr_results(db: Session, test_id: int, session_counts: dict[str, int]
                ) -> dict[str, Any]:
    """``GET /api/tests/{id}/results`` of a CCR test: CMOS per system (docs/rating-api.md)."""
    test = load_test(db, test_id)
    items = db.scalars(select(ListeningTestItem).where(
        ListeningTestItem.test_id == test_id,
        ListeningTestItem.role == ItemRole.RATING.value)).all()
    frame = comparison_frame(db, test_id)
    stats = cmos_per_system(frame) if len(frame) else pd.DataFrame()
    systems = [
        {"system": s, "n": int(stats.loc[s, "n"]) if s in stats.index else 0,
         **{k: _num(stats.loc[s, k]) if s in stats.index else None
            for k in ("cmos", "std", "ci95", "p_value")}}
        for s in sorted({i.condition for i in items})]
    return {"method": test.method, "sessions": session_counts, "systems": systems}


def preference_results(db: Session, test_id: int, session_counts: dict[str, int]
                       ) -> dict[str, Any]:
    """``GET /api/tests/{id}/results`` of an A/B or ranking test: pairs, win matrix and the
    Bradley-Terry ranking (docs/rating-api.md)."""
    test = load_test(db, test_id)
    items = db.scalars(select(ListeningTestItem).where(
        ListeningTestItem.test_id == test_id,
        ListeningTestItem.role == ItemRole.RATING.value)).all()
    out: dict[str, Any] = {"method": test.method, "sessions": session_counts}
    systems = sorted({s for i in items for s in (i.condition, i.pair_condition)})
    answers = answers_frame(db, test_id)
    out["pairs"] = _records(pairs_table(answers)) if len(answers) else []
    wins = win_matrix(answers, systems) if len(answers) else \
        pd.DataFrame(0.0, index=systems, columns=systems)
    out["win_matrix"] = {w: {loser: _num(wins.loc[w, loser]) for loser in systems if loser != w}
                         for w in systems}
    out["ranking"] = _records(ranking_table(answers, systems, test.seed))
    return out


def comparison_export(db: Session, test_id: int, name: str,
                      decisions: Callable[[], pd.DataFrame],
                      tables: dict[str, Callable[[pd.DataFrame], pd.DataFrame]],
                      names: tuple[str, ...]) -> bytes:
    """One export file of a comparison test.

    Args:
        tables: The method's own tables by file name, each built from
            :func:`comparison_frame`; the accept/reject files and the parquet are shared.
        names: Every export the method offers (for the refusal's message).

    Raises:
        NotFound: a name this method does not export.
    """
    method = load_test(db, test_id).method
    if name not in names:
        raise NotFound(f"no export named '{name}' for {article(method)} {method} test; "
                       f"choose one of {', '.join(names)}")
    frame = comparison_frame(db, test_id)
    if name == "votes.parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if name == "accept_reject.csv":
        table = decisions()
    elif name == "accept_reject_gui.csv":
        table = accept_reject_p808(decisions())
    else:
        table = tables[name](frame)
    return csv_text(escape_formulas(table)).encode("utf-8")


def ccr_tables(db: Session, test_id: int) -> dict[str, Callable[[pd.DataFrame], pd.DataFrame]]:
    """CCR's P.808 files: votes per clip (pair), per condition (with the t-test's p) and per
    worker, CMOS on the sign-corrected scores."""
    del db, test_id

    def per_cond(frame: pd.DataFrame) -> pd.DataFrame:
        table = votes_per_cond(frame, mos_name="CMOS")
        stats = cmos_per_system(frame) if len(frame) else pd.DataFrame(columns=["p_value"])
        table["p_value"] = stats["p_value"].to_numpy()  # both sorted by condition
        return table

    return {"votes_per_clip.csv": lambda f: votes_per_clip(f, mos_name="CMOS"),
            "votes_per_cond.csv": per_cond,
            "votes_per_worker.csv": lambda f: votes_per_worker(f, mos_name="CMOS")}


def preference_tables(db: Session, test_id: int
                      ) -> dict[str, Callable[[pd.DataFrame], pd.DataFrame]]:
    """A/B and ranking files (no P.808 method): every answer as played, and per pair."""

    def pairs(_frame: pd.DataFrame) -> pd.DataFrame:
        answers = answers_frame(db, test_id)
        return pairs_table(answers) if len(answers) else pd.DataFrame()

    def per_worker(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[["rater", "clip", "condition", "pair_condition", "system_a", "system_b",
                      "raw_score", "score", "choice", "role", "qc_status"]].rename(
            columns={"rater": "worker", "clip": "pair"})

    return {"pairs.csv": pairs, "votes_per_worker.csv": per_worker}


def comparison_overview(db: Session, test_id: int, info: dict[str, Any],
                        results: dict[str, Any], now: datetime | None = None
                        ) -> dict[str, Any]:
    """The dashboard of a comparison test: the test, its results, the sessions."""
    del db, test_id, now
    return {"test": info, **results}
