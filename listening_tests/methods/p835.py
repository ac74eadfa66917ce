"""P.835 (ITU-T P.835, as the P.808 toolkit runs it): each clip rated on three five-point
scales, the speech signal (SIG), the background (BAK) and the overall quality (OVRL).

SIG and BAK come in the order the spec's ``scale_order`` gives (signal first, background
first, or drawn per rater), OVRL always last. As in P.808's parser, gold and trapping clips
are judged on the overall scale, and the variance rule pools the three scales of a session's
rating clips. Results, exports and labels are given per scale.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from listening_tests.methods.acr import ACR_SCALE
from listening_tests.methods.base import Answer
from listening_tests.methods.single import ClipMethod, _invalid

SIG_SCALE = ((1, "Very distorted"), (2, "Fairly distorted"), (3, "Somewhat distorted"),
             (4, "Slightly distorted"), (5, "Not distorted"))
BAK_SCALE = ((1, "Very intrusive"), (2, "Somewhat intrusive"),
             (3, "Noticeable but not intrusive"), (4, "Slightly noticeable"),
             (5, "Not noticeable"))
QUESTIONS = {
    "sig": ("Attending ONLY to the SPEECH SIGNAL, select the category which best describes "
            "the sample you just heard. The SPEECH SIGNAL in this sample was:", SIG_SCALE),
    "bak": ("Attending ONLY to the BACKGROUND, select the category which best describes the "
            "sample you just heard. The BACKGROUND in this sample was:", BAK_SCALE),
    "ovrl": ("Select the category which best describes the sample you just heard for "
             "purposes of everyday speech communication. The OVERALL SPEECH SAMPLE was:",
             ACR_SCALE),
}
MOS_NAMES = {"sig": "MOS_SIG", "bak": "MOS_BAK", "ovrl": "MOS_OVRL"}
ORDERS = ("signal_first", "background_first", "random")
CONTROL_SCALE = "ovrl"  # P.808 checks gold and trapping answers on the overall scale


def question_order(order: str, seed: int, rater_id: int) -> tuple[str, str, str]:
    """The scales in page order: SIG and BAK as ``order`` says ("random": drawn once per
    rater, repeatably), OVRL last."""
    if order == "random":
        first_signal = bool(np.random.default_rng([seed, rater_id]).random() < 0.5)
    else:
        first_signal = order == "signal_first"
    return ("sig", "bak", "ovrl") if first_signal else ("bak", "sig", "ovrl")


class P835(ClipMethod):
    name = "p835"
    title = "P.835 (speech signal, background, overall)"
    scale_names = ("sig", "bak", "ovrl")
    mos_name = "MOS_OVRL"
    scale = ACR_SCALE
    question = QUESTIONS["ovrl"][0]
    scale_orders = ORDERS
    exports = (*(f"votes_per_clip_{s}.csv" for s in ("sig", "bak", "ovrl")),
               *(f"votes_per_cond_{s}.csv" for s in ("sig", "bak", "ovrl")),
               *(f"votes_per_worker_{s}.csv" for s in ("sig", "bak", "ovrl")),
               "votes_per_cond_all.csv", "accept_reject.csv", "accept_reject_gui.csv",
               "urgent_labels.zip", "votes.parquet")

    def page_fields(self, spec, rs) -> dict[str, Any]:
        order = question_order(spec.scale_order or ORDERS[0], spec.seed or 0, rs.rater_id)
        return {
            "questions": [{"scale": s, "question": QUESTIONS[s][0],
                           "options": [{"value": v, "label": label}
                                       for v, label in QUESTIONS[s][1]]}
                          for s in order],
            "scale": [{"value": v, "label": label} for v, label in ACR_SCALE],
            "question": QUESTIONS["ovrl"][0],
        }

    def read_answer(self, answer: dict[str, Any], no_preference: bool) -> list[Answer]:
        from listening_tests.answers import whole_number

        scores = answer.get("scores")
        if answer.get("choice") is not None or answer.get("score") is not None \
                or not isinstance(scores, dict):
            raise _invalid('this test asks three questions: {"scores": {"sig": 1..5, '
                           '"bak": 1..5, "ovrl": 1..5}}')
        if set(scores) != set(self.scale_names):
            raise _invalid("answer each of sig, bak and ovrl once; got "
                           f"{', '.join(sorted(map(str, scores))) or 'none'}")
        return [Answer(s, whole_number(scores[s], 1, 5)) for s in self.scale_names]

    def shown_answer(self, answers: list[Answer]) -> dict[str, Any]:
        return {"scores": {a.scale: a.score for a in answers}}

    def already_answered_message(self, given: Any) -> str:
        shown = ", ".join(f"{k} {v}" for k, v in sorted((given or {}).items()))
        return f"this clip was already rated ({shown}); a rating cannot be changed"

    def simulated_answer(self, model, stimuli, test) -> dict[str, Any]:
        # one judgement per question, each with the rater's own noise
        return {"scores": {q["scale"]: model.score(stimuli[0]) for q in test["questions"]}}

    def decide(self, db, rs, spec, settings):
        import dataclasses

        from listening_tests.quality_control import evaluate_session
        from listening_tests.review import session_record

        record = session_record(db, rs, spec, control_scale=CONTROL_SCALE)
        if record.environment_pairs_total == 0:
            settings = dataclasses.replace(settings, min_environment_pairs_right=0)
        return evaluate_session(record, settings)

    def results(self, db, test_id: int, session_counts: dict[str, int]) -> dict[str, Any]:
        from listening_tests.results import clip_results

        per_scale = {s: clip_results(db, test_id, session_counts, scale=s)
                     for s in self.scale_names}
        systems = [{"system": row["system"],
                    **{s: {k: v for k, v in per_scale[s]["systems"][i].items() if k != "system"}
                       for s in self.scale_names}}
                   for i, row in enumerate(per_scale[CONTROL_SCALE]["systems"])]
        return {"method": self.name, "sessions": session_counts,
                "clips": per_scale[CONTROL_SCALE]["clips"],
                "systems": per_scale[CONTROL_SCALE]["systems"],
                "scales": {s: {"clips": r["clips"], "systems": r["systems"]}
                           for s, r in per_scale.items()},
                "systems_by_scale": systems}

    def overview(self, db, test_id: int, info, results, *, now, n_splits: int
                 ) -> dict[str, Any]:
        from listening_tests.results import clip_overview

        out = clip_overview(db, test_id, info, results, now=now, n_splits=n_splits,
                            scale=CONTROL_SCALE)
        out["scales"] = results["scales"]
        out["dnsmos"] = dnsmos_agreement(db, results["scales"])
        return out

    def export(self, db, store, test_id: int, name: str,
               decisions: Callable[[], Any]) -> bytes:
        from listening_tests.downloads import labels_zip
        from listening_tests.errors import NotFound
        from listening_tests.exports import (
            accept_reject_p808,
            csv_text,
            urgent_labels_per_scale,
            votes_per_clip,
            votes_per_cond,
            votes_per_worker,
        )
        from listening_tests.results import statistics_frame, votes_frame

        if name not in self.exports:
            raise NotFound(f"no export named '{name}'; choose one of {', '.join(self.exports)}")
        frame = votes_frame(db, test_id)
        if name == "votes.parquet":
            import io

            buffer = io.BytesIO()
            frame.to_parquet(buffer, index=False)
            return buffer.getvalue()
        if name == "urgent_labels.zip":
            rated = statistics_frame(frame)
            labels = urgent_labels_per_scale(rated, self.scale_names, CONTROL_SCALE)
            return labels_zip(db, store, rated[rated["scale"] == CONTROL_SCALE], labels)
        if name == "accept_reject.csv":
            return csv_text(decisions()).encode("utf-8")
        if name == "accept_reject_gui.csv":
            return csv_text(accept_reject_p808(decisions())).encode("utf-8")
        if name == "votes_per_cond_all.csv":
            return csv_text(self._all_conditions(db, test_id)).encode("utf-8")
        stem, scale = name.removesuffix(".csv").rsplit("_", 1)
        rated = statistics_frame(votes_frame(db, test_id, scale=scale))
        mos, suffix = MOS_NAMES[scale], f"_{scale}"
        table = {"votes_per_clip": lambda: votes_per_clip(rated, mos, suffix),
                 "votes_per_cond": lambda: votes_per_cond(rated, mos_name=mos, suffix=suffix),
                 "votes_per_worker": lambda: votes_per_worker(rated, mos_name=mos)}[stem]()
        return csv_text(table).encode("utf-8")

    def _all_conditions(self, db, test_id: int):
        """P.808's ``votes_per_cond_all``: condition_name, n, MOS_BAK, MOS_SIG, MOS_OVRL,
        std_bak, std_sig, std_ovrl, 95%CI_bak, 95%CI_sig, 95%CI_ovrl."""
        import pandas as pd

        from listening_tests.exports import votes_per_cond
        from listening_tests.results import statistics_frame, votes_frame

        tables = {s: votes_per_cond(statistics_frame(votes_frame(db, test_id, scale=s)),
                                    mos_name=MOS_NAMES[s], suffix=f"_{s}").set_index(
            "condition_name") for s in ("bak", "sig", "ovrl")}
        out = pd.DataFrame({"n": tables["ovrl"]["n"]})
        for prefix in ("MOS", "std", "95%CI"):
            for s in ("bak", "sig", "ovrl"):
                column = MOS_NAMES[s] if prefix == "MOS" else f"{prefix}_{s}"
                out[column] = tables[s][column]
        return out.reset_index()


def dnsmos_agreement(db, scales: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per scale, the clips' human MOS against the DNSMOS score of the same scale stored for
    them (``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_ovrl``), with LCC (Pearson) and SRCC
    (Spearman); None where fewer than three clips have both or one side has no spread."""
    from scipy import stats
    from sqlalchemy import select

    from db.models import ObjectiveScore

    out: dict[str, dict[str, Any]] = {}
    for scale, table in scales.items():
        human = {c["clip_id"]: c["mos"] for c in table["clips"] if c["mos"] is not None}
        rows = db.execute(select(ObjectiveScore.clip_id, ObjectiveScore.value).where(
            ObjectiveScore.metric == f"dnsmos_{scale}", ObjectiveScore.clip_id.in_(human),
            ObjectiveScore.value.is_not(None))).all()
        predicted = {clip_id: float(value) for clip_id, value in rows}
        points = [{"clip_id": c, "mos": human[c], "dnsmos": predicted[c]}
                  for c in sorted(predicted)]
        x = np.array([p["mos"] for p in points], dtype=float)
        y = np.array([p["dnsmos"] for p in points], dtype=float)
        spread = len(points) >= 3 and np.ptp(x) > 0 and np.ptp(y) > 0
        out[scale] = {"points": points, "n": len(points),
                      "lcc": float(np.corrcoef(x, y)[0, 1]) if spread else None,
                      "srcc": float(stats.spearmanr(x, y).statistic) if spread else None}
    return out


METHOD = P835()
