"""Checkpoints in a folder become neural systems; bad ones are listed and refused clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from se.systems import MODEL_CLASSES, CheckpointError, NeuralSystem, available_systems
from se.systems.neural import discover_checkpoints
from tests.se.speech import make_speech


class Gain(torch.nn.Module):
    """The smallest model with a learnt weight: output = gain * input."""

    def __init__(self, sample_rate: int = 16_000, gain: float = 0.5) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.gain = torch.nn.Parameter(torch.tensor(float(gain)))

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        return waveform * self.gain


def _save(path: Path, model_name: str = "gain", **extra: object) -> Path:
    model = Gain()
    with torch.no_grad():
        model.gain.fill_(0.25)  # differs from the constructor default: the state must load
    checkpoint = {"model_name": model_name, "model_args": {"sample_rate": 16_000},
                  "state_dict": model.state_dict(), "step": 7, **extra}
    torch.save(checkpoint, path)
    return path


@pytest.fixture
def gain_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(MODEL_CLASSES, "gain", Gain)


def test_checkpoint_is_listed_and_enhances_like_the_saved_model(
        tmp_path: Path, gain_registered: None) -> None:
    _save(tmp_path / "tiny.pt")
    system = available_systems(checkpoints_dir=tmp_path)["tiny"]
    assert system.kind == "neural"
    assert system.description == "gain checkpoint tiny.pt, step 7"
    x = make_speech(16_000, seconds=1.0)
    np.testing.assert_allclose(system.enhance(x, 16_000), 0.25 * x, rtol=1e-6)


def test_checkpoint_rate_is_reached_by_resampling(tmp_path: Path, gain_registered: None
                                                  ) -> None:
    system = NeuralSystem(_save(tmp_path / "tiny.pt"))
    x = make_speech(48_000, seconds=1.0)
    out = system.enhance(x, 48_000)
    assert out.shape == x.shape
    assert np.sqrt(np.mean(out**2)) == pytest.approx(0.25 * np.sqrt(np.mean(x**2)), rel=0.05)


def test_unknown_model_is_listed_and_refused(tmp_path: Path) -> None:
    system = NeuralSystem(_save(tmp_path / "mystery.pt", model_name="mystery"))
    assert "not registered" in system.description
    with pytest.raises(CheckpointError, match="unknown model 'mystery'"):
        system.enhance(make_speech(16_000, seconds=0.5), 16_000)


@pytest.mark.parametrize(("content", "words"), [
    (b"not a checkpoint", "not a readable checkpoint"),
    ({"model_name": "gain", "model_args": {"sample_rate": 16_000}}, "lacks state_dict"),
    ({"model_name": "gain", "model_args": {}, "state_dict": {}}, "no sample_rate"),
])
def test_unusable_checkpoints_say_why(tmp_path: Path, content: object, words: str) -> None:
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    [system] = discover_checkpoints(tmp_path)
    assert words in system.description
    with pytest.raises(CheckpointError, match=words):
        system.enhance(make_speech(16_000, seconds=0.5), 16_000)


def test_checkpoint_named_like_a_builtin_is_refused(tmp_path: Path) -> None:
    _save(tmp_path / "mmse_lsa.pt")
    with pytest.raises(ValueError, match="two systems are named 'mmse_lsa'"):
        available_systems(checkpoints_dir=tmp_path)


def test_missing_checkpoints_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        available_systems(checkpoints_dir=tmp_path / "nowhere")
