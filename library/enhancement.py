"""Enhancing library clips with a system and keeping the output, linked to its input.

Work is split in two so no database transaction is open while a system runs: :func:`compute`
needs no session, :func:`record` writes the result in a short one. A run is unique per
(input clip, system), so nothing is enhanced twice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.io import Audio, AudioError
from db.models import Clip, ClipOrigin, Dataset, DatasetClip, EnhancementRun, SystemKind
from db.models import System as SystemRow
from db.store import AudioStore
from library.clips import add_clip, get_clip, get_or_create_system
from se.systems import System
from se.systems.base import SystemOutputError
from se.systems.external import ExternalOutputsError

#: How each kind of SE system is recorded in the ``systems`` table.
_ROW_KINDS = {"identity": SystemKind.IDENTITY, "dsp": SystemKind.DSP,
              "pretrained": SystemKind.PRETRAINED, "neural": SystemKind.NEURAL,
              "external": SystemKind.EXTERNAL}


class EnhancementError(ValueError):
    """A clip cannot be enhanced by a system; the message says which, and why."""


@dataclass(frozen=True)
class EnhancementResult:
    """One input enhanced by one system."""

    input_clip_id: int
    system: str
    output_clip_id: int
    processing_seconds: float
    real_time_factor: float
    cached: bool


@dataclass(frozen=True)
class ComputedOutput:
    """A system's output before it is stored."""

    samples: np.ndarray
    sample_rate: int
    processing_seconds: float


def item_id(clip_name: str) -> str:
    """The name an external system's output file carries for this input: its file stem."""
    return PurePosixPath(clip_name).stem


def system_row(session: Session, system: System) -> SystemRow:
    """The database row standing for an SE system (created on first use)."""
    return get_or_create_system(session, system.name, _ROW_KINDS[system.kind],
                                description=system.description)


def cached_run(session: Session, clip_id: int, system: System) -> EnhancementResult | None:
    """The stored result of enhancing ``clip_id`` with ``system``, if there is one."""
    run = session.scalar(select(EnhancementRun).join(SystemRow).where(
        EnhancementRun.input_clip_id == clip_id, SystemRow.name == system.name))
    if run is None:
        return None
    return EnhancementResult(clip_id, system.name, run.output_clip_id, run.processing_seconds,
                             run.real_time_factor, cached=True)


def compute(system: System, samples: np.ndarray, sample_rate: int, clip_name: str
            ) -> ComputedOutput:
    """Run ``system`` on one input and time it (single call, wall clock).

    Raises:
        EnhancementError: the input is unusable for the system, the system failed, or an
            external system has no matching output.
    """
    started = time.perf_counter()
    try:
        output = system.enhance_item(item_id(clip_name), samples, sample_rate)
    except (AudioError, SystemOutputError, ExternalOutputsError) as exc:
        raise EnhancementError(f"{system.name} on {clip_name}: {exc}") from exc
    return ComputedOutput(output, sample_rate, time.perf_counter() - started)


def record(session: Session, store: AudioStore, clip_id: int, system: System,
           output: ComputedOutput) -> EnhancementResult:
    """Store an output as a clip (same name, rate and length as its input, same clean
    reference and condition) and the run that made it."""
    existing = cached_run(session, clip_id, system)
    if existing is not None:  # another request finished first
        return existing
    source = get_clip(session, clip_id)
    row = system_row(session, system)
    if system.kind == "identity":
        output_id = source.id
    else:
        added = add_clip(session, store, Audio(output.samples, output.sample_rate),
                         name=source.name, origin=ClipOrigin.ENHANCED, system=row,
                         parent_clip_id=source.id, reference_clip_id=source.reference_clip_id,
                         condition=source.condition)
        output_id = added.clip_id
    rtf = output.processing_seconds / source.duration_seconds
    session.add(EnhancementRun(input_clip_id=source.id, system_id=row.id,
                               output_clip_id=output_id,
                               processing_seconds=output.processing_seconds,
                               real_time_factor=rtf))
    session.flush()
    return EnhancementResult(source.id, system.name, output_id, output.processing_seconds,
                             rtf, cached=False)


def input_audio(session: Session, store: AudioStore, clip_id: int) -> tuple[Clip, np.ndarray,
                                                                              int]:
    """A clip row and its samples, for :func:`compute`."""
    clip = get_clip(session, clip_id)
    samples, rate = store.read(clip.sha256)
    return clip, samples, rate


@dataclass(frozen=True)
class ClipChoice:
    """A library clip a person can pick to enhance, described so they recognise it."""

    id: int
    name: str
    datasets: tuple[str, ...]
    sample_rate: int
    duration_seconds: float
    has_reference: bool

    @property
    def label(self) -> str:
        where = ", ".join(self.datasets) or "no dataset"
        clean = ", clean reference" if self.has_reference else ""
        return (f"{self.name} ({where}; {self.sample_rate / 1000:g} kHz, "
                f"{self.duration_seconds:.1f} s{clean}; id {self.id})")


def find_input_clips(session: Session, query: str = "", limit: int = 200) -> list[ClipChoice]:
    """Clips worth enhancing whose name or dataset contains ``query`` (case-insensitive),
    newest first: uploads, imports and generated clips, not enhanced outputs."""
    text = query.strip().lower()
    statement = select(Clip).where(Clip.origin != ClipOrigin.ENHANCED.value)
    if text:
        in_dataset = select(DatasetClip.clip_id).join(Dataset).where(
            Dataset.name.ilike(f"%{text}%") | DatasetClip.name.ilike(f"%{text}%"))
        statement = statement.where(Clip.name.ilike(f"%{text}%") | Clip.id.in_(in_dataset))
    clips = session.scalars(statement.order_by(Clip.id.desc()).limit(limit)).all()
    memberships: dict[int, set[str]] = {}
    for clip_id, dataset in session.execute(
            select(DatasetClip.clip_id, Dataset.name).join(Dataset)
            .where(DatasetClip.clip_id.in_([c.id for c in clips]))):
        memberships.setdefault(clip_id, set()).add(dataset)
    return [ClipChoice(c.id, c.name, tuple(sorted(memberships.get(c.id, ()))), c.sample_rate,
                       c.duration_seconds, c.reference_clip_id is not None) for c in clips]
