"""Every built-in system: shape, rate and dtype kept at the URGENT rates, denoisers help,
bad inputs refused, chunking seamless, registry complete."""

from __future__ import annotations

import numpy as np
import pytest

from audio.io import AudioError
from se.systems import BUILTIN_SYSTEMS, SYSTEM_KINDS, available_systems, get_system
from se.systems.base import System, process_in_chunks
from se.systems.mmse_lsa import MmseLsa
from tests.se.speech import add_white_noise, make_speech, reverberate, si_sdr_db

RATES = (8_000, 16_000, 22_050, 44_100, 48_000)


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("name", list(BUILTIN_SYSTEMS))
def test_system_keeps_length_rate_and_dtype(name: str, rate: int) -> None:
    noisy = add_white_noise(make_speech(rate, seconds=1.3), snr_db=10.0)
    out = get_system(name).enhance(noisy, rate)
    assert out.shape == noisy.shape
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out)) and np.any(out)


@pytest.mark.parametrize("rate", [11_025, 12_000])
def test_rates_between_supported_ones_are_resampled_and_back(rate: int) -> None:
    noisy = add_white_noise(make_speech(rate, seconds=1.0), snr_db=10.0)
    out = get_system("rnnoise").enhance(noisy, rate)  # RNNoise only runs at 48 kHz
    assert out.shape == noisy.shape


def test_unprocessed_is_the_input() -> None:
    noisy = add_white_noise(make_speech(16_000), snr_db=5.0)
    np.testing.assert_array_equal(get_system("unprocessed").enhance(noisy, 16_000), noisy)


@pytest.mark.parametrize("name", ["mmse_lsa", "spectral_gating", "wpe_mmse_lsa", "rnnoise"])
@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_denoisers_improve_si_sdr(name: str, rate: int) -> None:
    clean = make_speech(rate)
    noisy = add_white_noise(clean, snr_db=5.0)
    gain_db = si_sdr_db(get_system(name).enhance(noisy, rate), clean) - si_sdr_db(noisy, clean)
    assert gain_db > 1.5


@pytest.mark.parametrize("name", ["wpe", "wpe_mmse_lsa"])
def test_wpe_reduces_reverberation(name: str) -> None:
    reverberant, target = reverberate(make_speech(16_000), 16_000)
    out = get_system(name).enhance(reverberant, 16_000)
    assert si_sdr_db(out, target) > si_sdr_db(reverberant, target) + 0.2


@pytest.mark.parametrize(("samples", "rate", "words"), [
    (np.zeros(16_000, np.float32), 16_000, "silent"),
    (make_speech(16_000, seconds=0.05), 16_000, "shorter than"),
    (np.stack([make_speech(16_000, 1.0)] * 2), 16_000, "mono"),
    (make_speech(16_000, seconds=1.0), 96_000, "96000 Hz"),
    (np.full(16_000, np.nan, np.float32), 16_000, "NaN"),
    (np.where(np.arange(16_000) == 5, np.inf, make_speech(16_000, 1.0)), 16_000, "infinite"),
])
@pytest.mark.parametrize("name", ["unprocessed", "mmse_lsa"])
def test_bad_inputs_are_refused_with_a_reason(name: str, samples: np.ndarray, rate: int,
                                              words: str) -> None:
    with pytest.raises(AudioError, match=words):
        get_system(name).enhance(samples, rate)


def test_chunks_cross_fade_to_the_identity() -> None:
    x = np.random.default_rng(0).standard_normal(100_003).astype(np.float32)
    out = process_in_chunks(lambda chunk: chunk.copy(), x, chunk_frames=9_000,
                            overlap_frames=1_000)
    np.testing.assert_allclose(out, x, atol=1e-6)


def test_chunk_sizes_are_bounded() -> None:
    lengths: list[int] = []

    def record(chunk: np.ndarray) -> np.ndarray:
        lengths.append(len(chunk))
        return chunk

    process_in_chunks(record, np.ones(100_000, np.float32), chunk_frames=9_000,
                      overlap_frames=1_000)
    assert max(lengths) <= 9_000 and len(lengths) == 13


def test_warm_up_input_is_seen_but_its_output_dropped() -> None:
    x = np.arange(30_000, dtype=np.float32)
    firsts: list[float] = []

    def record(chunk: np.ndarray) -> np.ndarray:
        firsts.append(float(chunk[0]))
        return chunk

    out = process_in_chunks(record, x, chunk_frames=10_000, overlap_frames=1_000,
                            warmup_frames=2_000)
    np.testing.assert_allclose(out, x, rtol=1e-6)
    # 4 chunks of 8250 samples start at 0, 7250, 14500, 21750; all but the first see 2000
    # samples before their start
    assert firsts == [0.0, 5_250.0, 12_500.0, 19_750.0]


class _ShortChunkMmse(MmseLsa):
    chunk_seconds = 2.0
    overlap_seconds = 0.5  # warm-up stays MmseLsa's


def test_chunked_enhancement_is_as_good_as_whole_file() -> None:
    clean = make_speech(16_000, seconds=9.0)
    noisy = add_white_noise(clean, snr_db=5.0)
    whole = MmseLsa().enhance(noisy, 16_000)
    chunked = _ShortChunkMmse().enhance(noisy, 16_000)
    assert chunked.shape == noisy.shape
    assert abs(si_sdr_db(chunked, clean) - si_sdr_db(whole, clean)) < 0.3


def test_registry_lists_every_kind_of_builtin() -> None:
    systems = available_systems()
    assert list(systems)[:len(BUILTIN_SYSTEMS)] == list(BUILTIN_SYSTEMS)
    for name, system in systems.items():
        assert isinstance(system, System) and system.name == name
        assert system.kind in SYSTEM_KINDS and system.description
    assert {s.kind for s in systems.values()} == {"identity", "dsp", "pretrained"}


def test_unknown_system_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match="unknown system 'nope'; available: unprocessed"):
        get_system("nope")
