"""The content-addressed store keeps every waveform once, exactly."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

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


def test_discard_removes_a_file_nobody_else_stored(store):
    stored = store.put(speech_like(0.2, 8000), 8000)
    assert store.discard(stored)
    assert not store.exists(stored.sha256)
    assert not [p for p in store.root.rglob("*") if p.is_file()]


def test_discard_keeps_a_file_another_writer_stored_meanwhile(store):
    # Two imports of the same recording: the first writes the file, the second finds it
    # and commits its row; the first then fails. The committed row must keep its audio.
    x = speech_like(0.2, 8000)
    first = store.put(x, 8000)
    second = store.put(x, 8000)
    assert first.created and not second.created
    assert not store.discard(first)
    assert store.exists(first.sha256)
    y, _ = store.read(first.sha256)
    assert len(y) == len(x)
    assert not [p.name for p in store.root.rglob(".discard-*")]


def test_a_writer_after_a_discard_writes_the_file_again(store):
    x = speech_like(0.2, 8000)
    first = store.put(x, 8000)
    assert store.discard(first)
    again = store.put(x, 8000)
    assert again.created and store.exists(again.sha256)
    assert not store.discard(first)  # the old write's token no longer matches
    assert store.exists(again.sha256)


def test_discard_of_a_file_this_call_did_not_write_does_nothing(store):
    x = speech_like(0.2, 8000)
    store.put(x, 8000)
    found = store.put(x, 8000)
    assert not found.created and found.token is None
    assert not store.discard(found)
    assert store.exists(found.sha256)


def _store_rounds(root: str, worker: int, workers: int, rounds: int, barrier,
                  lost_log: str) -> None:
    """Each round every worker stores the same new audio; one of them commits its row, the
    others fail and discard what they wrote (half the rounds in lockstep, half racing)."""
    from db.store import AudioStore

    store = AudioStore(Path(root))
    for round_ in range(rounds):
        x = speech_like(0.05, 8000) * (0.2 + 0.7 * round_ / rounds)  # new audio each round
        barrier.wait()
        stored = store.put(x, 8000)
        if round_ % 2 == 0:
            barrier.wait()
        keeper = round_ % workers
        if worker != keeper:
            store.discard(stored)
        barrier.wait()
        if worker == keeper and not store.exists(stored.sha256):
            with open(lost_log, "a") as log:
                log.write(f"round {round_}\n")


def test_a_committed_file_survives_writers_in_other_processes_discarding_it(tmp_path):
    # Two imports of one recording racing in two processes must never leave the one that
    # commits without its audio, whoever wrote the file first.
    root, lost = tmp_path / "audio", tmp_path / "lost.txt"
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    workers = [context.Process(target=_store_rounds,
                               args=(str(root), worker, 4, 60, barrier, str(lost)))
               for worker in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    assert not lost.exists(), lost.read_text()
    assert not list(root.rglob(".discard-*")) and not list(root.rglob(".tmp-*"))
