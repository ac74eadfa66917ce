"""Simulated crowd raters that drive the listening-test JSON API as a browser would.

    python -m listening_tests.simulate --url http://127.0.0.1:7860 --test 3 --raters 50 \
        --concurrency 20 [--seed 0] [--mix attentive=0.7,straight=0.1,random=0.1,...]

For load tests of the rating server and end-to-end checks of P.808 quality control. Only
HTTP (stdlib, numpy, httpx): it sees what a rater sees, never the database. Each rater starts
a session, answers the checks, fetches each item's audio (votes on unheard audio are refused),
votes and finishes; :mod:`listening_tests.simulate_behaviours` makes the answers. Stereo and
environment checks need ears: simulation tests switch them off (:func:`simulation_test_spec`).
Only loopback URLs are accepted as targets.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import ipaddress
import itertools
import os
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

from listening_tests.simulate_behaviours import (
    RaterModel,
    SessionOutcome,
    SimulationReport,
    choose_behaviour,
    flac_duration_ms,
    parse_mix,
)

MAX_SESSIONS = 100_000  # a bound on participants in a timed run, whatever the speed
POOL_SIZE = 8  # raters sharing one HTTP client (and at most this many connections)


def check_local_url(url: str) -> str:
    """``url`` without a trailing slash if it is http(s) to localhost or a loopback IP, else
    ValueError: this machine's policy forbids sending load to any other address."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"target {url!r} is not an http(s) URL with a host")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"refusing to simulate raters against {host!r}: only localhost and "
                         "loopback addresses (127.0.0.0/8, ::1) may be targeted from here")
    return url.rstrip("/")


class _Driver:
    """The shared client, settings and report of one simulation run."""

    def __init__(self, client: httpx.AsyncClient, report: SimulationReport, mix: dict,
                 deadline: float | None, think_scale: float, retries: int) -> None:
        self.client, self.report, self.mix = client, report, mix
        self.deadline, self.think_scale, self.retries = deadline, think_scale, retries

    def expired(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def error(self, key: str, example: str) -> None:
        self.report.errors[key] += 1
        self.report.error_examples.setdefault(key, example[:200])

    async def call(self, method: str, url: str, what: str,
                   json: Any = None) -> httpx.Response | None:
        """One API call, timed under ``what``, retried with the same body on connection errors
        and timeouts (the server dedupes repeated answers); None once the retries are spent."""
        if url.startswith(("http://", "https://")):
            check_local_url(url)  # the server only hands out paths; anything else is a bug
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                response = await self.client.request(method, url, json=json)
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    self.error("connection", f"{what}: {type(exc).__name__} {exc}")
                    return None
                self.report.retries += 1
                await asyncio.sleep(0.2 * 2**attempt)
                continue
            self.report.latencies_ms[what].append(1000 * (time.perf_counter() - started))
            return response
        return None

    def accepted(self, response: httpx.Response, ok: tuple[int, ...], what: str) -> bool:
        """Whether the status is one of ``ok``; else the error is counted by status."""
        if response.status_code in ok:
            return True
        self.error(str(response.status_code), f"{what}: {response.text}")  # {"error": ...}
        return False

    async def rater(self, seed: int, test_id: int, index: int) -> SessionOutcome:
        """One participant from session start to finish (or to where its behaviour stops)."""
        rng = np.random.default_rng([seed, index])
        model = RaterModel.create(choose_behaviour(self.mix, rng), seed, index)
        outcome = SessionOutcome(f"sim-{seed}-{index}", model.behaviour.value)
        self.report.outcomes.append(outcome)
        response = await self.call("POST", f"/api/tests/{test_id}/sessions", "start session",
                                   json={"participant_id": outcome.participant})
        outcome.start_status = None if response is None else response.status_code
        if response is None or not self.accepted(response, (200, 201), "start session"):
            outcome.status = "refused"
            return outcome
        body = response.json()
        outcome.token = token = body["session"]
        outcome.status = "failed"  # until proven otherwise
        for check in body.get("checks", []):
            if check.get("answered"):
                continue
            for key in ("audio_url", "audio_url_a", "audio_url_b"):
                if check.get(key) and await self.audio(check[key], "check audio") is None:
                    return outcome
            reply = await self.call("PUT", f"/api/sessions/{token}/checks/{check['id']}",
                                    "check answer", json={"answer": model.check_answer(check)})
            if reply is None or not self.accepted(reply, (200, 201), f"check {check['kind']}"):
                return outcome
        items = body.get("items", [])
        for position, item in enumerate(items):
            if position >= model.items_to_answer(len(items)):
                outcome.status = "abandoned"
                return outcome
            if item.get("answered"):
                continue
            if not await self.vote(model, outcome, item, body.get("test", {})):
                break
        else:
            reply = None if self.expired() else await self.call(
                "POST", f"/api/sessions/{token}/finish", "finish")
            if reply is not None and self.accepted(reply, (200,), "finish"):
                outcome.status = "finished"
                outcome.completion_code = reply.json().get("completion_code")
        if self.expired() and outcome.status == "failed":
            outcome.status = "cut_off"  # time was up, not the server's fault
        return outcome

    async def vote(self, model: RaterModel, outcome: SessionOutcome,
                   item: dict[str, Any], test: dict[str, Any]) -> bool:
        """Listen to an item's stimuli (A then B for two), think, and answer as the test's
        method says a rater answers; False when the session cannot go on."""
        from listening_tests.methods import method_of

        keys = ("audio_url_a", "audio_url_b") if "audio_url_a" in item else ("audio_url",)
        keys += ("reference_url",) if "reference_url" in item else ()  # MUSHRA: open reference
        stimuli = []
        for key in keys:
            audio = None if self.expired() else await self.audio(item[key], "item audio")
            if audio is None:
                return False
            stimuli.append(audio)
        elapsed_ms = sum(flac_duration_ms(a) for a in stimuli) + model.decision_ms()
        answer = method_of(test["method"]).simulated_answer(model, stimuli, test)
        return await self.send(outcome, item, answer, elapsed_ms)

    async def send(self, outcome: SessionOutcome, item: dict[str, Any],
                   answer: dict[str, Any], elapsed_ms: int) -> bool:
        """Think for the answer's time, then send the vote."""
        await asyncio.sleep(self.think_scale * elapsed_ms / 1000)
        if self.expired():
            return False
        reply = await self.call(
            "PUT", f"/api/sessions/{outcome.token}/votes/{item['item']}", "vote",
            json={**answer, "played_to_end": True, "elapsed_ms": elapsed_ms})
        if reply is None or not self.accepted(reply, (200, 201), "vote"):
            return False
        outcome.votes_acknowledged += 1
        self.report.votes_repeated += reply.status_code == 200
        return True

    async def audio(self, url: str, what: str) -> bytes | None:
        response = await self.call("GET", url, what)
        if response is None or not self.accepted(response, (200,), what):
            return None
        return response.content


def run_simulation(url: str, test_id: int, raters: int, concurrency: int, seed: int = 0,
                   mix: str | dict | None = None, admin_password: str | None = None, *,
                   duration_seconds: float | None = None, think_scale: float = 0.0,
                   ramp_seconds: float = 0.0, timeout_seconds: float = 30.0,
                   retries: int = 3) -> SimulationReport:
    """Run ``raters`` simulated participants ``sim-<seed>-<n>``, at most ``concurrency`` at once.

    With ``duration_seconds`` the run is timed instead: ``min(raters, concurrency)`` raters
    work at once, each followed by a new participant until the time is up. ``think_scale``:
    share of a human's listening and decision time waited before each vote (0: flat out).
    ``ramp_seconds``: the first raters arrive evenly over this time rather than all at once.
    With ``admin_password`` the server's results land in ``report.server_results``.
    Raises ValueError for a non-loopback URL or a bad mix.
    """
    base, weights = check_local_url(url), parse_mix(mix)
    if raters < 1 or concurrency < 1:
        raise ValueError("raters and concurrency must be at least 1")
    report = SimulationReport(base, test_id, seed, concurrency)
    numbers = itertools.count()

    async def run() -> None:
        started = time.monotonic()
        deadline = None if duration_seconds is None else started + duration_seconds
        workers = min(raters, concurrency)
        async with contextlib.AsyncExitStack() as stack:
            # Small pools: httpcore scans a pool's connections on every request, so one pool
            # of 200 costs the load generator more CPU than the server. A browser has its own.
            # trust_env=False: a proxy from the environment must never carry this traffic.
            drivers = [_Driver(await stack.enter_async_context(httpx.AsyncClient(
                base_url=base, timeout=timeout_seconds, trust_env=False,
                limits=httpx.Limits(max_connections=POOL_SIZE))), report, weights, deadline,
                think_scale, retries) for _ in range(0, workers, POOL_SIZE)]

            async def worker(driver: _Driver, arrival: float) -> None:
                await asyncio.sleep(arrival)
                while not driver.expired():
                    index = next(numbers)
                    if index >= (MAX_SESSIONS if deadline is not None else raters):
                        return
                    try:
                        outcome = await driver.rater(seed, test_id, index)
                    except (ValueError, KeyError, TypeError, AttributeError) as exc:
                        driver.error("malformed", f"{type(exc).__name__}: {exc}")  # keep going
                        continue
                    if outcome.status == "refused":
                        if outcome.start_status in (None, 404, 409):  # closed, full, gone
                            return
                        await asyncio.sleep(0.5)  # a server error: give it a moment

            await asyncio.gather(*(worker(drivers[k // POOL_SIZE], ramp_seconds * k / workers)
                                   for k in range(workers)))
            report.wall_seconds = time.monotonic() - started
            if admin_password is not None:
                response = await drivers[0].client.get(
                    f"/api/tests/{test_id}/results",
                    headers={"Authorization": f"Bearer {admin_password}"})
                if drivers[0].accepted(response, (200,), "results"):
                    report.server_results = response.json()

    _run_event_loop(run)
    return report


def _run_event_loop(main: Any) -> None:
    """Run ``main()`` to completion on a fresh event loop; in a worker thread when the caller
    already runs a loop (a notebook, or a test session that drives a browser)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(main())
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, main()).result()


def simulation_test_spec(name: str, *, dataset: str = "demo", votes_per_clip: int = 5,
                         clips_per_session: int = 10, training: int = 4, gold: bool = True,
                         trapping: bool = True) -> dict[str, Any]:
    """An ACR test spec simulated raters can take: stereo and environment checks need ears."""
    return {
        "name": name, "method": "acr", "clips": {"dataset": dataset}, "platform": "generic",
        "votes_per_clip": votes_per_clip, "clips_per_session": clips_per_session,
        "gold": {"auto": gold, "count": 2} if gold else {"auto": False, "count": 0},
        "trapping": {"enabled": trapping, "per_session": 1}, "training": {"count": training},
        "checks": {"qualification": True, "volume": True, "stereo": False, "environment": False},
    }


def comparison_test_spec(name: str, method: str, systems: list[str], *,
                         dataset: str = "demo", reference: str = "clean",
                         votes_per_pair: int = 5, pairs_per_session: int = 10,
                         training: int = 2, gold: bool = True) -> dict[str, Any]:
    """A CCR, A/B, ranking or MUSHRA spec simulated raters can take (no stereo or
    environment checks); ``reference`` is used by CCR only. The size keys are the method's
    (MUSHRA: listeners per page, pages per session); gold only where the method has gold."""
    from listening_tests.methods import method_of

    kind = method_of(method)
    pairs = kind.simulation_pairs(dataset, list(systems), reference)
    per_item, per_session = kind.spec_keys()
    gold = gold and kind.makes_gold
    return {
        "name": name, "method": method, "pairs": pairs, "platform": "generic",
        per_item: votes_per_pair, per_session: pairs_per_session,
        "gold": {"auto": gold, "count": 2} if gold else {"auto": False, "count": 0},
        "training": {"count": training},
        "checks": {"qualification": True, "volume": True, "stereo": False, "environment": False},
    }


def create_test(url: str, admin_password: str, spec: dict[str, Any], *,
                open_test: bool = True, timeout_seconds: float = 60.0) -> int:
    """Create (and open) a test through the admin API; its id. Raises httpx.HTTPStatusError
    (the server's message, and ``.response``) when a call is refused."""
    headers = {"Authorization": f"Bearer {admin_password}"}
    with httpx.Client(base_url=check_local_url(url), headers=headers, trust_env=False,
                      timeout=timeout_seconds) as client:

        def post(path: str, ok: int, body: Any = None) -> dict[str, Any]:
            response = client.post(path, json=body)
            if response.status_code != ok:
                raise httpx.HTTPStatusError(f"POST {path} answered {response.status_code}: "
                                            f"{response.text[:500]}", request=response.request,
                                            response=response)
            return response.json()

        test_id = int(post("/api/tests", 201, spec)["id"])
        if open_test:
            post(f"/api/tests/{test_id}/open", 200)
    return test_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the app, e.g. http://127.0.0.1:7860")
    parser.add_argument("--test", type=int, required=True, help="id of an open ACR test")
    for name, default in (("--raters", 10), ("--concurrency", 10), ("--seed", 0)):
        parser.add_argument(name, type=int, default=default)
    parser.add_argument("--mix", help="behaviour weights; default attentive=0.7,straight=0.1,"
                                      "random=0.1,trap_fail=0.05,abandon=0.05")
    for name, default, meaning in (
            ("--duration", None, "seconds: keep replacing finished raters until then"),
            ("--think-scale", 0.0, "share of human listening+decision time waited per vote"),
            ("--ramp", 0.0, "seconds over which the first raters arrive"),
            ("--timeout", 30.0, "seconds per request")):
        parser.add_argument(name, type=float, default=default, help=meaning)
    parser.add_argument("--admin-password", default=os.environ.get("APP_ADMIN_PASSWORD"),
                        help="fetch the results afterwards (default: $APP_ADMIN_PASSWORD)")
    args = parser.parse_args(argv)
    try:
        report = run_simulation(args.url, args.test, args.raters, args.concurrency, args.seed,
                                args.mix, args.admin_password, duration_seconds=args.duration,
                                think_scale=args.think_scale, ramp_seconds=args.ramp,
                                timeout_seconds=args.timeout)
    except ValueError as exc:
        parser.error(str(exc))  # exits with status 2
    print(report.summary())
    return 0 if report.sessions_started else 1


if __name__ == "__main__":
    raise SystemExit(main())
