"""Human quality labels the quality model learns from: votes of the app's listening tests
and imported public label sets, both turned into one :class:`sqa.labels.LabelTable`.

Every labelled clip lives in the clip store, so each table row names the clip as
``clip<id>`` (its utterance id) and points at the stored file. A label-set upload (a label
CSV plus a zip of its audio) is checked whole by :mod:`sqa`'s readers and validators first;
every problem is reported with its line, and nothing is stored unless all is well.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audio.io import AudioError, load_audio
from db.models import (
    Clip,
    ClipOrigin,
    Dataset,
    ItemRole,
    ListeningTest,
    ListeningTestItem,
    PublicLabel,
    QcStatus,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
)
from db.store import AudioStore
from library.clips import (
    LibraryError,
    StoredClip,
    get_or_create_dataset,
    insert_clip,
    store_clip,
)
from library.importing import ImportRejected, plan_zip
from listening_tests.methods import mos_label_methods
from sqa.label_formats import read_labels
from sqa.labels import LabelError, LabelTable, make_table, validate

#: The dataset name (scale) of the app's own ACR ratings in a label table.
RATINGS_DATASET = "ratings"


class LabelUploadError(ValueError):
    """A label-set upload is refused; ``problems`` lists every problem (with its line)."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems[:20]) + (
            f"\n... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""))


@dataclass(frozen=True)
class LabelSource:
    """A choosable source of labels with its size, for the UI."""

    key: str  # test id as text, or a label set's name
    title: str
    ratings: int
    clips: int


@dataclass(frozen=True)
class UploadReport:
    """What a label-set upload stored."""

    dataset: str
    labels: int
    clips: int
    new_clips: int
    listeners: int

    def summary(self) -> str:
        return (f"Label set '{self.dataset}': {self.labels} labels of {self.clips} clips "
                f"({self.new_clips} new in the library), {self.listeners} listeners.")


def utterance_id(clip_id: int) -> str:
    """The label-table id of a library clip (the inverse of :func:`clip_id_of`)."""
    return f"clip{clip_id}"


def clip_id_of(utterance: str) -> int:
    return int(str(utterance).removeprefix("clip"))


def _used_votes(test_ids: Sequence[int]):
    """Votes that enter statistics: ACR rating items of accepted (and used) sessions."""
    return (select(Vote.score, Rater.external_id, RatingSession.test_id, ListeningTestItem,
                   Clip.sha256)
            .join(SessionItem, Vote.session_item_id == SessionItem.id)
            .join(RatingSession, Vote.session_id == RatingSession.id)
            .join(Rater, RatingSession.rater_id == Rater.id)
            .join(ListeningTestItem, SessionItem.test_item_id == ListeningTestItem.id)
            .join(ListeningTest, ListeningTestItem.test_id == ListeningTest.id)
            .join(Clip, ListeningTestItem.clip_id == Clip.id)
            .where(RatingSession.test_id.in_(list(test_ids)),
                   ListeningTest.method.in_(mos_label_methods()),
                   RatingSession.state == SessionState.SUBMITTED.value,
                   RatingSession.qc_status == QcStatus.ACCEPTED.value,
                   ListeningTestItem.role == ItemRole.RATING.value, Vote.score.is_not(None))
            .order_by(Vote.id))


def label_sources(session: Session) -> dict[str, list[LabelSource]]:
    """Listening tests with usable ACR votes, and imported label sets, with their sizes."""
    tests = []
    for test in session.scalars(select(ListeningTest).where(
            ListeningTest.method.in_(mos_label_methods()))
                                .order_by(ListeningTest.id)):
        rows = session.execute(_used_votes([test.id])).all()
        if rows:
            tests.append(LabelSource(str(test.id), f"{test.id}: {test.name}", len(rows),
                                     len({r[3].clip_id for r in rows})))
    sets = [LabelSource(name, name, int(n), int(c)) for name, n, c in session.execute(
        select(PublicLabel.dataset, func.count(PublicLabel.id),
               func.count(PublicLabel.clip_id.distinct()))
        .group_by(PublicLabel.dataset).order_by(PublicLabel.dataset))]
    return {"tests": tests, "label_sets": sets}


def ratings_table(session: Session, store: AudioStore, test_ids: Sequence[int]) -> LabelTable:
    """One row per used vote of the chosen ACR tests, the rater as listener (``<test>:<id>``),
    the item's condition as system and its sample id as sample."""
    rows = []
    for number, (score, rater, test_id, item, sha) in enumerate(
            session.execute(_used_votes(test_ids)).all(), 2):
        rows.append({"utterance_id": utterance_id(item.clip_id),
                     "wav_path": str(store.path_for(sha)), "system_id": item.condition,
                     "sample_id": item.sample_id, "listener_id": f"{test_id}:{rater}",
                     "score": float(score), "dataset": RATINGS_DATASET, "line": number})
    return make_table(rows, source="listening-test ratings")


def label_set_table(session: Session, store: AudioStore, names: Sequence[str]) -> LabelTable:
    """The stored labels of the chosen imported sets, each set its own dataset (scale)."""
    query = (select(PublicLabel, Clip.sha256).join(Clip, PublicLabel.clip_id == Clip.id)
             .where(PublicLabel.dataset.in_(list(names))).order_by(PublicLabel.id))
    rows = []
    for number, (label, sha) in enumerate(session.execute(query).all(), 2):
        listener = None if label.listener_id is None else f"{label.dataset}:{label.listener_id}"
        rows.append({"utterance_id": utterance_id(label.clip_id),
                     "wav_path": str(store.path_for(sha)), "system_id": label.system_id,
                     "sample_id": label.sample_id, "listener_id": listener,
                     "score": label.score, "dataset": label.dataset, "line": number})
    return make_table(rows, source="imported label sets")


def training_labels(session: Session, store: AudioStore, test_ids: Sequence[int] = (),
                    label_sets: Sequence[str] = ()) -> LabelTable:
    """Ratings of the chosen tests and labels of the chosen sets, validated together.

    Raises:
        LibraryError: nothing chosen, nothing found, or the labels do not fit together.
    """
    if not test_ids and not label_sets:
        raise LibraryError("choose at least one listening test or imported label set")
    parts = []
    if test_ids:
        parts.append(ratings_table(session, store, test_ids))
    if label_sets:
        parts.append(label_set_table(session, store, label_sets))
    table = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    table["line"] = range(2, len(table) + 2)
    table.attrs = {"problems": [], "source": "chosen labels"}
    if table.empty:
        raise LibraryError("the chosen tests and label sets hold no usable ratings")
    try:
        validate(table, check_audio=False)
    except LabelError as exc:
        raise LibraryError("the chosen labels do not fit together:\n" + str(exc)) from exc
    return table


def _unpack(archive: Path, folder: Path) -> None:
    """Write the audio files of ``archive`` under ``folder`` (entries checked by
    :func:`library.importing.plan_zip`: no path leaves the archive, size limits hold)."""
    plan = plan_zip(archive)
    for item in plan.items:
        target = folder.joinpath(*PurePosixPath(item.name).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = item.read()
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            shutil.move(data, target)


def import_label_set(begin: Callable[[], AbstractContextManager[Session]], store: AudioStore,
                     labels_file: Path, audio_zip: Path | None, name: str, *,
                     fmt: str = "auto", max_seconds: float | None = None) -> UploadReport:
    """Check a label file and its audio zip whole, then store the audio as clips (dataset
    ``name``) and one :class:`~db.models.PublicLabel` per row, in one transaction.

    Audio paths in the file are relative to the zip's root. Every problem of the file and
    its audio (decoded in full) is collected first, each with its line, outside any
    transaction, so a long check never holds the database's write lock.

    Args:
        begin: opens one write transaction (``sessionmaker.begin`` or the app's
            ``AppContext.write``).

    Raises:
        LabelUploadError: any problem; nothing is stored.
    """
    name = name.strip()
    if not name or any(ch.isspace() for ch in name):
        raise LabelUploadError(["give the label set a name without spaces"])
    with begin() as session:
        _check_name_free(session, name)
    folder = Path(tempfile.mkdtemp(prefix="labels-"))
    try:
        if audio_zip is not None:
            try:
                _unpack(Path(audio_zip), folder)
            except ImportRejected as exc:
                raise LabelUploadError([str(exc)]) from exc
        local = folder / f"labels{Path(labels_file).suffix.lower() or '.csv'}"
        shutil.copyfile(labels_file, local)
        try:
            table = read_labels(local, fmt, audio_root=folder)
            table.attrs["source"] = Path(labels_file).name
            outside = paths_outside(table, folder)
            if outside:
                raise LabelUploadError(outside)
            validate(table, check_audio=True, decode_audio=True, max_seconds=max_seconds)
        except LabelError as exc:
            raise LabelUploadError([line.replace(f"{folder}/", "")
                                    for line in exc.lines(limit=len(exc.problems))]) from exc
        stored = _store_audio(store, table, folder, max_seconds)
        try:
            with begin() as session:
                _check_name_free(session, name)
                return _insert_rows(session, table, name, folder, stored)
        except BaseException:
            for clip in stored.values():
                store.discard(clip)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def paths_outside(table: LabelTable, folder: Path) -> list[str]:
    """One problem per row whose ``wav_path`` is absolute or climbs out of ``folder`` with
    ``..``: such a path would make the server read a file of its own."""
    root = folder.resolve()
    problems = []
    for row in table.itertuples(index=False):
        path = str(row.wav_path)
        if path and not Path(path).resolve().is_relative_to(root):
            problems.append(f"line {int(row.line)}: wav_path must be a path inside the audio "
                            "zip (absolute paths and '..' are refused)")
    return problems


def _check_name_free(session: Session, name: str) -> None:
    """The set's clips form a library dataset of the same name, so both must be new."""
    if session.scalar(select(PublicLabel.id).where(PublicLabel.dataset == name).limit(1)):
        raise LabelUploadError([f"a label set named '{name}' is already imported; "
                                "choose another name"])
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise LabelUploadError([f"the library already has a dataset named '{name}'; "
                                "choose another name for the label set"])


def _store_audio(store: AudioStore, table: LabelTable, folder: Path,
                 max_seconds: float | None) -> dict[str, StoredClip]:
    """Decode and store every file of the set, outside any transaction (the write lock is
    then held only for the rows)."""
    stored: dict[str, StoredClip] = {}
    try:
        for path in table["wav_path"].unique():
            audio = load_audio(path, max_seconds=max_seconds)
            stored[path] = store_clip(store, audio,
                                      name=Path(path).relative_to(folder).as_posix())
    except (AudioError, LibraryError) as exc:
        _discard(store, stored)
        raise LabelUploadError([str(exc)]) from exc
    except BaseException:
        _discard(store, stored)
        raise
    return stored


def _discard(store: AudioStore, stored: dict[str, StoredClip]) -> None:
    for clip in stored.values():
        store.discard(clip)


def _insert_rows(session: Session, table: LabelTable, name: str, folder: Path,
                 stored: dict[str, StoredClip]) -> UploadReport:
    dataset = get_or_create_dataset(session, name, source="label set upload")
    clip_of: dict[str, int] = {}
    try:
        for path, clip in stored.items():
            clip_of[path] = insert_clip(session, clip, name=Path(path).relative_to(folder)
                                        .as_posix(), origin=ClipOrigin.IMPORT,
                                        dataset=dataset).clip_id
    except LibraryError as exc:
        raise LabelUploadError([str(exc)]) from exc
    for row in table.itertuples(index=False):
        session.add(PublicLabel(dataset=name, clip_id=clip_of[row.wav_path],
                                system_id=str(row.system_id), sample_id=str(row.sample_id),
                                listener_id=row.listener_id, score=float(row.score)))
    session.flush()
    listeners = {n for n in table["listener_id"] if n is not None}
    written = sum(1 for clip in stored.values() if clip.created)
    return UploadReport(name, len(table), len(clip_of), written, len(listeners))
