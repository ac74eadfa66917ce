"""The app as a user starts it: a subprocess on a free port, spoken to over HTTP."""

from __future__ import annotations

import io
import zipfile

import httpx
import pytest
import soundfile as sf

from db.session import head_revision
from tests.server import run_webapp, start_app
from tests.signals import speech_like

pytestmark = pytest.mark.integration


def _wav_bytes(seconds: float, rate: int, seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(seconds, rate, seed=seed), rate, format="WAV")
    return buffer.getvalue()


def _clip_count(app) -> int:
    return httpx.get(f"{app.url}/api/health").json()["clips"]


def test_health_reports_the_schema_revision_and_the_seeded_demo(app_server):
    body = httpx.get(f"{app_server.url}/api/health").json()
    assert body["status"] == "ok"
    assert body["schema_revision"] == head_revision() == body["schema_head"]
    assert body["clips"] >= 24  # the demo set was seeded into the empty database
    demo = httpx.get(f"{app_server.url}/api/clips", params={"dataset": "demo"},
                     headers=app_server.headers()).json()["clips"]
    assert {c["sample_rate"] for c in demo} >= {8000, 16000, 48000}
    assert {c["system"] for c in demo} == {"reference", "unprocessed"}


def test_admin_api_needs_the_password(app_server):
    assert httpx.get(f"{app_server.url}/api/clips").status_code == 401
    wrong = httpx.get(f"{app_server.url}/api/clips", headers={"Authorization": "Bearer no"})
    assert wrong.status_code == 401 and "admin password" in wrong.json()["error"]
    # The Gradio admin pages ask for a login too.
    page = httpx.get(f"{app_server.url}/config")
    assert page.status_code in (401, 403) or "login" in page.text.lower()


def test_upload_then_find_and_download_the_clip(app_server):
    data = _wav_bytes(0.8, 32000, seed=42)
    before = _clip_count(app_server)
    response = httpx.post(f"{app_server.url}/api/clips", headers=app_server.headers(),
                          files={"files": ("api-upload.wav", data, "audio/wav")},
                          data={"dataset": "api-tests"})
    assert response.status_code == 201, response.text
    (clip_id,) = response.json()["clip_ids"]
    assert _clip_count(app_server) == before + 1
    details = httpx.get(f"{app_server.url}/api/clips/{clip_id}",
                        headers=app_server.headers()).json()
    assert details["sample_rate"] == 32000 and details["datasets"] == ["api-tests"]
    audio = httpx.get(f"{app_server.url}/api/clips/{clip_id}/audio",
                      headers=app_server.headers())
    assert audio.headers["content-type"] == "audio/flac"
    decoded, rate = sf.read(io.BytesIO(audio.content), dtype="float32")
    original, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert rate == 32000 and abs(decoded - original).max() < 1e-6
    again = httpx.post(f"{app_server.url}/api/clips", headers=app_server.headers(),
                       files={"files": ("same-again.wav", data, "audio/wav")},
                       data={"dataset": "api-tests"})
    assert again.status_code == 200 and again.json()["duplicates"] == ["same-again.wav"]
    assert _clip_count(app_server) == before + 1


@pytest.mark.parametrize("name, content, message", [
    ("corrupt.wav", b"RIFF$\x00\x00\x00WAVEfmt garbage", "not a readable audio file"),
    ("empty.wav", b"", "empty"),
    ("silent.wav", None, "silent"),
    ("long.wav", "long", "longer than the limit of 600 s"),
])
def test_bad_uploads_get_a_json_error_and_change_nothing(app_server, name, content, message):
    if content is None:
        buffer = io.BytesIO()
        sf.write(buffer, speech_like(0.5, 16000) * 0, 16000, format="WAV")
        content = buffer.getvalue()
    elif content == "long":  # 11 minutes at 8 kHz: refused from the header
        buffer = io.BytesIO()
        sf.write(buffer, speech_like(660, 8000), 8000, format="FLAC")
        content = buffer.getvalue()
    before = _clip_count(app_server)
    response = httpx.post(f"{app_server.url}/api/clips", headers=app_server.headers(),
                          files={"files": (name, content, "audio/wav")},
                          data={"dataset": "bad-uploads"})
    assert response.status_code == 422
    assert message in response.json()["error"]
    assert _clip_count(app_server) == before
    datasets = httpx.get(f"{app_server.url}/api/clips", params={"dataset": "bad-uploads"},
                         headers=app_server.headers()).json()["clips"]
    assert datasets == []


def test_server_side_imports_refuse_climbing_zips(app_server, tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.wav", _wav_bytes(0.3, 16000, seed=5))
        zf.writestr("../../escape.wav", _wav_bytes(0.3, 16000, seed=6))
    before = _clip_count(app_server)
    response = httpx.post(f"{app_server.url}/api/imports", headers=app_server.headers(),
                          json={"path": str(archive)})
    assert response.status_code == 422
    assert "points outside the archive's folder" in response.json()["error"]
    assert _clip_count(app_server) == before
    missing = httpx.post(f"{app_server.url}/api/imports", headers=app_server.headers(),
                         json={"dataset": 3})
    assert missing.status_code == 422 and "path" in missing.json()["error"]


def test_unwritable_data_folder_stops_the_app_with_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = run_webapp("--data-dir", str(blocker / "data"), "--no-demo")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: data folder")
    assert "cannot be created or written" in lines[0]


@pytest.mark.parametrize("url, message", [
    ("sqlite:////nonexistent-folder/x.db", "does not exist"),
    ("postgresql://nobody@127.0.0.1:1/none", "cannot"),
    ("nonsense", "not a valid SQLAlchemy URL"),
])
def test_unreachable_database_stops_the_app_with_one_line(tmp_path, url, message):
    result = run_webapp("--data-dir", str(tmp_path / "data"), "--db-url", url, "--no-demo")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0]


def test_a_restarted_app_keeps_its_library_and_password(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    first = start_app(data, "--no-demo")
    try:
        response = httpx.post(f"{first.url}/api/clips", headers=first.headers(),
                              files={"files": ("keep.wav", _wav_bytes(0.4, 8000), "audio/wav")})
        assert response.status_code == 201
    finally:
        first.stop()
    second = start_app(data, "--no-demo")
    try:
        assert _clip_count(second) == 1
    finally:
        second.stop()
