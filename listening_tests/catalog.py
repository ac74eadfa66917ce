"""The library as a test designer sees it: which clips a spec names, and the few clips a
test makes itself (trapping, gold and training versions).

Reads and writes the ``clips`` table and the audio store directly (``listening_tests`` sits
beside ``library`` in the layers, so it does not import it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ClipOrigin,
    Dataset,
    DatasetClip,
    EnhancementRun,
    System,
    SystemKind,
)
from db.store import AudioStore, StoredAudio
from listening_tests.spec import ClipSelection, GoldSpec


@dataclass(frozen=True)
class RatingClip:
    """A clip to rate, what its votes are grouped by, and the utterance it renders.

    Attributes:
        clip_id: The library clip.
        condition: System (or condition) name; the unit of per-system results.
        sample_id: The source utterance, shared by every system's version of it.
        source_clip_id: The input that was processed (the clip itself for plain clips).
        reference_clip_id: Its clean reference, where the library knows one.
    """

    clip_id: int
    condition: str
    sample_id: str
    source_clip_id: int
    reference_clip_id: int | None


def stem(name: str) -> str:
    """A file name without folders and ending: the id URGENT files share across systems."""
    return PurePosixPath(name.replace("\\", "/")).stem


def _listed(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _sample_id(session: Session, clip: Clip, fallback: str) -> str:
    root = clip
    for _ in range(10):  # enhanced outputs point at their input; follow to the source
        if root.parent_clip_id is None:
            break
        root = session.get(Clip, root.parent_clip_id) or root
    return stem(root.name if root is not clip else fallback)


def speech_category_of(condition: dict | None) -> str:
    """The speech category (neutral, child, sung ...) a clip's condition names, as
    ``se.simulate`` and the demo set record it (``speech.category``); "unknown" where it
    names none."""
    speech = (condition or {}).get("speech")
    category = speech.get("category") if isinstance(speech, dict) else None
    return str(category or (condition or {}).get("speech_category") or "unknown")


def clip_speech_category(session: Session, clip: Clip) -> str:
    """A clip's speech category, or that of the input it was made from (enhanced outputs
    and test-made versions carry no labels of their own)."""
    seen = 0
    while clip is not None and seen < 10:
        category = speech_category_of(clip.condition)
        if category != "unknown" or clip.parent_clip_id is None:
            return category
        clip, seen = session.get(Clip, clip.parent_clip_id), seen + 1
    return "unknown"


def _in_categories(session: Session, selection: ClipSelection,
                   members: list[tuple[Clip, str]], problems: list[str]
                   ) -> list[tuple[Clip, str]]:
    """The members of the chosen speech categories (all when none are chosen)."""
    if not selection.categories:
        return members
    found = {clip.id: clip_speech_category(session, clip) for clip, _ in members}
    missing = [c for c in selection.categories if c not in found.values()]
    if missing:
        present = sorted(set(found.values()))
        problems.append(f"clips.categories: '{selection.dataset}' has no clip of "
                        f"{_listed(missing)} (its categories: {_listed(present, 10)})")
        return []
    return [(clip, name) for clip, name in members if found[clip.id] in selection.categories]


def _dataset_members(session: Session, name: str) -> list[tuple[Clip, str]]:
    rows = session.execute(
        select(Clip, DatasetClip.name).join(DatasetClip, DatasetClip.clip_id == Clip.id)
        .join(Dataset).where(Dataset.name == name).order_by(Clip.id)).all()
    seen: set[int] = set()
    members = []
    for clip, member_name in rows:
        if clip.id not in seen:
            seen.add(clip.id)
            members.append((clip, member_name))
    return members


def resolve_rating_clips(session: Session, selection: ClipSelection,
                         problems: list[str]) -> list[RatingClip]:
    """The clips a spec's ``clips`` section names, or problems saying what is missing.

    A dataset alone rates all its clips; a dataset with systems rates each system's output
    for each input of the dataset (the inputs are its clips less clean references and
    enhanced outputs; a reference-kind system stands for the inputs' clean references);
    ``categories`` keep only the dataset's clips of those speech categories; explicit ids
    rate those clips.
    """
    systems = {s.name: s for s in session.scalars(select(System))}
    if selection.ids:
        clips = {c.id: c for c in session.scalars(
            select(Clip).where(Clip.id.in_(selection.ids)))}
        missing = [str(i) for i in selection.ids if i not in clips]
        if missing:
            problems.append(f"clips.ids: no clip with id {_listed(missing)} in the library")
            return []
        return [_plain(session, clips[i], clips[i].name, systems) for i in selection.ids]
    assert selection.dataset is not None
    if session.scalar(select(Dataset.id).where(Dataset.name == selection.dataset)) is None:
        known = list(session.scalars(select(Dataset.name).order_by(Dataset.name)))
        problems.append(f"clips.dataset: no dataset named '{selection.dataset}' "
                        f"(known: {_listed(known) or 'none'})")
        return []
    members = _in_categories(session, selection,
                             _dataset_members(session, selection.dataset), problems)
    if not members:
        return []
    if not selection.systems:
        return [_plain(session, clip, name, systems) for clip, name in members]
    return _system_outputs(session, selection, members, systems, problems)


def _plain(session: Session, clip: Clip, name: str, systems: dict[str, System]) -> RatingClip:
    by_id = {s.id: s.name for s in systems.values()}
    condition = by_id.get(clip.system_id, "unknown") if clip.system_id else "unknown"
    return RatingClip(clip.id, condition, _sample_id(session, clip, name),
                      clip.parent_clip_id or clip.id, clip.reference_clip_id)


def _system_outputs(session: Session, selection: ClipSelection,
                    members: list[tuple[Clip, str]], systems: dict[str, System],
                    problems: list[str]) -> list[RatingClip]:
    unknown = [name for name in selection.systems if name not in systems]
    if unknown:
        problems.append(f"clips.systems: the library has no outputs of {_listed(unknown)} "
                        f"(systems it knows: {_listed(sorted(systems), 10) or 'none'}); "
                        "enhance the dataset with them first")
        return []
    reference_ids = {s.id for s in systems.values() if s.kind == SystemKind.REFERENCE.value}
    inputs = [(c, n) for c, n in members if c.origin != ClipOrigin.ENHANCED.value
              and c.system_id not in reference_ids]
    if not inputs:
        problems.append(f"clips.dataset: '{selection.dataset}' has no input clips "
                        "(only clean references or enhanced outputs)")
        return []
    out: list[RatingClip] = []
    seen: set[int] = set()
    for name in selection.systems:
        system = systems[name]
        runs = dict(session.execute(select(
            EnhancementRun.input_clip_id, EnhancementRun.output_clip_id).where(
            EnhancementRun.system_id == system.id)).all())
        missing = []
        for clip, member_name in inputs:
            if system.kind == SystemKind.REFERENCE.value:
                output = clip.reference_clip_id
            elif clip.system_id == system.id:
                output = clip.id
            else:
                output = runs.get(clip.id)
            if output is None:
                missing.append(member_name)
            elif output not in seen:  # inputs sharing one clean reference rate it once
                seen.add(output)
                out.append(RatingClip(output, name, stem(member_name), clip.id,
                                      clip.reference_clip_id))
        if missing:
            problems.append(f"clips.systems: '{name}' has no output for {len(missing)} of "
                            f"the {len(inputs)} inputs of '{selection.dataset}' "
                            f"({_listed(missing)}); enhance them first")
    return out


def check_gold_ids(session: Session, gold: GoldSpec, problems: list[str]) -> dict[int, Clip]:
    """The hand-picked gold clips, noting ids the library does not have."""
    wanted = [g.clip for g in gold.ids]
    found = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(wanted)))}
    for i, g in enumerate(gold.ids):
        if g.clip not in found:
            problems.append(f"gold.ids[{i}].clip: no clip with id {g.clip} in the library")
    return found


def add_generated_clip(session: Session, store: AudioStore, samples: np.ndarray,
                       sample_rate: int, *, name: str, parent: Clip,
                       condition: dict[str, Any], written: list[StoredAudio]) -> Clip:
    """Store a waveform made for a test as a clip of origin "generated" (or find the same
    audio already stored). A newly written file is appended to ``written`` so a caller
    whose transaction fails can discard it."""
    samples = np.asarray(samples, dtype=np.float32)
    stored = store.put(samples, sample_rate)
    if stored.created:
        written.append(stored)
    clip = session.scalar(select(Clip).where(Clip.sha256 == stored.sha256))
    if clip is not None:
        return clip
    x = samples.astype(np.float64)
    peak = 20 * np.log10(max(float(np.max(np.abs(x))), 1e-10))
    rms = 20 * np.log10(max(float(np.sqrt(np.mean(x**2))), 1e-10))
    clip = Clip(sha256=stored.sha256, name=name, sample_rate=sample_rate,
                num_frames=len(samples), duration_seconds=len(samples) / sample_rate,
                source_format="FLAC", peak_dbfs=peak, rms_dbfs=rms,
                origin=ClipOrigin.GENERATED.value, parent_clip_id=parent.id,
                reference_clip_id=parent.reference_clip_id, condition=condition)
    session.add(clip)
    session.flush()
    return clip
