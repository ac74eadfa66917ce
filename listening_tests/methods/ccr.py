"""CCR (ITU-T P.808 comparison category rating): the processed clip against its reference
on -3..3, the order drawn per item and the answer sign-corrected afterwards; CMOS."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from listening_tests.methods.base import Answer
from listening_tests.methods.pair import PairMethod

CCR_GOLD_EXPECTED = -3  # degraded (processed side) against clean: much worse


class Ccr(PairMethod):
    name = "ccr"
    title = "CCR (P.808 comparison category rating)"
    scale_names = ("ccr",)
    mos_name = "CMOS"
    exports = ("votes_per_clip.csv", "votes_per_cond.csv", "votes_per_worker.csv",
               "accept_reject.csv", "accept_reject_gui.csv", "votes.parquet")

    def takes_reference(self) -> bool:
        return True

    def gold_expected(self) -> int | None:
        return CCR_GOLD_EXPECTED

    def page_fields(self, spec, rs) -> dict[str, Any]:
        from listening_tests.pair_sessions import CCR_QUESTION, CCR_SCALE

        return {"scale": [dict(s) for s in CCR_SCALE], "question": CCR_QUESTION}

    def read_answer(self, answer: dict[str, Any], no_preference: bool) -> list[Answer]:
        score, choice = answer.get("score"), answer.get("choice")
        from listening_tests.answers import whole_number
        from listening_tests.errors import Invalid

        if choice is not None:
            raise Invalid("this test takes a score, not a choice")
        return [Answer("ccr", whole_number(score, -3, 3))]

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        return {"score": model.compare(*stimuli)}

    def judge(self) -> Callable:
        from listening_tests.comparison_review import ccr_judge

        return ccr_judge

    def scored_frame(self, frame):
        from listening_tests.comparison_results import sign_corrected_frame

        return sign_corrected_frame(frame)

    def results(self, db, test_id: int, session_counts: dict[str, int]) -> dict[str, Any]:
        from listening_tests.comparison_results import ccr_results

        return ccr_results(db, test_id, session_counts)

    def tables(self, db, test_id: int) -> dict[str, Callable]:
        from listening_tests.comparison_results import ccr_tables

        return ccr_tables(db, test_id)

    def simulation_pairs(self, dataset: str, systems: list[str], reference: str
                         ) -> dict[str, Any]:
        return {"dataset": dataset, "systems": list(systems), "reference": reference}


METHOD = Ccr()
