"""MUSHRA (ITU-R BS.1534-3): many systems side by side on one page, with the open reference,
a hidden reference and anchors, each stimulus scored 0..100.

A page is one input of the dataset. Its stimuli are stored as one test item each
(``clip_id``: the stimulus, ``pair_clip_id``: the page's reference, played open: the input's
clean reference or a named system's output; ``condition``: the system, ``hidden_reference``
or ``anchor_<Hz>`` / ``anchor_<degradation>``; ``sample_id``: the input), so every stimulus
has its own session item, fetch record and vote row (scale ``mushra``). Training pages are
inputs held out as items of the training role. A session holds whole pages; the positions
drawn at session start give the stimuli's order on each page, per rater and stored. The
session body groups a page's stimuli by ``page`` and tells the rater nothing about their
roles.

Quality control is BS.1534-3 post-screening over all of the assessor's pages in the test:
excluded ("not_used": paid, left out of statistics) when the hidden reference is rated below
``reference_min`` on more than ``max_page_fraction`` of pages, or the mid anchor above
``anchor_max`` on more than that share. The tables (screening, statistics, exports) live in
:mod:`listening_tests.mushra_results`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from listening_tests.methods.base import Answer
from listening_tests.methods.pair import PairMethod

SCALE = "mushra"
HIDDEN_REFERENCE = "hidden_reference"
LABELS = ((80, 100, "Excellent"), (60, 80, "Good"), (40, 60, "Fair"), (20, 40, "Poor"),
          (0, 20, "Bad"))
QUESTION = ("Compare each sample with the reference and rate its overall quality from 0 "
            "(bad) to 100 (excellent). One of the samples is the reference itself.")
DEFAULT_ANCHORS = (3500, 7000)


def anchor_name(anchor: int | str) -> str:
    """The condition of an anchor: its cut-off in Hz, or its degradation's name."""
    return f"anchor_{anchor}"


def urgent_label(score: float) -> float:
    """A MUSHRA score (0..100) on URGENT's 1..5 MOS range: score / 100 * 4 + 1."""
    return float(score) / 100.0 * 4.0 + 1.0


def lowpass_anchor(x: np.ndarray, sample_rate: int, cutoff_hz: int) -> np.ndarray:
    """The reference low-passed at ``cutoff_hz`` (BS.1534-3 anchors): a zero-phase
    8th-order Butterworth, so the anchor stays aligned with the reference."""
    from scipy import signal

    sos = signal.butter(8, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    mono = x if x.ndim == 1 else x.mean(axis=1)
    return signal.sosfiltfilt(sos, mono).astype(np.float32)


def _mp3_anchor(x: np.ndarray, sample_rate: int, rng: np.random.Generator
                ) -> tuple[np.ndarray, dict[str, Any]]:
    from audio.degrade import codec

    return codec(x, sample_rate, "mp3", 9), {"codec": "mp3", "quality": 9}


def _packet_loss_anchor(x: np.ndarray, sample_rate: int, rng: np.random.Generator
                        ) -> tuple[np.ndarray, dict[str, Any]]:
    from audio.degrade import packet_loss

    return packet_loss(x, sample_rate, rng, 0.2)


def _clipping_anchor(x: np.ndarray, sample_rate: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, dict[str, Any]]:
    from audio.degrade import clip

    return clip(x, 0.05, 0.95), {"clipping_quantiles": [0.05, 0.95]}


#: Extra anchors (``mushra.degraded_anchors``): URGENT 2026 distortions at the harsh end of
#: its ranges, applied to the reference; each keeps the reference's length.
DEGRADED_ANCHORS = {"mp3": _mp3_anchor, "packet_loss": _packet_loss_anchor,
                    "clipping": _clipping_anchor}


def spectral_distance_db(stimulus: bytes, reference: bytes) -> float:
    """Log-spectral distance (dB, STFT frames of 512) of a stimulus from its reference, both
    as encoded audio files; 0 for the reference itself. What a simulated listener hears."""
    import io

    import soundfile as sf
    from scipy import signal

    x, rate = sf.read(io.BytesIO(stimulus), dtype="float64", always_2d=True)
    r, _ = sf.read(io.BytesIO(reference), dtype="float64", always_2d=True)
    n = min(len(x), len(r))
    _, _, xs = signal.stft(x[:n].mean(axis=1), rate, nperseg=512)
    _, _, rs = signal.stft(r[:n].mean(axis=1), rate, nperseg=512)
    eps = 1e-3 * max(float(np.abs(rs).max()), 1e-12)
    d = 20 * np.log10((np.abs(xs) + eps) / (np.abs(rs) + eps))
    return float(np.mean(np.sqrt(np.mean(d**2, axis=0))))


class Mushra(PairMethod):
    name = "mushra"
    title = "MUSHRA (ITU-R BS.1534-3 multi-stimulus with hidden reference and anchors)"
    scale_names = (SCALE,)
    mos_name = "MUSHRA"
    dashboard = "scores"
    two_stimuli = False  # the stimulus must be played; the open reference may be skipped
    timed_listening = True  # elapsed_ms: how long the stimulus was heard (the page preloads)
    score_range = (0.0, 100.0)
    training_default = 0  # training pages hold inputs out of the rating pages: opt in
    makes_gold = False
    exports = ("scores.csv", "systems.csv", "pairs.csv", "ranking.csv", "differences.csv",
               "screening.csv", "assessors.csv", "urgent_labels.csv", "scores.parquet")

    def spec_keys(self) -> tuple[str, str]:
        return ("listeners_per_page", "pages_per_session")

    def takes_reference(self) -> bool:
        return True

    # --- design ---------------------------------------------------------------------------
    def plan_items(self, db, spec, problems: list[str]) -> Any:
        """Per input: its reference clip (the clean reference, or the output of the system
        ``pairs.reference`` names) and each system's output (inputs missing one are left
        out, with a problem if none is left)."""
        from listening_tests.catalog import resolve_rating_clips
        from listening_tests.pairs import CLEAN
        from listening_tests.spec import ClipSelection

        sel = spec.pairs
        if sel is None or sel.explicit:
            problems.append("pairs: a mushra test takes a dataset, its systems and a "
                            "reference (clean, or a system)")
            return []
        if spec.gold.ids or (spec.gold.auto and spec.gold.count and spec.gold.per_session):
            problems.append("gold: a mushra test screens with its hidden reference and "
                            "anchors; set gold.count to 0")
        named = None if sel.reference in (None, CLEAN) else sel.reference
        inner: list[str] = []
        wanted = tuple(sel.systems) + ((named,) if named else ())
        outputs = resolve_rating_clips(db, ClipSelection(dataset=sel.dataset, systems=wanted),
                                       inner)
        problems += [p.replace("clips.", "pairs.", 1) for p in inner]
        pages: dict[int, dict[str, Any]] = {}
        for r in outputs:
            page = pages.setdefault(r.source_clip_id, {
                "sample_id": r.sample_id, "systems": {},
                "reference": None if named else r.reference_clip_id})
            if r.condition == named:
                page["reference"] = r.clip_id
            else:
                page["systems"][r.condition] = r.clip_id
        complete, references = [], set()
        for p in sorted(pages.values(), key=lambda p: p["sample_id"]):
            if p["reference"] is None or set(p["systems"]) != set(sel.systems) \
                    or p["reference"] in references:
                continue  # one page per clean reference: its hidden reference is one item
            references.add(p["reference"])
            complete.append(p)
        if not problems and not complete:
            problems.append("pairs: no input has a reference and an output of every "
                            "system")
        training = spec.training.count
        if complete and training >= len(complete):
            problems.append(f"training.count: {training} training pages would leave no page "
                            f"to rate ({len(complete)} inputs have every system's output)")
        elif training:  # the last inputs by name: pages no rating page shares a clip with
            for page in complete[-training:]:
                page["training"] = True
        return complete

    def create_items(self, db, store, test, spec, plan, gold_clips, rng, written) -> None:
        """One item per stimulus of each page: the systems, the hidden reference, and the
        low-pass anchors made here from the reference. A training page's items have the
        training role: every session starts with them, and no statistic counts them."""
        from db.models import Clip, ItemRole, ListeningTestItem
        from listening_tests.catalog import add_generated_clip, stem

        anchors = (spec.mushra.anchors_hz if spec.mushra else DEFAULT_ANCHORS)
        for page in plan:
            ref = db.get(Clip, page["reference"])
            # the hidden reference first: a reference-kind system is that same clip
            stimuli = [(ref.id, HIDDEN_REFERENCE)]
            stimuli += [(clip_id, system) for system, clip_id in sorted(page["systems"].items())]
            samples, rate = store.read(ref.sha256)
            for cutoff in anchors:
                if cutoff * 2 >= rate:
                    continue  # nothing above the cut-off to remove at this rate
                made = add_generated_clip(
                    db, store, lowpass_anchor(np.asarray(samples), rate, cutoff), rate,
                    name=f"mushra-anchor{cutoff}_{stem(ref.name)}.flac", parent=ref,
                    condition={"kind": "mushra_anchor", "lowpass_hz": cutoff},
                    written=written)
                stimuli.append((made.id, anchor_name(cutoff)))
            for degradation in (spec.mushra.degraded_anchors if spec.mushra else ()):
                mono = np.asarray(samples, dtype=np.float32)
                mono = mono if mono.ndim == 1 else mono.mean(axis=1)
                y, params = DEGRADED_ANCHORS[degradation](mono, rate, rng)
                made = add_generated_clip(
                    db, store, np.asarray(y, dtype=np.float32)[:len(mono)], rate,
                    name=f"mushra-anchor-{degradation}_{stem(ref.name)}.flac", parent=ref,
                    condition={"kind": "mushra_anchor", "degradation": degradation,
                               **params}, written=written)
                stimuli.append((made.id, anchor_name(degradation)))
            seen: set[int] = set()
            for clip_id, condition in stimuli:
                if clip_id in seen:
                    continue  # two stimuli with the same audio: one item
                seen.add(clip_id)
                role = ItemRole.TRAINING if page.get("training") else ItemRole.RATING
                db.add(ListeningTestItem(test_id=test.id, clip_id=clip_id,
                                         role=role.value, condition=condition,
                                         sample_id=page["sample_id"], pair_clip_id=ref.id,
                                         pair_condition="reference"))
        db.flush()

    # --- sessions -------------------------------------------------------------------------
    def assign(self, db, test, spec, rater, rng, cutoff) -> list[int]:
        """Whole pages: those furthest from ``listeners_per_page`` that the rater has not
        heard, ties drawn at random."""
        from sqlalchemy import select

        from db.models import ItemRole, ListeningTestItem
        from listening_tests import assignment
        from listening_tests.errors import Conflict

        counts = assignment.item_counts(db, test.id, cutoff)
        heard = assignment.heard_clips(db, rater.id)
        rows = db.execute(select(ListeningTestItem.id, ListeningTestItem.clip_id,
                                 ListeningTestItem.sample_id, ListeningTestItem.condition)
                          .where(ListeningTestItem.test_id == test.id,
                                 ListeningTestItem.role == ItemRole.RATING.value)
                          .order_by(ListeningTestItem.id)).all()
        pages: dict[str, list] = {}
        for row in rows:
            pages.setdefault(row.sample_id, []).append(row)
        open_pages = []
        for sample_id, items in pages.items():
            listeners = min(counts.get(i.id, 0) for i in items)
            heard_before = any(i.clip_id in heard for i in items
                               if i.condition != HIDDEN_REFERENCE)
            if listeners < spec.votes_per_clip and not heard_before:
                open_pages.append((listeners, float(rng.random()), sample_id))
        if not open_pages:
            raise Conflict("no pages are left for you in this test; thank you for your "
                           "interest")
        chosen = [s for _, _, s in sorted(open_pages)[:spec.clips_per_session]]
        return [i.id for s in chosen for i in pages[s]]

    def simulation_pairs(self, dataset: str, systems: list[str], reference: str
                         ) -> dict[str, Any]:
        return {"dataset": dataset, "systems": list(systems), "reference": "clean"}

    def draw_order(self, rng) -> bool | None:
        return False  # side a: the stimulus, side b: the open reference

    def page_fields(self, spec, rs) -> dict[str, Any]:
        return {"question": QUESTION,
                "scale": {"min": 0, "max": 100, "step": 1,
                          "labels": [{"from": lo, "to": hi, "label": label}
                                     for lo, hi, label in LABELS]}}

    def item_entry(self, si, base: str, spec) -> dict[str, Any]:
        """The stimulus, the open reference of its page and the page number (1, 2, ...: the
        order pages first appear in the session); nothing about its role."""
        pages: list[str] = []
        for other in si.session.items:
            sample = other.test_item.sample_id
            if sample not in pages:
                pages.append(sample)
        url = f"{base}/items/{si.public_id}/audio"
        return {"page": pages.index(si.test_item.sample_id) + 1,
                "audio_url": f"{url}?side=a", "reference_url": f"{url}?side=b"}

    # --- answers --------------------------------------------------------------------------
    def read_answer(self, answer: dict[str, Any], no_preference: bool) -> list[Answer]:
        from listening_tests.answers import whole_number
        from listening_tests.errors import Invalid

        if answer.get("choice") is not None or answer.get("scores") is not None:
            raise Invalid('a mushra stimulus takes one score: {"score": 0..100}')
        return [Answer(SCALE, whole_number(answer.get("score"), 0, 100))]

    def play_first_message(self) -> str:
        return "play this sample before scoring it"

    def already_answered_message(self, given: Any) -> str:
        return f"this sample was already scored {given}; a score cannot be changed"

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        """Heard: the stimulus, then the open reference. An attentive rater hears what the
        stimulus lost against the reference (log-spectral distance, so band-limited anchors
        and degraded inputs score low and the hidden reference 100) with its own noise;
        straight-liners and random clickers spread their 1..5 over 0..100."""
        from listening_tests.simulate_behaviours import Behaviour

        if len(stimuli) < 2 or model.behaviour in (Behaviour.STRAIGHT, Behaviour.RANDOM):
            return {"score": round((model.score(stimuli[0]) - 1) / 4 * 100)}
        value = 100 - 12 * spectral_distance_db(stimuli[0], stimuli[1]) \
            + 6 * float(model.rng.normal(0.0, model.noise_std))
        return {"score": int(np.clip(round(value), 0, 100))}

    # --- quality control ------------------------------------------------------------------
    def decide(self, db, rs, spec, settings):
        """BS.1534-3 post-screening over every page the assessor has scored in this test
        (this session's included)."""
        from listening_tests import mushra_results as tables
        from listening_tests.quality_control import QcDecision

        frame = tables.scores_frame(db, rs.test_id, rater_id=rs.rater_id)
        frame = frame[(frame["session_id"] == rs.id) | (frame["state"] == "submitted")]
        reasons = tables.screening_reasons(frame, spec.mushra)
        return QcDecision("not_used" if reasons else "accepted", tuple(reasons))

    # --- results and exports --------------------------------------------------------------
    def results(self, db, test_id: int, session_counts: dict[str, int]) -> dict[str, Any]:
        from listening_tests import mushra_results as tables

        frame = tables.accepted(tables.scores_frame(db, test_id))
        systems, pairs = tables.system_summary(frame), tables.paired_comparisons(frame)
        return {"method": self.name, "sessions": session_counts,
                "systems": systems.to_dict("records"),
                "pairs": pairs.to_dict("records"),
                "ranking": tables.implied_ranking(systems, pairs).to_dict("records"),
                "differences": tables.reference_differences(frame).to_dict("records"),
                "inputs": tables.input_summary(frame).to_dict("records")}

    def describe_size(self, info: dict[str, Any]) -> str:
        return (f"{info['rating_clips']} stimuli (systems, hidden reference and anchors) on "
                f"their pages, {info['votes_per_clip']} listeners a page, "
                f"{info['clips_per_session']} pages a session")

    def score_view(self, db, test_id: int) -> dict[str, Any]:
        """The dashboard's frames: accepted scores (``system, kind, page, assessor,
        score``; kind: reference, anchor or system), the per-system summary (hidden
        reference, then anchors, then systems), per input means, the implied ranking,
        differences from the hidden reference, and each assessor's post-screening shares
        against the test's limit."""
        from listening_tests import mushra_results as tables
        from listening_tests.design import load_test, spec_of

        settings = spec_of(load_test(db, test_id)).mushra
        every = tables.scores_frame(db, test_id)
        frame = tables.accepted(every)
        systems, pairs = tables.system_summary(frame), tables.paired_comparisons(frame)
        scores = frame.assign(kind=frame["system"].map(tables.stimulus_kind))
        return {"scores": scores[["system", "kind", "page", "assessor", "score"]],
                "systems": systems, "inputs": tables.input_summary(frame),
                "ranking": tables.implied_ranking(systems, pairs),
                "differences": tables.reference_differences(frame),
                "screening": tables.assessor_screening(
                    every[every["state"] == "submitted"], settings),
                "rules": tables.screening_rules(settings)}

    def overview(self, db, test_id: int, info, results, *, now, n_splits: int):
        from listening_tests import mushra_results as tables
        from listening_tests.review import list_overrides

        return {"test": info.to_dict(), **results,
                "screening": tables.screening_table(db, test_id).to_dict("records"),
                "overrides": [o.__dict__ for o in list_overrides(db, test_id)]}

    def export(self, db, store, test_id: int, name: str,
               decisions: Callable[[], Any]) -> bytes:
        import io

        from listening_tests import mushra_results as tables
        from listening_tests.errors import NotFound
        from listening_tests.exports import csv_text

        if name not in self.exports:
            raise NotFound(f"no export named '{name}'; choose one of {', '.join(self.exports)}")
        frame = tables.scores_frame(db, test_id)
        if name == "scores.parquet":
            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            return buffer.getvalue()
        if name == "scores.csv":
            table = frame[tables.LONG_COLUMNS]
        elif name == "systems.csv":
            table = tables.system_summary(tables.accepted(frame))
        elif name == "pairs.csv":
            table = tables.paired_comparisons(tables.accepted(frame))
        elif name == "ranking.csv":
            kept = tables.accepted(frame)
            table = tables.implied_ranking(tables.system_summary(kept),
                                           tables.paired_comparisons(kept))
        elif name == "differences.csv":
            table = tables.reference_differences(tables.accepted(frame))
        elif name == "assessors.csv":
            from listening_tests.design import load_test, spec_of

            table = tables.assessor_screening(frame[frame["state"] == "submitted"],
                                              spec_of(load_test(db, test_id)).mushra)
        elif name == "screening.csv":
            table = tables.screening_table(db, test_id)
        else:
            table = tables.urgent_table(tables.accepted(frame))
        return csv_text(table).encode("utf-8")


METHOD = Mushra()
