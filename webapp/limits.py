"""What a request may cost before the app reads it: body sizes, the admin password before an
admin body, and a rate limit on failed passwords.

One ASGI middleware (:class:`RequestLimits`) sees every request first. It refuses by
``Content-Length`` before reading anything, counts the bytes of bodies sent without one and
stops at the cap, and asks for the admin password before an admin body (an upload) is
spooled: FastAPI reads a request's body before it checks the route's dependencies, so the
route's own check would come too late. Failed passwords (the bearer token of the API and
the admin login form) are counted per client address.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Rater calls carry a vote or a check answer: a few hundred bytes.
RATER_BODY_BYTES = 16 * 1024
#: The admin pages' own calls (Gradio's queue and events); files go through its upload route.
PAGE_BODY_BYTES = 16 * 1024 * 1024
#: Wrong passwords allowed per client address within the window, then 429 until it passes
#: (the right password, while not blocked, clears the count; no credentials is no guess).
FAILED_PASSWORDS_ALLOWED = 10
FAILED_PASSWORDS_WINDOW_SECONDS = 300.0

_RATER_START = re.compile(r"/api/tests/[^/]+/sessions/?")
_UPLOADS = ("/gradio_api/upload", "/upload")
_LOGIN = ("/login", "/login/")


class FailedAttempts:
    """Failed passwords per client address in a sliding window (thread-safe)."""

    def __init__(self, allowed: int = FAILED_PASSWORDS_ALLOWED,
                 window_seconds: float = FAILED_PASSWORDS_WINDOW_SECONDS) -> None:
        self.allowed, self.window = allowed, window_seconds
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait_seconds(self, key: str) -> float:
        """How long ``key`` must wait before its next try (0: it may try now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent(key, now)
            if len(times) < self.allowed:
                return 0.0
            return max(times[0] + self.window - now, 0.0)

    def failed(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        """The right password from ``key`` (while not blocked) clears its count."""
        with self._lock:
            self._seen.pop(key, None)

    def check(self, key: str, authorization: str, password: str) -> bool:
        """Whether a request's ``Authorization`` header carries the password, counting a
        wrong one against ``key``. A request without credentials is no guess: not counted."""
        if bearer_matches(authorization, password):
            self.succeeded(key)
            return True
        if authorization.strip():
            self.failed(key)
        return False


def too_many_message(wait: float) -> str:
    return (f"too many wrong passwords from this address; try again in {max(wait, 1):.0f} s "
            f"(at most {FAILED_PASSWORDS_ALLOWED} in {FAILED_PASSWORDS_WINDOW_SECONDS:.0f} s)")


def bearer_matches(authorization: str, password: str) -> bool:
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(token.strip().encode(),
                                                                 password.encode())


def client_key(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body grows past its cap."""


async def send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    content = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(content)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": content})


class RequestLimits:
    """The ASGI middleware; see the module docstring. ``upload_bytes`` caps admin bodies and
    uploads; ``password`` and ``failures`` are the app's admin password and its counter."""

    def __init__(self, app: App, *, upload_bytes: int, password: str,
                 failures: FailedAttempts) -> None:
        self.app, self.upload_bytes = app, upload_bytes
        self.password, self.failures = password, failures

    def policy(self, method: str, path: str) -> tuple[int, bool, str]:
        """(body cap in bytes, whether the admin password is needed first, what it is)."""
        if path.startswith("/api/"):
            rater = path.startswith("/api/sessions/") or path == "/api/health" or (
                method == "POST" and _RATER_START.fullmatch(path) is not None)
            if rater or method in ("GET", "HEAD", "OPTIONS", "DELETE"):
                return RATER_BODY_BYTES, False, "a rater or read call"
            return self.upload_bytes, True, "an admin call"
        if path in _UPLOADS:
            return self.upload_bytes, False, "an upload"
        return PAGE_BODY_BYTES, False, "a page call"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        key = client_key(scope)
        limit, needs_admin, what = self.policy(method, path)
        if needs_admin:
            wait = self.failures.wait_seconds(key)
            if wait:
                await send_json(send, 429, {"error": too_many_message(wait)})
                return
            if not self.failures.check(key, headers.get("authorization", ""), self.password):
                await send_json(send, 401, {"error": "admin password required as "
                                                     "'Authorization: Bearer <password>'"})
                return
        length = headers.get("content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > limit):
            await send_json(send, 413, {"error": f"request body of {length} bytes is larger "
                                                 f"than the {limit} bytes allowed for {what}"})
            return
        if method == "POST" and path in _LOGIN:
            await self._login(scope, receive, send, key, limit)
            return
        await self._capped(scope, receive, send, limit, what)

    async def _capped(self, scope: Scope, receive: Receive, send: Send, limit: int,
                      what: str) -> None:
        """Run the app with a counting ``receive``: past ``limit`` bytes it raises, and
        whatever the app answers then (FastAPI turns the error into a 400) is replaced by
        one 413."""
        received, started, refused = 0, False, False

        async def refuse() -> None:
            nonlocal refused
            if not refused and not started:
                refused = True
                await send_json(send, 413, {"error": f"request body is larger than the "
                                                     f"{limit} bytes allowed for {what}"})

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if received > limit:
                await refuse()
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if received <= limit:
                raise
        if received > limit:
            await refuse()

    async def _login(self, scope: Scope, receive: Receive, send: Send, key: str,
                     limit: int) -> None:
        """The admin login form: refused while the address has too many failures; a
        refused login counts as one."""
        wait = self.failures.wait_seconds(key)
        if wait:
            await send_json(send, 429, {"error": too_many_message(wait)})
            return

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] >= 400:
                    self.failures.failed(key)
                else:
                    self.failures.succeeded(key)
            await send(message)

        await self._capped(scope, receive, watched, limit, "the login form")
