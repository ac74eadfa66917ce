"""The pair family: two library clips an item, played as A and B in an order drawn per
session (CCR, A/B, ranking).

Design, assignment, quality control, results and exports of such a test live in
:mod:`listening_tests.pairs`, :mod:`listening_tests.pair_sessions`,
:mod:`listening_tests.comparison_review` and :mod:`listening_tests.comparison_results`; a
method of this family says how an answer reads and which tables it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from listening_tests.methods.base import Method


class PairMethod(Method):
    """Two clips an item, their order drawn per session item."""

    pairs = True
    two_stimuli = True
    dashboard = "comparison"
    offers_original = False  # the clean reference as a third, open sample

    def plan_items(self, db, spec, problems: list[str]) -> Any:
        from listening_tests.pairs import resolve_pairs

        pairs = resolve_pairs(db, spec, problems)
        if spec.gold.ids:
            problems.append("gold.ids: comparison tests make their gold pairs themselves "
                            "(gold.auto)")
        if not problems and not pairs:
            problems.append("pairs: the selection contains no pairs")
        return pairs

    def create_items(self, db, store, test, spec, plan, gold_clips, rng, written) -> None:
        from listening_tests.pairs import add_pair_items

        add_pair_items(db, store, test, spec, plan, rng, written,
                       gold_expected=self.gold_expected())

    def gold_expected(self) -> int | None:
        """The stored expected answer of a gold pair (degraded versus clean), if a score."""
        return None

    def choose(self) -> Callable[..., list[int]]:
        from listening_tests.pair_sessions import choose_pairs

        return choose_pairs

    def assign(self, db, test, spec, rater, rng, cutoff: datetime) -> list[int]:
        from listening_tests.pair_sessions import assign_pairs

        return assign_pairs(db, test, spec, rater, rng, cutoff, choose=self.choose())

    def draw_order(self, rng) -> bool | None:
        from listening_tests.pair_sessions import draw_order

        return draw_order(rng)

    def item_entry(self, si, base: str, spec) -> dict[str, Any]:
        from listening_tests.pair_sessions import item_entry

        return item_entry(si, base, spec, offers_original=self.offers_original)

    def play_first_message(self) -> str:
        return "play both samples to their end before answering"

    def already_answered_message(self, given: Any) -> str:
        return f"this pair was already answered {given}; an answer cannot be changed"

    def judge(self) -> Callable:
        raise NotImplementedError

    def adjust_settings(self, settings):
        return settings

    def decide(self, db, rs, spec, settings):
        from listening_tests.comparison_review import decide_comparison

        return decide_comparison(db, rs, spec, self.adjust_settings(settings), self.judge())

    def scored_frame(self, frame):
        """The comparison frame with ``score`` filled as the method reads it."""
        return frame

    def tables(self, db, test_id: int) -> dict[str, Callable]:
        raise NotImplementedError

    def export(self, db, store, test_id: int, name: str, decisions) -> bytes:
        from listening_tests.comparison_results import comparison_export

        return comparison_export(db, test_id, name, decisions, self.tables(db, test_id),
                                 self.exports)

    def overview(self, db, test_id: int, info, results, *, now, n_splits: int
                 ) -> dict[str, Any]:
        from listening_tests.review import list_overrides

        return {"test": info.to_dict(), **results,
                "overrides": [o.__dict__ for o in list_overrides(db, test_id)]}


class ChoiceMethod(PairMethod):
    """A/B-like: the rater picks a side (or "none" where the test allows it)."""

    scale_names = ("preference",)
    offers_original = True
    exports = ("pairs.csv", "votes_per_worker.csv", "accept_reject.csv",
               "accept_reject_gui.csv", "votes.parquet")

    def page_fields(self, spec, rs) -> dict[str, Any]:
        from listening_tests.pair_sessions import AB_QUESTION, choices

        return {"choices": choices(spec), "question": AB_QUESTION}

    def read_answer(self, answer: dict[str, Any], no_preference: bool):
        score, choice = answer.get("score"), answer.get("choice")
        from listening_tests.errors import Invalid
        from listening_tests.methods.base import Answer

        if choice is None:
            raise Invalid('this test asks which sample sounds better: {"choice": "A" | "B"'
                          + (' | "none"' if no_preference else "") + "}")
        if score is not None:
            raise Invalid("this test takes a choice, not a score")
        allowed = ("A", "B", "none") if no_preference else ("A", "B")
        if choice not in allowed:
            raise Invalid(f"the choice must be one of {', '.join(allowed)}")
        return [Answer(self.scale_names[0], None, str(choice))]

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        allow_none = any(c.get("value") == "none" for c in test.get("choices", []))
        return {"choice": model.choose(*stimuli, allow_none)}

    def judge(self) -> Callable:
        from listening_tests.comparison_review import choice_judge

        return choice_judge

    def adjust_settings(self, settings):
        import dataclasses

        return dataclasses.replace(settings, min_rating_variance=0.0)  # no scale

    def results(self, db, test_id: int, session_counts: dict[str, int]) -> dict[str, Any]:
        from listening_tests.comparison_results import preference_results

        return preference_results(db, test_id, session_counts)

    def tables(self, db, test_id: int) -> dict[str, Callable]:
        from listening_tests.comparison_results import preference_tables

        return preference_tables(db, test_id)
