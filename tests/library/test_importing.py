"""Importing uploads, folders, zips and wav.scp files: what lands and what is refused."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import soundfile as sf
from sqlalchemy import func, select

from audio.io import save_audio
from db.models import Clip, Dataset, DatasetClip
from library.clips import ClipFilter, list_clips
from library.importing import (
    ImportRejected,
    import_files,
    import_folder,
    import_path,
    import_wav_scp,
    import_zip,
)
from tests.signals import speech_like


def _state(sessions, store) -> tuple[int, int, int, int]:
    """What a refused import must leave as it was: rows of each table and stored files."""
    with sessions() as s:
        return (s.scalar(select(func.count(Clip.id))), s.scalar(select(func.count(Dataset.id))),
                s.scalar(select(func.count(DatasetClip.id))), store.count())


def _make_folder(root, rates=(8000, 16000, 48000)):
    root.mkdir(parents=True, exist_ok=True)
    for i, rate in enumerate(rates):
        save_audio(root / f"utt{i}.flac", speech_like(0.4, rate, seed=i), rate)
    return root


def test_folder_import_names_clips_by_relative_path_and_reports_progress(
        tmp_path, sessions, store):
    folder = _make_folder(tmp_path / "corpus")
    (folder / "sub").mkdir()
    save_audio(folder / "sub" / "deep.wav", speech_like(0.3, 22050, seed=9), 22050)
    (folder / "transcript.txt").write_text("hello")
    seen = []
    with sessions.begin() as s:
        report = import_folder(s, store, folder, progress=lambda d, t, n: seen.append((d, t)))
    assert sorted(report.added) == ["sub/deep.wav", "utt0.flac", "utt1.flac", "utt2.flac"]
    assert report.skipped == [("transcript.txt", "not an audio file (ending '.txt')")]
    assert seen[-1] == (4, 4)
    with sessions() as s:
        rows = list_clips(s, ClipFilter(dataset="corpus"))
        assert {r.sample_rate for r in rows} == {8000, 16000, 22050, 48000}
        assert all(r.origin == "import" for r in rows)


def test_importing_the_same_audio_twice_yields_one_clip(tmp_path, sessions, store):
    folder = _make_folder(tmp_path / "a")
    with sessions.begin() as s:
        import_folder(s, store, folder)
    with sessions.begin() as s:
        again = import_folder(s, store, folder, dataset_name="copy")
    assert again.added == [] and len(again.duplicates) == 3
    clips, datasets, memberships, files = _state(sessions, store)
    assert (clips, datasets, memberships, files) == (3, 2, 6, 3)


def test_a_bad_file_is_skipped_with_its_reason_and_the_rest_imported(
        tmp_path, sessions, store):
    folder = _make_folder(tmp_path / "mixed", rates=(16000,))
    (folder / "broken.wav").write_bytes(b"RIFF....WAVEnot really")
    (folder / "empty.flac").write_bytes(b"")
    save_audio(folder / "silent.wav", np.zeros(800, np.float32), 8000)
    save_audio(folder / "long.flac", speech_like(3.0, 8000), 8000)
    with sessions.begin() as s:
        report = import_folder(s, store, folder, max_seconds=2.0)
    reasons = dict(report.skipped)
    assert report.added == ["utt0.flac"]
    assert "not a readable audio file" in reasons["broken.wav"]
    assert "empty" in reasons["empty.flac"]
    assert "silent" in reasons["silent.wav"]
    assert "longer than the limit of 2 s" in reasons["long.flac"]
    assert store.count() == 1


def test_zip_import_and_path_climbing_entries(tmp_path, sessions, store):
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("set/a.flac", _flac_bytes(1))
        zf.writestr("set/b.flac", _flac_bytes(2))
        zf.writestr("__MACOSX/set/._a.flac", b"junk")
    with sessions.begin() as s:
        report = import_zip(s, store, good)
    assert report.dataset == "good" and sorted(report.added) == ["set/a.flac", "set/b.flac"]
    before = _state(sessions, store)
    for evil in ("../outside.flac", "/etc/evil.flac", "a/../../x.flac", "C:\\win.flac"):
        bad = tmp_path / "bad.zip"
        with zipfile.ZipFile(bad, "w") as zf:
            zf.writestr("fine.flac", _flac_bytes(3))
            zf.writestr(evil, _flac_bytes(4))
        with sessions.begin() as s, pytest.raises(ImportRejected, match="outside the archive"):
            import_zip(s, store, bad)
        assert _state(sessions, store) == before
    assert not (tmp_path / "outside.flac").exists()


def _flac_bytes(seed: int) -> bytes:
    import io
    buffer = io.BytesIO()
    sf.write(buffer, speech_like(0.3, 16000, seed=seed), 16000, format="FLAC")
    return buffer.getvalue()


def test_wav_scp_import_uses_utterance_ids(tmp_path, sessions, store):
    folder = _make_folder(tmp_path / "wavs")
    scp = tmp_path / "wav.scp"
    scp.write_text(f"spk1_utt0 wavs/utt0.flac\nspk1_utt1 {folder / 'utt1.flac'}\n\n")
    with sessions.begin() as s:
        report = import_wav_scp(s, store, scp, dataset_name="scp-set")
    assert report.added == ["spk1_utt0", "spk1_utt1"]


def test_wav_scp_with_problems_is_refused_whole_with_line_numbers(tmp_path, sessions, store):
    _make_folder(tmp_path / "wavs")
    scp = tmp_path / "wav.scp"
    scp.write_text("a wavs/utt0.flac\n"
                   "b wavs/missing.flac\n"
                   "a wavs/utt1.flac\n"
                   "lonely\n"
                   "c sox wavs/utt2.flac -t wav - |\n")
    before = _state(sessions, store)
    with sessions.begin() as s, pytest.raises(ImportRejected) as info:
        import_wav_scp(s, store, scp)
    message = str(info.value)
    assert "4 problem(s), nothing imported" in message
    assert "line 2: the file it names does not exist" in message
    assert "line 3: its id repeats line 1" in message
    assert "line 4: expected '<id> <path>'" in message
    assert "line 5: pipe commands are not supported" in message
    assert _state(sessions, store) == before


def test_wav_scp_errors_never_echo_the_file(tmp_path, sessions, store):
    """A wav.scp that is a link to a system file: the refusal names lines and problems,
    never the file's content."""
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nsvc secret-token-1234\n"
                      "svc other | \n")
    scp = tmp_path / "wav.scp"
    scp.symlink_to(secret)
    with sessions.begin() as s, pytest.raises(ImportRejected) as info:
        import_wav_scp(s, store, scp)
    message = str(info.value)
    assert "line 1: expected '<id> <path>'" in message and "line 2:" in message
    for leaked in ("root", "bin/bash", "secret-token", "svc"):
        assert leaked not in message, message


def test_uploads_land_in_the_named_dataset(tmp_path, sessions, store):
    path = tmp_path / "upload-123.tmp"
    sf.write(path, speech_like(0.3, 24000), 24000, format="WAV")
    with sessions.begin() as s:
        report = import_files(s, store, [("my recording.wav", path)], dataset_name="mine")
    assert report.added == ["my recording.wav"]
    with sessions() as s:
        (row,) = list_clips(s, ClipFilter(dataset="mine"))
        assert row.origin == "upload" and row.sample_rate == 24000


def test_import_path_picks_the_kind_and_refuses_the_unknown(tmp_path, sessions, store):
    with sessions.begin() as s:
        with pytest.raises(ImportRejected, match="does not exist"):
            import_path(s, store, tmp_path / "nowhere")
        (tmp_path / "notes.txt").write_text("x")
        with pytest.raises(ImportRejected, match=r"takes a folder, a \.zip or a wav\.scp"):
            import_path(s, store, tmp_path / "notes.txt")
        (tmp_path / "empty").mkdir()
        with pytest.raises(ImportRejected, match="holds no audio files"):
            import_path(s, store, tmp_path / "empty")
        (tmp_path / "fake.zip").write_bytes(b"PK not really")
        with pytest.raises(ImportRejected, match="not a readable zip"):
            import_path(s, store, tmp_path / "fake.zip")


def test_a_failing_transaction_leaves_no_files_behind(tmp_path, sessions, store):
    folder = _make_folder(tmp_path / "boom")

    def explode(done, total, name):
        if done == 2:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"), sessions.begin() as s:
        import_folder(s, store, folder, progress=explode)
    assert _state(sessions, store) == (0, 0, 0, 0)


def test_batched_import_commits_batch_by_batch(tmp_path, sessions, store):
    from library.importing import import_in_batches, plan_folder

    folder = _make_folder(tmp_path / "big", rates=(8000, 16000, 22050, 24000, 32000))
    seen = []

    def fail_in_third_batch(done, total, name):
        seen.append((done, total))
        if done == 5:
            raise RuntimeError("server stopped")

    with pytest.raises(RuntimeError, match="server stopped"):
        import_in_batches(sessions.begin, store, plan_folder(folder), batch_files=2,
                          progress=fail_in_third_batch)
    # The first two batches (4 files) were committed with their audio; the third left
    # neither rows nor files.
    assert _state(sessions, store) == (4, 1, 4, 4)
    assert seen[-1] == (5, 5)
    report = import_in_batches(sessions.begin, store, plan_folder(folder), batch_files=2)
    assert len(report.duplicates) == 4 and len(report.added) == 1


def test_a_refused_file_leaves_no_orphan_clip(tmp_path, sessions, store):
    """A second, different file under a name the dataset already has is refused and leaves
    neither a clip row nor a file; the other files of the same import land."""
    from library.clips import get_clip
    from library.importing import import_in_batches, plan_files

    first, other, fresh = (tmp_path / "first.wav", tmp_path / "other.wav",
                           tmp_path / "fresh.wav")
    save_audio(first, speech_like(0.4, 16000, seed=1), 16000)
    save_audio(other, speech_like(0.4, 16000, seed=2), 16000)
    save_audio(fresh, speech_like(0.4, 16000, seed=3), 16000)
    import_in_batches(sessions.begin, store, plan_files([("take.wav", first)], dataset_name="u"))
    before = _state(sessions, store)
    report = import_in_batches(sessions.begin, store,
                               plan_files([("take.wav", other)], dataset_name="u"))
    assert not report.imported_any
    assert "already has a different clip" in report.skipped[0][1]
    assert _state(sessions, store) == before
    # within one import too: the refused twin goes, its neighbours stay and are readable
    report = import_in_batches(sessions.begin, store, plan_files(
        [("new.wav", fresh), ("new.wav", other)], dataset_name="u"))
    assert report.added == ["new.wav"] and len(report.skipped) == 1
    assert _state(sessions, store) == (before[0] + 1, 1, before[2] + 1, before[3] + 1)
    with sessions() as s:
        for clip_id in s.scalars(select(Clip.id)):
            assert store.exists(get_clip(s, clip_id).sha256)


def test_a_zip_bomb_is_refused_from_its_directory(tmp_path, sessions, store):
    """An entry that deflates 1000:1 (a WAV of silence) is refused before it is unpacked:
    the message says which entry and the ratio, and nothing is stored."""
    import wave

    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("fine.flac", _flac_bytes(5))
        with zf.open("silence.wav", "w") as member, wave.open(member, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(b"\0" * (32 * 1024 * 1024))
    with pytest.raises(ImportRejected, match=r"entry 'silence.wav' is compressed \d+:1 .*"
                                             r"more than the 100:1 audio allows"):
        with sessions.begin() as s:
            import_zip(s, store, bomb)
    assert _state(sessions, store) == (0, 0, 0, 0)
