"""DCR (ITU-T P.800 Annex D, as P.808 runs it): the reference plays first, then the processed
clip, and the rater grades the degradation on five points; DMOS.

A DCR spec has the shape of an ACR one (``clips``, ``votes_per_clip``, gold, trapping,
training); each clip is compared with its clean reference, and clips without one are a spec
problem. Items are stored as pairs (the clip, its reference as the pair clip) played in a
fixed order: reference as A, processed as B. Control items follow P.808's DCR page: a
trapping item is the reference against itself and must be answered 4 or 5 (P.808 hard-codes
that), a gold item a heavily degraded copy against its reference, expected 1. Unlike P.808's
parser, whose DCR "played to the end" check reads columns its DCR page never writes (so it
rejects every DCR session), both stimuli must have been played (docs/rating-api.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from listening_tests.methods.single import ClipMethod

if TYPE_CHECKING:  # pragma: no cover - types only
    from db.store import StoredAudio

DCR_SCALE = ((1, "Degradation is very annoying"), (2, "Degradation is annoying"),
             (3, "Degradation is audible and slightly annoying"),
             (4, "Degradation is audible but not annoying"), (5, "Degradation is inaudible"))
DCR_QUESTION = ("You heard the reference (A) first, then the processed sample (B). "
                "The degradation of B compared with A is:")
TRAP_ALLOWED = (4.0, 5.0)  # the reference against itself: P.808's DCR answer
TRAP_EXPECTED = 5
GOLD_EXPECTED = 1  # heavily degraded against the reference


class Dcr(ClipMethod):
    name = "dcr"
    title = "DCR (P.800 Annex D degradation category rating)"
    scale_names = ("dcr",)
    mos_name = "DMOS"
    scale = DCR_SCALE
    question = DCR_QUESTION
    two_stimuli = True
    exports = ("votes_per_clip.csv", "votes_per_cond.csv", "votes_per_worker.csv",
               "accept_reject.csv", "accept_reject_gui.csv", "votes.parquet")

    def plan_items(self, db, spec, problems: list[str]) -> Any:
        rating = super().plan_items(db, spec, problems)
        missing = [r for r in rating if r.reference_clip_id is None]
        if missing:
            from db.models import Clip

            names = [db.get(Clip, r.clip_id).name for r in missing[:5]]
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            problems.append(f"clips: {len(missing)} clips have no clean reference to play "
                            f"first ({', '.join(names)}{more}); DCR compares each clip with "
                            "its reference")
        return rating

    def create_items(self, db, store, test, spec, plan, gold_clips, rng, written) -> None:
        add_dcr_items(db, store, test, spec, plan, rng, written)

    def draw_order(self, rng) -> bool | None:
        return True  # fixed: the pair clip (the reference) plays as A

    def item_entry(self, si, base: str, spec) -> dict[str, Any]:
        from listening_tests.pair_sessions import item_entry

        return item_entry(si, base, spec, offers_original=False)

    def play_first_message(self) -> str:
        return "play the reference and the processed sample to their end before rating"

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        return {"score": model.degradation(*stimuli)}  # A: the reference, B: processed

    def decide(self, db, rs, spec, settings):
        from listening_tests.comparison_review import decide_comparison

        return decide_comparison(db, rs, spec, settings, dcr_judge)

    def export(self, db, store, test_id: int, name: str,
               decisions: Callable[[], Any]) -> bytes:
        from listening_tests.downloads import clip_export

        return clip_export(db, store, test_id, name, decisions, mos_name=self.mos_name)


def dcr_judge(vote, si, item, name: str, played: bool):
    """A DCR answer as the P.808 rules see it: the grade itself; a trapping item (reference
    against itself) is right at 4 or 5."""
    from db.models import ItemRole
    from listening_tests.quality_control import Answer as QcAnswer

    gold, trap = item.role == ItemRole.GOLD.value, item.role == ItemRole.TRAP.value
    expected = None if item.expected_score is None else float(item.expected_score)
    return QcAnswer(clip=name, score=float(vote.score), played_to_end=played, is_gold=gold,
                    is_trap=trap, expected=expected if gold or trap else None,
                    allowed=TRAP_ALLOWED if trap else ()), []


def add_dcr_items(db, store, test, spec, rating, rng, written: list[StoredAudio]) -> None:
    """Rating items (clip, its reference), trapping items (a reference against itself),
    gold items (a heavily degraded reference against it) and training items (the reference
    with noise against it)."""
    from db.models import Clip, ItemRole, ListeningTestItem
    from listening_tests.catalog import add_generated_clip, stem
    from listening_tests.stimuli import heavily_degraded, training_snrs, with_noise

    def item(clip_id: int, reference_id: int, role, condition: str, sample_id: str,
             expected: int | None = None) -> None:
        db.add(ListeningTestItem(test_id=test.id, clip_id=clip_id, role=role.value,
                                 condition=condition, sample_id=sample_id,
                                 pair_clip_id=reference_id, pair_condition="reference",
                                 expected_score=expected))

    for r in rating:
        item(r.clip_id, r.reference_clip_id, ItemRole.RATING, r.condition, r.sample_id)
    references = list(dict.fromkeys(r.reference_clip_id for r in rating))
    order = rng.permutation(len(references))

    def reference(k: int) -> Clip:
        return db.get(Clip, references[int(order[k % len(order)])])

    if spec.trapping.enabled and spec.trapping.per_session:
        for k in range(min(5, len(references))):
            ref = reference(k)
            item(ref.id, ref.id, ItemRole.TRAP, "trap", stem(ref.name), TRAP_EXPECTED)
    if spec.gold.auto and spec.gold.count and spec.gold.per_session:
        for k in range(spec.gold.count):
            ref = reference(k)
            samples, condition = heavily_degraded(store.read(ref.sha256)[0], ref.sample_rate,
                                                  rng)
            if k >= len(order):
                condition = {**condition, "variant": k}
            degraded = f"{stem(ref.name)}_degraded"
            made = add_generated_clip(db, store, samples, ref.sample_rate,
                                      name=f"gold-bad_{degraded}.flac", parent=ref,
                                      condition=condition, written=written)
            item(made.id, ref.id, ItemRole.GOLD, "gold", degraded, GOLD_EXPECTED)
    for k, snr_db in enumerate(training_snrs(spec.training.count)):
        ref = reference(k)
        samples, condition = with_noise(store.read(ref.sha256)[0], ref.sample_rate,
                                        40.0 if snr_db is None else snr_db, rng)
        made = add_generated_clip(db, store, samples, ref.sample_rate,
                                  name=f"training-snr{snr_db or 40:g}_{stem(ref.name)}.flac",
                                  parent=ref, condition=condition, written=written)
        item(made.id, ref.id, ItemRole.TRAINING, "training", stem(ref.name))
    db.flush()


METHOD = Dcr()
