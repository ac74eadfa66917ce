"""The band-split model: every URGENT rate with one set of weights, length kept, budget met,
and a checkpoint that the app's loader turns into a working system."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from se.models import (
    MODEL_NAME,
    URGENT_SAMPLE_RATES,
    BandSplitConfig,
    BandSplitNet,
    count_parameters,
    macs_per_second,
)
from se.systems import NeuralSystem
from tests.se.speech import add_white_noise, make_speech


@pytest.fixture(scope="module")
def model() -> BandSplitNet:
    torch.manual_seed(0)
    return BandSplitNet().eval()


@pytest.mark.parametrize("rate", URGENT_SAMPLE_RATES)
def test_every_rate_keeps_length(model: BandSplitNet, rate: int) -> None:
    for frames in (round(0.3 * rate) + 7, round(0.25 * rate)):
        x = torch.randn(2, frames) * 0.1
        with torch.no_grad():
            y = model(x, rate)
        assert y.shape == x.shape
        assert torch.isfinite(y).all()


def test_lower_rates_use_fewer_bands(model: BandSplitNet) -> None:
    counts = [model.n_bands(r) for r in URGENT_SAMPLE_RATES]
    assert counts == sorted(counts) and counts[0] < counts[-1] == len(model.bands)


def test_budget_parameters_and_macs(model: BandSplitNet) -> None:
    params, macs = count_parameters(model), macs_per_second(model, 48_000)
    print(f"\nbandsplit: {params / 1e6:.3f} M parameters, {macs / 1e9:.3f} GMAC/s at 48 kHz")
    assert params < 2_000_000
    assert macs < 1e9


def test_unknown_rate_and_bad_config_are_refused(model: BandSplitNet) -> None:
    with pytest.raises(ValueError, match="not 11025 Hz"):
        model(torch.zeros(1, 11025), 11_025)
    with pytest.raises(ValueError, match="unknown key"):
        BandSplitConfig.from_dict({"feature_dimm": 3})


def test_checkpoint_loads_as_a_neural_system_at_every_rate(model: BandSplitNet,
                                                           tmp_path: Path) -> None:
    torch.save({"format_version": 1, "model_name": MODEL_NAME, "model_args": model.model_args(),
                "state_dict": model.state_dict(), "train_config": {}, "step": 3,
                "infos": {}}, tmp_path / "bsnet.pt")
    system = NeuralSystem(tmp_path / "bsnet.pt")
    assert system.problem is None and "step 3" in system.description
    assert system.sample_rates == tuple(sorted(URGENT_SAMPLE_RATES))
    for rate in (8_000, 22_050, 48_000):
        x = add_white_noise(make_speech(rate, seconds=0.5), 10.0)
        y = system.enhance(x, rate)
        with torch.no_grad():
            direct = model(torch.from_numpy(x)[None], rate)[0].numpy()
        assert y.shape == x.shape
        np.testing.assert_allclose(y, direct, atol=1e-5)
