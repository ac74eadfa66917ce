"""Comparison tests over HTTP (docs/rating-api.md, "Comparison methods"): every status of
the new answer types, the side audio, results and exports, and a simulated A/B crowd."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from listening_tests.simulate import comparison_test_spec, run_simulation
from tests.webapp.test_rating_api import Api, expect

pytestmark = pytest.mark.integration

CHECKS = {"qualification": False, "volume": True, "stereo": False, "environment": False}


@pytest.fixture(scope="module")
def api(app_server):
    return Api(app_server)


def open_test(api, spec: dict) -> int:
    created = expect(api.admin("POST", "/tests", json=spec), 201)
    expect(api.admin("POST", f"/tests/{created['id']}/open"), 200)
    return created["id"]


def vote(api, token: str, item: str, **answer) -> object:
    return api("PUT", f"/sessions/{token}/votes/{item}",
               json={"played_to_end": True, "elapsed_ms": 60_000, **answer})


def test_spec_refusals_over_http(api):
    bad = comparison_test_spec("bad", "ab", ["reference", "nope"])
    body = expect(api.admin("POST", "/tests", json=bad), 422)
    assert "nope" in body["error"]
    bad = {**comparison_test_spec("bad", "ccr", ["unprocessed"]), "trapping": {"enabled": True}}
    del bad["pairs"]["reference"]
    body = expect(api.admin("POST", "/tests", json=bad), 422)
    assert "pairs.reference" in body["error"] and "trapping" in body["error"]


@pytest.mark.parametrize("method", ["ccr", "ab"])
def test_answer_statuses(api, method):
    spec = {**comparison_test_spec(f"{method} statuses", method,
                                   ["unprocessed"] if method == "ccr"
                                   else ["reference", "unprocessed"],
                                   pairs_per_session=3, training=0, gold=False),
            "checks": CHECKS}
    if method == "ab":
        spec["pairs"]["show_original"] = True
    test_id = open_test(api, spec)
    body = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "X"}), 201)
    token, items = body["session"], body["items"]
    good, wrong_type = ({"score": -2}, {"choice": "A"}) if method == "ccr" else \
        ({"choice": "B"}, {"score": 2})
    first = items[0]
    assert "audio_url" not in first and first["audio_url_b"].endswith("?side=b")
    assert ("original_url" in first) == (method == "ab")
    assert (("scale" in body["test"]) == (method == "ccr")) and \
        (("choices" in body["test"]) == (method == "ab"))
    expect(vote(api, token, first["item"], **good), 409, "checks first")
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"answer": "done"}), 201)
    expect(vote(api, token, first["item"], **good), 422, "play both samples")
    expect(api("GET", f"/sessions/{token}/items/{first['item']}/audio"), 422, "side")
    expect(api("GET", f"/sessions/{token}/items/{first['item']}/audio?side=c"), 422)
    assert api("GET", first["audio_url_a"][4:]).status_code == 200
    expect(vote(api, token, first["item"], **good), 422, "play both samples")
    assert api("GET", first["audio_url_b"][4:]).status_code == 200
    if method == "ab":
        assert api("GET", first["original_url"][4:]).status_code == 200
    expect(vote(api, token, first["item"], **wrong_type), 422)
    expect(vote(api, token, first["item"], **({"score": 4} if method == "ccr"
                                             else {"choice": "C"})), 422)
    expect(vote(api, token, first["item"], **good), 201)
    expect(vote(api, token, first["item"], **good), 200)
    other = {"score": 1} if method == "ccr" else {"choice": "A"}
    expect(vote(api, token, first["item"], **other), 409, "already answered")
    expect(vote(api, token, "no-such-item", **good), 404)
    expect(vote(api, "no-such-token", first["item"], **good), 404)
    state = expect(api("GET", f"/sessions/{token}"), 200)
    answered = state["items"][0]
    assert answered["answered"] and answered.get("score", answered.get("choice")) == \
        next(iter(good.values()))
    expect(api("POST", f"/sessions/{token}/finish"), 409)
    for item in items[1:]:
        for key in ("audio_url_a", "audio_url_b"):
            assert api("GET", item[key][4:]).status_code == 200
        expect(vote(api, token, item["item"], **good), 201)
    expect(api("POST", f"/sessions/{token}/finish"), 200)
    results = expect(api.admin("GET", f"/tests/{test_id}/results"), 200)
    assert results["method"] == method
    names = ("votes_per_clip.csv", "votes_per_cond.csv") if method == "ccr" else ("pairs.csv",)
    for name in (*names, "votes_per_worker.csv", "accept_reject.csv"):
        response = api.admin("GET", f"/tests/{test_id}/export/{name}")
        assert response.status_code == 200 and response.text, name
    frame = pd.read_parquet(io.BytesIO(
        api.admin("GET", f"/tests/{test_id}/export/votes.parquet").content))
    assert len(frame) == len(items)
    expect(api.admin("GET", f"/tests/{test_id}/export/urgent_labels.zip"), 404)


def test_simulated_ab_crowd_is_counted(api, app_server):
    # simulated raters cannot hear, so they would fail gold pairs at chance: none here
    spec = comparison_test_spec("sim ab", "ab", ["reference", "unprocessed"],
                                votes_per_pair=3, pairs_per_session=6, training=1, gold=False)
    test_id = open_test(api, spec)
    report = run_simulation(app_server.url, test_id, raters=6, concurrency=3, seed=3,
                            mix="attentive=1.0", admin_password=app_server.password)
    assert not report.errors, report.error_examples
    assert report.sessions("finished") == 6
    results = report.server_results
    assert results["method"] == "ab"
    assert results["sessions"]["submitted"] == results["sessions"]["accepted"] == 6
    counted = sum(p["wins_a"] + p["wins_b"] + p["ties"] for p in results["pairs"])
    assert counted == report.votes_acknowledged - 6  # every rating answer, training not
    assert {r["system"] for r in results["ranking"]} == {"reference", "unprocessed"}
    wins = results["win_matrix"]
    assert wins["reference"]["unprocessed"] + wins["unprocessed"]["reference"] == counted
