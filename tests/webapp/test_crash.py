"""No acknowledged vote is lost or counted twice when the server is killed mid-session: the
app on SQLite, and on PostgreSQL a rating worker and the database server itself."""

from __future__ import annotations

import io
import os
import signal
import threading
from collections import Counter

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


def test_on_postgresql_votes_survive_a_killed_worker_and_a_crashed_database(tmp_path):
    """Two rating workers on PostgreSQL: one is SIGKILLed mid-vote, then the database server
    stops without a checkpoint (``pg_ctl stop -m immediate``) and starts again. The rater
    resends whatever was not acknowledged, as the rater page does; the workers recover by
    themselves and every acknowledged vote is stored once."""
    from tests import pg_cluster
    from tests.rating_server import deploy

    try:  # a cluster of its own, with fsync on: the crash is real, other tests unaffected
        cluster = pg_cluster.init_cluster(fast=False)  # not in tmp_path: root-only
    except pg_cluster.PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL to crash: {exc}")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    try:
        running = deploy(data_dir, pg_cluster.create_database(cluster.url(), "crash"), 2)
    except BaseException:
        cluster.destroy()
        raise
    try:
        _rate_through_crashes(running, cluster)
    finally:
        running.stop()
        cluster.destroy()


def _rate_through_crashes(running, cluster) -> None:
    import time

    admin = httpx.Client(base_url=running.rating.url, headers=running.headers(), timeout=30)
    test_id = admin.post("/api/tests", json=SPEC).json()["id"]
    assert admin.post(f"/api/tests/{test_id}/open").status_code == 200
    body = admin.post(f"/api/tests/{test_id}/sessions", json={"participant_id": "P"}).json()
    token, items = body["session"], [i["item"] for i in body["items"]]
    answers = {"qualification": {"hearing": "yes", "headphones": "yes", "quiet": "yes"},
               "volume": "done"}
    for check in body["checks"]:
        assert admin.put(f"/api/sessions/{token}/checks/{check['id']}",
                         json={"answer": answers[check["id"]]}).status_code == 201
    scores = {item: 1 + k % 5 for k, item in enumerate(items)}
    acknowledged: dict[str, int] = {}
    refused: list[str] = []
    failures: Counter = Counter()
    done = threading.Event()

    def send(client: httpx.Client, method: str, url: str, **kwargs) -> httpx.Response:
        """Resend until the server answers other than 503 (2 minutes at most)."""
        deadline = time.monotonic() + 120
        while True:
            try:
                reply = client.request(method, url, **kwargs)
                if reply.status_code != 503:
                    return reply
                failures["503"] += 1
            except httpx.HTTPError as exc:
                failures[type(exc).__name__] += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} {url}: no answer for 2 minutes")
            time.sleep(0.2)

    def rate() -> None:
        with httpx.Client(base_url=running.rating.url, timeout=10) as rater:
            for item in items:
                assert send(rater, "GET", f"/api/sessions/{token}/items/{item}/audio") \
                    .status_code == 200
                reply = send(rater, "PUT", f"/api/sessions/{token}/votes/{item}",
                             json={"score": scores[item], "played_to_end": True,
                                   "elapsed_ms": 4000})
                if reply.status_code in (200, 201):
                    acknowledged[item] = reply.status_code
                else:
                    refused.append(f"{item}: {reply.status_code} {reply.text}")
                time.sleep(0.05)
        done.set()

    worker = threading.Thread(target=rate, daemon=True)
    worker.start()

    def wait_for(n: int) -> None:
        deadline = time.monotonic() + 120
        while len(acknowledged) < n and not done.is_set():
            assert time.monotonic() < deadline, f"stuck at {len(acknowledged)} votes"
            time.sleep(0.02)

    wait_for(4)
    victim = next(iter(running.rating.worker_pids()))
    os.kill(victim, signal.SIGKILL)  # a worker dies mid-campaign, maybe mid-vote
    wait_for(10)
    cluster.stop(mode="immediate")  # the database crashes: no checkpoint, no goodbye
    time.sleep(1.0)
    cluster.start()
    assert done.wait(240), f"the rater stalled after {len(acknowledged)} votes"
    worker.join(10)
    assert not refused, refused
    assert len(acknowledged) == len(items)  # the workers recovered without a restart by hand
    assert failures, "nothing was interrupted: the crashes came too late to test anything"
    assert victim not in running.rating.worker_pids()  # the supervisor replaced the dead one

    stored = admin.get(f"/api/sessions/{token}").json()
    assert {i["item"]: i["score"] for i in stored["items"] if i["answered"]} == scores
    finished = admin.post(f"/api/sessions/{token}/finish")
    assert finished.status_code == 200 and finished.json()["status"] == "submitted"
    votes = admin.get(f"/api/tests/{test_id}/export/votes.parquet")
    table = pd.read_parquet(io.BytesIO(votes.content))
    assert len(table) == len(items) and table["clip"].is_unique  # each vote exactly once
