"""The content-addressed store keeps every waveform once, exactly."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from db.store import audio_sha256
from tests.signals import speech_like


def test_same_audio_from_16_bit_wav_and_float_is_stored_once(tmp_path, store):
    x = speech_like(0.5, 16000)
    sf.write(tmp_path / "a.wav", x, 16000, subtype="PCM_16")
    as_16_bit, _ = sf.read(tmp_path / "a.wav", dtype="float32")
    first = store.put(as_16_bit, 16000)
    second = store.put(as_16_bit.copy(), 16000)
    assert first.created and not second.created
    assert first.sha256 == second.sha256
    assert store.count() == 1
    assert first.path == store.root / first.sha256[:2] / f"{first.sha256}.flac"


def test_stored_audio_reads_back_bit_exact_for_16_bit_input(store):
    x = np.round(speech_like(0.5, 44100) * 32767) / 32768
    stored = store.put(x, 44100)
    y, rate = store.read(stored.sha256)
    assert rate == 44100 and y.dtype == np.float32
    assert np.array_equal(y, x.astype(np.float32))
    info = sf.info(str(stored.path))
    assert (info.format, info.subtype) == ("FLAC", "PCM_24")


def test_address_depends_on_rate_and_content():
    x = speech_like(0.2, 16000)
    assert audio_sha256(x, 16000) != audio_sha256(x, 22050)
    y = x.copy()
    y[10] += 1e-3
    assert audio_sha256(x, 16000) != audio_sha256(y, 16000)


def test_discard_removes_a_file(store):
    stored = store.put(speech_like(0.2, 8000), 8000)
    store.discard(stored.sha256)
    assert not store.exists(stored.sha256)
    assert not list(store.root.rglob(".tmp-*"))
