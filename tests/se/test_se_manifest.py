"""Inputs from a file, a folder or a Kaldi wav.scp, with clear messages when unusable."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf

from se.manifest import ManifestError, read_inputs
from tests.se.speech import make_speech


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    audio = tmp_path / "audio"
    audio.mkdir()
    for name in ("u2.wav", "u1.flac"):
        sf.write(audio / name, make_speech(8_000, seconds=0.5), 8_000)
    return audio


def test_folder_items_are_named_by_file_stem(folder: Path) -> None:
    assert read_inputs(folder) == {"u1": folder / "u1.flac", "u2": folder / "u2.wav"}


def test_single_file(folder: Path) -> None:
    assert read_inputs(folder / "u2.wav") == {"u2": folder / "u2.wav"}


def test_wav_scp_paths_may_be_relative_to_it(folder: Path) -> None:
    scp = folder.parent / "wav.scp"
    scp.write_text(f"utt_b audio/u2.wav\n\nutt_a {folder / 'u1.flac'}\n")
    assert read_inputs(scp) == {"utt_b": folder / "u2.wav", "utt_a": folder / "u1.flac"}


@pytest.mark.parametrize(("text", "words"), [
    ("utt audio/u1.flac\nutt audio/u2.wav\n", "appears twice"),
    ("utt sox audio/u1.flac -t wav - |\n", "pipe commands"),
    ("utt audio/missing.wav\n", "does not exist"),
    ("lonely\n", "expected '<id> <path>'"),
    ("../up audio/u1.flac\n", "cannot be a file name"),
    ("\n", "no entries"),
])
def test_bad_wav_scp_lines_are_named(folder: Path, text: str, words: str) -> None:
    scp = folder.parent / "wav.scp"
    scp.write_text(text)
    with pytest.raises(ManifestError, match=words):
        read_inputs(scp)


def test_folder_without_audio(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no audio files"):
        read_inputs(tmp_path)


def test_missing_source(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="does not exist"):
        read_inputs(tmp_path / "nothing")
