"""Pair items of comparison tests (CCR, A/B, ranking): which clips a spec pairs, and the
stored items (rating pairs, gold pairs, training pairs).

A pair is two clips of the same input. CCR pairs each system's output with the input's
``reference`` (a system's output, or the clean reference); A/B and ranking pair every two
systems' outputs of an input. Gold pairs put an input's clean reference beside a heavily
degraded version of it (the clean side must win; a CCR answer, sign-corrected to
"degraded versus clean", is expected -3 and may be off by ``gold_tolerance``, so with the
default 1 it must be -2 or -3). Training pairs put a clean reference beside noisy versions
of it (clean beside itself first) and are never used in statistics.

Item layout (see ``ListeningTestItem``): ``clip_id``/``condition`` is the processed side
(CCR) or the first system; ``pair_clip_id``/``pair_condition`` the reference (CCR) or the
second system. Services take the caller's session and never commit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from db.models import Clip, ItemRole, ListeningTest, ListeningTestItem, System
from db.store import AudioStore
from listening_tests.catalog import (
    RatingClip,
    _plain,
    add_generated_clip,
    resolve_rating_clips,
    stem,
)
from listening_tests.spec import ClipSelection, ListeningTestSpec, PairSelection
from listening_tests.stimuli import heavily_degraded, training_snrs, with_noise

CLEAN = "clean"


@dataclass(frozen=True)
class Pair:
    """Two clips of one input to compare; see the module docstring for the sides."""

    clip_id: int
    condition: str
    pair_clip_id: int
    pair_condition: str
    sample_id: str
    reference_clip_id: int | None


def _root(db: Session, clip: Clip) -> Clip:
    for _ in range(10):
        if clip.parent_clip_id is None:
            break
        clip = db.get(Clip, clip.parent_clip_id) or clip
    return clip


def same_input(db: Session, a: Clip, b: Clip) -> bool:
    """Whether two clips render one input: they share their source clip, or one is the
    other's clean reference, or both have the same clean reference."""
    ra, rb = _root(db, a), _root(db, b)
    keys_a = {ra.id, ra.reference_clip_id, a.reference_clip_id} - {None}
    keys_b = {rb.id, rb.reference_clip_id, b.reference_clip_id} - {None}
    return bool(keys_a & keys_b)


def resolve_pairs(db: Session, spec: ListeningTestSpec, problems: list[str]) -> list[Pair]:
    """The rating pairs a comparison spec names (all possible pairs for ranking), or
    problems saying what is missing or mismatched."""
    sel = spec.pairs
    assert sel is not None
    if sel.explicit:
        return _explicit(db, sel, problems)
    names = list(sel.systems)
    if sel.reference and sel.reference != CLEAN:  # only a method with a reference has one
        names.append(sel.reference)
    inner: list[str] = []
    outputs = resolve_rating_clips(db, ClipSelection(dataset=sel.dataset, systems=tuple(names)),
                                   inner)
    problems += [p.replace("clips.", "pairs.", 1) for p in inner]
    by_input: dict[int, dict[str, RatingClip]] = {}
    for r in outputs:
        by_input.setdefault(r.source_clip_id, {})[r.condition] = r
    pairs: list[Pair] = []
    for per_system in by_input.values():
        if sel.reference:  # each system against the reference
            for name in sel.systems:
                out = per_system.get(name)
                if out is None:
                    continue
                if sel.reference == CLEAN:
                    ref_id, ref_name = out.reference_clip_id, CLEAN
                else:
                    ref = per_system.get(str(sel.reference))
                    ref_id, ref_name = (ref.clip_id if ref else None), str(sel.reference)
                if ref_id is None:
                    problems.append(f"pairs.reference: input '{out.sample_id}' has no "
                                    f"{ref_name} clip to compare '{name}' with")
                    continue
                pairs.append(Pair(out.clip_id, name, ref_id, ref_name, out.sample_id,
                                  out.reference_clip_id))
        else:
            for x, y in itertools.combinations(sel.systems, 2):
                if x in per_system and y in per_system:
                    a, b = per_system[x], per_system[y]
                    pairs.append(Pair(a.clip_id, x, b.clip_id, y, a.sample_id,
                                      a.reference_clip_id))
    return pairs


def _explicit(db: Session, sel: PairSelection, problems: list[str]) -> list[Pair]:
    ids = {i for p in sel.explicit for i in (p.a, p.b)}
    clips = {c.id: c for c in db.scalars(select(Clip).where(Clip.id.in_(ids)))}
    systems = {s.name: s for s in db.scalars(select(System))}
    pairs = []
    for i, p in enumerate(sel.explicit):
        missing = [str(c) for c in (p.a, p.b) if c not in clips]
        if missing:
            problems.append(f"pairs[{i}]: no clip with id {', '.join(missing)} in the library")
            continue
        a, b = clips[p.a], clips[p.b]
        if not same_input(db, a, b):
            problems.append(f"pairs[{i}]: clips {p.a} and {p.b} come from different inputs; "
                            "a pair compares two versions of the same input")
            continue
        ra, rb = _plain(db, a, a.name, systems), _plain(db, b, b.name, systems)
        cond_a = ra.condition if ra.condition != "unknown" else stem(a.name)
        cond_b = rb.condition if rb.condition != "unknown" else stem(b.name)
        # stored processed-side first: for CCR ``b`` is the processed clip
        pairs.append(Pair(b.id, cond_b, a.id, cond_a, rb.sample_id,
                          b.reference_clip_id or a.reference_clip_id))
    return pairs


def add_pair_items(db: Session, store: AudioStore, test: ListeningTest,
                   spec: ListeningTestSpec, pairs: list[Pair], rng: np.random.Generator,
                   written: list[str], *, gold_expected: int | None = None) -> None:
    """Store the rating pairs, the gold pairs and the training pairs of a comparison test.

    ``gold_expected`` is the score a gold pair (degraded versus clean) expects, for methods
    that answer with a score (CCR: -3); a choice method checks the clean side instead.
    """
    def item(p: Pair, role: ItemRole, expected: int | None = None) -> None:
        db.add(ListeningTestItem(test_id=test.id, clip_id=p.clip_id, role=role.value,
                                 condition=p.condition, sample_id=p.sample_id,
                                 pair_clip_id=p.pair_clip_id,
                                 pair_condition=p.pair_condition, expected_score=expected))

    for p in pairs:
        item(p, ItemRole.RATING)
    clean = list(dict.fromkeys(p.reference_clip_id for p in pairs if p.reference_clip_id))
    if not clean:
        clean = list(dict.fromkeys(p.pair_clip_id for p in pairs))
    order = rng.permutation(len(clean))
    if spec.gold.auto and spec.gold.count and spec.gold.per_session:
        for k in range(spec.gold.count):
            parent = db.get(Clip, clean[int(order[k % len(order)])])
            samples, condition = heavily_degraded(store.read(parent.sha256)[0],
                                                  parent.sample_rate, rng)
            if k >= len(order):
                condition = {**condition, "variant": k}
            made = add_generated_clip(db, store, samples, parent.sample_rate,
                                      name=f"gold-bad_{stem(parent.name)}.flac", parent=parent,
                                      condition=condition, written=written)
            item(Pair(made.id, "gold-degraded", parent.id, CLEAN, stem(parent.name),
                      parent.id), ItemRole.GOLD, gold_expected)
    for k, snr_db in enumerate(training_snrs(spec.training.count)):
        parent = db.get(Clip, clean[int(order[k % len(order)])])
        if snr_db is None:
            snr_db = 40.0  # "about the same": a barely audible noise beside the clean clip
        samples, condition = with_noise(store.read(parent.sha256)[0], parent.sample_rate,
                                        snr_db, rng)
        made = add_generated_clip(db, store, samples, parent.sample_rate,
                                  name=f"training-snr{snr_db:g}_{stem(parent.name)}.flac",
                                  parent=parent, condition=condition, written=written)
        item(Pair(made.id, "training", parent.id, CLEAN, stem(parent.name), parent.id),
             ItemRole.TRAINING)
    db.flush()
