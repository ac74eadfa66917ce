"""Human quality labels: the table every label format is read into, its validation, and MOS.

A **label table** is a :class:`pandas.DataFrame` with one row per rating (per-listener files)
or per utterance (files that already hold a MOS), with these columns:

=============== ========= ===========================================================
column          dtype     meaning
=============== ========= ===========================================================
utterance_id    str       one rated audio file; the id used in ``mos.scp``. Defaults to
                          ``<system_id>-<sample_id>`` (the BVCC and SHEET convention)
wav_path        str       absolute path of the rated audio
system_id       str       the system (or condition) that produced the audio
sample_id       str       the source sample; the same sample is rated for many systems
listener_id     str/None  who gave the rating; None where the row is already a mean
score           float     the rating or MOS, on the 1-5 ACR scale by default
dataset         str       where the label comes from (``urgent``, ``bvcc``, NISQA ``db``)
line            int       1-based line of the source file (header = line 1), for messages
<metric>        float     optional objective scores (:data:`METRIC_COLUMNS`); NaN = missing
=============== ========= ===========================================================

The readers (:mod:`sqa.label_formats`) only parse; :func:`validate` then collects every
problem with its line before anything is used or written, so a user fixes a file in one go.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from audio.io import DEFAULT_MAX_SECONDS, AudioError, load_audio

#: Columns of every label table, in order.
LABEL_COLUMNS: tuple[str, ...] = (
    "utterance_id", "wav_path", "system_id", "sample_id", "listener_id", "score", "dataset",
    "line",
)

#: Objective metric columns a label file may carry beside the human score (URGENT names).
METRIC_COLUMNS: tuple[str, ...] = (
    "dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808", "nisqa_mos", "utmos", "scoreq",
    "plcmos", "pesq", "estoi", "stoi", "sdr", "si_sdr", "sir", "sar", "mcd", "lsd",
    "speechbertscore", "lps", "spk_sim", "char_acc", "wer", "cer",
)

#: Sampling rates accepted for labelled audio (the URGENT range).
MIN_LABEL_RATE = 8_000
MAX_LABEL_RATE = 48_000

#: How many problems a message lists before it only counts the rest.
MAX_LISTED_PROBLEMS = 20

LabelTable = pd.DataFrame


@dataclass(frozen=True)
class LabelProblem:
    """One thing wrong in a label file.

    Attributes:
        line: 1-based line of the source file (the header is line 1).
        message: what is wrong, for the user as it is.
        field: the column concerned, where there is one (used to avoid saying the same
            thing twice about one value).
    """

    line: int
    message: str
    field: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class LabelError(ValueError):
    """A label file cannot be used. ``problems`` holds every problem found, sorted by line;
    the message names the file and lists the first :data:`MAX_LISTED_PROBLEMS`."""

    def __init__(self, problems: Iterable[LabelProblem], source: str = "") -> None:
        self.problems: list[LabelProblem] = sorted(problems, key=lambda p: p.line)
        self.source = source
        super().__init__("\n".join(self.lines()))

    def lines(self, limit: int = MAX_LISTED_PROBLEMS) -> list[str]:
        """One line per problem (at most ``limit``), then a count of the rest."""
        prefix = f"{self.source}: " if self.source else ""
        out = [f"{prefix}{p}" for p in self.problems[:limit]]
        rest = len(self.problems) - limit
        if rest > 0:
            out.append(f"{prefix}... and {rest} more problem{'s' if rest > 1 else ''}")
        return out


def make_table(rows: Sequence[dict], metric_columns: Sequence[str] = (), *,
               problems: Sequence[LabelProblem] = (), source: str = "") -> LabelTable:
    """Build a label table from row dicts with the :data:`LABEL_COLUMNS` keys (metric keys
    optional). Parse problems found by a reader travel in ``table.attrs`` to :func:`validate`.
    """
    columns = [*LABEL_COLUMNS, *metric_columns]
    table = pd.DataFrame(list(rows), columns=columns)
    for name in ("utterance_id", "wav_path", "system_id", "sample_id", "dataset"):
        table[name] = table[name].fillna("").astype(str)
    table["listener_id"] = table["listener_id"].astype(object)
    table.loc[table["listener_id"].isna(), "listener_id"] = None
    table["score"] = pd.to_numeric(table["score"], errors="coerce").astype(float)
    table["line"] = table["line"].astype(int)
    for name in metric_columns:
        table[name] = pd.to_numeric(table[name], errors="coerce").astype(float)
    table.attrs["problems"] = list(problems)
    table.attrs["source"] = source
    return table


def metric_columns(table: LabelTable) -> list[str]:
    """The objective metric columns present in ``table``."""
    return [c for c in table.columns if c in METRIC_COLUMNS]


def _rows_note(count: int) -> str:
    return f" (used on {count} rows)" if count > 1 else ""


def check_label_audio(path: str, *, decode: bool = False,
                      max_seconds: float | None = DEFAULT_MAX_SECONDS) -> str | None:
    """Why the audio at ``path`` cannot be used for labels, or None if it can.

    Only the header is read (``soundfile.info``) unless ``decode``, which runs
    :func:`audio.io.load_audio` on the whole file (silent, NaN, undecodable content).
    """
    file = Path(path)
    if not file.is_file():
        return f"audio not found: {path}"
    try:
        info = sf.info(str(file))
    except Exception as exc:  # soundfile raises several types for bad files
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"audio unreadable: {path} ({reason})"
    rate = int(info.samplerate)
    if not MIN_LABEL_RATE <= rate <= MAX_LABEL_RATE:
        return (f"audio at {rate} Hz: {path} (supported {MIN_LABEL_RATE}-{MAX_LABEL_RATE} Hz)")
    if info.frames == 0:
        return f"audio is empty (no samples): {path}"
    if max_seconds is not None and info.frames / rate > max_seconds:
        return f"audio is {info.frames / rate:.1f} s, longer than {max_seconds:g} s: {path}"
    if decode:
        try:
            load_audio(file, max_seconds=max_seconds, name=str(path))
        except AudioError as exc:
            return f"audio unusable: {exc}"
    return None


def _check_values(table: LabelTable, score_range: tuple[float, float],
                  known: set[tuple[int, str]]) -> list[LabelProblem]:
    problems: list[LabelProblem] = []
    low, high = score_range
    for row in table.itertuples(index=False):
        line = int(row.line)
        for name in ("wav_path", "system_id", "sample_id"):
            if not str(getattr(row, name)).strip() and (line, name) not in known:
                problems.append(LabelProblem(line, f"{name} is empty", name))
        uid = str(row.utterance_id)
        if uid and any(ch.isspace() for ch in uid):
            problems.append(LabelProblem(
                line, f"utterance id '{uid}' contains whitespace (mos.scp ids cannot)",
                "utterance_id"))
        if (line, "score") in known:
            continue
        score = float(row.score)
        if math.isnan(score):
            problems.append(LabelProblem(line, "score is empty or NaN", "score"))
        elif not low <= score <= high:
            problems.append(LabelProblem(
                line, f"score {score:g} is outside the scale {low:g}-{high:g}", "score"))
    return problems


def _check_ids(table: LabelTable) -> list[LabelProblem]:
    problems: list[LabelProblem] = []
    first_rating: dict[tuple[str, str | None], int] = {}
    first_path: dict[str, tuple[str, int]] = {}
    kinds: dict[str, dict[bool, int]] = {}
    mixed: set[str] = set()
    for row in table.itertuples(index=False):
        line, uid, listener = int(row.line), str(row.utterance_id), row.listener_id
        if not uid:
            continue
        key = (uid, listener)
        if key in first_rating:
            who = f"by listener '{listener}' " if listener is not None else ""
            problems.append(LabelProblem(
                line, f"duplicate rating of utterance '{uid}' {who}(first on line "
                      f"{first_rating[key]})", "utterance_id"))
        else:
            first_rating[key] = line
        path = str(row.wav_path)
        if uid in first_path and path and first_path[uid][0] and path != first_path[uid][0]:
            old, old_line = first_path[uid]
            problems.append(LabelProblem(
                line, f"utterance '{uid}' is {path} here but {old} on line {old_line}",
                "wav_path"))
        first_path.setdefault(uid, (path, line))
        per_listener = listener is not None
        seen = kinds.setdefault(uid, {})
        if (not per_listener) in seen and uid not in mixed:
            mixed.add(uid)
            other = seen.get(not per_listener)
            problems.append(LabelProblem(
                line, f"utterance '{uid}' mixes per-listener rows and a row without "
                      f"listener_id (line {other})", "listener_id"))
        seen.setdefault(per_listener, line)
    return problems


def validate(table: LabelTable, *, check_audio: bool = True, decode_audio: bool = False,
             score_range: tuple[float, float] = (1.0, 5.0),
             max_seconds: float | None = DEFAULT_MAX_SECONDS) -> None:
    """Check a label table and raise with every problem found, each with its line.

    Checks: problems the reader found (missing or unknown columns, unparsable values, wrong
    field counts), empty ids, utterance ids with whitespace, NaN/empty scores, scores outside
    ``score_range`` (inclusive), duplicate ratings of an utterance by one listener (or two
    listener-less rows), an utterance with two audio paths or with both per-listener and
    listener-less rows, and, if ``check_audio``, each distinct audio file once: missing,
    unreadable, a rate outside 8-48 kHz, empty, longer than ``max_seconds``; with
    ``decode_audio`` the whole file is decoded by :func:`audio.io.load_audio`.

    Raises:
        LabelError: listing every problem, sorted by line.
    """
    source = str(table.attrs.get("source", ""))
    problems: list[LabelProblem] = list(table.attrs.get("problems", []))
    if len(table) == 0 and not problems:
        problems.append(LabelProblem(1, "no label rows"))
    known = {(p.line, p.field) for p in problems if p.field}
    problems += _check_values(table, score_range, known)
    problems += _check_ids(table)
    if check_audio and len(table):
        paths = table[table["wav_path"].str.len() > 0].groupby("wav_path", sort=False)["line"]
        for path, lines in paths:
            reason = check_label_audio(str(path), decode=decode_audio, max_seconds=max_seconds)
            if reason:
                problems.append(LabelProblem(int(lines.min()), reason + _rows_note(len(lines)),
                                             "wav_path"))
    if problems:
        raise LabelError(problems, source)


def mean_opinion(table: LabelTable) -> pd.DataFrame:
    """Average the ratings of each utterance into its MOS.

    Returns:
        One row per utterance, in first-seen order, with ``utterance_id, wav_path,
        system_id, sample_id, dataset, mos`` (mean score), ``n`` (ratings averaged),
        ``std`` (sample standard deviation, NaN for one rating) and the mean of each metric
        column (NaN ignored).
    """
    metrics = metric_columns(table)
    grouped = table.groupby("utterance_id", sort=False)
    first = grouped[["wav_path", "system_id", "sample_id", "dataset"]].first()
    out = first.assign(mos=grouped["score"].mean(), n=grouped["score"].count(),
                       std=grouped["score"].std(ddof=1))
    for name in metrics:
        out[name] = grouped[name].mean()
    out["n"] = out["n"].astype(int)
    return out.reset_index()


def system_mean(values: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Mean of ``columns`` per ``system_id`` (the system-level scores of URGENT), with the
    number of utterances ``n``, sorted by system id."""
    grouped = values.groupby("system_id", sort=True)
    out = grouped[list(columns)].mean()
    out["n"] = grouped.size().astype(int)
    return out


def to_output(table: LabelTable) -> pd.DataFrame:
    """The table as written by ``python -m sqa.import``: without the ``line`` column, with
    empty listener ids for listener-less rows (it reads back as an URGENT CSV)."""
    out = table.drop(columns=["line"]).copy()
    out["listener_id"] = out["listener_id"].astype(object).where(out["listener_id"].notna(),
                                                                 np.nan)
    return out
