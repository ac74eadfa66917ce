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


class ListeningTestStatus(enum.StrEnum):
    """Life of a listening test: designed, collecting votes, finished."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class ItemRole(enum.StrEnum):
    """What a clip is in a test: rated for the results, or there to check the rater."""

    RATING = "rating"
    GOLD = "gold"
    TRAP = "trap"
    TRAINING = "training"


class SessionState(enum.StrEnum):
    """Where a rating session is: being rated, handed in, or abandoned."""

    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    EXPIRED = "expired"


class QcStatus(enum.StrEnum):
    """The ITU-T P.808 decision on a submitted session."""

    ACCEPTED = "accepted"
    NOT_USED = "not_used"
    REJECTED = "rejected"


class ListeningTest(Base):
    """A crowd listening test: its frozen design (the validated spec) and its status.

    ``sessions_started`` is no longer counted (a counter on the test's row made every session
    start wait for the one before); a start that must take turns with the others of its test
    still locks this row by a no-op update of it.
    """

    __tablename__ = "listening_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ListeningTestStatus.DRAFT.value)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    platform: Mapped[str] = mapped_column(String(20))
    completion_code: Mapped[str] = mapped_column(String(100))
    redirect_url: Mapped[str | None] = mapped_column(String(1000))
    seed: Mapped[int]
    sessions_started: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    items: Mapped[list[ListeningTestItem]] = relationship(
        back_populates="test", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"ListeningTest(id={self.id!r}, name={self.name!r}, status={self.status!r})"


class ListeningTestItem(Base):
    """A clip in a test with its role; gold and trapping items carry the expected score.

    ``condition`` is the system or condition the votes are grouped by and ``sample_id`` the
    source utterance that the systems processed (both as exports name them).

    Comparison tests (CCR, A/B, ranking) pair two clips of the same input: ``clip_id`` is
    the processed clip (CCR) or the first system's clip (A/B), ``pair_clip_id`` the
    reference (CCR) or the second system's clip, ``pair_condition`` the latter's system.
    ACR items leave both None.
    """

    __tablename__ = "test_items"
    __table_args__ = (UniqueConstraint("test_id", "clip_id", "pair_clip_id", "role",
                                       name="uq_test_items_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("listening_tests.id", ondelete="CASCADE"),
                                         index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"))
    role: Mapped[str] = mapped_column(String(20))
    expected_score: Mapped[int | None]
    condition: Mapped[str] = mapped_column(String(200))
    sample_id: Mapped[str] = mapped_column(String(500))
    pair_clip_id: Mapped[int | None] = mapped_column(ForeignKey("clips.id"))
    pair_condition: Mapped[str | None] = mapped_column(String(200))

    test: Mapped[ListeningTest] = relationship(back_populates="items")
    clip: Mapped[Clip] = relationship(foreign_keys=[clip_id])

    def __repr__(self) -> str:
        return (f"ListeningTestItem(id={self.id!r}, clip_id={self.clip_id!r}, "
                f"role={self.role!r})")


class Rater(Base):
    """A crowd worker in one test, known by the platform's participant id.

    The qualification (hearing questions) is asked once per rater; its answers and result
    are kept here.
    """

    __tablename__ = "raters"
    __table_args__ = (UniqueConstraint("test_id", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("listening_tests.id", ondelete="CASCADE"),
                                         index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    qualification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    qualified: Mapped[bool | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Rater(id={self.id!r}, external_id={self.external_id!r})"


class RatingSession(Base):
    """One sitting of a rater: the items to rate and the setup checks, reached by token.

    ``setup`` holds what the checks expect (the stereo digits, the environment pairs), drawn
    when the session starts. The quality-control decision is kept beside the state, never on
    the votes: ``qc_status`` and ``qc_reasons`` (a list of sentences).
    """

    __tablename__ = "rating_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("listening_tests.id", ondelete="CASCADE"),
                                         index=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("raters.id", ondelete="CASCADE"),
                                          index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(20), default=SessionState.IN_PROGRESS.value)
    qc_status: Mapped[str | None] = mapped_column(String(20))
    qc_reasons: Mapped[list[str] | None] = mapped_column(JSON)
    setup: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    rater: Mapped[Rater] = relationship()
    items: Mapped[list[SessionItem]] = relationship(
        back_populates="session", order_by="SessionItem.position", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"RatingSession(id={self.id!r}, state={self.state!r}, qc={self.qc_status!r})"


class SessionItem(Base):
    """An item placed in a session at a position, under an opaque public id.

    ``audio_fetched_at`` is set the first time the rater's page fetches the audio; a vote
    before that is refused. For a pair item it notes side A; ``audio_b_fetched_at`` side B,
    and ``swapped`` the order drawn at session start: False plays the item's ``clip_id`` as
    A and its ``pair_clip_id`` as B, True the other way round.
    """

    __tablename__ = "session_items"
    __table_args__ = (UniqueConstraint("session_id", "test_item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("rating_sessions.id", ondelete="CASCADE"), index=True)
    test_item_id: Mapped[int] = mapped_column(ForeignKey("test_items.id", ondelete="CASCADE"),
                                              index=True)
    position: Mapped[int]
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    audio_fetched_at: Mapped[datetime | None]
    audio_b_fetched_at: Mapped[datetime | None]
    swapped: Mapped[bool | None]

    session: Mapped[RatingSession] = relationship(back_populates="items")
    test_item: Mapped[ListeningTestItem] = relationship()

    def __repr__(self) -> str:
        return (f"SessionItem(id={self.id!r}, session_id={self.session_id!r}, "
                f"position={self.position!r})")


class CheckAnswer(Base):
    """The answer to one setup check of a session (qualification, volume, stereo,
    environment pair), stored once; whether it was right is decided when it arrives."""

    __tablename__ = "check_answers"
    __table_args__ = (UniqueConstraint("session_id", "check_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("rating_sessions.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[str] = mapped_column(String(40))
    answer: Mapped[Any] = mapped_column(JSON)
    correct: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"CheckAnswer(session_id={self.session_id!r}, check_id={self.check_id!r})"


class Vote(Base):
    """One answer, written the moment it is given and never changed or deleted.

    Rows are keyed by session item, stimulus and scale: an item asks one question per scale
    (P.835 three: ``sig``, ``bak``, ``ovrl``; ACR one: ``acr``) about one stimulus (``""``:
    the item as a whole), so an answer sent twice is stored, and counted, once. ``score`` is
    the value on the scale (ACR 1..5, the raw CCR answer -3..3: B compared with A, as the
    rater saw them); A/B and ranking answers store ``choice`` ("A", "B" or "none") instead.
    The scale's meaning belongs to the test's method (:mod:`listening_tests.methods`).
    """

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("session_id", "session_item_id", "stimulus", "scale",
                                       name="uq_votes_answer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("rating_sessions.id", ondelete="CASCADE"), index=True)
    session_item_id: Mapped[int] = mapped_column(
        ForeignKey("session_items.id", ondelete="CASCADE"), index=True)
    stimulus: Mapped[str] = mapped_column(String(20), default="")
    scale: Mapped[str] = mapped_column(String(20), default="")
    score: Mapped[int | None]
    choice: Mapped[str | None] = mapped_column(String(10))
    played_to_end: Mapped[bool]
    elapsed_ms: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Vote(id={self.id!r}, session_item_id={self.session_item_id!r}, " \
               f"scale={self.scale!r}, score={self.score!r})"


class QcOverride(Base):
    """An administrator's change of a session's quality-control decision: the log."""

    __tablename__ = "qc_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("rating_sessions.id", ondelete="CASCADE"), index=True)
    old_status: Mapped[str | None] = mapped_column(String(20))
    new_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(2000))
    admin: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"QcOverride(session_id={self.session_id!r}, {self.old_status!r} -> " \
               f"{self.new_status!r})"


class SqaModelKind(enum.StrEnum):
    """Where a quality model comes from: shipped pretrained, or trained in the app."""

    PRETRAINED = "pretrained"
    TRAINED = "trained"


class SqaModel(Base):
    """A MOS predictor in the registry: its model folder (holding ``model.pt``), what it was
    trained on, how the held-out part was chosen, and how it scored there.

    ``metrics`` holds the eight numbers (utterance and system MSE, LCC, SRCC, KTAU) of the
    model and of the DNSMOS OVRL and P.808 baselines on the same held-out clips. At most one
    model is active: the one whose predictions the app shows.
    """

    __tablename__ = "sqa_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    path: Mapped[str] = mapped_column(String(1000))
    training_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    split_mode: Mapped[str | None] = mapped_column(String(20))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"SqaModel(id={self.id!r}, name={self.name!r}, active={self.is_active!r})"


class SqaPrediction(Base):
    """A quality model's predicted MOS of one clip, computed once; ``spread`` is the
    standard deviation of MC-dropout samples (the model's uncertainty), where measured."""

    __tablename__ = "sqa_predictions"
    __table_args__ = (UniqueConstraint("model_id", "clip_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("sqa_models.id", ondelete="CASCADE"),
                                          index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                         index=True)
    mos: Mapped[float]
    spread: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"SqaPrediction(model_id={self.model_id!r}, clip_id={self.clip_id!r}, " \
               f"mos={self.mos!r})"


class PublicLabel(Base):
    """One imported MOS label (a listener's vote, or a mean where the source has no
    listeners) of a clip in the library, under the label set's name."""

    __tablename__ = "public_labels"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200), index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"),
                                         index=True)
    system_id: Mapped[str] = mapped_column(String(200))
    sample_id: Mapped[str] = mapped_column(String(500))
    listener_id: Mapped[str | None] = mapped_column(String(500))
    score: Mapped[float]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"PublicLabel(dataset={self.dataset!r}, clip_id={self.clip_id!r}, " \
               f"score={self.score!r})"
