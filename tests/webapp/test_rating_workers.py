"""The rating server under real concurrency: requests fired at once from many connections
at its worker processes (4 on PostgreSQL, 1 on SQLite), checked in the database after.

What must hold (the README's promise to a campaign): a clip is never given beyond its vote
target nor twice to one rater; a participant opening the link in two browsers gets one
session; the same vote sent from several connections is stored once; an abandoned session's
clips are handed out again exactly once.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.pool import NullPool

from db.models import (
    ItemRole,
    ListeningTestItem,
    Rater,
    RatingSession,
    SessionItem,
    SessionState,
    Vote,
    utcnow,
)
from db.session import sqlite_url
from tests import pg_cluster
from tests.rating_server import Deployment, deploy
from tests.server import REPO

pytestmark = pytest.mark.integration

WORKERS = {"sqlite": 1, "postgresql": 4}


def plain_spec(name: str, **overrides: Any) -> dict[str, Any]:
    spec = {"name": name, "clips": {"dataset": "demo"}, "votes_per_clip": 2,
            "clips_per_session": 8, "training": {"count": 0},
            "gold": {"auto": False, "count": 0}, "trapping": {"enabled": False},
            "checks": {"qualification": False, "volume": False, "stereo": False,
                       "environment": False}}
    spec.update(overrides)
    return spec


@pytest.fixture(scope="module", params=list(WORKERS))
def deployment(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data_dir = tmp_path_factory.mktemp(f"workers-{request.param}") / "data"
    data_dir.mkdir()
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres_server")
        name = f"wb_workers_{id(data_dir)}"
        db_url = pg_cluster.create_database(server, name)
        request.addfinalizer(lambda: pg_cluster.drop_database(server, name))
    else:
        db_url = sqlite_url(data_dir / "workbench.db")
    running = deploy(data_dir, db_url, WORKERS[request.param])
    try:
        assert len(running.rating.worker_pids()) == WORKERS[request.param]
        yield running
    finally:
        running.stop()


def open_test(deployment: Deployment, spec: dict[str, Any]) -> int:
    with httpx.Client(base_url=deployment.rating.url, headers=deployment.headers(),
                      timeout=60) as client:
        created = client.post("/api/tests", json=spec)
        assert created.status_code == 201, created.text
        test_id = created.json()["id"]
        assert client.post(f"/api/tests/{test_id}/open").status_code == 200
    return test_id


def at_once(calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Run every call on its own connection, all released together by a barrier."""
    barrier = threading.Barrier(len(calls))
    replies: list[httpx.Response | BaseException] = [RuntimeError("not run")] * len(calls)
    clients = [httpx.Client(timeout=120) for _ in calls]

    def run(k: int) -> None:
        try:
            barrier.wait(timeout=60)
            replies[k] = calls[k](clients[k])
        except BaseException as exc:  # reported below, with the others
            replies[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    for client in clients:
        client.close()
    failed = [r for r in replies if isinstance(r, BaseException)]
    assert not failed, failed[:3]
    return replies  # type: ignore[return-value]


def query(deployment: Deployment, statement) -> list[tuple]:
    """Rows of ``statement`` read from the deployment's database directly."""
    engine = create_engine(deployment.db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()


def placements(deployment: Deployment, test_id: int) -> list[tuple[str, int, int]]:
    """(participant, session id, clip id) of every item placed in live sessions of the test."""
    return query(deployment, select(Rater.external_id, RatingSession.id,
                                    ListeningTestItem.clip_id)
                 .select_from(SessionItem)
                 .join(RatingSession, SessionItem.session_id == RatingSession.id)
                 .join(Rater, Rater.id == RatingSession.rater_id)
                 .join(ListeningTestItem, ListeningTestItem.id == SessionItem.test_item_id)
                 .where(RatingSession.test_id == test_id,
                        RatingSession.state == SessionState.IN_PROGRESS.value))


def rating_items(deployment: Deployment, test_id: int) -> int:
    return query(deployment, select(func.count(ListeningTestItem.id)).where(
        ListeningTestItem.test_id == test_id,
        ListeningTestItem.role == ItemRole.RATING.value))[0][0]


def start_call(url: str, participant: str) -> Callable[[httpx.Client], httpx.Response]:
    return lambda client: client.post(url, json={"participant_id": participant})


def test_concurrent_starts_respect_the_target_and_give_one_session_per_participant(
        deployment):
    test_id = open_test(deployment, plain_spec("starts"))
    url = f"{deployment.rating.url}/api/tests/{test_id}/sessions"
    participants = [f"P{k:02d}" for k in range(24)]  # each opens the link in two browsers
    replies = at_once([start_call(url, p) for p in participants for _ in range(2)])
    by_participant: dict[str, list[httpx.Response]] = {}
    for k, reply in enumerate(replies):
        by_participant.setdefault(participants[k // 2], []).append(reply)
    served = 0
    for participant, (first, second) in by_participant.items():
        statuses = sorted((first.status_code, second.status_code))
        if statuses == [409, 409]:
            continue  # no clip left for them: both browsers are told so
        assert statuses == [200, 201], (participant, first.text, second.text)
        assert first.json()["session"] == second.json()["session"]  # one session
        served += 1
    placed = placements(deployment, test_id)
    per_clip = Counter(clip for _, _, clip in placed)
    items = rating_items(deployment, test_id)
    assert max(per_clip.values()) <= 2  # never beyond the vote target
    assert sum(per_clip.values()) == 2 * items  # and every place was used (demand exceeds it)
    per_participant = Counter((p, clip) for p, _, clip in placed)
    assert max(per_participant.values()) == 1  # never a clip twice to one rater
    sessions = Counter(p for p, _ in {(p, s) for p, s, _ in placed})
    assert max(sessions.values()) == 1 and len(sessions) == served


def test_the_same_vote_from_several_connections_is_stored_once(deployment):
    test_id = open_test(deployment, plain_spec("votes"))
    with httpx.Client(base_url=deployment.rating.url, timeout=60) as client:
        body = client.post(f"/api/tests/{test_id}/sessions",
                           json={"participant_id": "V"}).json()
        token, items = body["session"], [i["item"] for i in body["items"]]
        for item in items:
            assert client.get(f"/api/sessions/{token}/items/{item}/audio").status_code == 200
    base = f"{deployment.rating.url}/api/sessions/{token}/votes"

    def vote(item: str, score: int) -> Callable[[httpx.Client], httpx.Response]:
        return lambda c: c.put(f"{base}/{item}", json={"score": score, "played_to_end": True,
                                                       "elapsed_ms": 4000})

    same = at_once([vote(item, 3) for item in items[:4] for _ in range(6)])
    for k, item in enumerate(items[:4]):
        statuses = sorted(r.status_code for r in same[6 * k:6 * k + 6])
        assert statuses == [200] * 5 + [201], (item, statuses)
    differing = at_once([vote(items[4], 1 + k % 5) for k in range(10)])
    winners = [r for r in differing if r.status_code == 201]
    assert len(winners) == 1
    assert {r.status_code for r in differing} <= {200, 201, 409}
    stored = query(deployment, select(SessionItem.public_id, Vote.score)
                   .select_from(Vote)
                   .join(SessionItem, SessionItem.id == Vote.session_item_id)
                   .join(RatingSession, RatingSession.id == Vote.session_id)
                   .where(RatingSession.token == token))
    assert sorted(stored) == sorted([(item, 3) for item in items[:4]]
                                    + [(items[4], winners[0].json()["score"])])


def test_abandoned_sessions_release_their_clips_exactly_once(deployment):
    test_id = open_test(deployment, plain_spec("abandon", votes_per_clip=1))
    url = f"{deployment.rating.url}/api/tests/{test_id}/sessions"
    items = rating_items(deployment, test_id)
    first = [f"A{k}" for k in range(items // 8)]
    with httpx.Client(timeout=60) as client:
        for participant in first:
            assert client.post(url, json={"participant_id": participant}).status_code == 201
        assert client.post(url, json={"participant_id": "late"}).status_code == 409  # full
    gone = first[:3]  # they closed the tab two hours ago
    engine = create_engine(deployment.db_url, poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(update(RatingSession).where(RatingSession.rater_id.in_(
            select(Rater.id).where(Rater.test_id == test_id, Rater.external_id.in_(gone))))
            .values(last_activity_at=utcnow() - timedelta(hours=2)))
    engine.dispose()
    newcomers = [f"N{k}" for k in range(10)]
    replies = at_once([start_call(url, p) for p in newcomers])
    assert sorted(r.status_code for r in replies) == [201] * 3 + [409] * 7, \
        [r.text for r in replies]
    states = dict(query(deployment, select(Rater.external_id, RatingSession.state)
                        .join(Rater, Rater.id == RatingSession.rater_id)
                        .where(RatingSession.test_id == test_id)))
    assert {states[p] for p in gone} == {"expired"}
    per_clip = Counter(clip for _, _, clip in placements(deployment, test_id))
    assert len(per_clip) == items and set(per_clip.values()) == {1}  # each handed out once


def test_a_rating_worker_refuses_a_schema_that_is_not_at_head(empty_db_url, tmp_path):
    from alembic import command

    from db.session import alembic_config, create_db_engine

    engine = create_db_engine(empty_db_url)
    command.upgrade(alembic_config(engine), "0001_library")
    engine.dispose()
    (tmp_path / "audio").mkdir()
    done = subprocess.run([sys.executable, "-m", "webapp.rating", "--workers", "1",
                           "--data-dir", str(tmp_path), "--db-url", empty_db_url],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "schema is at 0001_library" in done.stderr and "python -m webapp" in done.stderr


def test_sqlite_runs_one_rating_worker(tmp_path: Path):
    done = subprocess.run([sys.executable, "-m", "webapp.rating", "--workers", "2",
                           "--data-dir", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "one worker on SQLite" in done.stderr
