"""The interface every listening-test method implements.

The engine (design, assignment, sessions, votes, review, results, exports, the JSON API, the
rater page and the admin tabs) asks the test's method, found with
:func:`listening_tests.methods.method_of`, and never branches on a method's name. Two
families share most of their work: single-clip methods (:class:`ClipMethod`: ACR; one clip an
item) and pair methods (:class:`PairMethod`: CCR, A/B, ranking; two clips an item, their order
drawn per session). A method module subclasses one of them and says what differs.

Engine modules are imported inside the hooks: they import this package themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - types only
    import numpy as np
    import pandas as pd
    from sqlalchemy.orm import Session

    from db.models import ListeningTest, Rater, RatingSession, SessionItem
    from db.store import AudioStore, StoredAudio
    from listening_tests.quality_control import QcDecision, QcSettings
    from listening_tests.spec import ListeningTestSpec


@dataclass(frozen=True)
class Answer:
    """One stored answer of an item: the row ``votes`` keys by (item, stimulus, scale)."""

    scale: str
    score: int | None = None
    choice: str | None = None
    stimulus: str = ""


class Method:
    """What a listening-test method decides; the engine calls these and nothing else.

    Attributes:
        name: The spec's ``method`` value.
        title: How people name it (admin tab, dashboards).
        scale_names: The ``votes.scale`` values an answered item stores, in page order.
        mos_name: P.808's name of the method's mean score (MOS, CMOS, DMOS, ...).
        pairs: Items are two library clips (spec section ``pairs`` instead of ``clips``).
        max_votes_per_item: Upper bound of ``votes_per_clip`` / ``votes_per_pair``.
        exports: Names of the export files this method writes.
        dashboard: "mos" (per-clip MOS dashboard), "comparison" (the comparison view) or
            "scores" (score distributions per system: :meth:`score_view`).
        gives_mos_labels: Its votes are MOS labels for the quality model (URGENT Track 2).
        scale_orders: The values of the spec's ``scale_order`` (first: the default); empty
            for a method with one question.
        two_stimuli: An item plays two stimuli, both of which must be fetched before a vote.
        target_per_item: The vote target holds per rating item (each claims its own places
            when a session starts); False: it counts all items together, so the test's
            starts take turns.
        timed_listening: A vote's ``elapsed_ms`` is the time its stimulus was heard, which
            must be above 0: a page that fetches every stimulus before any plays (MUSHRA)
            cannot prove listening by its fetches.
        score_range: The lowest and highest score of the method's scale, for figures (None:
            the dashboard takes it from ``scale``).
        training_default: ``training.count`` when the spec gives none.
        makes_gold: The test has gold items (MUSHRA screens with its hidden reference and
            anchors instead).
    """

    name: str = ""
    title: str = ""
    scale_names: tuple[str, ...] = ()
    mos_name: str = "MOS"
    pairs: bool = False
    max_votes_per_item: int = 1000
    exports: tuple[str, ...] = ()
    dashboard: str = "mos"
    gives_mos_labels: bool = False
    scale_orders: tuple[str, ...] = ()
    two_stimuli: bool = False
    target_per_item: bool = True
    timed_listening: bool = False
    score_range: tuple[float, float] | None = None
    training_default: int = 4
    makes_gold: bool = True

    # --- spec ---------------------------------------------------------------------------
    def spec_keys(self) -> tuple[str, str]:
        """The spec keys of the vote target and the session size."""
        return ("votes_per_pair", "pairs_per_session") if self.pairs else \
            ("votes_per_clip", "clips_per_session")

    def takes_reference(self) -> bool:
        """Whether ``pairs.reference`` names what each item is compared with."""
        return False

    # --- design ---------------------------------------------------------------------------
    def create_items(self, db: Session, store: AudioStore, test: ListeningTest,
                     spec: ListeningTestSpec, plan: Any, gold_clips: dict,
                     rng: np.random.Generator, written: list[StoredAudio]) -> None:
        raise NotImplementedError

    def plan_items(self, db: Session, spec: ListeningTestSpec, problems: list[str]) -> Any:
        """What :meth:`create_items` needs from the library; problems for what is missing."""
        raise NotImplementedError

    # --- sessions -------------------------------------------------------------------------
    def assign(self, db: Session, test: ListeningTest, spec: ListeningTestSpec, rater: Rater,
               rng: np.random.Generator, cutoff: datetime) -> list[int]:
        raise NotImplementedError

    def draw_order(self, rng: np.random.Generator) -> bool | None:
        """The order of an item's stimuli for one session (None: one stimulus)."""
        return None

    def page_fields(self, spec: ListeningTestSpec, rs: RatingSession) -> dict[str, Any]:
        """``test`` fields of the session body: the question(s) and scale or choices (``rs``:
        the session, for what is drawn per rater)."""
        raise NotImplementedError

    def item_entry(self, si: SessionItem, base: str, spec: ListeningTestSpec
                   ) -> dict[str, Any]:
        """The item's stimuli (URLs) in the session body; nothing that reveals its role."""
        raise NotImplementedError

    def shown_answer(self, answers: list[Answer]) -> dict[str, Any]:
        """How stored answers are echoed to the page on resume."""
        first = answers[0]
        return {"choice": first.choice} if first.choice is not None else {"score": first.score}

    # --- answers --------------------------------------------------------------------------
    def read_answer(self, answer: dict[str, Any], no_preference: bool) -> list[Answer]:
        """The answers an item's vote stores, checked (``answer``: the request's ``score``,
        ``choice`` and ``scores``).

        Raises:
            Invalid: the wrong answer type, or a value outside the scale.
        """
        raise NotImplementedError

    def play_first_message(self) -> str:
        return "play the clip to its end before rating"

    def already_answered_message(self, given: Any) -> str:
        return f"this clip was already rated {given}; a rating cannot be changed"

    # --- quality control, results, exports -----------------------------------------------
    def decide(self, db: Session, rs: RatingSession, spec: ListeningTestSpec,
               settings: QcSettings) -> QcDecision:
        raise NotImplementedError

    def results(self, db: Session, test_id: int, session_counts: dict[str, int]
                ) -> dict[str, Any]:
        raise NotImplementedError

    def overview(self, db: Session, test_id: int, info: Any, results: dict[str, Any], *,
                 now: datetime | None, n_splits: int) -> dict[str, Any]:
        raise NotImplementedError

    def describe_size(self, info: dict[str, Any]) -> str:
        """The test's size in a sentence for the dashboard (``info``: the test's dict)."""
        unit = "pairs" if self.pairs else "clips"
        return (f"{info['rating_clips']} {unit} x {info['votes_per_clip']} votes, "
                f"{info['clips_per_session']} {unit} a session")

    def score_view(self, db: Session, test_id: int) -> dict[str, Any]:
        """A "scores" dashboard's frames: ``scores`` (counted scores: ``system, kind, page,
        assessor, score``), ``systems`` (``system, kind, n, mean, ci95, median, q1, q3`` in
        the order to draw), ``inputs`` (``page, system, n, mean``), ``ranking``,
        ``differences``, ``screening`` (per assessor, a share column per rule) and ``rules``
        (``[{column, label, limit}]``)."""
        raise NotImplementedError

    def export(self, db: Session, store: AudioStore, test_id: int, name: str,
               decisions: Callable[[], pd.DataFrame]) -> bytes:
        raise NotImplementedError

    # --- simulation -----------------------------------------------------------------------
    def simulated_answer(self, model: Any, stimuli: list[bytes], test: dict[str, Any]
                         ) -> dict[str, Any]:
        """The vote body a simulated rater (:class:`simulate_behaviours.RaterModel`) sends
        for an item whose stimuli (audio bytes, in play order) it heard."""
        raise NotImplementedError

    def simulation_pairs(self, dataset: str, systems: list[str], reference: str
                         ) -> dict[str, Any]:
        """The ``pairs`` section a simulated comparison test uses."""
        return {"dataset": dataset, "systems": list(systems)}
