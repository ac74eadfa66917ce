"""Outputs of another system, matched to inputs by file name and checked, never repaired."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from se.systems import ExternalOutputsError, ExternalSystem, available_systems
from tests.se.speech import make_speech


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    folder = tmp_path / "their_system"
    folder.mkdir()
    for name in ("a", "b", "extra"):
        sf.write(folder / f"{name}.flac", make_speech(16_000, seconds=1.0), 16_000,
                 subtype="PCM_16")
    (folder / "notes.txt").write_text("not audio")
    return folder


def test_match_reports_unmatched_both_ways(outputs: Path) -> None:
    match = ExternalSystem(outputs).match(["a", "b", "c"])
    assert list(match.matched) == ["a", "b"]
    assert match.unmatched_inputs == ("c",)
    assert match.unmatched_outputs == ("extra",)
    assert match.summary() == ("2 of 3 inputs have an output; no output for: c; "
                               "outputs matching no input: extra")


def test_names_matching_nothing_are_refused(outputs: Path) -> None:
    with pytest.raises(ExternalOutputsError, match=r"none of the 3 files .* is named like one"):
        ExternalSystem(outputs).match(["x", "y"])


def test_output_is_returned_for_its_input(outputs: Path) -> None:
    x = make_speech(16_000, seconds=1.0)
    out = ExternalSystem(outputs).enhance_item("a", x, 16_000)
    np.testing.assert_allclose(out, x, atol=1.0 / 32_768)


@pytest.mark.parametrize(("item", "samples", "rate", "words"), [
    ("a", make_speech(48_000, seconds=1.0), 48_000, "output is 16000 Hz but its input is"),
    ("a", make_speech(16_000, seconds=1.5), 16_000, "output has 16000 samples but its input"),
    ("c", make_speech(16_000, seconds=1.0), 16_000, "no output named c"),
])
def test_outputs_that_differ_from_their_input_are_refused(
        outputs: Path, item: str, samples: np.ndarray, rate: int, words: str) -> None:
    with pytest.raises(ExternalOutputsError, match=words):
        ExternalSystem(outputs).enhance_item(item, samples, rate)


def test_stereo_output_is_refused(outputs: Path) -> None:
    stereo = np.stack([make_speech(16_000, seconds=1.0)] * 2, axis=1)
    sf.write(outputs / "s.wav", stereo, 16_000)
    with pytest.raises(ExternalOutputsError, match="2 channels"):
        ExternalSystem(outputs).enhance_item("s", make_speech(16_000, seconds=1.0), 16_000)


def test_same_name_twice_is_refused(outputs: Path) -> None:
    sf.write(outputs / "a.wav", make_speech(16_000, seconds=1.0), 16_000)
    with pytest.raises(ExternalOutputsError, match="two outputs named a"):
        ExternalSystem(outputs).match(["a"])


def test_plain_enhance_explains_why_it_cannot_work(outputs: Path) -> None:
    with pytest.raises(ExternalOutputsError, match="enhance_item"):
        ExternalSystem(outputs).enhance(make_speech(16_000, seconds=1.0), 16_000)


def test_registry_names_external_systems_after_their_folder(outputs: Path) -> None:
    system = available_systems(external_dirs=[outputs])["their_system"]
    assert system.kind == "external"
