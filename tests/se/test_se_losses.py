"""The training loss's peak-relative floor: what lies far below an item's speech stops
counting, what lies within the range still counts as before."""

from __future__ import annotations

import math

import torch

from se.losses import LOG_FLOOR, log_floor, multi_resolution_stft_loss

RATE = 16_000


def _tone(freq: float, amplitude: float, seconds: float = 0.5) -> torch.Tensor:
    t = torch.arange(round(seconds * RATE)) / RATE
    return amplitude * torch.sin(2 * math.pi * freq * t)


def test_the_floor_follows_each_items_peak_and_never_drops_below_the_fixed_one() -> None:
    ref = torch.tensor([1.0, 10.0, 1e-3]).reshape(3, 1, 1).expand(3, 4, 5).clone()
    floors = log_floor(ref, 60.0).flatten().tolist()
    assert math.isclose(floors[0], 1e-3, rel_tol=1e-5)  # 60 dB below a peak of 1
    assert math.isclose(floors[1], 1e-2, rel_tol=1e-5)  # 60 dB below a peak of 10
    assert math.isclose(floors[2], LOG_FLOOR, rel_tol=1e-5)  # quiet item: the fixed floor
    assert all(math.isclose(f, LOG_FLOOR, rel_tol=1e-5)
               for f in log_floor(ref, 0.0).flatten().tolist())


def test_residue_far_below_the_speech_stops_counting_and_audible_errors_dominate() -> None:
    speech = _tone(300.0, 0.5)[None]

    def costs(error_db: float) -> tuple[float, float]:
        estimate = speech + _tone(6_000.0, 0.5 * 10 ** (-error_db / 20))[None]
        return (float(multi_resolution_stft_loss(estimate, speech, RATE)),
                float(multi_resolution_stft_loss(estimate, speech, RATE, log_range_db=60.0)))

    inaudible_fixed, inaudible_ranged = costs(70.0)  # a residue 70 dB below the speech
    audible_fixed, audible_ranged = costs(20.0)
    assert inaudible_fixed > 0.05  # the fixed -80 dB floor counts it
    assert inaudible_ranged < 0.01 * inaudible_fixed
    assert audible_ranged > 0.1  # an audible error still costs
    # what the loss is about: the audible error outweighs the inaudible one far more
    assert audible_ranged / inaudible_ranged > 20 * audible_fixed / inaudible_fixed


def test_the_floor_does_not_block_gradients_of_the_estimate() -> None:
    speech = _tone(300.0, 0.5)[None]
    estimate = (0.5 * speech).requires_grad_(True)
    multi_resolution_stft_loss(estimate, speech, RATE, log_range_db=60.0).backward()
    assert estimate.grad is not None and float(estimate.grad.abs().sum()) > 0
