"""``python -m se.enhance``: listing, folders, wav.scp, and one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from se.enhance import main
from se.systems import BUILTIN_SYSTEMS, SYSTEM_KINDS
from tests.se.speech import add_white_noise, make_speech

REPO = Path(__file__).resolve().parents[2]
RATES = {"a": 8_000, "b": 22_050, "c": 48_000}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "se.enhance", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def noisy_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "noisy"
    folder.mkdir()
    for name, rate in RATES.items():
        sf.write(folder / f"{name}.wav", add_white_noise(make_speech(rate, 1.2), 5.0), rate)
    return folder


def test_list_prints_name_kind_description() -> None:
    done = run_cli("--list")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    builtin = len(BUILTIN_SYSTEMS)
    assert [row[0] for row in rows[:builtin]] == list(BUILTIN_SYSTEMS)
    assert all(row[1] == "neural" for row in rows[builtin:])  # shipped checkpoints follow
    assert all(len(row) == 3 and row[1] in SYSTEM_KINDS and row[2] for row in rows)


def test_folder_gives_flac_with_input_name_rate_and_length(noisy_folder: Path,
                                                           tmp_path: Path) -> None:
    done = run_cli("--system", "mmse_lsa", "--input", str(noisy_folder),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 0, done.stderr
    for name, rate in RATES.items():
        info = sf.info(tmp_path / "out" / f"{name}.flac")
        source = sf.info(noisy_folder / f"{name}.wav")
        assert (info.format, info.subtype, info.channels) == ("FLAC", "PCM_16", 1)
        assert (info.samplerate, info.frames) == (rate, source.frames)


def test_wav_scp_outputs_are_named_by_id(noisy_folder: Path, tmp_path: Path) -> None:
    scp = tmp_path / "wav.scp"
    scp.write_text(f"utt1 {noisy_folder / 'a.wav'}\nutt2 {noisy_folder / 'c.wav'}\n")
    done = run_cli("--system", "rnnoise", "--input", str(scp), "--output", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["utt1.flac", "utt2.flac"]


def test_bad_input_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    sf.write(tmp_path / "silent.wav", np.zeros(16_000), 16_000)
    done = run_cli("--system", "mmse_lsa", "--input", str(tmp_path / "silent.wav"),
                   "--output", str(tmp_path / "out"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == ["se.enhance: silent.wav: the audio is silent "
                                        "(every sample is zero)"]


@pytest.mark.parametrize(("write", "words"), [
    (lambda p: sf.write(p, np.stack([make_speech(16_000, 1.0)] * 2, axis=1), 16_000),
     "2 channels"),
    (lambda p: sf.write(p, make_speech(16_000, 1.0), 96_000), "96000 Hz is outside"),
    (lambda p: sf.write(p, make_speech(16_000, 0.05), 16_000), "shorter than"),
])
def test_other_bad_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], write,
                          words: str) -> None:
    write(tmp_path / "bad.wav")
    status = main(["--system", "unprocessed", "--input", str(tmp_path / "bad.wav"),
                   "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert status == 1 and len(err) == 1 and words in err[0]


def test_unknown_system(tmp_path: Path, noisy_folder: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["--system", "nope", "--input", str(noisy_folder), "--output", str(tmp_path)])
    assert status == 1
    assert capsys.readouterr().err.startswith("se.enhance: unknown system 'nope'")


def test_external_outputs_are_imported_by_name(tmp_path: Path, noisy_folder: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    sf.write(theirs / "a.flac", sf.read(noisy_folder / "a.wav")[0] * 0.5, RATES["a"])
    sf.write(theirs / "zzz.flac", make_speech(8_000, 1.0), 8_000)
    status = main(["--system", "theirs", "--external", str(theirs), "--input",
                   str(noisy_folder), "--output", str(tmp_path / "out")])
    assert status == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.flac"]
    assert capsys.readouterr().err.splitlines() == [
        "se.enhance: 1 of 3 inputs have an output; no output for: b, c; "
        "outputs matching no input: zzz"]


def test_external_folder_matching_nothing(tmp_path: Path, noisy_folder: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    sf.write(theirs / "other.flac", make_speech(8_000, 1.0), 8_000)
    status = main(["--system", "theirs", "--external", str(theirs), "--input",
                   str(noisy_folder), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err.splitlines()
    assert status == 1 and len(err) == 1 and "is named like one of the 3 inputs" in err[0]
