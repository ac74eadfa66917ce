"""The listening-test JSON API (docs/rating-api.md): rater calls reached by session token,
admin calls behind the bearer password.

Handlers only parse, open one transaction, call one service of :mod:`listening_tests` and
convert: a service's :class:`RatingError` becomes ``{"error": ...}`` with its status, after
the transaction rolled back, so a refused call stores nothing. A vote is committed before
its response leaves.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse, Response

from audio.io import file_as_pcm_wav, pcm_wav_bytes
from db.models import utcnow
from listening_tests.answers import answer_check, cast_vote
from listening_tests.design import close_test, create_test, get_test, list_tests, open_test
from listening_tests.downloads import export_file
from listening_tests.errors import RatingError
from listening_tests.results import list_sessions, test_overview, test_results
from listening_tests.review import finish_session, override_decision
from listening_tests.session_state import note_fetch
from listening_tests.sessions import (
    StartedSession,
    check_audio,
    get_session,
    locate_item_audio,
    place_session,
    plan_session,
)
from webapp.api import ApiError, admin_guard
from webapp.context import AppContext

JsonBody = Annotated[Any, Body()]


@contextmanager
def refusals() -> Iterator[None]:
    """Turn a service's refusal into the API's JSON error."""
    try:
        yield
    except RatingError as exc:
        raise ApiError(exc.status, exc.message, **exc.details) from exc


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, "the request body must be a JSON object")
    return body


def blind_audio(content: bytes) -> Response:
    """Rater audio as constant-size PCM WAV without validators (no Last-Modified or ETag
    from a stored file: gold and trapping clips are newer than the library's), so that no
    header, size or URL tells an item's role or answer."""
    return Response(content, media_type="audio/wav",
                    headers={"Cache-Control": "private, max-age=3600"})


class WavCache:
    """Rater WAV of stored clips, least recently used first out, bounded by bytes (a clip's
    WAV is 10 KB to a few MB, so a count of entries says little about memory). Thread-safe;
    the store is content-addressed, so a path's audio never changes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> bytes:
        with self._lock:
            content = self._entries.get(path)
            if content is not None:
                self._entries.move_to_end(path)
                return content
        content = file_as_pcm_wav(path)  # decoded outside the lock; a race decodes twice
        with self._lock:
            if path not in self._entries and len(content) <= self.max_bytes:
                self._entries[path] = content
                self.size += len(content)
                while self.size > self.max_bytes:
                    self.size -= len(self._entries.popitem(last=False)[1])
        return content


#: Per worker process: about 2,000 clips of 4 s at 16 kHz.
WAV_CACHE_BYTES = 256 * 1024 * 1024
_wav_cache = WavCache(WAV_CACHE_BYTES)


def stored_as_pcm_wav(path: str) -> bytes:
    """A stored clip as rater WAV, decoded once per worker for the clips in play."""
    return _wav_cache.get(path)


def build_rating_router(context: AppContext) -> APIRouter:
    router = APIRouter(prefix="/api")
    admin = admin_guard(context)

    # Rater calls: the session token is the credential.

    @router.post("/tests/{test_id}/sessions")
    def start(test_id: int, body: JsonBody = None) -> JSONResponse:
        # Choosing the clips only reads; the write lock is held for placing them alone.
        participant = _object(body).get("participant_id")
        with refusals():
            with context.reads() as db:
                started = plan_session(db, test_id, participant)
            if not isinstance(started, StartedSession):
                with context.write() as db:
                    started = place_session(db, started)
        return JSONResponse(started.body, status_code=201 if started.created else 200)

    @router.get("/sessions/{token}")
    def session(token: str) -> JSONResponse:
        with refusals(), context.reads() as db:
            return JSONResponse(get_session(db, token))

    @router.get("/sessions/{token}/items/{item}/audio")
    def audio(token: str, item: str,
              side: Annotated[str | None, Query()] = None) -> Response:
        # A replay or reload only reads; the first fetch is noted (a vote needs it).
        with refusals(), context.reads() as db:
            path, fetch = locate_item_audio(db, context.store, token, item, side=side)
        if fetch is not None:
            with context.write() as db:
                note_fetch(db, fetch, utcnow())
        return blind_audio(stored_as_pcm_wav(str(path)))

    @router.get("/sessions/{token}/checks/{check_id}/audio")
    def check_sound(token: str, check_id: str,
                    side: Annotated[str | None, Query()] = None) -> Response:
        with refusals(), context.reads() as db:
            samples, rate = check_audio(db, token, check_id, side)
        return blind_audio(pcm_wav_bytes(samples, rate))

    @router.put("/sessions/{token}/checks/{check_id}")
    def check(token: str, check_id: str, body: JsonBody = None) -> JSONResponse:
        payload = _object(body)
        if "answer" not in payload:
            raise ApiError(422, "give the answer as {\"answer\": ...}")
        with refusals(), context.write() as db:
            created = answer_check(db, token, check_id, payload["answer"])
        return JSONResponse({"check": check_id, "stored": True},
                            status_code=201 if created else 200)

    @router.put("/sessions/{token}/votes/{item}")
    def vote(token: str, item: str, body: JsonBody = None) -> JSONResponse:
        payload = _object(body)
        with refusals(), context.write() as db:
            created = cast_vote(db, token, item, score=payload.get("score"),
                                choice=payload.get("choice"), scores=payload.get("scores"),
                                played_to_end=payload.get("played_to_end"),
                                elapsed_ms=payload.get("elapsed_ms"))
        answer = {key: payload[key] for key in ("choice", "scores")
                  if payload.get(key) is not None} or {"score": payload.get("score")}
        return JSONResponse({"item": item, **answer, "stored": True},
                            status_code=201 if created else 200)

    @router.post("/sessions/{token}/finish")
    def finish(token: str) -> JSONResponse:
        with refusals(), context.write() as db:
            body = finish_session(db, token)
        return JSONResponse(body)

    # Admin calls.

    @router.post("/tests", dependencies=admin)
    def create(body: JsonBody = None) -> JSONResponse:
        spec = _object(body)
        with refusals(), context.write() as db:
            info = create_test(db, context.store, spec)
        return JSONResponse(info.to_dict(), status_code=201)

    @router.get("/tests", dependencies=admin)
    def tests() -> dict:
        with context.sessions() as db:
            return {"tests": [t.to_dict() for t in list_tests(db)]}

    @router.get("/tests/{test_id}", dependencies=admin)
    def overview(test_id: int) -> dict:
        with refusals(), context.sessions() as db:
            return test_overview(db, test_id)

    @router.post("/tests/{test_id}/open", dependencies=admin)
    def open_(test_id: int) -> dict:
        with refusals(), context.write() as db:
            return open_test(db, test_id).to_dict()

    @router.post("/tests/{test_id}/close", dependencies=admin)
    def close(test_id: int) -> dict:
        with refusals(), context.write() as db:
            return close_test(db, test_id).to_dict()

    @router.get("/tests/{test_id}/results", dependencies=admin)
    def results(test_id: int) -> dict:
        with refusals(), context.sessions() as db:
            return test_results(db, test_id)

    @router.get("/tests/{test_id}/sessions", dependencies=admin)
    def sessions(test_id: int) -> dict:
        with refusals(), context.sessions() as db:
            get_test(db, test_id)
            return {"sessions": list_sessions(db, test_id)}

    @router.post("/tests/{test_id}/sessions/{session_id}/decision", dependencies=admin)
    def decision(test_id: int, session_id: int, body: JsonBody = None) -> dict:
        payload = _object(body)
        with refusals(), context.write() as db:
            record = override_decision(db, session_id, str(payload.get("status", "")),
                                       reason=str(payload.get("reason") or ""),
                                       admin=str(payload.get("admin") or "api"),
                                       test_id=test_id)
        return record.__dict__

    @router.get("/tests/{test_id}/export/{name}", dependencies=admin)
    def export(test_id: int, name: str) -> Response:
        with refusals(), context.sessions() as db:
            exported = export_file(db, context.store, test_id, name)
        return Response(exported.content, media_type=exported.media_type,
                        headers={"Content-Disposition":
                                 f'attachment; filename="test{test_id}_{exported.name}"'})

    return router
