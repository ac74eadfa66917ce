"""Ranking: A/B answers on adaptively chosen system pairs, ranked by Bradley-Terry."""

from __future__ import annotations

from collections.abc import Callable

from listening_tests.methods.pair import ChoiceMethod


class Ranking(ChoiceMethod):
    name = "ranking"
    title = "Ranking (adaptive pairs, Bradley-Terry)"
    max_votes_per_item = 100_000  # the target counts answers over all pairs
    target_per_item = False

    def choose(self) -> Callable[..., list[int]]:
        from listening_tests.pair_sessions import ranking_pairs

        return ranking_pairs


METHOD = Ranking()
