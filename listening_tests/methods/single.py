"""The single-clip family: one clip an item, rated on the method's scale (ACR and kin).

Design, assignment, quality control, results and exports of such a test are the P.808 ACR
machinery (:mod:`listening_tests.design`, :mod:`listening_tests.sessions`,
:mod:`listening_tests.review`, :mod:`listening_tests.results`,
:mod:`listening_tests.downloads`); a method of this family names its scale.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any

from listening_tests.methods.base import Answer, Method


class ClipMethod(Method):
    """One clip an item; ``scale`` lists (value, label) pairs, worst first."""

    scale: tuple[tuple[int, str], ...] = ()
    question: str = ""

    def plan_items(self, db, spec, problems: list[str]) -> Any:
        from listening_tests.catalog import resolve_rating_clips

        rating = resolve_rating_clips(db, spec.clips, problems)
        if not problems and not rating:
            problems.append("clips: the selection contains no clips")
        return rating

    def create_items(self, db, store, test, spec, plan, gold_clips, rng, written) -> None:
        from listening_tests.design import add_clip_items

        add_clip_items(db, store, test, spec, plan, gold_clips, rng, written)

    def assign(self, db, test, spec, rater, rng, cutoff: datetime) -> list[int]:
        from listening_tests.sessions import assign_clips

        return assign_clips(db, test, spec, rater, rng, cutoff)

    def page_fields(self, spec, rs) -> dict[str, Any]:
        return {"scale": [{"value": v, "label": label} for v, label in self.scale],
                "question": self.question}

    def item_entry(self, si, base: str, spec) -> dict[str, Any]:
        return {"audio_url": f"{base}/items/{si.public_id}/audio"}

    def read_answer(self, answer: dict[str, Any], no_preference: bool) -> list[Answer]:
        score, choice = answer.get("score"), answer.get("choice")
        from listening_tests.answers import whole_number

        if choice is not None:
            raise _invalid("this test takes a score, not a choice")
        values = [v for v, _ in self.scale]
        return [Answer(self.scale_names[0], whole_number(score, min(values), max(values)))]

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        return {"score": model.score(stimuli[0])}

    def decide(self, db, rs, spec, settings):
        from listening_tests.quality_control import evaluate_session
        from listening_tests.review import session_record

        record = session_record(db, rs, spec)
        if record.environment_pairs_total == 0:
            settings = dataclasses.replace(settings, min_environment_pairs_right=0)
        return evaluate_session(record, settings)

    def results(self, db, test_id: int, session_counts: dict[str, int]) -> dict[str, Any]:
        from listening_tests.results import clip_results

        return clip_results(db, test_id, session_counts)

    def overview(self, db, test_id: int, info, results, *, now, n_splits: int
                 ) -> dict[str, Any]:
        from listening_tests.results import clip_overview

        return clip_overview(db, test_id, info, results, now=now, n_splits=n_splits)

    def export(self, db, store, test_id: int, name: str,
               decisions: Callable[[], Any]) -> bytes:
        from listening_tests.downloads import clip_export

        return clip_export(db, store, test_id, name, decisions, mos_name=self.mos_name)


def _invalid(message: str) -> Exception:
    from listening_tests.errors import Invalid

    return Invalid(message)
