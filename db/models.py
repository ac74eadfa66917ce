"""ORM models of the library: clips, the systems that made them, and datasets.

Rows hold metadata only; the audio itself lives in the content-addressed store
(:mod:`db.store`), addressed by ``Clip.sha256``. Later features (listening tests, SQA) add
their tables here and a migration beside them.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with a naming convention, so Alembic can name and drop constraints."""

    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    })


class ClipOrigin(enum.StrEnum):
    """How a clip entered the library."""

    UPLOAD = "upload"
    IMPORT = "import"
    ENHANCED = "enhanced"
    GENERATED = "generated"
    DEMO = "demo"


class SystemKind(enum.StrEnum):
    """What kind of thing produced a clip (enhancers, and the conditions tests compare)."""

    IDENTITY = "identity"
    DSP = "dsp"
    PRETRAINED = "pretrained"
    NEURAL = "neural"
    EXTERNAL = "external"
    REFERENCE = "reference"
    ANCHOR = "anchor"


class System(Base):
    """A named enhancement system or condition: a checkpoint, a DSP baseline, the clean
    reference, the unprocessed input, an anchor, or imported outputs of another team."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    clips: Mapped[list[Clip]] = relationship(back_populates="system")

    def __repr__(self) -> str:
        return f"System(id={self.id!r}, name={self.name!r}, kind={self.kind!r})"


class Dataset(Base):
    """A named collection of clips: an imported folder, zip or wav.scp, uploads, the demo."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    source: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[DatasetClip]] = relationship(
        back_populates="dataset", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"Dataset(id={self.id!r}, name={self.name!r})"


class Clip(Base):
    """One mono waveform at its original rate, stored once however often it is imported."""

    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(500))
    sample_rate: Mapped[int]
    num_frames: Mapped[int]
    duration_seconds: Mapped[float]
    source_channels: Mapped[int] = mapped_column(default=1)
    source_format: Mapped[str] = mapped_column(String(40), default="")
    peak_dbfs: Mapped[float] = mapped_column(default=0.0)
    rms_dbfs: Mapped[float] = mapped_column(default=0.0)
    origin: Mapped[str] = mapped_column(String(20), index=True)
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"), index=True)
    parent_clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"), index=True)
    reference_clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"))
    condition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    system: Mapped[System | None] = relationship(back_populates="clips")
    parent: Mapped[Clip | None] = relationship(
        remote_side="Clip.id", foreign_keys=[parent_clip_id])
    reference: Mapped[Clip | None] = relationship(
        remote_side="Clip.id", foreign_keys=[reference_clip_id])
    memberships: Mapped[list[DatasetClip]] = relationship(back_populates="clip")

    def __repr__(self) -> str:
        return (f"Clip(id={self.id!r}, name={self.name!r}, sample_rate={self.sample_rate!r}, "
                f"sha256={self.sha256[:12]!r})")


class DatasetClip(Base):
    """Membership of a clip in a dataset, under the name the clip has there (its file name
    or wav.scp id), so one clip can belong to several datasets."""

    __tablename__ = "dataset_clips"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"),
                                            index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                         index=True)
    name: Mapped[str] = mapped_column(String(500))

    dataset: Mapped[Dataset] = relationship(back_populates="members")
    clip: Mapped[Clip] = relationship(back_populates="memberships")

    def __repr__(self) -> str:
        return f"DatasetClip(dataset_id={self.dataset_id!r}, clip_id={self.clip_id!r}, " \
               f"name={self.name!r})"


class EnhancementRun(Base):
    """One input clip enhanced by one system: the output clip and how long it took.

    Unique per (input, system), so a comparison never enhances the same clip twice. For the
    identity system the output is the input clip itself.
    """

    __tablename__ = "enhancement_runs"
    __table_args__ = (UniqueConstraint("input_clip_id", "system_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    input_clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                               index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id", ondelete="CASCADE"),
                                           index=True)
    output_clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"))
    processing_seconds: Mapped[float]
    real_time_factor: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    system: Mapped[System] = relationship()

    def __repr__(self) -> str:
        return (f"EnhancementRun(input_clip_id={self.input_clip_id!r}, "
                f"system_id={self.system_id!r}, output_clip_id={self.output_clip_id!r})")


class ObjectiveScore(Base):
    """One objective metric of one clip (against its reference for intrusive metrics).

    ``reference_clip_id`` is 0 for non-intrusive metrics rather than NULL, so the unique key
    also holds for them (NULLs never collide in a unique index). A metric that failed on a
    clip is kept as a NULL value with the error, never silently dropped.
    """

    __tablename__ = "objective_scores"
    __table_args__ = (UniqueConstraint("clip_id", "metric", "reference_clip_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                         index=True)
    metric: Mapped[str] = mapped_column(String(40))
    reference_clip_id: Mapped[int] = mapped_column(default=0)
    value: Mapped[float | None]
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"ObjectiveScore(clip_id={self.clip_id!r}, metric={self.metric!r}, " \
               f"value={self.value!r})"
