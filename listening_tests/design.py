"""Designing a listening test: from a spec to stored items, and its draft -> open -> closed life.

:func:`create_test` checks the spec against the library, then stores the test with its
rating items and the control items it makes: gold clips (clean references expected 5,
heavily degraded versions expected 1), trapping clips (a clip's start and a spoken request
for each score 1..5) and training clips spanning the quality range. Opening freezes the
design; a closed test takes no new sessions or votes.

Services take the caller's SQLAlchemy session and never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    Clip,
    ItemRole,
    ListeningTest,
    ListeningTestItem,
    ListeningTestStatus,
    RatingSession,
    utcnow,
)
from db.store import AudioStore, StoredAudio
from listening_tests.catalog import (
    RatingClip,
    add_generated_clip,
    check_gold_ids,
    resolve_rating_clips,
    stem,
)
from listening_tests.errors import Conflict, NotFound, SpecError
from listening_tests.methods import method_of
from listening_tests.spec import ListeningTestSpec, valid_sections
from listening_tests.stimuli import heavily_degraded, training_snrs, trapping_clip, with_noise

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class TestInfo:
    """A test as lists and dashboards show it (plain values only)."""

    id: int
    name: str
    method: str
    status: str
    platform: str
    completion_code: str
    redirect_url: str | None
    rating_clips: int
    gold_clips: int
    trap_clips: int
    training_clips: int
    votes_per_clip: int
    clips_per_session: int
    sessions: int
    created_at: datetime
    opened_at: datetime | None
    closed_at: datetime | None

    __test__ = False  # not a pytest test class

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "opened_at", "closed_at"):
            out[key] = out[key].isoformat(timespec="seconds") + "Z" if out[key] else None
        return out


def load_test(db: Session, test_id: int) -> ListeningTest:
    """The test row.

    Raises:
        NotFound: no test with this id.
    """
    test = db.get(ListeningTest, test_id)
    if test is None:
        raise NotFound(f"there is no listening test with id {test_id}")
    return test


def spec_of(test: ListeningTest) -> ListeningTestSpec:
    """The frozen spec of a stored test."""
    return ListeningTestSpec.from_dict(test.spec)


def get_test(db: Session, test_id: int) -> TestInfo:
    """Summary of one test.

    Raises:
        NotFound: no test with this id.
    """
    test = load_test(db, test_id)
    roles = dict(db.execute(
        select(ListeningTestItem.role, func.count(ListeningTestItem.id))
        .where(ListeningTestItem.test_id == test_id).group_by(ListeningTestItem.role)).all())
    sessions = db.scalar(select(func.count(RatingSession.id)).where(
        RatingSession.test_id == test_id)) or 0
    spec = test.spec
    per_item, per_session = method_of(test.method).spec_keys()
    return TestInfo(
        id=test.id, name=test.name, method=test.method, status=test.status,
        platform=test.platform, completion_code=test.completion_code,
        redirect_url=test.redirect_url, rating_clips=roles.get(ItemRole.RATING.value, 0),
        gold_clips=roles.get(ItemRole.GOLD.value, 0), trap_clips=roles.get(ItemRole.TRAP.value, 0),
        training_clips=roles.get(ItemRole.TRAINING.value, 0),
        votes_per_clip=spec.get(per_item, spec.get("votes_per_clip", 0)),
        clips_per_session=spec.get(per_session, spec.get("clips_per_session", 0)),
        sessions=int(sessions), created_at=test.created_at, opened_at=test.opened_at,
        closed_at=test.closed_at)


def list_tests(db: Session) -> list[TestInfo]:
    """Every test, newest first."""
    ids = db.scalars(select(ListeningTest.id).order_by(ListeningTest.id.desc())).all()
    return [get_test(db, test_id) for test_id in ids]


def create_test(db: Session, store: AudioStore,
                spec: ListeningTestSpec | dict[str, Any], *,
                now: datetime | None = None) -> TestInfo:
    """Validate a spec against the library and store the test as a draft with its items.

    Args:
        db: The caller's transaction (not committed here).
        store: Where the trapping, gold and training clips made for the test are written.
        spec: A validated spec, or a mapping (parsed YAML/JSON) to validate.
        now: Creation time (UTC, naive); the clock when None.

    Raises:
        SpecError: every problem of the spec, including clips, datasets and systems the
            library does not have; nothing is stored.
    """
    if not isinstance(spec, ListeningTestSpec):
        try:
            spec = ListeningTestSpec.from_dict(spec)
        except SpecError as exc:  # add what the library says about the valid sections
            problems = list(exc.problems)
            clips, gold = valid_sections(spec)
            if clips is not None:
                resolve_rating_clips(db, clips, problems)
            if gold is not None and gold.ids:
                check_gold_ids(db, gold, problems)
            _add_pair_problems(db, spec, problems)
            raise SpecError(problems) from exc
    problems: list[str] = []
    method = method_of(spec.method)
    plan = method.plan_items(db, spec, problems)
    gold_clips = check_gold_ids(db, spec.gold, problems) if spec.gold.ids else {}
    if problems:
        raise SpecError(problems)
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2**31)
    code = spec.completion_code or "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    stored_spec = {**spec.to_dict(), "seed": seed, "completion_code": code}
    redirect = spec.redirect_url.replace("{code}", code) if spec.redirect_url else None
    test = ListeningTest(name=spec.name, method=spec.method, spec=stored_spec,
                         platform=spec.platform, completion_code=code, redirect_url=redirect,
                         seed=seed, status=ListeningTestStatus.DRAFT.value,
                         created_at=now or utcnow())
    db.add(test)
    db.flush()
    written: list[StoredAudio] = []
    try:
        method.create_items(db, store, test, spec, plan, gold_clips,
                            np.random.default_rng([seed, 0]), written)
    except BaseException:
        for file in written:
            store.discard(file)
        raise
    return get_test(db, test.id)


def _add_pair_problems(db: Session, data: Any, problems: list[str]) -> None:
    """For a comparison spec with problems elsewhere: what the library says about its
    ``pairs`` section (a misspelt system), so one refusal lists every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("pairs"), (dict, list)):
        return
    try:
        method = method_of(str(data.get("method", "acr")))
    except KeyError:
        return
    if not method.pairs:
        return
    try:
        alone = ListeningTestSpec.from_dict({"name": "check", "method": method.name,
                                             "pairs": data["pairs"]})
    except SpecError:
        return  # the section's own problems are listed already
    found: list[str] = []
    method.plan_items(db, alone, found)
    problems.extend(p for p in found if p not in problems
                    and not p.startswith("pairs: the selection contains no pairs"))


def add_clip_items(db: Session, store: AudioStore, test: ListeningTest,
                   spec: ListeningTestSpec, rating: list[RatingClip],
                   gold_clips: dict[int, Clip], rng: np.random.Generator,
                   written: list[StoredAudio]) -> None:
    """The items of a single-clip test: rating clips, gold (clean references expected 5,
    heavily degraded ones expected 1), trapping clips and training clips, kept apart."""
    def item(clip_id: int, role: ItemRole, condition: str, sample_id: str,
             expected: int | None = None) -> None:
        db.add(ListeningTestItem(test_id=test.id, clip_id=clip_id, role=role.value,
                                      condition=condition, sample_id=sample_id,
                                      expected_score=expected))

    def generated(samples: np.ndarray, parent: Clip, name: str, condition: dict) -> Clip:
        return add_generated_clip(db, store, samples, parent.sample_rate, name=name,
                                  parent=parent, condition=condition, written=written)

    for r in rating:
        item(r.clip_id, ItemRole.RATING, r.condition, r.sample_id)
    rating_ids = {r.clip_id for r in rating}
    references = list(dict.fromkeys(r.reference_clip_id for r in rating if r.reference_clip_id))
    sources = list(dict.fromkeys(r.source_clip_id for r in rating))
    # Clean references that are not rated themselves come first for gold and training.
    clean = [c for c in references if c not in rating_ids] + \
        [c for c in references if c in rating_ids]
    gold_ids: set[int] = set()  # never also a training clip: raters would learn the answer
    if spec.gold.ids:
        for g in spec.gold.ids:
            item(g.clip, ItemRole.GOLD, "gold", stem(gold_clips[g.clip].name), g.expected)
            gold_ids.add(g.clip)
    elif spec.gold.auto and spec.gold.count and spec.gold.per_session:
        n_clean = min((spec.gold.count + 1) // 2, len(clean))
        for clip_id in clean[:n_clean]:
            item(clip_id, ItemRole.GOLD, "gold", stem(db.get(Clip, clip_id).name), 5)
            gold_ids.add(clip_id)
        # Degraded twins of the clean gold clips: each bad gold clip lasts (and weighs) as
        # long as a clean one, so its size does not tell a bot which is which.
        bad_sources = clean[:n_clean] or sources
        picks = rng.permutation(len(bad_sources))
        for k in range(spec.gold.count - n_clean):
            parent = db.get(Clip, bad_sources[int(picks[k % len(picks)])])
            samples, condition = heavily_degraded(store.read(parent.sha256)[0],
                                                  parent.sample_rate, rng)
            if k >= len(picks):  # more bad gold than sources: vary the noise only
                condition = {**condition, "variant": k}
            # named after what it is now: a degraded "x_clean" must not export as x_clean
            degraded = f"{stem(parent.name)}_degraded"
            made = generated(samples, parent, f"gold-bad_{degraded}.flac", condition)
            item(made.id, ItemRole.GOLD, "gold", degraded, 1)
            gold_ids.add(made.id)
    if spec.trapping.enabled and spec.trapping.per_session:
        picks = rng.permutation(len(rating))
        for score in range(1, 6):
            parent = db.get(Clip, rating[int(picks[(score - 1) % len(picks)])].clip_id)
            samples = trapping_clip(store.read(parent.sha256)[0], parent.sample_rate, score)
            made = generated(samples, parent, f"trap-{score}_{stem(parent.name)}.flac",
                             {"trap": True, "requested_score": score})
            item(made.id, ItemRole.TRAP, "trap", stem(parent.name), score)
    training_sources = [c for c in clean if c not in rating_ids and c not in gold_ids] or \
        [c for c in clean if c not in gold_ids] or clean or sources
    order = rng.permutation(len(training_sources))
    for k, snr_db in enumerate(training_snrs(spec.training.count)):
        parent = db.get(Clip, training_sources[int(order[k % len(order)])])
        if snr_db is None and (parent.id in rating_ids or parent.id in gold_ids):
            snr_db = 40.0  # never play a rating or gold clip itself as a training clip
        if snr_db is None:
            item(parent.id, ItemRole.TRAINING, "training", stem(parent.name))
            continue
        samples, condition = with_noise(store.read(parent.sha256)[0], parent.sample_rate,
                                        snr_db, rng)
        made = generated(samples, parent, f"training-snr{snr_db:g}_{stem(parent.name)}.flac",
                         condition)
        item(made.id, ItemRole.TRAINING, "training", stem(parent.name))
    db.flush()


def open_test(db: Session, test_id: int, *, now: datetime | None = None) -> TestInfo:
    """Open a draft test to raters; its design is frozen from now on. Opening an open test
    changes nothing.

    Raises:
        NotFound: no such test.
        Conflict: the test is closed (a closed test stays closed; create a new one).
    """
    test = load_test(db, test_id)
    if test.status == ListeningTestStatus.CLOSED.value:
        raise Conflict("this test is closed and cannot be opened again; create a new test")
    if test.status == ListeningTestStatus.DRAFT.value:
        test.status = ListeningTestStatus.OPEN.value
        test.opened_at = now or utcnow()
        db.flush()
    return get_test(db, test_id)


def close_test(db: Session, test_id: int, *, now: datetime | None = None) -> TestInfo:
    """Close a test: no new sessions, no more votes; results and exports stay available.
    Closing a closed test changes nothing.

    Raises:
        NotFound: no such test.
    """
    test = load_test(db, test_id)
    if test.status != ListeningTestStatus.CLOSED.value:
        test.status = ListeningTestStatus.CLOSED.value
        test.closed_at = now or utcnow()
        db.flush()
    return get_test(db, test_id)
