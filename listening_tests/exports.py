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
from listening_tests.votes import VOTE_COLUMNS, check_votes, rating_votes, vote_flag

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


def votes_per_clip(votes: pd.DataFrame) -> pd.DataFrame:
    """P.808 ``votes_per_clip``: file, n, MOS, std, 95%CI, 95%CI_t, vote_1 .. vote_N.

    Votes are listed in the order of the votes table; N is the largest number of votes of any
    clip and shorter rows are left empty.
    """
    kept = rating_votes(votes)
    summary = per_clip(votes)
    out = pd.DataFrame(
        {
            "file": summary.index.to_numpy(dtype=object),
            "n": summary["n"].to_numpy(),
            "MOS": summary["mos"].to_numpy(),
            "std": summary["std"].to_numpy(),
            "95%CI": summary["ci95_normal"].to_numpy(),
            "95%CI_t": summary["ci95"].to_numpy(),
        }
    )
    lists = kept.groupby("clip", sort=True)["score"].apply(list).reindex(summary.index)
    width = int(summary["n"].max()) if len(summary) else 0
    dtype = _score_dtype(kept["score"])
    for i in range(width):
        column = [v[i] if i < len(v) else None for v in lists]
        out[f"vote_{i + 1}"] = pd.array(column, dtype=dtype)
    return escape_formulas(out)


def votes_per_cond(votes: pd.DataFrame, by: str = "condition") -> pd.DataFrame:
    """P.808 ``votes_per_cond``: condition, n, MOS, std, 95%CI, 95%CI_t (votes pooled)."""
    summary = per_condition(votes, by=by)
    out = pd.DataFrame(
        {
            "condition": summary.index.to_numpy(dtype=object),
            "n": summary["n"].to_numpy(),
            "MOS": summary["mos"].to_numpy(),
            "std": summary["std"].to_numpy(),
            "95%CI": summary["ci95_normal"].to_numpy(),
            "95%CI_t": summary["ci95"].to_numpy(),
        }
    )
    return escape_formulas(out)


def votes_per_worker(votes: pd.DataFrame) -> pd.DataFrame:
    """P.808 ``votes_per_worker``: worker, file, vote, question_type, long format.

    Lists every answer of accepted-and-used sessions, gold and trapping ones included (marked
    ``gold`` / ``trap``; others ``rating``), so a rater's control answers can be checked next
    to their ratings. Sorted by worker, then in the order of the votes table.
    """
    check_votes(votes)
    keep = vote_flag(votes, "accepted") & vote_flag(votes, "used")
    kept = votes.loc[keep]
    kinds = np.where(
        vote_flag(kept, "is_gold"), "gold", np.where(vote_flag(kept, "is_trap"), "trap", "rating")
    )
    scores = pd.to_numeric(kept["score"]).astype(float)
    out = pd.DataFrame(
        {
            "worker": kept["rater"].to_numpy(),
            "file": kept["clip"].to_numpy(),
            "vote": pd.array(scores.to_numpy(), dtype=_score_dtype(scores)),
            "question_type": kinds,
        }
    )
    out = out.sort_values("worker", kind="stable").reset_index(drop=True)
    return escape_formulas(out)


def accept_reject(decisions: Iterable[tuple[Hashable, Hashable, QcDecision]]) -> pd.DataFrame:
    """Accept/reject report: worker, session, status, reasons (joined with "; ").

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
