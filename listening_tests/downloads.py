"""The export files of a test, as bytes ready to download or write.

The tables come from :mod:`listening_tests.exports` (P.808 toolkit formats, URGENT labels,
every text cell escaped against formula injection); this module feeds them the stored votes
and decisions and packs the files.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Clip, Rater, RatingSession, SessionState
from db.store import AudioStore
from listening_tests.design import load_test
from listening_tests.errors import NotFound
from listening_tests.exports import (
    accept_reject,
    accept_reject_p808,
    csv_text,
    urgent_labels,
    votes_per_clip,
    votes_per_cond,
    votes_per_worker,
)
from listening_tests.methods import METHODS, method_of
from listening_tests.quality_control import QcDecision
from listening_tests.results import statistics_frame, votes_frame
from listening_tests.review import list_overrides
from listening_tests.votes import rating_votes

MEDIA_TYPES = {".csv": "text/csv", ".zip": "application/zip",
               ".parquet": "application/vnd.apache.parquet"}
# every export name of any method, with its media type (the admin tab and the CLI list them)
EXPORTS = {name: MEDIA_TYPES[name[name.rindex("."):]]
           for method in METHODS.values() for name in method.exports}


@dataclass(frozen=True)
class ExportFile:
    """One export: its file name, media type and contents."""

    name: str
    media_type: str
    content: bytes


def decisions_table(db: Session, test_id: int) -> pd.DataFrame:
    """The accept/reject report: worker, session, status, reasons; an override adds
    "overridden by <admin>: <reason> (was <status>)" to the session's reasons."""
    overrides: dict[int, list[str]] = {}
    for o in list_overrides(db, test_id):
        overrides.setdefault(o.session_id, []).append(
            f"overridden by {o.admin}: {o.reason} (was {o.old_status})")
    rows = db.execute(select(RatingSession, Rater.external_id).join(Rater).where(
        RatingSession.test_id == test_id, RatingSession.state == SessionState.SUBMITTED.value)
        .order_by(RatingSession.id)).all()
    return accept_reject(
        (worker, rs.id, QcDecision(status=rs.qc_status,
                                   reasons=(*(rs.qc_reasons or []), *overrides.get(rs.id, []))))
        for rs, worker in rows)


def export_file(db: Session, store: AudioStore, test_id: int, name: str) -> ExportFile:
    """Build one export of a test.

    Args:
        name: One of the test's method's exports (:data:`EXPORTS` lists every name).

    Raises:
        NotFound: no such test, or an export its method does not write.
    """
    method = method_of(load_test(db, test_id).method)
    content = method.export(db, store, test_id, name, lambda: decisions_table(db, test_id))
    return ExportFile(name, EXPORTS.get(name, "text/csv"), content)


def clip_export(db: Session, store: AudioStore, test_id: int, name: str,
                decisions: Callable[[], pd.DataFrame], *, mos_name: str = "MOS") -> bytes:
    """One export of a single-clip test (ACR and kin), P.808 files named for ``mos_name``.

    Raises:
        NotFound: an unknown export name.
    """
    names = method_of(load_test(db, test_id).method).exports
    if name not in names:
        raise NotFound(f"no export named '{name}'; choose one of {', '.join(names)}")
    frame = votes_frame(db, test_id)
    rated = statistics_frame(frame)
    if name == "votes.parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)  # typed data, not a spreadsheet: kept raw
        return buffer.getvalue()
    if name == "urgent_labels.zip":
        return labels_zip(db, store, rated)
    table = {"votes_per_clip.csv": lambda: votes_per_clip(rated, mos_name=mos_name),
             "votes_per_cond.csv": lambda: votes_per_cond(rated, mos_name=mos_name),
             "votes_per_worker.csv": lambda: votes_per_worker(rated, mos_name=mos_name),
             "accept_reject.csv": decisions,
             "accept_reject_gui.csv": lambda: accept_reject_p808(decisions())}[name]()
    return csv_text(table).encode("utf-8")


def labels_zip(db: Session, store: AudioStore, rated: pd.DataFrame,
                labels: pd.DataFrame | None = None) -> bytes:
    """labels.csv (URGENT 2026 Track 2; ``labels``, or one row per vote) and every labelled
    clip under ``audio/``, as stored (FLAC at the clip's own rate)."""
    labels = urgent_labels(rated) if labels is None else labels
    kept = rating_votes(rated)[["wav_path", "clip_id"]].drop_duplicates("wav_path")
    shas = dict(db.execute(select(Clip.id, Clip.sha256).where(
        Clip.id.in_([int(c) for c in kept["clip_id"]]))).all())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("labels.csv", csv_text(labels))
        for wav_path, clip_id in kept.itertuples(index=False):
            archive.write(store.path_for(shas[int(clip_id)]), wav_path,
                          compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue()
