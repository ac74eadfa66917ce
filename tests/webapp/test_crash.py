"""No acknowledged vote is lost or counted twice when the server is killed mid-session."""

from __future__ import annotations

import io
import threading

import httpx
import pandas as pd
import pytest

from tests.server import start_app

pytestmark = pytest.mark.integration

SPEC = {"name": "crash", "clips": {"dataset": "demo"}, "votes_per_clip": 1,
        "clips_per_session": 24, "training": {"count": 0}, "gold": {"auto": False, "count": 0},
        "trapping": {"enabled": False},
        "checks": {"qualification": True, "volume": True, "stereo": False,
                   "environment": False}}


def test_votes_survive_a_killed_server(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    app = start_app(data_dir)
    client = httpx.Client(base_url=app.url, timeout=10)
    test_id = client.post("/api/tests", json=SPEC, headers=app.headers()).json()["id"]
    assert client.post(f"/api/tests/{test_id}/open", headers=app.headers()).status_code == 200
    body = client.post(f"/api/tests/{test_id}/sessions", json={"participant_id": "P"}).json()
    token, items = body["session"], [i["item"] for i in body["items"]]
    answers = {"qualification": {"hearing": "yes", "headphones": "yes", "quiet": "yes"},
               "volume": "done"}
    for check in body["checks"]:
        reply = client.put(f"/api/sessions/{token}/checks/{check['id']}",
                           json={"answer": answers[check["id"]]})
        assert reply.status_code == 201
    scores = {item: 1 + k % 5 for k, item in enumerate(items)}
    acknowledged: dict[str, int] = {}
    sent: list[str] = []
    enough = threading.Event()

    def rate() -> None:
        """Rate as fast as possible until the server dies under us."""
        with httpx.Client(base_url=app.url, timeout=5) as rater:
            for n, item in enumerate(items):
                try:
                    rater.get(f"/api/sessions/{token}/items/{item}/audio")
                    sent.append(item)
                    reply = rater.put(f"/api/sessions/{token}/votes/{item}",
                                      json={"score": scores[item], "played_to_end": True,
                                            "elapsed_ms": 4000})
                except httpx.HTTPError:
                    return
                if reply.status_code in (200, 201):
                    acknowledged[item] = reply.status_code
                if n == 5:
                    enough.set()

    worker = threading.Thread(target=rate)
    worker.start()
    assert enough.wait(30)
    app.process.kill()  # SIGKILL mid-session: no clean shutdown, votes in flight
    app.process.wait(10)
    worker.join(30)
    assert 6 <= len(acknowledged) < len(items), len(acknowledged)

    app = start_app(data_dir)
    try:
        client = httpx.Client(base_url=app.url, timeout=10)
        stored = client.get(f"/api/sessions/{token}").json()
        answered = {i["item"]: i["score"] for i in stored["items"] if i["answered"]}
        for item in acknowledged:
            assert answered[item] == scores[item]  # every acknowledged vote is there
        assert set(answered) <= set(sent)  # an unacknowledged vote may have landed, no other
        assert stored["progress"]["answered"] == len(answered)
        for item in items:  # the rater resends what was not confirmed, then finishes
            if item in acknowledged:
                continue
            client.get(f"/api/sessions/{token}/items/{item}/audio")
            reply = client.put(f"/api/sessions/{token}/votes/{item}",
                               json={"score": scores[item], "played_to_end": True,
                                     "elapsed_ms": 4000})
            assert reply.status_code == (200 if item in answered else 201), reply.text
        finished = client.post(f"/api/sessions/{token}/finish")
        assert finished.status_code == 200 and finished.json()["status"] == "submitted"
        votes = client.get(f"/api/tests/{test_id}/export/votes.parquet",
                           headers=app.headers())
        table = pd.read_parquet(io.BytesIO(votes.content))
        assert len(table) == len(items) and table["clip"].is_unique  # each vote exactly once
        assert dict(zip(table["session"], table["qc_status"], strict=True)) == {
            token: "accepted"}
    finally:
        app.stop()
