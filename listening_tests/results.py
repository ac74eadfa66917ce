"""Results of a test from the stored votes: the votes table, MOS per clip and system, and
the dashboard's numbers.

:func:`votes_frame` turns the rows into the table that :mod:`listening_tests.statistics`,
:mod:`listening_tests.quality_control` and :mod:`listening_tests.exports` take (see
:data:`listening_tests.votes.VOTE_COLUMNS`): ``accepted`` is "paid" (accepted or not used),
``used`` is "enters statistics" (accepted, and not removed by the optional cross-session
checks, which are evaluated here on every read because they change as votes arrive).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ItemRole,
    ListeningTestItem,
    ObjectiveScore,
    QcStatus,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
    utcnow,
)
from listening_tests.catalog import clip_speech_category
from listening_tests.design import get_test, load_test, spec_of
from listening_tests.methods import method_of
from listening_tests.quality_control import (
    rater_correlation_floor,
    rater_irr_floor,
    vote_outliers,
)
from listening_tests.review import list_overrides
from listening_tests.session_state import status_of
from listening_tests.spec import ListeningTestSpec
from listening_tests.statistics import (
    p808_inter_rater_reliability,
    pairwise_differences,
    per_clip,
    per_condition,
    rater_reliability,
    split_half_reliability,
)
from listening_tests.votes import VOTE_COLUMNS

FRAME_COLUMNS = (*VOTE_COLUMNS, "role", "clip_id", "clip_name", "sample_id", "wav_path",
                 "expected_score", "played_to_end", "elapsed_ms", "voted_at", "session",
                 "session_id", "session_state", "qc_status", "vote_id", "scale",
                 "speech_category")


def _safe(text: str) -> str:
    text = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"
    return "_" + text if text.startswith(".") else text


def export_names(items: list[ListeningTestItem]) -> dict[int, str]:
    """A unique file name per test item, ``<condition>/<sample_id>.flac`` (the clip id is
    added where two items would share one)."""
    names: dict[int, str] = {}
    taken: set[str] = set()
    for item in sorted(items, key=lambda i: i.id):
        name = f"{_safe(item.condition)}/{_safe(item.sample_id)}.flac"
        if name in taken:
            name = f"{_safe(item.condition)}/{_safe(item.sample_id)}-{item.clip_id}.flac"
        taken.add(name)
        names[item.id] = name
    return names


def votes_frame(db: Session, test_id: int, *, apply_optional_checks: bool = True,
                scale: str | None = None) -> pd.DataFrame:
    """Every vote of a test, one row each, training and unfinished sessions included.

    ``scale``: only the answers on that scale (a P.835 item holds one per scale); the
    optional cross-session checks then judge raters on that scale.

    Statistics must filter ``role != "training"`` first (:func:`statistics_frame`).
    Columns: :data:`FRAME_COLUMNS`; ``clip`` is the item's export name.

    Raises:
        NotFound: no such test.
    """
    test = load_test(db, test_id)
    items = db.scalars(select(ListeningTestItem).where(
        ListeningTestItem.test_id == test_id)).all()
    names = export_names(list(items))
    rows = db.execute(
        select(Vote, SessionItem.test_item_id, RatingSession, Rater.external_id, Clip.name)
        .join(SessionItem, Vote.session_item_id == SessionItem.id)
        .join(RatingSession, Vote.session_id == RatingSession.id)
        .join(Rater, RatingSession.rater_id == Rater.id)
        .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
        .join(Clip, ListeningTestItem.clip_id == Clip.id)
        .where(RatingSession.test_id == test_id,
               *([Vote.scale == scale] if scale is not None else []))
        .order_by(Vote.id)).all()
    by_id = {i.id: i for i in items}
    categories = item_categories(db, items)
    records = []
    for vote, item_id, rs, rater, clip_name in rows:
        item = by_id[item_id]
        submitted = rs.state == SessionState.SUBMITTED.value
        records.append({
            "clip": names[item_id], "condition": item.condition, "rater": rater,
            "score": int(vote.score), "is_gold": item.role == ItemRole.GOLD.value,
            "is_trap": item.role == ItemRole.TRAP.value,
            "accepted": submitted and rs.qc_status in (QcStatus.ACCEPTED.value,
                                                      QcStatus.NOT_USED.value),
            "used": submitted and rs.qc_status == QcStatus.ACCEPTED.value,
            "role": item.role, "clip_id": item.clip_id, "clip_name": clip_name,
            "sample_id": item.sample_id, "wav_path": f"audio/{names[item_id]}",
            "expected_score": item.expected_score, "played_to_end": vote.played_to_end,
            "elapsed_ms": vote.elapsed_ms, "voted_at": vote.created_at, "session": rs.token,
            "session_id": rs.id, "session_state": rs.state, "qc_status": rs.qc_status,
            "vote_id": vote.id, "scale": vote.scale,
            "speech_category": categories[item_id]})
    frame = pd.DataFrame.from_records(records, columns=list(FRAME_COLUMNS))
    frame = frame.astype({c: bool for c in ("is_gold", "is_trap", "accepted", "used",
                                            "played_to_end")})
    frame["expected_score"] = frame["expected_score"].astype("Int64")
    if apply_optional_checks:
        frame = _optional_checks(frame, spec_of(test))
    return frame


def item_categories(db: Session, items: Sequence[ListeningTestItem]) -> dict[int, str]:
    """The speech category of each test item's clip (or of the input it came from)."""
    clips = {c.id: c for c in db.scalars(select(Clip).where(
        Clip.id.in_({i.clip_id for i in items})))}
    cache: dict[int, str] = {}
    out = {}
    for item in items:
        if item.clip_id not in cache:
            clip = clips.get(item.clip_id)
            cache[item.clip_id] = clip_speech_category(db, clip) if clip else "unknown"
        out[item.id] = cache[item.clip_id]
    return out


def category_results(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """MOS per system and speech category (n, mos, std, ci95), from the statistics frame:
    one row per pair that has rating votes, categories in order of appearance."""
    rated = frame[frame["role"] == ItemRole.RATING.value]
    rows = []
    for category in dict.fromkeys(rated["speech_category"]):
        stats = per_condition(rated[rated["speech_category"] == category])
        rows += [{"system": system, "category": category, **_summary(stats.loc[system])}
                 for system in sorted(stats.index)]
    return rows


def _optional_checks(frame: pd.DataFrame, spec: ListeningTestSpec) -> pd.DataFrame:
    """Leave out raters below the correlation floors and outlier votes (when configured)."""
    qc = spec.quality_control
    rated = frame["role"] != ItemRole.TRAINING.value
    if qc.min_rater_correlation is not None and rated.any():
        flags = rater_correlation_floor(frame[rated], qc.min_rater_correlation)
        low = set(flags.index[flags["below_floor"]])
        frame.loc[frame["rater"].isin(low), "used"] = False
    if qc.min_rater_irr is not None and rated.any():
        flags = rater_irr_floor(frame[rated], qc.min_rater_irr)
        low = set(flags.index[flags["below_floor"]])
        frame.loc[frame["rater"].isin(low), "used"] = False
    if qc.outlier_z is not None and rated.any():
        outliers = vote_outliers(frame[rated], qc.outlier_z)
        frame.loc[outliers[outliers].index, "used"] = False
    return frame


def statistics_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows statistics and exports take: everything but training answers."""
    return frame[frame["role"] != ItemRole.TRAINING.value].reset_index(drop=True)


def _num(value: Any) -> float | int | None:
    """A JSON-safe number: NaN becomes None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (np.integer, int)):
        return int(value)
    return float(value)


def _summary(row: pd.Series | None) -> dict[str, Any]:
    if row is None:
        return {"n": 0, "mos": None, "std": None, "ci95": None}
    # a row of the summary frame is a float Series: n comes back as 3.0, a count is an int
    return {"n": int(row["n"]), **{k: _num(row[k]) for k in ("mos", "std", "ci95")}}


def test_results(db: Session, test_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """MOS per rating clip and per system with std, n and t-based 95% CI, from accepted
    votes (gold, trapping and training excluded), and the sessions by outcome.

    Clips without usable votes are listed with n 0.

    Raises:
        NotFound: no such test.
    """
    method = method_of(load_test(db, test_id).method)
    return method.results(db, test_id, session_counts(db, test_id, now))


test_results.__test__ = False  # a service, not a pytest test


def clip_results(db: Session, test_id: int, counts: dict[str, int], *,
                 scale: str | None = None) -> dict[str, Any]:
    """:func:`test_results` of a single-clip test (ACR and kin), on one ``scale`` of a
    multi-scale method."""
    frame = statistics_frame(votes_frame(db, test_id, scale=scale))
    items = db.execute(select(ListeningTestItem, Clip.name)
                       .join(Clip, ListeningTestItem.clip_id == Clip.id).where(
        ListeningTestItem.test_id == test_id, ListeningTestItem.role == ItemRole.RATING.value)
        .order_by(ListeningTestItem.id)).all()
    names = export_names(list(db.scalars(select(ListeningTestItem).where(
        ListeningTestItem.test_id == test_id))))
    clip_stats = per_clip(frame) if len(frame) else pd.DataFrame()
    system_stats = per_condition(frame) if len(frame) else pd.DataFrame()
    clips = [{"clip_id": item.clip_id, "name": name, "system": item.condition,
              **_summary(clip_stats.loc[names[item.id]]
                         if names[item.id] in clip_stats.index else None)}
             for item, name in items]
    systems = [{"system": system, **_summary(system_stats.loc[system]
                                            if system in system_stats.index else None)}
               for system in sorted({item.condition for item, _ in items})]
    categories = category_results(frame) if len(frame) else []
    return {"clips": clips, "systems": systems, "categories": categories, "sessions": counts}


def session_counts(db: Session, test_id: int, now: datetime | None = None) -> dict[str, int]:
    """Sessions by decision (accepted, not_used, rejected) and by state (in_progress,
    expired, submitted); idle sessions past the abandon time count as expired."""
    spec = spec_of(load_test(db, test_id))
    now = now or utcnow()
    out = dict.fromkeys(("accepted", "not_used", "rejected", "in_progress", "expired",
                         "submitted"), 0)
    for rs in db.scalars(select(RatingSession).where(RatingSession.test_id == test_id)):
        out[status_of(rs, spec, now)] += 1
        if rs.qc_status:
            out[rs.qc_status] += 1
    return out


def list_sessions(db: Session, test_id: int, *, now: datetime | None = None
                  ) -> list[dict[str, Any]]:
    """Every session of a test for the admin page: id, rater, status, decision, reasons,
    votes given, times. Newest first.

    Raises:
        NotFound: no such test.
    """
    spec = spec_of(load_test(db, test_id))
    now = now or utcnow()
    votes = Counter(db.scalars(select(Vote.session_id).join(RatingSession).where(
        RatingSession.test_id == test_id)))
    out = []
    for rs, rater in db.execute(select(RatingSession, Rater.external_id).join(Rater).where(
            RatingSession.test_id == test_id).order_by(RatingSession.id.desc())).all():
        out.append({"session_id": rs.id, "rater": rater, "status": status_of(rs, spec, now),
                    "qc_status": rs.qc_status, "qc_reasons": list(rs.qc_reasons or []),
                    "votes": votes.get(rs.id, 0), "items": len(rs.items),
                    "created_at": rs.created_at, "finished_at": rs.finished_at})
    return out


_REASON_KINDS = (("not played to the end", "clip not played to the end"),
                 ("stereo", "stereo check failed"), ("trapping", "wrong trapping answer"),
                 ("sessions, more than", "too many sessions"),
                 ("variance", "low rating variance"), ("gold", "gold answer off"),
                 ("environment", "environment check failed"),
                 ("qualification", "qualification not met"))


def reason_kind(reason: str) -> str:
    """The rule a reason sentence names, for counting (``"wrong trapping answer"``)."""
    return next((kind for key, kind in _REASON_KINDS if key in reason), "other")


def test_overview(db: Session, test_id: int, *, now: datetime | None = None,
                  n_splits: int = 200) -> dict[str, Any]:
    """Everything the admin dashboard shows about a test, as plain values.

    Keys: ``test`` (:class:`TestInfo` as a dict), ``clips`` (per rating clip: votes that
    count, live assignments, target, MOS), ``sessions`` (counts by state and decision),
    ``clean_vote_share`` (share of submitted rating votes that enter statistics),
    ``reasons`` (count per broken rule over decided sessions), ``systems`` (MOS, std, n,
    ci95 and the mean of each objective metric over the inputs every system has it for),
    ``objective_n`` (that input count per metric),
    ``pairwise`` (Welch + Holm per system pair), ``raters`` (r: correlation with the others'
    clip MOS; irr_p808 over n_irr_clips: P.808's inter-rater reliability), ``split_half``
    (Spearman-Brown reliability of the system MOS), and
    ``overrides`` (the log).

    Raises:
        NotFound: no such test.
    """
    info = get_test(db, test_id)
    results = test_results(db, test_id, now=now)
    return method_of(info.method).overview(db, test_id, info, results, now=now,
                                           n_splits=n_splits)


test_overview.__test__ = False  # a service, not a pytest test


def clip_overview(db: Session, test_id: int, info: Any, results: dict[str, Any], *,
                  now: datetime | None, n_splits: int, scale: str | None = None
                  ) -> dict[str, Any]:
    """:func:`test_overview` of a single-clip test (ACR and kin); a multi-scale method's
    vote counts, agreement and reliability are read on ``scale``."""
    frame = statistics_frame(votes_frame(db, test_id, scale=scale))
    submitted = frame[(frame["session_state"] == SessionState.SUBMITTED.value)
                      & ~frame["is_gold"] & ~frame["is_trap"]]
    spec, now = spec_of(load_test(db, test_id)), now or utcnow()
    live = [rs.id for rs in db.scalars(select(RatingSession).where(
        RatingSession.test_id == test_id)) if status_of(rs, spec, now) == "in_progress"]
    assigned = Counter(db.scalars(select(ListeningTestItem.clip_id).join(SessionItem).where(
        SessionItem.session_id.in_(live), ListeningTestItem.role == ItemRole.RATING.value)))
    clips = [{**c, "votes": c["n"], "assigned": assigned.get(c["clip_id"], 0),
              "target": info.votes_per_clip} for c in results["clips"]]
    reasons: Counter[str] = Counter()
    for rs in db.scalars(select(RatingSession).where(RatingSession.test_id == test_id,
                                                     RatingSession.qc_reasons.is_not(None))):
        reasons.update({reason_kind(r) for r in rs.qc_reasons or []})
    systems, objective_n = _with_objective(db, test_id, results["systems"])
    pairwise = pairwise_differences(frame).to_dict("records") if len(frame) else []
    raters = rater_reliability(frame).join(p808_inter_rater_reliability(frame)).rename(
        columns={"irr": "irr_p808", "n_samples": "n_irr_clips"}).reset_index().to_dict(
        "records") if len(frame) else []
    split = split_half_reliability(frame, np.random.default_rng(info.id), n_splits) \
        if len(frame) else float("nan")
    return {
        "test": info.to_dict(), "clips": clips, "sessions": results["sessions"],
        "categories": results.get("categories", []),
        "clean_vote_share": _num(float(submitted["used"].mean()) if len(submitted) else None),
        "reasons": dict(reasons), "systems": systems, "objective_n": objective_n,
        "pairwise": [{k: _clean(v) for k, v in row.items()} for row in pairwise],
        "raters": [{k: _clean(v) for k, v in row.items()} for row in raters],
        "split_half": _num(split),
        "overrides": [o.__dict__ for o in list_overrides(db, test_id)],
    }


def _clean(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, float, np.integer, np.floating)):
        return _num(value)
    return value


def common_clip_means(scores: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per system the mean of each objective metric over ONE set of inputs, the same for
    every system: the inputs on which every system that has the metric at all has it. (A
    metric stored for the one clip enhanced in the Enhance tab must not sit beside another
    averaged over 36 clips.)

    Args:
        scores: ``system, input, metric, value`` (repeats of a system, input and metric are
            averaged first).

    Returns:
        The means (index: system; one column per metric with at least one common input;
        NaN for a system without the metric) and the number of common inputs per metric.
    """
    means: dict[str, pd.Series] = {}
    counts: dict[str, int] = {}
    for metric, rows in scores.groupby("metric", sort=True):
        grid = rows.pivot_table(index="input", columns="system", values="value",
                                aggfunc="mean")
        common = grid.dropna(how="any")
        if len(common):
            means[str(metric)], counts[str(metric)] = common.mean(), len(common)
    return pd.DataFrame(means), counts


def _with_objective(db: Session, test_id: int, systems: list[dict[str, Any]]
                    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The systems with their objective means over one common input set
    (:func:`common_clip_means`), and the size of that set per metric."""
    rows = db.execute(
        select(ListeningTestItem.condition, ListeningTestItem.sample_id,
               ListeningTestItem.clip_id, ObjectiveScore.metric, ObjectiveScore.value)
        .join(ObjectiveScore, ObjectiveScore.clip_id == ListeningTestItem.clip_id)
        .where(ListeningTestItem.test_id == test_id,
               ListeningTestItem.role == ItemRole.RATING.value,
               ObjectiveScore.value.is_not(None))).all()
    table = pd.DataFrame(rows, columns=["system", "sample_id", "clip_id", "metric", "value"])
    table["input"] = table["sample_id"].fillna(table["clip_id"].astype(str)).astype(str)
    means, counts = common_clip_means(table) if len(table) else (pd.DataFrame(), {})
    out = []
    for entry in systems:
        objective = {}
        if entry["system"] in means.index:
            objective = {m: _num(v) for m, v in means.loc[entry["system"]].items()}
        out.append({**entry, "objective": objective})
    return out, counts
