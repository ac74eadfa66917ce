"""The setup checks before rating (ITU-T P.808): qualification, volume, stereo, environment.

A session draws what its checks expect when it starts (:func:`draw_setup`) and keeps it in
``RatingSession.setup``; answers are graded when they arrive (:func:`grade`) and the grade
is stored, never shown to the rater. Audio is rebuilt on request from the stored setup.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from listening_tests.errors import Invalid, NotFound
from listening_tests.spec import ChecksSpec
from listening_tests.stimuli import (
    ASSET_SAMPLE_RATE,
    ENVIRONMENT_CHOICES,
    draw_environment_pairs,
    environment_sample,
    stereo_check,
    volume_sample,
)

#: Asked once per rater. ``expected`` is the answer a rater fit for the task gives.
QUALIFICATION_QUESTIONS: tuple[dict[str, Any], ...] = (
    {"id": "hearing", "text": "Do you have normal hearing (no known hearing loss)?",
     "options": ["yes", "no"], "expected": "yes"},
    {"id": "headphones", "text": "Are you wearing headphones or earphones on both ears?",
     "options": ["yes", "no"], "expected": "yes"},
    {"id": "quiet", "text": "Are you in a quiet place where you will not be disturbed for "
                            "the next 15 minutes?",
     "options": ["yes", "no"], "expected": "yes"},
)
ENVIRONMENT_PAIRS = 4
ENVIRONMENT_QUESTION = "Which sample has more noise?"
DIGITS = tuple(str(d) for d in range(10))


def check_kind(check_id: str) -> str:
    """``environment-3`` -> ``environment``; the others are their own kind."""
    return check_id.split("-", 1)[0]


def draw_setup(checks: ChecksSpec, *, ask_qualification: bool,
               rng: np.random.Generator) -> dict[str, Any]:
    """The checks of a new session, in the order the rater takes them, and what they expect.

    Returns:
        JSON-able dict: ``checks`` (ids in order), ``stereo`` ({"left": d, "right": d}) and
        ``environment`` (one dict per pair: expected answer, SNR, noise seed).
    """
    ids: list[str] = []
    setup: dict[str, Any] = {}
    if checks.qualification and ask_qualification:
        ids.append("qualification")
    if checks.volume:
        ids.append("volume")
    if checks.stereo:
        left, right = (int(d) for d in rng.choice(10, size=2, replace=False))
        setup["stereo"] = {"left": left, "right": right}
        ids.append("stereo")
    if checks.environment:
        setup["environment"] = draw_environment_pairs(rng, ENVIRONMENT_PAIRS)
        ids.extend(f"environment-{i}" for i in range(1, ENVIRONMENT_PAIRS + 1))
    return {"checks": ids, **setup}


def describe(setup: dict[str, Any], answered: set[str], base_url: str) -> list[dict[str, Any]]:
    """The ``checks`` list of the session body (see docs/rating-api.md)."""
    out = []
    for check_id in setup["checks"]:
        kind = check_kind(check_id)
        entry: dict[str, Any] = {"id": check_id, "kind": kind,
                                 "answered": check_id in answered}
        audio = f"{base_url}/checks/{check_id}/audio"
        if kind == "qualification":
            entry["questions"] = [{k: q[k] for k in ("id", "text", "options")}
                                  for q in QUALIFICATION_QUESTIONS]
        elif kind == "environment":
            entry.update(audio_url_a=f"{audio}?side=a", audio_url_b=f"{audio}?side=b",
                         question=ENVIRONMENT_QUESTION, options=list(ENVIRONMENT_CHOICES))
        elif kind == "stereo":
            entry.update(audio_url=audio, question="Which digit did you hear in your left "
                                                   "ear, and which in your right ear?",
                         options=list(DIGITS))
        else:
            entry.update(audio_url=audio, question="Play the sample and set the volume to a "
                                                   "comfortable level, then confirm.",
                         options=["done"])
        out.append(entry)
    return out


def _pair(setup: dict[str, Any], check_id: str) -> dict[str, Any]:
    return setup["environment"][int(check_id.split("-", 1)[1]) - 1]


def grade(setup: dict[str, Any], check_id: str, answer: Any) -> tuple[Any, bool]:
    """Check an answer's form and grade it.

    Returns:
        (answer as stored, whether it is right).

    Raises:
        NotFound: the session has no such check.
        Invalid: the answer is malformed for the check.
    """
    if check_id not in setup["checks"]:
        raise NotFound(f"this session has no check '{check_id}'")
    kind = check_kind(check_id)
    if kind == "qualification":
        ids = [q["id"] for q in QUALIFICATION_QUESTIONS]
        if not isinstance(answer, dict) or set(answer) != set(ids):
            raise Invalid(f"answer every qualification question: an object with "
                          f"{', '.join(ids)}")
        for q in QUALIFICATION_QUESTIONS:
            if answer[q["id"]] not in q["options"]:
                raise Invalid(f"'{q['id']}' must be one of {', '.join(q['options'])}")
        stored = {q["id"]: answer[q["id"]] for q in QUALIFICATION_QUESTIONS}
        return stored, all(stored[q["id"]] == q["expected"] for q in QUALIFICATION_QUESTIONS)
    if kind == "volume":
        if answer != "done":
            raise Invalid("confirm the volume with the answer \"done\"")
        return "done", True
    if kind == "stereo":
        if not isinstance(answer, dict) or set(answer) != {"left", "right"}:
            raise Invalid("give the digits heard in each ear: {\"left\": \"3\", \"right\": "
                          "\"7\"}")
        stored = {}
        for side in ("left", "right"):
            digit = answer[side]
            digit = str(digit) if isinstance(digit, int) and not isinstance(digit, bool) \
                else digit
            if digit not in DIGITS:
                raise Invalid(f"the {side} answer must be one digit from 0 to 9")
            stored[side] = digit
        expected = setup["stereo"]
        right = stored == {"left": str(expected["left"]), "right": str(expected["right"])}
        return stored, right
    if answer not in ENVIRONMENT_CHOICES:
        raise Invalid(f"answer {', '.join(ENVIRONMENT_CHOICES)}")
    return answer, answer == _pair(setup, check_id)["expected"]


def audio(setup: dict[str, Any], check_id: str, side: str | None) -> tuple[np.ndarray, int]:
    """The waveform a check plays and its rate.

    Raises:
        NotFound: no such check in the session, or the check plays nothing.
        Invalid: an environment check without ``side`` a or b.
    """
    if check_id not in setup["checks"]:
        raise NotFound(f"this session has no check '{check_id}'")
    kind = check_kind(check_id)
    if kind == "volume":
        return volume_sample(), ASSET_SAMPLE_RATE
    if kind == "stereo":
        return stereo_check(setup["stereo"]["left"], setup["stereo"]["right"]), \
            ASSET_SAMPLE_RATE
    if kind == "environment":
        if side not in ("a", "b"):
            raise Invalid("ask for side=a or side=b of an environment pair")
        return environment_side(_pair(setup, check_id), side), ASSET_SAMPLE_RATE
    raise NotFound(f"the check '{check_id}' has no audio")


def environment_side(pair: dict[str, Any], side: str) -> np.ndarray:
    """One side of an environment pair, made the same way whichever side it is: both sides
    are rendered on the first request (so neither answers slower for being the noisy one),
    and side b's noise has its own seed (so the two sides of a "same" pair are equally
    noisy but not the same bytes)."""
    sides = {s: environment_sample({**pair, "seed": int(pair["seed"]) + (s == "b")}, s)
             for s in ("a", "b")}
    return sides[side]
