"""Starting the real app as a subprocess on a free port, as a user would with
``python -m webapp``, for the integration and browser suites."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningApp:
    url: str
    password: str
    data_dir: Path
    process: subprocess.Popen
    startup_seconds: float

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.password}"}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def run_webapp(*args: str, env: dict[str, str] | None = None,
               timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``python -m webapp`` to completion (for start-up failures)."""
    return subprocess.run([sys.executable, "-m", "webapp", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def start_app(data_dir: Path, *extra: str, password: str = "test-admin-password",
              timeout: float = 90) -> RunningApp:
    """Start the app and wait until ``/api/health`` answers."""
    port = free_port()
    env = {**os.environ, "APP_ADMIN_PASSWORD": password,
           "GRADIO_TEMP_DIR": str(data_dir / "gradio-tmp"),
           "GRADIO_ANALYTICS_ENABLED": "False"}
    log = open(data_dir.parent / f"webapp-{port}.log", "w")
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--port", str(port), "--data-dir", str(data_dir),
         *extra], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError(f"app exited with {process.returncode}: "
                               f"{Path(log.name).read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return RunningApp(url, password, data_dir, process,
                                  time.monotonic() - started)
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.kill()
    raise RuntimeError(f"app did not answer within {timeout} s: "
                       f"{Path(log.name).read_text()[-2000:]}")
