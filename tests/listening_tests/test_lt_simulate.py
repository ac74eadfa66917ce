"""Simulated raters: score models, the loopback guard, latency summaries, and one run
against the real app that the server's results must agree with."""

from __future__ import annotations

import itertools

import httpx
import numpy as np
import pytest

from listening_tests.simulate import (
    check_local_url,
    create_test,
    run_simulation,
    simulation_test_spec,
)
from listening_tests.simulate_behaviours import (
    DEFAULT_MIX,
    Behaviour,
    LatencySummary,
    RaterModel,
    SessionOutcome,
    SimulationReport,
    choose_behaviour,
    flac_duration_ms,
    latent_quality,
    parse_mix,
)

STIMULI = [f"clip-{i}".encode() for i in range(40)]


def _scores(behaviour: Behaviour, raters: int = 8, seed: int = 1) -> np.ndarray:
    """Scores (raters x stimuli) given by ``raters`` raters of one behaviour."""
    models = [RaterModel.create(behaviour, seed, r) for r in range(raters)]
    return np.array([[model.score(s) for s in STIMULI] for model in models])


def _mean_pairwise_correlation(scores: np.ndarray) -> float:
    pairs = itertools.combinations(range(len(scores)), 2)
    return float(np.mean([np.corrcoef(scores[a], scores[b])[0, 1] for a, b in pairs]))


@pytest.mark.parametrize("behaviour", list(Behaviour))
def test_every_behaviour_scores_on_the_acr_scale(behaviour):
    scores = _scores(behaviour)
    assert scores.dtype.kind == "i"
    assert scores.min() >= 1 and scores.max() <= 5


def test_attentive_raters_agree_with_each_other_more_than_random_clickers():
    attentive = _mean_pairwise_correlation(_scores(Behaviour.ATTENTIVE))
    careless = _mean_pairwise_correlation(_scores(Behaviour.RANDOM))
    assert attentive > 0.7
    assert abs(careless) < 0.2
    assert attentive > careless + 0.5


def test_attentive_scores_follow_the_latent_quality_so_clips_differ_in_mos():
    mos = _scores(Behaviour.ATTENTIVE, raters=20).mean(axis=0)
    latent = np.array([latent_quality(s) for s in STIMULI])
    assert np.corrcoef(mos, latent)[0, 1] > 0.9
    assert mos.max() - mos.min() > 2


def test_trap_failers_are_noisier_than_attentive_raters_but_not_pure_noise():
    trap_fail = _mean_pairwise_correlation(_scores(Behaviour.TRAP_FAIL))
    assert 0.2 < trap_fail < _mean_pairwise_correlation(_scores(Behaviour.ATTENTIVE))


def test_a_straight_liner_gives_one_score_to_everything():
    for rater in range(10):
        scores = _scores(Behaviour.STRAIGHT, raters=1, seed=rater)
        assert np.var(scores) == 0


def test_same_seed_and_rater_give_the_same_answers():
    assert np.array_equal(_scores(Behaviour.TRAP_FAIL, seed=3), _scores(Behaviour.TRAP_FAIL,
                                                                        seed=3))
    assert not np.array_equal(_scores(Behaviour.RANDOM, seed=3), _scores(Behaviour.RANDOM,
                                                                         seed=4))


def test_latent_quality_is_deterministic_and_on_the_scale():
    values = [latent_quality(s) for s in STIMULI]
    assert values == [latent_quality(s) for s in STIMULI]
    assert all(1 <= v <= 5 for v in values)
    assert latent_quality("abc") == latent_quality(b"abc")


def test_an_abandoning_rater_answers_half_the_items():
    assert RaterModel.create(Behaviour.ABANDON, 0, 0).items_to_answer(12) == 6
    assert RaterModel.create(Behaviour.ATTENTIVE, 0, 0).items_to_answer(12) == 12


def test_check_answers_follow_the_contract_formats():
    rater = RaterModel.create(Behaviour.ATTENTIVE, 0, 0)
    qualification = {"id": "qualification", "kind": "qualification", "questions": [
        {"id": "hearing", "options": ["yes", "no"]},
        {"id": "headphones", "options": ["none", "normal", "noise-cancelling"]}]}
    assert rater.check_answer(qualification) == {"hearing": "yes", "headphones": "normal"}
    assert rater.check_answer({"id": "volume", "kind": "volume"}) == "done"
    stereo = rater.check_answer({"id": "stereo", "kind": "stereo"})
    assert set(stereo) == {"left", "right"} and all(v.isdigit() for v in stereo.values())
    environment = {"id": "environment-1", "kind": "environment", "options": ["A", "B", "same"]}
    assert rater.check_answer(environment) in {"A", "B", "same"}
    with pytest.raises(ValueError, match="unknown check kind"):
        rater.check_answer({"id": "x", "kind": "telepathy"})


def test_the_mix_parses_normalises_and_rejects_typos():
    assert parse_mix(None) == DEFAULT_MIX
    assert parse_mix("attentive=3, random=1") == {Behaviour.ATTENTIVE: 0.75,
                                                  Behaviour.RANDOM: 0.25}
    assert parse_mix({"straight": 2}) == {Behaviour.STRAIGHT: 1.0}
    for bad, message in [("attentiv=1", "unknown behaviour"), ("attentive", "name=weight"),
                         ("attentive=-1", ">= 0"), ("attentive=x", "not a number"),
                         ("attentive=0", "positive")]:
        with pytest.raises(ValueError, match=message):
            parse_mix(bad)


def test_behaviours_are_drawn_in_the_proportions_of_the_mix():
    rng = np.random.default_rng(0)
    drawn = [choose_behaviour(DEFAULT_MIX, rng) for _ in range(4000)]
    share = drawn.count(Behaviour.ATTENTIVE) / len(drawn)
    assert abs(share - 0.7) < 0.03


def test_flac_duration_comes_from_the_header(tmp_path):
    import soundfile as sf

    path = tmp_path / "a.flac"
    sf.write(path, np.zeros(24_000, dtype=np.float32) + 0.1, 16_000)
    assert flac_duration_ms(path.read_bytes()) == 1500
    assert flac_duration_ms(b"RIFF....WAVE", default_ms=777) == 777


@pytest.mark.parametrize("url", ["http://127.0.0.1:7860", "http://localhost:8000/",
                                 "https://127.8.9.10", "http://[::1]:7860"])
def test_loopback_targets_are_allowed(url):
    assert check_local_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://example.com", "http://10.0.0.5:7860",
                                 "http://localhost.example.com", "http://127.0.0.1@evil.org/",
                                 "ftp://127.0.0.1", "127.0.0.1:7860", "http://0.0.0.0:7860",
                                 "http://[::ffff:8.8.8.8]"])
def test_other_targets_are_refused_before_any_request(url):
    with pytest.raises(ValueError):
        check_local_url(url)
    with pytest.raises(ValueError):
        run_simulation(url, 1, raters=1, concurrency=1)


def test_latency_percentiles():
    summary = LatencySummary.of([float(v) for v in range(1, 101)])
    assert summary.count == 100
    assert summary.p50 == pytest.approx(50.5)
    assert summary.p95 == pytest.approx(95.05)
    assert summary.p99 == pytest.approx(99.01)
    assert summary.max == 100
    empty = LatencySummary.of([])
    assert empty.count == 0 and np.isnan(empty.p95)


def test_report_counts_and_summary():
    report = SimulationReport("http://127.0.0.1:1", 3, seed=0, concurrency=2, wall_seconds=2.0)
    report.outcomes += [SessionOutcome("a", "attentive", "finished", votes_acknowledged=10),
                        SessionOutcome("b", "abandon", "abandoned", votes_acknowledged=5),
                        SessionOutcome("c", "random", "refused")]
    report.latencies_ms["vote"] += [10.0, 20.0, 30.0]
    report.latencies_ms["item audio"] += [500.0]
    report.errors["409"] += 1
    report.error_examples["409"] = "start session: this test is closed"
    assert (report.sessions_started, report.votes_acknowledged,
            report.votes_in_finished_sessions) == (2, 15, 10)
    assert report.votes_per_second == 7.5
    text = report.summary()
    assert "finished 1, abandoned 1" in text and "p50 20.0" in text
    assert "409: 1 (e.g. start session: this test is closed)" in text


@pytest.mark.integration
def test_a_simulated_crowd_is_counted_by_the_server(tmp_path):
    from tests.server import start_app

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = start_app(data_dir)
    try:
        spec = simulation_test_spec("simulated", votes_per_clip=50, clips_per_session=8,
                                    training=0, gold=False, trapping=False)
        spec["quality_control"] = {"min_listening_fraction": None}  # they vote flat out
        try:
            test_id = create_test(app.url, app.password, spec)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code == 404 and exc.request.url.path == "/api/tests":
                pytest.skip("the server has no POST /api/tests yet (rating API missing)")
            raise
        mix = "attentive=0.8,abandon=0.2"
        report = run_simulation(app.url, test_id, raters=6, concurrency=3, seed=7, mix=mix,
                                admin_password=app.password)
    finally:
        app.stop()
    print(report.summary())
    assert not report.errors, report.error_examples
    assert report.sessions_started == 6
    finished, abandoned = report.sessions("finished"), report.sessions("abandoned")
    assert finished + abandoned == 6 and finished >= 1
    assert report.votes_acknowledged == 8 * finished + 4 * abandoned
    results = report.server_results
    assert results is not None
    # Attentive raters of a test without gold, traps or training pass every P.808 check, so
    # every vote of a finished session enters the statistics; abandoned ones stay open.
    assert results["sessions"]["accepted"] == finished
    assert results["sessions"]["in_progress"] == abandoned
    assert sum(c["n"] for c in results["clips"]) == report.votes_in_finished_sessions
    assert sum(s["n"] for s in results["systems"]) == report.votes_in_finished_sessions
