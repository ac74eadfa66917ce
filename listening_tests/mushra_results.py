"""MUSHRA's scores as tables: one row per score, BS.1534-3 post-screening, per-system
statistics (t intervals, quartiles, paired Wilcoxon tests with Holm, the ranking they imply,
differences from the hidden reference), per input means and the export tables.

The method (:mod:`listening_tests.methods.mushra`) calls these; the frames are pandas, one
row per score, as :func:`scores_frame` reads them from the votes table.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from listening_tests.methods.mushra import HIDDEN_REFERENCE, SCALE, anchor_name, urgent_label

LONG_COLUMNS = ["assessor", "session", "page", "stimulus", "system", "score", "time",
                "elapsed_ms", "qc_status"]


def scores_frame(db, test_id: int, *, rater_id: int | None = None):
    """Every MUSHRA score of a test's rating pages (training pages left out), one row
    each: assessor (the participant id), session
    token, page (the input), stimulus (its clip name), system (system, hidden_reference or
    anchor_<Hz>), score, time (when it was given), plus ids and QC state."""
    import pandas as pd
    from sqlalchemy import select

    from db.models import (
        Clip,
        ItemRole,
        ListeningTestItem,
        Rater,
        RatingSession,
        SessionItem,
        Vote,
    )

    query = (select(Vote.score, Vote.created_at, Vote.elapsed_ms, RatingSession.id,
                    RatingSession.token, RatingSession.state, RatingSession.qc_status,
                    Rater.external_id, ListeningTestItem.sample_id,
                    ListeningTestItem.condition, Clip.name, Clip.id)
             .join(SessionItem, Vote.session_item_id == SessionItem.id)
             .join(RatingSession, Vote.session_id == RatingSession.id)
             .join(Rater, RatingSession.rater_id == Rater.id)
             .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
             .join(Clip, ListeningTestItem.clip_id == Clip.id)
             .where(RatingSession.test_id == test_id, Vote.scale == SCALE,
                    ListeningTestItem.role == ItemRole.RATING.value)
             .order_by(Vote.id))
    if rater_id is not None:
        query = query.where(RatingSession.rater_id == rater_id)
    columns = ["score", "time", "elapsed_ms", "session_id", "session", "state", "qc_status",
               "assessor", "page", "system", "stimulus", "clip_id"]
    frame = pd.DataFrame(db.execute(query).all(), columns=columns)
    frame["score"] = frame["score"].astype(float)
    return frame


def accepted(frame):
    """The scores that enter statistics: submitted sessions whose QC accepted them."""
    return frame[(frame["state"] == "submitted") & (frame["qc_status"] == "accepted")]


def stimulus_kind(system: str) -> str:
    """What a stimulus is on its page: "reference" (the hidden one), "anchor" or "system"."""
    if system == HIDDEN_REFERENCE:
        return "reference"
    return "anchor" if system.startswith("anchor_") else "system"


def _screening_counts(frame, s) -> tuple[int, int, int | None]:
    """Pages, pages with the hidden reference below ``reference_min``, pages with the mid
    anchor above ``anchor_max`` (None without a mid-anchor rule) of one assessor's rows."""
    pages = int(frame["page"].nunique())
    hidden = frame[frame["system"] == HIDDEN_REFERENCE]
    low = int((hidden["score"] < s.reference_min).sum())
    if s.mid_anchor_hz is None:
        return pages, low, None
    mid = frame[frame["system"] == anchor_name(s.mid_anchor_hz)]
    return pages, low, int((mid["score"] > s.anchor_max).sum())


def screening_rules(settings) -> list[dict[str, Any]]:
    """The post-screening rules as the dashboard draws them: the column of
    :func:`assessor_screening` holding each rule's share of pages, what it says, the limit."""
    from listening_tests.spec import MushraSpec

    s = settings or MushraSpec()
    rules = [{"column": "reference_low_share", "limit": s.max_page_fraction,
              "label": f"hidden reference below {s.reference_min}"}]
    if s.mid_anchor_hz is not None:
        rules.append({"column": "anchor_high_share", "limit": s.max_page_fraction,
                      "label": f"mid anchor ({s.mid_anchor_hz} Hz) above {s.anchor_max}"})
    return rules


def assessor_screening(frame, settings):
    """Per assessor, over their pages of submitted sessions (``frame``): pages, how many
    broke each post-screening rule and as a share, and whether that excludes them."""
    import pandas as pd

    from listening_tests.spec import MushraSpec

    s = settings or MushraSpec()
    columns = ["assessor", "pages", "reference_low", "reference_low_share", "anchor_high",
               "anchor_high_share", "excluded"]
    rows = []
    for assessor, part in frame.groupby("assessor", sort=True):
        pages, low, high = _screening_counts(part, s)
        rows.append({"assessor": assessor, "pages": pages, "reference_low": low,
                     "reference_low_share": low / pages if pages else float("nan"),
                     "anchor_high": high,
                     "anchor_high_share": high / pages if pages and high is not None
                     else float("nan"),
                     "excluded": bool(screening_reasons(part, s))})
    return pd.DataFrame(rows, columns=columns)


def screening_reasons(frame, settings) -> list[str]:
    """BS.1534-3 post-screening of one assessor's scores (``frame``: their rows), as reason
    sentences; empty when they pass."""
    from listening_tests.spec import MushraSpec

    s = settings or MushraSpec()
    pages, low, high = _screening_counts(frame, s)
    if pages == 0:
        return []
    reasons = []
    if low / pages > s.max_page_fraction:
        reasons.append(f"rated the hidden reference below {s.reference_min} on {low} of "
                       f"{pages} pages ({low / pages:.0%}; at most "
                       f"{s.max_page_fraction:.0%} allowed)")
    if high is not None and high / pages > s.max_page_fraction:
        reasons.append(f"rated the mid anchor ({s.mid_anchor_hz} Hz low-pass) above "
                       f"{s.anchor_max} on {high} of {pages} pages ({high / pages:.0%}; "
                       f"at most {s.max_page_fraction:.0%} allowed)")
    return reasons


def _t_half_width(x: np.ndarray) -> float:
    """Half-width of the Student t 95 % interval of the mean of ``x`` (NaN under 2)."""
    from scipy import stats

    n = len(x)
    return float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / np.sqrt(n)) if n > 1 \
        else float("nan")


def system_summary(frame):
    """Per system: its kind (:func:`stimulus_kind`), n, mean, 95 % CI half-width (Student
    t), median, quartiles; the hidden reference first, then anchors, then systems by name."""
    import pandas as pd

    rows = []
    for system, scores in frame.groupby("system")["score"]:
        x = scores.to_numpy(dtype=float)
        rows.append({"system": system, "kind": stimulus_kind(system), "n": len(x),
                     "mean": float(x.mean()), "ci95": _t_half_width(x),
                     "median": float(np.median(x)), "q1": float(np.percentile(x, 25)),
                     "q3": float(np.percentile(x, 75))})
    table = pd.DataFrame(rows, columns=["system", "kind", "n", "mean", "ci95", "median", "q1",
                                        "q3"])
    return table.sort_values("system", key=lambda c: c.map(_system_order)).reset_index(
        drop=True)


def paired_comparisons(frame, alpha: float = 0.05):
    """Every two compared systems (not the hidden reference or anchors): Wilcoxon
    signed-rank test on their scores paired by (session, page), Holm-corrected over the
    pairs; ``median_diff`` is a's score minus b's."""
    import itertools

    import pandas as pd
    from scipy import stats

    from listening_tests.statistics import holm_correction

    columns = ["system_a", "system_b", "n", "median_diff", "p", "p_holm", "significant"]
    kept = frame[(frame["system"] != HIDDEN_REFERENCE)
                 & ~frame["system"].str.startswith("anchor_")]
    wide = kept.pivot_table(index=["session", "page"], columns="system", values="score")
    rows = []
    for a, b in itertools.combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        diff = (both[a] - both[b]).to_numpy(dtype=float)
        p = float(stats.wilcoxon(diff).pvalue) if len(diff) and np.any(diff != 0) else 1.0
        rows.append({"system_a": a, "system_b": b, "n": len(diff),
                     "median_diff": float(np.median(diff)) if len(diff) else float("nan"),
                     "p": p})
    out = pd.DataFrame(rows, columns=columns[:5])
    out["p_holm"] = holm_correction(out["p"].to_numpy(dtype=float)) if len(out) else []
    out["significant"] = (out["p_holm"] < alpha).to_numpy(dtype=bool) if len(out) else []
    return out[columns]


def _system_order(name: str) -> tuple[int, str]:
    if name == HIDDEN_REFERENCE:
        return (0, name)
    if name.startswith("anchor_"):
        tail = name.split("_", 1)[1]
        return (1, f"{int(tail):06d}") if tail.isdigit() else (2, tail)
    return (3, name)


def reference_differences(frame):
    """Per stimulus other than the hidden reference: its score minus the hidden
    reference's on the same page of the same session (n, mean with a t 95 % CI half-width,
    median), in summary order: how far each system and anchor falls short of transparent."""
    import pandas as pd

    columns = ["system", "kind", "n", "mean_diff", "ci95", "median_diff"]
    wide = frame.pivot_table(index=["session", "page"], columns="system", values="score")
    rows = []
    if HIDDEN_REFERENCE in wide.columns:
        for system in sorted((c for c in wide.columns if c != HIDDEN_REFERENCE),
                             key=_system_order):
            d = (wide[system] - wide[HIDDEN_REFERENCE]).dropna().to_numpy(dtype=float)
            if len(d):
                rows.append({"system": system, "kind": stimulus_kind(system), "n": len(d),
                             "mean_diff": float(d.mean()), "ci95": _t_half_width(d),
                             "median_diff": float(np.median(d))})
    return pd.DataFrame(rows, columns=columns)


def implied_ranking(summary, pairs):
    """The compared systems (no hidden reference or anchors) best first by mean; a
    system's rank is 1 + the number of systems significantly better than it (Wilcoxon with
    Holm, :func:`paired_comparisons`), so systems no test separates share a rank.
    ``better_than`` names the systems it is significantly better than."""
    import pandas as pd

    columns = ["rank", "system", "mean", "n", "better_than"]
    kept = summary[summary["kind"] == "system"].sort_values(["mean", "system"],
                                                            ascending=[False, True])
    means = dict(zip(kept["system"], kept["mean"], strict=True))
    beats: dict[str, set[str]] = {s: set() for s in means}
    for row in pairs[pairs["significant"]].itertuples():
        if row.system_a in means and row.system_b in means:
            winner, loser = (row.system_a, row.system_b) \
                if means[row.system_a] >= means[row.system_b] else (row.system_b, row.system_a)
            beats[winner].add(loser)
    rows = [{"rank": 1 + sum(system in beats[other] for other in means), "system": system,
             "mean": means[system], "n": int(n), "better_than": ", ".join(sorted(beats[system]))}
            for system, n in zip(kept["system"], kept["n"], strict=True)]
    return pd.DataFrame(rows, columns=columns)


def input_summary(frame):
    """Per input and system: n and mean."""
    table = frame.groupby(["page", "system"])["score"].agg(["count", "mean"]).reset_index()
    return table.rename(columns={"count": "n"})


def urgent_table(frame):
    """URGENT label rows (``wav_path, system_id, sample_id, score, listener_id``), each
    MUSHRA score mapped to 1..5 by :func:`urgent_label`; systems only (not the hidden
    reference or anchors)."""
    import pandas as pd

    kept = frame[(frame["system"] != HIDDEN_REFERENCE)
                 & ~frame["system"].str.startswith("anchor_")]
    return pd.DataFrame({"wav_path": "audio/" + kept["stimulus"],
                         "system_id": kept["system"], "sample_id": kept["page"],
                         "score": [urgent_label(s) for s in kept["score"]],
                         "listener_id": kept["assessor"]})


def screening_table(db, test_id: int):
    """Per finished session: its assessor, QC status and reasons (post-screening)."""
    import pandas as pd
    from sqlalchemy import select

    from db.models import Rater, RatingSession

    rows = db.execute(select(Rater.external_id, RatingSession.token, RatingSession.qc_status,
                             RatingSession.qc_reasons)
                      .join(Rater, RatingSession.rater_id == Rater.id)
                      .where(RatingSession.test_id == test_id,
                             RatingSession.state == "submitted")
                      .order_by(RatingSession.id)).all()
    return pd.DataFrame([{"assessor": a, "session": t, "qc_status": s,
                          "reasons": "; ".join(r or [])} for a, t, s, r in rows],
                        columns=["assessor", "session", "qc_status", "reasons"])
