"""Adding clips to the library and finding them again.

Services take a SQLAlchemy ``Session`` from the caller and never commit: the caller's
``with sessionmaker.begin()`` block decides, so one UI event or API request is one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audio.io import Audio
from db.models import (
    Clip,
    ClipOrigin,
    Dataset,
    DatasetClip,
    SqaModel,
    SqaPrediction,
    System,
    SystemKind,
)
from db.store import AudioStore


class LibraryError(ValueError):
    """A request the library refuses; the message is meant for the user as it is."""


@dataclass(frozen=True)
class AddedClip:
    """The outcome of adding one waveform."""

    clip_id: int
    created: bool  # False: the same audio was already in the library
    stored_sha256: str | None = None  # set when this call wrote a new file to the store


@dataclass(frozen=True)
class ClipFilter:
    """Library filters; None means any."""

    dataset: str | None = None
    system: str | None = None
    sample_rate: int | None = None
    origin: str | None = None
    limit: int = 500
    offset: int = 0


@dataclass(frozen=True)
class ClipRow:
    """One clip as the library table shows it."""

    id: int
    name: str
    datasets: tuple[str, ...]
    system: str | None
    sample_rate: int
    duration_seconds: float
    origin: str
    condition: dict[str, Any] | None = field(default=None)
    predicted_mos: float | None = None  # the active quality model's, once it scored the clip


def level_dbfs(samples: np.ndarray) -> tuple[float, float]:
    """Peak and RMS level in dB relative to full scale (in blocks: no float64 copy of a
    long clip)."""
    x = np.asarray(samples).reshape(-1)
    peak, energy = 0.0, 0.0
    for start in range(0, len(x), 1 << 20):
        part = np.asarray(x[start:start + (1 << 20)], dtype=np.float64)
        peak = max(peak, float(np.max(np.abs(part))))
        energy += float(np.dot(part, part))
    rms = float(np.sqrt(energy / len(x))) if len(x) else 0.0
    return 20 * np.log10(max(peak, 1e-10)), 20 * np.log10(max(rms, 1e-10))


def get_or_create_dataset(session: Session, name: str, *, source: str = "",
                          description: str = "") -> Dataset:
    name = name.strip()
    if not name:
        raise LibraryError("a dataset needs a name")
    dataset = session.scalar(select(Dataset).where(Dataset.name == name))
    if dataset is None:
        dataset = Dataset(name=name, source=source, description=description)
        session.add(dataset)
        session.flush()
    return dataset


def get_or_create_system(session: Session, name: str, kind: SystemKind | str, *,
                         description: str = "") -> System:
    system = session.scalar(select(System).where(System.name == name))
    if system is None:
        system = System(name=name, kind=SystemKind(kind).value, description=description)
        session.add(system)
        session.flush()
    return system


@dataclass(frozen=True)
class StoredClip:
    """A waveform already written to the store with what its row needs, so that decoding
    and encoding happen before the write transaction and the row write stays short."""

    sha256: str
    sample_rate: int
    num_frames: int
    duration_seconds: float
    source_channels: int
    source_format: str
    peak_dbfs: float
    rms_dbfs: float
    created: bool  # this call wrote the file (remove it if its row is never committed)
    token: tuple[int, int] | None = None  # the write's token for AudioStore.discard


def store_clip(store: AudioStore, audio: Audio, *, name: str) -> StoredClip:
    """Write a mono waveform to the store (no database work).

    Raises:
        LibraryError: the audio is not mono.
    """
    if audio.samples.ndim != 1:
        raise LibraryError(f"{name}: the library stores mono clips; down-mix first")
    stored = store.put(audio.samples, audio.sample_rate)
    peak, rms = level_dbfs(audio.samples)
    return StoredClip(stored.sha256, audio.sample_rate, audio.num_frames,
                      audio.duration_seconds, audio.source_channels, audio.source_format,
                      peak, rms, stored.created, stored.token)


def insert_clip(session: Session, stored: StoredClip, *, name: str,
                origin: ClipOrigin | str, dataset: Dataset | None = None,
                system: System | None = None, parent_clip_id: int | None = None,
                reference_clip_id: int | None = None,
                condition: dict[str, Any] | None = None) -> AddedClip:
    """The row of a stored waveform (or the identical clip's), and its dataset membership.

    The name is checked before any row is written, so a refused clip leaves nothing in the
    caller's transaction (which may go on and commit other clips).

    Raises:
        LibraryError: ``name`` is already used in ``dataset`` by a different clip.
    """
    if dataset is not None:
        _check_name_free(session, dataset, name, stored.sha256)
    clip = session.scalar(select(Clip).where(Clip.sha256 == stored.sha256))
    created = clip is None
    if clip is None:
        clip = Clip(
            sha256=stored.sha256, name=name, sample_rate=stored.sample_rate,
            num_frames=stored.num_frames, duration_seconds=stored.duration_seconds,
            source_channels=stored.source_channels, source_format=stored.source_format,
            peak_dbfs=stored.peak_dbfs, rms_dbfs=stored.rms_dbfs,
            origin=ClipOrigin(origin).value, system=system, parent_clip_id=parent_clip_id,
            reference_clip_id=reference_clip_id, condition=condition,
        )
        session.add(clip)
        session.flush()
    if dataset is not None:
        _add_membership(session, dataset, clip, name)
    return AddedClip(clip.id, created, stored.sha256 if stored.created else None)


def add_clip(session: Session, store: AudioStore, audio: Audio, *, name: str,
             origin: ClipOrigin | str, dataset: Dataset | None = None,
             system: System | None = None, parent_clip_id: int | None = None,
             reference_clip_id: int | None = None,
             condition: dict[str, Any] | None = None) -> AddedClip:
    """Store a mono waveform and its metadata, or find the identical clip already stored.

    When the clip is new it is written to the store first; the returned ``stored_sha256``
    lets a caller whose transaction later fails remove that file again. A refused clip
    leaves neither a row nor a file.

    Raises:
        LibraryError: the audio is not mono, or ``name`` is already used in ``dataset`` by
            a different clip.
    """
    stored = store_clip(store, audio, name=name)
    try:
        return insert_clip(session, stored, name=name, origin=origin, dataset=dataset,
                           system=system, parent_clip_id=parent_clip_id,
                           reference_clip_id=reference_clip_id, condition=condition)
    except BaseException:
        store.discard(stored)
        raise


def _check_name_free(session: Session, dataset: Dataset, name: str, sha256: str) -> None:
    taken = session.scalar(select(Clip.sha256).join(DatasetClip, DatasetClip.clip_id == Clip.id)
                           .where(DatasetClip.dataset_id == dataset.id,
                                  DatasetClip.name == name))
    if taken is not None and taken != sha256:
        raise LibraryError(f"{name}: dataset '{dataset.name}' already has a different clip "
                           f"under this name")


def _add_membership(session: Session, dataset: Dataset, clip: Clip, name: str) -> None:
    existing = session.scalar(select(DatasetClip).where(
        DatasetClip.dataset_id == dataset.id, DatasetClip.name == name))
    if existing is None:
        session.add(DatasetClip(dataset_id=dataset.id, clip_id=clip.id, name=name))
        session.flush()
    elif existing.clip_id != clip.id:
        raise LibraryError(f"{name}: dataset '{dataset.name}' already has a different clip "
                           f"under this name")


def list_clips(session: Session, filters: ClipFilter = ClipFilter()) -> list[ClipRow]:
    """Clips matching ``filters``, newest first, with the datasets each belongs to."""
    query = select(Clip).order_by(Clip.id.desc())
    if filters.dataset:
        query = query.where(Clip.id.in_(
            select(DatasetClip.clip_id).join(Dataset).where(Dataset.name == filters.dataset)))
    if filters.system:
        query = query.join(System, Clip.system_id == System.id).where(
            System.name == filters.system)
    if filters.sample_rate:
        query = query.where(Clip.sample_rate == int(filters.sample_rate))
    if filters.origin:
        query = query.where(Clip.origin == filters.origin)
    clips = session.scalars(query.limit(filters.limit).offset(filters.offset)).all()
    names = _dataset_names(session, [c.id for c in clips])
    systems = dict(session.execute(select(System.id, System.name)).all())
    mos = predicted_mos(session, [c.id for c in clips])
    return [ClipRow(id=c.id, name=c.name, datasets=tuple(names.get(c.id, ())),
                    system=systems.get(c.system_id), sample_rate=c.sample_rate,
                    duration_seconds=c.duration_seconds, origin=c.origin,
                    condition=c.condition, predicted_mos=mos.get(c.id)) for c in clips]


def predicted_mos(session: Session, clip_ids: list[int]) -> dict[int, float]:
    """The active quality model's predicted MOS of those clips it has scored."""
    rows = session.execute(
        select(SqaPrediction.clip_id, SqaPrediction.mos).join(SqaModel)
        .where(SqaModel.is_active.is_(True), SqaPrediction.clip_id.in_(clip_ids))).all()
    return {int(clip_id): float(mos) for clip_id, mos in rows}


def _dataset_names(session: Session, clip_ids: list[int]) -> dict[int, list[str]]:
    rows = session.execute(
        select(DatasetClip.clip_id, Dataset.name).join(Dataset)
        .where(DatasetClip.clip_id.in_(clip_ids)).order_by(Dataset.name)).all()
    out: dict[int, list[str]] = {}
    for clip_id, name in rows:
        if name not in out.setdefault(clip_id, []):
            out[clip_id].append(name)
    return out


def count_clips(session: Session) -> int:
    return int(session.scalar(select(func.count(Clip.id))) or 0)


def filter_choices(session: Session) -> dict[str, list]:
    """The values each library filter can take, for drop-downs."""
    return {
        "dataset": list(session.scalars(select(Dataset.name).order_by(Dataset.name))),
        "system": list(session.scalars(select(System.name).order_by(System.name))),
        "sample_rate": list(session.scalars(
            select(Clip.sample_rate).distinct().order_by(Clip.sample_rate))),
        "origin": list(session.scalars(select(Clip.origin).distinct().order_by(Clip.origin))),
    }


def get_clip(session: Session, clip_id: int) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise LibraryError(f"no clip with id {clip_id}")
    return clip


def clip_details(session: Session, clip_id: int) -> dict[str, Any]:
    """Everything known about a clip, as plain values (for the UI and the API)."""
    clip = get_clip(session, clip_id)
    return {
        "id": clip.id, "name": clip.name, "sha256": clip.sha256,
        "sample_rate": clip.sample_rate, "num_frames": clip.num_frames,
        "duration_seconds": round(clip.duration_seconds, 4),
        "source_channels": clip.source_channels, "source_format": clip.source_format,
        "peak_dbfs": round(clip.peak_dbfs, 2), "rms_dbfs": round(clip.rms_dbfs, 2),
        "origin": clip.origin, "system": clip.system.name if clip.system else None,
        "parent_clip_id": clip.parent_clip_id, "reference_clip_id": clip.reference_clip_id,
        "condition": clip.condition,
        "datasets": sorted({m.dataset.name for m in clip.memberships}),
        "created_at": clip.created_at.isoformat(timespec="seconds") + "Z",
    }
