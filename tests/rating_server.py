"""A deployment as the README describes it, for tests and benchmarks: the admin app
(``python -m webapp``, which upgrades the schema and seeds the demo set) and the rating
server (``python -m webapp.rating --workers N``) on the same database and data folder.

The rating server runs in its own process group, so stopping it also ends its workers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.server import REPO, RunningApp, free_port, start_app


@dataclass
class RatingServer:
    url: str
    process: subprocess.Popen
    log: Path
    workers: int

    def stop(self) -> None:
        """SIGTERM to the whole group (supervisor and workers), SIGKILL if they linger."""
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=10)

    def worker_pids(self, tries: int = 200) -> set[int]:
        """The workers' process ids, as their health answers report them."""
        seen: set[int] = set()
        with httpx.Client(base_url=self.url, timeout=5) as client:
            for _ in range(tries):
                seen.add(client.get("/api/health", headers={"Connection": "close"})
                         .json()["pid"])
                if len(seen) == self.workers:
                    break
        return seen


def start_rating_server(data_dir: Path, db_url: str, workers: int, *,
                        password: str = "test-admin-password",
                        timeout: float = 240) -> RatingServer:
    """Start ``python -m webapp.rating`` and wait until every worker answers health."""
    port = free_port()
    log = data_dir.parent / f"rating-{port}.log"
    env = {**os.environ, "APP_ADMIN_PASSWORD": password, "RATING_LOG_LEVEL": "info"}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp.rating", "--port", str(port), "--workers",
             str(workers), "--data-dir", str(data_dir), "--db-url", db_url],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = RatingServer(f"http://127.0.0.1:{port}", process, log, workers)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"rating server exited with {process.returncode}: "
                               f"{log.read_text()[-2000:]}")
        if log.read_text().count("Application startup complete") >= workers:
            try:
                if httpx.get(f"{server.url}/api/health", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"rating server did not start within {timeout} s: "
                       f"{log.read_text()[-2000:]}")


@dataclass
class Deployment:
    """The admin app and a rating server on one database and data folder."""

    admin: RunningApp
    rating: RatingServer
    db_url: str
    data_dir: Path
    extra: list[str] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        return self.admin.headers()

    def stop(self) -> None:
        self.rating.stop()
        self.admin.stop()


def deploy(data_dir: Path, db_url: str, workers: int) -> Deployment:
    """Start the admin app (it migrates and seeds), then the rating workers."""
    admin = start_app(data_dir, "--db-url", db_url)
    try:
        rating = start_rating_server(data_dir, db_url, workers)
    except BaseException:
        admin.stop()
        raise
    return Deployment(admin, rating, db_url, data_dir)
