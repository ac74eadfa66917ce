"""The running app under attack (issue 13): bodies refused before they are read, the admin
password asked before an upload is spooled, huge ids, a full disk, and wrong passwords
rate-limited. Each test starts its own app: the rate limit must not lock out the shared one.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tests.server import start_app

pytestmark = pytest.mark.integration

BIG = 600 * 1024 * 1024


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    data = tmp_path_factory.mktemp("hardening") / "data"
    data.mkdir()
    running = start_app(data, "--no-demo", "--max-upload-mb", "2")
    yield running
    running.stop()


def raw_request(url: str, head: str, body_sent: bytes, *, wait: float = 10.0) -> tuple[int, str]:
    """Send a request's head and only the start of its body, then read the answer: a server
    that reads the whole body first never answers."""
    parsed = urlparse(url)
    with socket.create_connection((parsed.hostname, parsed.port), timeout=wait) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body_sent)
        answer = b""
        deadline = time.monotonic() + wait
        while b"\r\n\r\n" not in answer and time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
        try:  # the JSON body, if it came in the same breath
            sock.settimeout(1.0)
            answer += sock.recv(65536)
        except (TimeoutError, OSError):
            pass
    status_line = answer.split(b"\r\n", 1)[0].decode() if answer else "no answer"
    status = int(status_line.split()[1]) if status_line.startswith("HTTP/") else 0
    return status, answer.decode("latin-1")


def test_a_600_mb_upload_without_the_password_is_refused_before_it_is_read(app):
    head = ("POST /api/clips HTTP/1.1\nHost: x\nContent-Type: multipart/form-data; "
            f"boundary=b\nContent-Length: {BIG}\n")
    status, answer = raw_request(app.url, head, b"--b\r\n" + b"\0" * 65536)
    assert status == 401 and "admin password required" in answer
    # with the password, the size is refused from Content-Length alone
    status, answer = raw_request(app.url, head + f"Authorization: Bearer {app.password}\n",
                                 b"--b\r\n")
    assert status == 413 and "larger than the 2097152 bytes" in answer


def test_rater_calls_are_capped_at_a_few_kilobytes(app):
    head = ("PUT /api/sessions/abc/votes/item HTTP/1.1\nHost: x\nContent-Type: "
            f"application/json\nContent-Length: {100 * 1024 * 1024}\n")
    status, answer = raw_request(app.url, head, b'{"score": ')
    assert status == 413 and "rater" in answer

    def chunks():  # no Content-Length: counted while it streams
        for _ in range(100):
            yield b" " * 1024

    response = httpx.put(f"{app.url}/api/sessions/abc/votes/item", content=chunks(),
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 413, response.text
    assert "16384 bytes" in response.json()["error"]
    # a normal call still gets through to the route (an unknown session: 404)
    response = httpx.put(f"{app.url}/api/sessions/abc/votes/item", json={"score": 3})
    assert response.status_code == 404 and "error" in response.json()


def test_ids_beyond_64_bits_answer_json_4xx(app):
    huge = 2 ** 64
    for method, path, admin in (("POST", f"/api/tests/{huge}/sessions", False),
                                ("GET", f"/api/clips/{huge}", True),
                                ("GET", f"/api/tests/{huge}", True),
                                ("GET", f"/api/clips/{huge}/audio", True)):
        response = httpx.request(method, f"{app.url}{path}",
                                 json={"participant_id": "p1"} if method == "POST" else None,
                                 headers=app.headers() if admin else None)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/json", path
        assert "error" in response.json()


def test_health_reports_free_space(app):
    body = httpx.get(f"{app.url}/api/health").json()
    assert body["status"] == "ok" and body["free_disk_mb"] > 0


def test_wrong_passwords_are_rate_limited(app):
    """Ten wrong passwords in a row, then even the right one waits; the login form shares
    the count (the same address guessing through either door)."""
    wrong = {"Authorization": "Bearer guess"}
    assert httpx.get(f"{app.url}/api/clips").status_code == 401  # no password: no guess
    statuses = [httpx.get(f"{app.url}/api/clips", headers=wrong).status_code
                for _ in range(9)]
    assert httpx.get(f"{app.url}/api/clips", headers=app.headers()).status_code == 200
    statuses += [httpx.get(f"{app.url}/api/clips", headers=wrong).status_code
                 for _ in range(11)]  # the right one cleared the count
    assert statuses == [401] * 19 + [429]
    refused = httpx.get(f"{app.url}/api/clips", headers=app.headers())
    assert refused.status_code == 429 and "too many wrong passwords" in refused.json()["error"]
    login = httpx.post(f"{app.url}/login", data={"username": "admin",
                                                 "password": app.password})
    assert login.status_code == 429
    # rater calls are not affected
    assert httpx.get(f"{app.url}/api/health").status_code == 200


def _mount_tmpfs(folder: Path, megabytes: int) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs",
                           str(folder)], capture_output=True)
    return done.returncode == 0


def test_a_full_disk_answers_json_507_and_health_says_so(tmp_path):
    disk = tmp_path / "small-disk"
    if not _mount_tmpfs(disk, 64):
        pytest.skip("needs to mount a small tmpfs (root) to fill a disk for real")
    app = None
    try:
        data = disk / "data"
        data.mkdir()
        app = start_app(data, "--no-demo", "--min-free-mb", "8")
        assert httpx.get(f"{app.url}/api/health").json()["status"] == "ok"
        with open(disk / "filler", "wb", buffering=0) as filler:  # to the last byte
            for block in (1024 * 1024, 4096, 1):
                try:
                    while True:
                        filler.write(b"\0" * block)
                except OSError:
                    pass
        health = httpx.get(f"{app.url}/api/health").json()
        assert health["status"] == "low_disk" and "MB free" in health["warning"]
        import io

        import numpy as np
        import soundfile as sf

        wav = io.BytesIO()
        rng = np.random.default_rng(0)
        sf.write(wav, 0.1 * rng.standard_normal(16000 * 5), 16000, format="WAV")
        response = httpx.post(f"{app.url}/api/clips", headers=app.headers(),
                              files={"files": ("noise.wav", wav.getvalue(), "audio/wav")},
                              data={"dataset": "full"}, timeout=60)
        assert response.status_code == 507, response.text
        assert "disk is full" in response.json()["error"]
    finally:
        if app is not None:
            app.stop()
        subprocess.run(["umount", str(disk)], capture_output=True)
