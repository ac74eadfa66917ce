"""The independent unseen-systems benchmark set: its listeners hear what they should."""

from __future__ import annotations

import numpy as np

from benchmarks.sqa_unseen_listeners import Panel, quality, votes
from benchmarks.sqa_unseen_systems import RATE, SYSTEMS, System, run_system
from tests.signals import speech_like


def _speech() -> np.ndarray:
    return speech_like(3.0, RATE, seed=3).astype(np.float64)


def test_quality_falls_with_noise_and_processing_damage() -> None:
    speech = _speech()
    rng = np.random.default_rng(0)
    scores = {}
    for name, system in {"clean": System("clean", None, 0.0),
                         "fan20": System("fan20", "fan", 20.0),
                         "fan0": System("fan0", "fan", 0.0),
                         "lowpass": System("lp", None, 0.0, (("lowpass", {"cutoff_hz": 2000.0}),)),
                         }.items():
        _, at_16k = run_system(system, speech, rng)
        scores[name] = quality(at_16k, speech)
    assert scores["clean"]["ovrl"] > 4.4
    assert scores["clean"]["ovrl"] > scores["fan20"]["ovrl"] > scores["fan0"]["ovrl"]
    assert scores["fan20"]["bak"] > scores["fan0"]["bak"]
    assert scores["lowpass"]["sig"] < scores["clean"]["sig"] - 1.0  # bandwidth is signal


def test_every_system_renders_at_its_rate_and_six_are_held_out() -> None:
    speech = _speech()
    rng = np.random.default_rng(1)
    for system in SYSTEMS:
        out, at_16k = run_system(system, speech, rng)
        assert len(out) == round(len(speech) * system.rate / RATE)
        assert np.max(np.abs(out)) <= 1.0 and np.isfinite(at_16k).all()
    assert sum(s.held_out for s in SYSTEMS) == 6 and len(SYSTEMS) == 20


def test_votes_are_acr_from_distinct_listeners() -> None:
    rng = np.random.default_rng(2)
    panel = Panel.draw(10, rng)
    q = {c: {"sig": 3.0, "bak": 3.0, "ovrl": v} for c, v in (("a", 1.2), ("b", 4.5))}
    drawn = votes(["a", "b"], q, panel, 8, None, rng)
    assert len(drawn) == 16 and all(v in (1, 2, 3, 4, 5) for _, _, v in drawn)
    for clip in ("a", "b"):
        listeners = [who for c, who, _ in drawn if c == clip]
        assert len(set(listeners)) == 8
    means = {c: np.mean([v for cc, _, v in drawn if cc == c]) for c in ("a", "b")}
    assert means["b"] - means["a"] > 2.0


def test_listener_offsets_are_taken_out_of_clip_means() -> None:
    """The bias-only listener model: clip means of votes from listeners with known offsets
    come back nearer the clips' true scores than plain means, and on the 1-5 scale."""
    import pandas as pd

    from benchmarks.sqa_unseen import listener_debiased

    rng = np.random.default_rng(4)
    truth = pd.Series(rng.uniform(1.5, 4.5, 60), index=[f"c{i}" for i in range(60)])
    offsets = pd.Series(rng.normal(0.0, 0.6, 20), index=[f"L{j}" for j in range(20)])
    offsets -= offsets.mean()
    rows = []
    for clip in truth.index:
        for listener in rng.choice(offsets.index, size=4, replace=False):
            rows.append((clip, listener, truth[clip] + offsets[listener]
                         + rng.normal(0.0, 0.1)))
    votes = pd.DataFrame(rows, columns=["clip", "listener", "vote"])
    plain = votes.groupby("clip")["vote"].mean().reindex(truth.index)
    debiased = listener_debiased(votes).reindex(truth.index)
    assert np.abs(debiased - truth).mean() < 0.5 * np.abs(plain - truth).mean()
    assert debiased.between(1.0, 5.0).all()
