"""The listening-test API of the running app (docs/rating-api.md): every status it promises."""

from __future__ import annotations

import io
import zipfile

import httpx
import pandas as pd
import pytest
import soundfile as sf

pytestmark = pytest.mark.integration

SPEC = {"name": "API test", "method": "acr", "clips": {"dataset": "demo"},
        "votes_per_clip": 2, "clips_per_session": 3, "training": {"count": 1},
        "gold": {"auto": True, "count": 2}, "trapping": {"enabled": True, "per_session": 1},
        "platform": "prolific", "completion_code": "API-CODE"}


class Api:
    def __init__(self, app) -> None:
        self.app = app
        self.client = httpx.Client(base_url=app.url, timeout=30)

    def admin(self, method: str, path: str, headers: dict | None = None,
              **kwargs) -> httpx.Response:
        return self.client.request(method, f"/api{path}",
                                   headers={**self.app.headers(), **(headers or {})}, **kwargs)

    def __call__(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.client.request(method, f"/api{path}", **kwargs)


def expect(response: httpx.Response, status: int, message: str | None = None) -> dict:
    assert response.status_code == status, response.text
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        if status >= 400:
            assert set(body) >= {"error"} and isinstance(body["error"], str)
            if message is not None:
                assert message in body["error"], body["error"]
        return body
    return {}


@pytest.fixture(scope="module")
def api(app_server):
    return Api(app_server)


@pytest.fixture(scope="module")
def test_id(api):
    created = expect(api.admin("POST", "/tests", json=SPEC), 201)
    assert created["status"] == "draft" and created["rating_clips"] == 48
    expect(api("POST", f"/tests/{created['id']}/sessions", json={"participant_id": "early"}),
           409, "not open yet")
    assert expect(api.admin("POST", f"/tests/{created['id']}/open"), 200)["status"] == "open"
    return created["id"]


def answer_checks(api, body: dict) -> None:
    token = body["session"]
    for check in body["checks"]:
        answer = {"qualification": {q["id"]: "yes" for q in check.get("questions", [])},
                  "volume": "done", "stereo": {"left": "1", "right": "2"},
                  "environment": "same"}[check["kind"]]
        for key in ("audio_url", "audio_url_a", "audio_url_b"):
            if key in check:
                expect(api.client.get(check[key]), 200)
        expect(api("PUT", f"/sessions/{token}/checks/{check['id']}", json={"answer": answer}),
               201)


def vote(api, token: str, item: str, score: int = 3) -> httpx.Response:
    return api("PUT", f"/sessions/{token}/votes/{item}",
               json={"score": score, "played_to_end": True, "elapsed_ms": 9000})


def test_admin_calls_need_the_password(api, test_id):
    for method, path in [("POST", "/tests"), ("GET", "/tests"), ("GET", f"/tests/{test_id}"),
                         ("POST", f"/tests/{test_id}/open"),
                         ("POST", f"/tests/{test_id}/close"),
                         ("GET", f"/tests/{test_id}/results"),
                         ("GET", f"/tests/{test_id}/export/votes.parquet")]:
        expect(api(method, path), 401, "admin password required")
        expect(api(method, path, headers={"Authorization": "Bearer wrong"}), 401)


def test_a_bad_spec_is_refused_with_every_problem(api):
    spec = {**SPEC, "clips": {"dataset": "nope"}, "votes_per_clip": 0, "colour": "red"}
    body = expect(api.admin("POST", "/tests", json=spec), 422, "the test spec has 3 problems")
    assert len(body["problems"]) == 3
    assert body["problems"][2].startswith("clips.dataset: no dataset named 'nope' (known: ")
    expect(api.admin("POST", "/tests", json=[1, 2]), 422, "must be a JSON object")
    expect(api.admin("POST", "/tests", content=b"{not json",
                     headers={"Content-Type": "application/json"}), 422)
    expect(api.admin("POST", "/tests/9999/open"), 404, "no listening test with id 9999")


def test_a_whole_session_over_http(api, test_id):
    started = api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "PID-1"})
    body = expect(started, 201)
    token = body["session"]
    assert body["test"]["platform"] == "prolific" and body["progress"]["total"] == 6
    assert expect(api("GET", f"/sessions/{token}"), 200) == body
    again = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "PID-1"}),
                   200)
    assert again["session"] == token
    for payload in ({}, {"participant_id": ""}, {"participant_id": 5},
                    {"participant_id": "x" * 201}):
        expect(api("POST", f"/tests/{test_id}/sessions", json=payload), 422, "participant id")
    expect(api("POST", "/tests/9999/sessions", json={"participant_id": "x"}), 404)
    items = [i["item"] for i in body["items"]]
    expect(vote(api, token, items[0]), 409, "answer the setup checks first")
    answer_checks(api, body)
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"answer": "done"}), 200)
    expect(api("PUT", f"/sessions/{token}/checks/stereo",
               json={"answer": {"left": "5", "right": "6"}}), 409, "already answered")
    expect(api("PUT", f"/sessions/{token}/checks/nope", json={"answer": "A"}), 404)
    expect(api("PUT", f"/sessions/{token}/checks/environment-1", json={"answer": "C"}), 422)
    expect(api("PUT", f"/sessions/{token}/checks/volume", json={"colour": 1}), 422)
    expect(api("GET", f"/sessions/{token}/checks/environment-1/audio"), 422, "side=a")
    expect(api("GET", f"/sessions/{token}/checks/qualification/audio"), 404)
    stereo = api("GET", f"/sessions/{token}/checks/stereo/audio")
    assert stereo.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(stereo.content)).channels == 2
    expect(vote(api, token, items[0]), 422, "its audio was never fetched")
    audio = api.client.get(body["items"][0]["audio_url"])
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/wav"
    assert sf.info(io.BytesIO(audio.content)).frames > 0
    for payload, message in [({"score": 6, "played_to_end": True, "elapsed_ms": 1}, "1 to 5"),
                             ({"played_to_end": True, "elapsed_ms": 1}, "1 to 5"),
                             ({"score": 4, "played_to_end": False, "elapsed_ms": 1},
                              "play the clip to its end before rating"),
                             ({"score": 4, "played_to_end": True, "elapsed_ms": -5},
                              "negative")]:
        expect(api("PUT", f"/sessions/{token}/votes/{items[0]}", json=payload), 422, message)
    expect(vote(api, token, items[0], 4), 201)
    expect(vote(api, token, items[0], 4), 200)
    expect(vote(api, token, items[0], 2), 409, "already rated 4")
    expect(vote(api, "forged-token", items[0]), 404)
    expect(vote(api, token, "not-an-item"), 404)
    expect(api("GET", "/sessions/forged-token"), 404)
    expect(api("GET", f"/sessions/{token}/items/not-an-item/audio"), 404)
    unfinished = expect(api("POST", f"/sessions/{token}/finish"), 409, "rate every clip")
    assert unfinished["unanswered"] == items[1:]
    for item in body["items"][1:]:
        expect(api.client.get(item["audio_url"]), 200)
        expect(vote(api, token, item["item"], 3), 201)
    resumed = expect(api("GET", f"/sessions/{token}"), 200)
    assert resumed["progress"] == {"answered": 6, "total": 6}
    done = expect(api("POST", f"/sessions/{token}/finish"), 200)
    assert done == {"status": "submitted", "completion_code": "API-CODE",
                    "redirect_url": "https://app.prolific.com/submissions/complete?cc=API-CODE"}
    assert expect(api("POST", f"/sessions/{token}/finish"), 200) == done
    assert expect(api("GET", f"/sessions/{token}"), 200)["completion_code"] == "API-CODE"
    expect(vote(api, token, items[0], 4), 409, "this session is finished")


def test_admin_views_decisions_exports_and_closing(api, test_id):
    body = expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "late"}),
                  201)
    results = expect(api.admin("GET", f"/tests/{test_id}/results"), 200)
    assert set(results) == {"clips", "systems", "categories", "sessions"}
    assert results["sessions"]["submitted"] >= 1 and results["sessions"]["in_progress"] >= 1
    assert {"clip_id", "name", "system", "n", "mos", "std", "ci95"} <= set(results["clips"][0])
    sessions = expect(api.admin("GET", f"/tests/{test_id}/sessions"), 200)["sessions"]
    finished = next(s for s in sessions if s["rater"] == "PID-1")
    path = f"/tests/{test_id}/sessions/{finished['session_id']}/decision"
    new_status = "accepted" if finished["qc_status"] != "accepted" else "rejected"
    logged = expect(api.admin("POST", path, json={"status": new_status, "reason": "checked"}),
                    200)
    assert logged["new_status"] == new_status and logged["admin"] == "api"
    expect(api.admin("POST", path, json={"status": "maybe", "reason": "x"}), 422)
    expect(api.admin("POST", f"/tests/{test_id}/sessions/99999/decision",
                     json={"status": "accepted", "reason": "x"}), 404)
    overview = expect(api.admin("GET", f"/tests/{test_id}"), 200)
    assert overview["overrides"][0]["reason"] == "checked"
    for name in ("votes_per_clip.csv", "votes_per_cond.csv", "votes_per_worker.csv",
                 "accept_reject.csv", "urgent_labels.zip", "votes.parquet"):
        response = api.admin("GET", f"/tests/{test_id}/export/{name}")
        assert response.status_code == 200, response.text
        assert "attachment" in response.headers["content-disposition"]
    labels = api.admin("GET", f"/tests/{test_id}/export/urgent_labels.zip").content
    assert "labels.csv" in zipfile.ZipFile(io.BytesIO(labels)).namelist()
    report = api.admin("GET", f"/tests/{test_id}/export/accept_reject.csv").text
    assert "overridden by api: checked" in report
    votes = pd.read_parquet(io.BytesIO(api.admin("GET",
                                                 f"/tests/{test_id}/export/votes.parquet").content))
    assert votes["vote_id"].is_unique and (votes["rater"] == "PID-1").sum() == 6
    expect(api.admin("GET", f"/tests/{test_id}/export/secrets.csv"), 404, "no export named")
    expect(api.admin("GET", "/tests/9999/results"), 404)
    assert expect(api.admin("POST", f"/tests/{test_id}/close"), 200)["status"] == "closed"
    expect(api("POST", f"/tests/{test_id}/sessions", json={"participant_id": "new"}), 409,
           "this test is closed; thank you for your interest")
    expect(vote(api, body["session"], body["items"][0]["item"]), 409, "this test is closed")
    expect(api.admin("POST", f"/tests/{test_id}/open"), 409, "cannot be opened again")
    listed = expect(api.admin("GET", "/tests"), 200)["tests"]
    assert any(t["id"] == test_id and t["status"] == "closed" for t in listed)
