"""Rating tables in the formats the field already uses: ITU-T P.808 toolkit files and URGENT labels.

The P.808 tables match what the toolkit's result parser writes on the same votes (MOS and std
over accepted-and-used rating votes, ``95%CI`` as ``1.96 * std / sqrt(n)``, empty std and CI for
a single vote), with a t-based ``95%CI_t`` column beside it. The URGENT 2026 Track 2 table has
one row per vote so that SQA training can use listener ids.

Every table is escaped against spreadsheet formula injection: rater ids and file names come
from outside, and a cell such as ``=HYPERLINK(...)`` would run when a researcher opens the CSV.
Only text cells are touched; numbers, negative ones included, stay numbers.
"""

from __future__ import annotations

import io
import re
from collections.abc import Hashable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from listening_tests.quality_control import QcDecision
from listening_tests.statistics import per_clip, per_condition
from listening_tests.votes import VOTE_COLUMNS, check_votes, rating_votes

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
URGENT_LABEL_COLUMNS: tuple[str, ...] = (
    "wav_path",
    "system_id",
    "sample_id",
    "score",
    "listener_id",
)


#: A plain number written as text (a listener id "-1", a score "+2.5"): not a formula.
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def escape_cell(value: object) -> object:
    """Prefix ``'`` to a text cell that a spreadsheet would read as a formula; others unchanged.

    The one escaping function of every CSV the app writes (listening-test exports, label
    zips, Compare exports). Text that is a plain number (``-1``) is a number to a
    spreadsheet, not a formula, and stays as it is. Idempotent: an escaped cell starts with
    ``'`` and is not escaped again.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) \
            and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Return a copy with every text cell escaped; numeric and boolean columns untouched."""
    out = df.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        if isinstance(series.dtype, pd.CategoricalDtype):
            series = series.astype(object)
        out[column] = series.map(escape_cell)
    return out


def _score_dtype(scores: pd.Series) -> str:
    """Integer scores (the ACR scale) stay integers in exports; others stay floats."""
    values = scores.to_numpy(dtype=float)
    return "Int64" if values.size and np.all(np.mod(values, 1.0) == 0) else "Float64"


def _short_name(file_url: str) -> str:
    """P.808's ``short_file_name``: the part of the file's address after its last "/"."""
    return str(file_url).rsplit("/", 1)[-1]


def _session_ids(votes: pd.DataFrame) -> np.ndarray:
    """The session each row belongs to (our HIT and assignment), "" when the table lacks it."""
    if "session_id" in votes.columns:
        return votes["session_id"].astype(str).to_numpy(dtype=object)
    return np.full(len(votes), "", dtype=object)


def votes_per_clip(votes: pd.DataFrame, mos_name: str = "MOS", suffix: str = ""
                   ) -> pd.DataFrame:
    """P.808 ``votes_per_clip``: file_url, n, MOS, std, 95%CI, short_file_name, condition,
    vote_1 .. vote_N, then ours: 95%CI_t.

    ``condition`` is the one condition key column (P.808 writes its ``condition_keys`` there).
    Votes are listed in the order of the votes table; N is the largest number of votes of any
    clip and shorter rows are left empty.

    Args:
        votes: The votes table.
        mos_name: The MOS column's name in P.808 (MOS for ACR, DMOS for DCR, CMOS for CCR,
            MOS_SIG / MOS_BAK / MOS_OVRL for P.835).
        suffix: P.808's suffix of a multi-scale method's std and CI columns (``_sig``); its
            files then also carry P.808's ``n_silent`` and ``is_silent_percentage`` (0: our
            page has no "nothing to rate" answer) after ``short_file_name``.
    """
    kept = rating_votes(votes)
    summary = per_clip(votes)
    files = summary.index.to_numpy(dtype=object)
    condition = kept.groupby("clip", sort=True)["condition"].first().reindex(summary.index)
    out = pd.DataFrame(
        {
            "file_url": files,
            "n": summary["n"].to_numpy(dtype=int),
            mos_name: summary["mos"].to_numpy(),
            f"std{suffix}": summary["std"].to_numpy(),
            f"95%CI{suffix}": summary["ci95_normal"].to_numpy(),
            "short_file_name": [_short_name(f) for f in files],
            **({"n_silent": 0, "is_silent_percentage": 0} if suffix else {}),
            "condition": condition.to_numpy(dtype=object),
        }
    )
    lists = kept.groupby("clip", sort=True)["score"].apply(list).reindex(summary.index)
    width = int(summary["n"].max()) if len(summary) else 0
    dtype = _score_dtype(kept["score"])
    for i in range(width):
        column = [v[i] if i < len(v) else None for v in lists]
        out[f"vote_{i + 1}"] = pd.array(column, dtype=dtype)
    out[f"95%CI_t{suffix}"] = summary["ci95"].to_numpy()
    return escape_formulas(out)


def votes_per_cond(votes: pd.DataFrame, by: str = "condition", mos_name: str = "MOS",
                   suffix: str = "") -> pd.DataFrame:
    """P.808 ``votes_per_cond``: condition_name, condition, n, MOS, std, 95%CI, then ours:
    95%CI_t. Votes of a condition's clips are pooled (n counts votes, not clips)."""
    summary = per_condition(votes, by=by)
    names = summary.index.to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "condition_name": names,
            "condition": names,
            "n": summary["n"].to_numpy(dtype=int),
            mos_name: summary["mos"].to_numpy(),
            f"std{suffix}": summary["std"].to_numpy(),
            f"95%CI{suffix}": summary["ci95_normal"].to_numpy(),
            f"95%CI_t{suffix}": summary["ci95"].to_numpy(),
        }
    )
    return escape_formulas(out)


def votes_per_worker(votes: pd.DataFrame, mos_name: str = "MOS") -> pd.DataFrame:
    """P.808 ``votes_per_worker``: HITId, workerid, assignment_id, assignmentstatus, file,
    short_file_name, vote, question_type, condition; one row per rating vote.

    Like P.808's parser, only the rating answers of accepted-and-used sessions are listed
    (gold and trapping answers test the rater; the accept/reject report covers them).
    ``question_type`` is the MOS name of the scale (MOS, DMOS, CMOS, MOS_SIG, ...). A session
    is our HIT and assignment at once, so both carry its id; every listed session was
    submitted. Sorted by worker, then in the order of the votes table.
    """
    kept = rating_votes(votes)
    sessions = _session_ids(kept)
    files = kept["clip"].to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "HITId": sessions,
            "workerid": kept["rater"].to_numpy(),
            "assignment_id": sessions,
            "assignmentstatus": "Submitted",
            "file": files,
            "short_file_name": [_short_name(f) for f in files],
            "vote": pd.array(kept["score"].to_numpy(), dtype=_score_dtype(kept["score"])),
            "question_type": mos_name,
            "condition": kept["condition"].to_numpy(),
        }
    )
    out = out.sort_values("workerid", kind="stable").reset_index(drop=True)
    return escape_formulas(out)


def accept_reject(decisions: Iterable[tuple[Hashable, Hashable, QcDecision]]) -> pd.DataFrame:
    """Our accept/reject report: worker, session, status, reasons (joined with "; ").

    Args:
        decisions: (worker id, session id, decision) per evaluated session.
    """
    rows = [
        {
            "worker": worker,
            "session": session,
            "status": decision.status,
            "reasons": "; ".join(decision.reasons),
        }
        for worker, session, decision in decisions
    ]
    out = pd.DataFrame(rows, columns=["worker", "session", "status", "reasons"])
    return escape_formulas(out)


def accept_reject_p808(report: pd.DataFrame) -> pd.DataFrame:
    """P.808's accept/reject file (``_accept_reject_gui.csv``) from :func:`accept_reject`'s
    table: WorkerId, assignmentId, HITId, Approve ("x" when paid), Reject (the reasons of a
    rejected session, else empty), n_duplicate (0: a session is answered once).

    P.808 approves "accepted" and "not used" sessions alike (both are paid); only a rejected
    one carries a Reject text.
    """
    rejected = (report["status"] == "rejected").to_numpy(dtype=bool)
    reasons = report["reasons"].fillna("").astype(str).to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "WorkerId": report["worker"].to_numpy(),
            "assignmentId": report["session"].to_numpy(),
            "HITId": report["session"].to_numpy(),
            "Approve": np.where(rejected, "", "x"),
            "Reject": np.where(rejected, reasons, ""),
            "n_duplicate": np.zeros(len(report), dtype=int),
        }
    )
    return escape_formulas(out)


def urgent_labels(votes: pd.DataFrame) -> pd.DataFrame:
    """URGENT 2026 Track 2 label table, one row per rating vote that enters statistics.

    Columns ``wav_path, system_id, sample_id, score, listener_id``; system_id is the vote's
    condition and listener_id its rater. The votes table must also carry ``wav_path`` (where
    the rated file will be found by the SQA recipe) and ``sample_id`` (the source utterance,
    shared by the systems that processed it).

    Raises:
        ValueError: If ``wav_path`` or ``sample_id`` is missing.
    """
    check_votes(votes, (*VOTE_COLUMNS, "wav_path", "sample_id"))
    kept = rating_votes(votes)
    out = pd.DataFrame(
        {
            "wav_path": kept["wav_path"].to_numpy(),
            "system_id": kept["condition"].to_numpy(),
            "sample_id": kept["sample_id"].to_numpy(),
            "score": pd.array(kept["score"].to_numpy(), dtype=_score_dtype(kept["score"])),
            "listener_id": kept["rater"].to_numpy(),
        }
    )
    return escape_formulas(out)


def urgent_labels_per_scale(votes: pd.DataFrame, scales: tuple[str, ...],
                            main: str) -> pd.DataFrame:
    """URGENT label table of a multi-scale method: one row per rated clip and rater with one
    score column per scale (P.835: ``sig``, ``bak``, ``ovrl``), so the quality model can
    learn all of them; ``score`` repeats ``main`` (the overall scale) for readers that know
    only the one-score layout. ``votes`` needs a ``scale`` and a ``session_id`` column.

    Columns ``wav_path, system_id, sample_id, score, <scales...>, listener_id``.
    """
    check_votes(votes, (*VOTE_COLUMNS, "wav_path", "sample_id", "scale", "session_id"))
    kept = rating_votes(votes)
    if not len(kept):
        return pd.DataFrame(columns=["wav_path", "system_id", "sample_id", "score", *scales,
                                     "listener_id"])
    keys = ["session_id", "wav_path", "condition", "sample_id", "rater"]
    wide = kept.pivot_table(index=keys, columns="scale", values="score", aggfunc="first",
                            sort=False).reset_index()
    dtype = _score_dtype(kept["score"])
    out = pd.DataFrame({
        "wav_path": wide["wav_path"].to_numpy(),
        "system_id": wide["condition"].to_numpy(),
        "sample_id": wide["sample_id"].to_numpy(),
        "score": pd.array(wide[main].to_numpy(), dtype=dtype),
        **{scale: pd.array(wide[scale].to_numpy(), dtype=dtype) for scale in scales},
        "listener_id": wide["rater"].to_numpy(),
    })
    return escape_formulas(out)


def csv_text(df: pd.DataFrame) -> str:
    """The CSV that :func:`write_csv` would write, as a string (for HTTP downloads)."""
    buffer = io.StringIO()
    escape_formulas(df).to_csv(buffer, index=False, na_rep="", lineterminator="\n")
    return buffer.getvalue()


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write an export table as UTF-8 CSV: no index, empty cells for missing values.

    Text cells are escaped again on the way out (idempotent), so a frame built elsewhere is
    safe to write too.

    Returns:
        The path written.
    """
    path = Path(path)
    path.write_text(csv_text(df), encoding="utf-8")
    return path
