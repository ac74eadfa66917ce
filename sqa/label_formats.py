"""Readers for the public MOS label formats, each into a label table (:mod:`sqa.labels`).

Supported exactly:

``urgent``: the URGENT 2026 Track 2 / SHEET CSV. A header line, then one row per rating or
    per utterance. Required columns ``wav_path, system_id, sample_id, score``; optional
    ``listener_id`` (empty = the row is already a mean), ``utterance_id`` (default
    ``<system_id>-<sample_id>``), ``dataset`` (default ``urgent``), and the metric columns
    of :data:`sqa.labels.METRIC_COLUMNS` (empty = missing). Any other column is a problem.
    The normalised table written by ``python -m sqa.import`` (CSV or Parquet) is this format.
``bvcc``: BVCC (VoiceMOS 2022 main track) files without a header, comma separated:
    per-listener ``TRAINSET``/``DEVSET``/``TESTSET`` lines of exactly five fields,
    ``<system_id>,<system_id>-<sample_id>.wav,<score>,<rating session>,<listener info>``,
    e.g. ``sys64e2f,sys64e2f-utt9c183cd.wav,4,VDP1ovyrBzg8_1,``
    ``{}_30-39_bZPQE7w4Zl3g_Female_Valid_1_No``
    (the whole fifth field is the listener id, as SHEET uses it; the fourth is ignored), or
    mean-score ``*_mos_list.txt`` lines of two fields, ``<system_id>-<sample_id>.wav,<mos>``.
    The system id of a two-field line is the part of the file name before the first ``-``.
``nisqa``: the NISQA corpus CSV (``NISQA_corpus_file.csv`` and the per-set
    ``NISQA_*_file.csv``): header with at least ``filepath_deg, mos``. ``db`` (dataset) and
    ``con`` (condition) are used when present: system id ``<db>/<con>`` (``con`` alone
    without ``db``, ``unknown`` without ``con``), sample id and utterance id the file name
    without its ending. The other NISQA corpus columns are accepted and ignored; unknown
    ones are problems.

Relative audio paths are taken from ``audio_root``, or else from the label file's folder
(for BVCC, ``<file's folder>/../wav`` when that exists: the ``DATA/sets`` + ``DATA/wav``
layout). Readers raise :class:`~sqa.labels.LabelError` at once only when the file cannot be
parsed at all (unknown format, missing required columns); problems in rows are recorded in
the table for :func:`sqa.labels.validate` to report with the rest.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

from audio.io import is_audio_filename
from sqa.labels import METRIC_COLUMNS, LabelError, LabelProblem, LabelTable, make_table

FORMATS: tuple[str, ...] = ("urgent", "bvcc", "nisqa")

URGENT_REQUIRED = ("wav_path", "system_id", "sample_id", "score")
URGENT_OPTIONAL = ("listener_id", "utterance_id", "dataset")

NISQA_REQUIRED = ("filepath_deg", "mos")
#: Columns of the NISQA corpus files that are read past without complaint.
NISQA_KNOWN = (
    "db", "con", "file", "con_description", "filename_deg", "filename_ref", "source", "lang",
    "votes", "noi", "col", "dis", "loud", "noi_std", "col_std", "dis_std", "loud_std",
    "mos_std", "filepath_ref", "filter", "timeclipping", "wbgn", "p50mnru", "bgn", "clipping",
    "arb_filter", "asl_in", "asl_out", "codec1", "codec2", "codec3", "plcMode1", "plcMode2",
    "plcMode3", "wbgn_snr", "bgn_snr", "tc_fer", "tc_nburst", "cl_th", "bp_low", "bp_high",
    "p50_q", "bMode1", "bMode2", "bMode3", "FER1", "FER2", "FER3", "asl_in_level",
    "asl_out_level", "mos_cor",
)

Row = tuple[int, list[str]]


def _read_rows(path: Path) -> list[Row]:
    """Non-empty records of a CSV (or Parquet) file with the line each starts on."""
    if not path.is_file():
        raise LabelError([LabelProblem(1, "file not found")], str(path))
    if path.suffix.lower() == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises several types for bad files
            raise LabelError([LabelProblem(1, f"not a readable Parquet file ({exc})")],
                             path.name) from exc
        header: Row = (1, [str(c) for c in frame.columns])
        body = frame.astype(object).where(frame.notna(), "")
        return [header] + [(i + 2, [str(v) for v in values])
                           for i, values in enumerate(body.itertuples(index=False))]
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelError([LabelProblem(1, f"not a UTF-8 text file ({exc.reason})")],
                         path.name) from exc
    rows: list[Row] = []
    reader = csv.reader(text.splitlines(keepends=True))
    start = 1
    try:
        for fields in reader:
            if fields and any(f.strip() for f in fields):
                rows.append((start, [f.strip() for f in fields]))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise LabelError([LabelProblem(start, f"CSV error: {exc}")], path.name) from exc
    return rows


def _resolve(location: str, root: Path) -> str:
    if not location:
        return ""
    file = Path(location).expanduser()
    if not file.is_absolute():
        file = root / file
    return str(file.resolve())


def _number(text: str, line: int, name: str, problems: list[LabelProblem]) -> float:
    """``text`` as a float; empty is NaN; anything else unparsable is a problem and NaN."""
    if not text:
        return math.nan
    try:
        return float(text)
    except ValueError:
        problems.append(LabelProblem(line, f"{name} '{text}' is not a number", name))
        return math.nan


def _header(rows: list[Row], path: Path, required: tuple[str, ...],
            known: tuple[str, ...], problems: list[LabelProblem]) -> list[str]:
    if not rows:
        raise LabelError([LabelProblem(1, "the file is empty")], path.name)
    header = rows[0][1]
    missing = [c for c in required if c not in header]
    if missing:
        raise LabelError([LabelProblem(
            rows[0][0], f"missing column{'s' if len(missing) > 1 else ''}: "
                        f"{', '.join(missing)} (header: {', '.join(header)})")], path.name)
    unknown = [c for c in header if c not in required and c not in known]
    if unknown:
        problems.append(LabelProblem(
            rows[0][0], f"unknown column{'s' if len(unknown) > 1 else ''}: "
                        f"{', '.join(unknown)}"))
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        problems.append(LabelProblem(rows[0][0], f"repeated column: {', '.join(repeated)}"))
    return header


def _fields(line: int, fields: list[str], header: list[str],
            problems: list[LabelProblem]) -> dict[str, str] | None:
    if len(fields) != len(header):
        problems.append(LabelProblem(
            line, f"expected {len(header)} fields as in the header, got {len(fields)}"))
        return None
    return dict(zip(header, fields, strict=True))


def read_urgent_csv(path: str | Path, audio_root: str | Path | None = None) -> LabelTable:
    """Read an URGENT 2026 Track 2 CSV (or a table written by ``sqa.import``).

    Raises:
        LabelError: the file is empty or lacks a required column.
    """
    path = Path(path)
    root = Path(audio_root) if audio_root is not None else path.parent
    rows = _read_rows(path)
    problems: list[LabelProblem] = []
    header = _header(rows, path, URGENT_REQUIRED, URGENT_OPTIONAL + METRIC_COLUMNS, problems)
    metrics = [c for c in header if c in METRIC_COLUMNS]
    out = []
    for line, fields in rows[1:]:
        record = _fields(line, fields, header, problems)
        if record is None:
            continue
        system, sample = record["system_id"], record["sample_id"]
        item = {
            "utterance_id": record.get("utterance_id") or (
                f"{system}-{sample}" if system and sample else ""),
            "wav_path": _resolve(record["wav_path"], root),
            "system_id": system,
            "sample_id": sample,
            "listener_id": record.get("listener_id") or None,
            "score": _number(record["score"], line, "score", problems),
            "dataset": record.get("dataset") or "urgent",
            "line": line,
        }
        for name in metrics:
            item[name] = _number(record[name], line, name, problems)
        out.append(item)
    return make_table(out, metrics, problems=problems, source=path.name)


def read_bvcc(path: str | Path, audio_root: str | Path | None = None,
              dataset: str = "bvcc") -> LabelTable:
    """Read a BVCC per-listener set file (5 fields) or MOS list (2 fields); see the module
    docstring for the exact lines.

    Raises:
        LabelError: the file is empty.
    """
    path = Path(path)
    if audio_root is not None:
        root = Path(audio_root)
    else:
        wav_dir = path.parent.parent / "wav"
        root = wav_dir if wav_dir.is_dir() else path.parent
    rows = _read_rows(path)
    if not rows:
        raise LabelError([LabelProblem(1, "the file is empty")], path.name)
    problems: list[LabelProblem] = []
    out = []
    for line, fields in rows:
        if len(fields) == 5:
            system, wav, score_text, _session, listener = fields
        elif len(fields) == 2:
            wav, score_text = fields
            system, listener = wav.split("-", 1)[0] if "-" in wav else "", ""
        else:
            problems.append(LabelProblem(
                line, f"expected 5 fields (system, wav, score, session, listener) or 2 "
                      f"(wav, mos), got {len(fields)}"))
            continue
        stem = Path(wav).stem
        if not is_audio_filename(wav):
            problems.append(LabelProblem(line, f"'{wav}' is not an audio file name", "wav_path"))
            continue
        if system and not stem.startswith(f"{system}-"):
            problems.append(LabelProblem(
                line, f"file '{wav}' does not start with its system id '{system}-'",
                "system_id"))
        out.append({
            "utterance_id": stem,
            "wav_path": _resolve(wav, root),
            "system_id": system,
            "sample_id": stem.split("-", 1)[1] if "-" in stem else stem,
            "listener_id": listener or None,
            "score": _number(score_text, line, "score", problems),
            "dataset": dataset,
            "line": line,
        })
    return make_table(out, problems=problems, source=path.name)


def read_nisqa_csv(path: str | Path, audio_root: str | Path | None = None) -> LabelTable:
    """Read a NISQA corpus CSV: one MOS per degraded file (``listener_id`` None).

    Raises:
        LabelError: the file is empty or lacks ``filepath_deg`` or ``mos``.
    """
    path = Path(path)
    root = Path(audio_root) if audio_root is not None else path.parent
    rows = _read_rows(path)
    problems: list[LabelProblem] = []
    header = _header(rows, path, NISQA_REQUIRED, NISQA_KNOWN, problems)
    out = []
    for line, fields in rows[1:]:
        record = _fields(line, fields, header, problems)
        if record is None:
            continue
        db, con = record.get("db", ""), record.get("con", "")
        stem = Path(record["filepath_deg"].replace("\\", "/")).stem
        system = f"{db}/{con}" if db and con else con or "unknown"
        out.append({
            "utterance_id": stem,
            "wav_path": _resolve(record["filepath_deg"].replace("\\", "/"), root),
            "system_id": system,
            "sample_id": stem,
            "listener_id": None,
            "score": _number(record["mos"], line, "score", problems),
            "dataset": db or "nisqa",
            "line": line,
        })
    return make_table(out, problems=problems, source=path.name)


def detect_format(path: str | Path) -> str:
    """Which of :data:`FORMATS` a label file is in, from its first line.

    Raises:
        LabelError: the file is missing, empty, or in none of the supported formats.
    """
    path = Path(path)
    if not path.is_file():
        raise LabelError([LabelProblem(1, "file not found")], str(path))
    if path.suffix.lower() == ".parquet":
        return "urgent"
    rows = _read_rows(path)
    if not rows:
        raise LabelError([LabelProblem(1, "the file is empty")], path.name)
    line, first = rows[0]
    if "filepath_deg" in first or ("mos" in first and "db" in first):
        return "nisqa"
    if "wav_path" in first or "score" in first or "sample_id" in first:
        return "urgent"
    wav = {5: 1, 2: 0}.get(len(first))
    if wav is not None and is_audio_filename(first[wav]):
        return "bvcc"
    raise LabelError([LabelProblem(
        line, "unknown label format: expected an URGENT CSV header (wav_path, system_id, "
              "sample_id, score), a NISQA CSV header (filepath_deg, mos), or BVCC lines "
              "(system,wav,score,session,listener or wav,mos); got "
              f"'{','.join(first)[:80]}'")], path.name)


def read_labels(path: str | Path, fmt: str = "auto",
                audio_root: str | Path | None = None) -> LabelTable:
    """Read a label file in ``fmt`` (one of :data:`FORMATS`, or ``auto`` to detect it).

    Raises:
        LabelError: as :func:`detect_format` and the readers.
        ValueError: ``fmt`` is not a known format name.
    """
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "urgent":
        return read_urgent_csv(path, audio_root)
    if fmt == "bvcc":
        return read_bvcc(path, audio_root)
    if fmt == "nisqa":
        return read_nisqa_csv(path, audio_root)
    raise ValueError(f"unknown label format '{fmt}' (known: auto, {', '.join(FORMATS)})")
