"""Training losses of the SE model: multi-resolution STFT loss and negative SI-SDR.

STFT resolutions are :class:`audio.spectral.StftConfig` windows in seconds, so the loss
looks at the same time-frequency scales at every sampling rate.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from audio.spectral import StftConfig

#: Short, medium and long windows (hop a quarter of the window).
LOSS_RESOLUTIONS: tuple[StftConfig, ...] = (
    StftConfig(window_seconds=0.010, hop_seconds=0.0025),
    StftConfig(window_seconds=0.025, hop_seconds=0.00625),
    StftConfig(window_seconds=0.050, hop_seconds=0.0125),
)


#: Magnitude floor of the log term (about -80 dB below a full-scale sine's bin).
LOG_FLOOR = 1e-4


def _magnitude(x: torch.Tensor, sample_rate: int, config: StftConfig) -> torch.Tensor:
    win, hop, n_fft = (config.window_length(sample_rate), config.hop_length(sample_rate),
                       config.n_fft(sample_rate))
    window = torch.hann_window(win, device=x.device, dtype=x.dtype)
    spec = torch.stft(x, n_fft=n_fft, hop_length=hop, win_length=win, window=window,
                      center=True, return_complex=True)
    return spec.abs()


def log_floor(reference: torch.Tensor, range_db: float = 0.0) -> torch.Tensor:
    """Magnitude floor of the log term per item, shape (batch, 1, 1).

    ``range_db`` 0: the fixed :data:`LOG_FLOOR` (-80 dB re full scale). Otherwise also at
    least ``range_db`` below the item's loudest bin of ``reference`` (batch, bins, frames):
    bins far below the speech (pauses, the empty band above a band-limited source) then
    count as equal when both are quiet, instead of most of the loss coming from how the
    model shapes inaudible residue (measured: 56 % of the log term from bins over 60 dB
    down, benchmarks/se_train_profile.py).
    """
    fixed = reference.new_full((reference.shape[0], 1, 1), LOG_FLOOR)
    if not range_db:
        return fixed
    peak = reference.amax(dim=(1, 2), keepdim=True).detach()
    return torch.maximum(fixed, peak * 10.0 ** (-range_db / 20.0))


def multi_resolution_stft_loss(estimate: torch.Tensor, target: torch.Tensor, sample_rate: int,
                               resolutions: Sequence[StftConfig] = LOSS_RESOLUTIONS, *,
                               log_range_db: float = 0.0) -> torch.Tensor:
    """Mean over resolutions of spectral convergence plus log-magnitude L1.

    Args:
        estimate, target: (batch, frames) at ``sample_rate``.
        log_range_db: dynamic range of the log term below each item's peak (0: only the
            fixed -80 dB floor; see :func:`log_floor`).
    """
    total = estimate.new_zeros(())
    for config in resolutions:
        est, ref = (_magnitude(estimate, sample_rate, config),
                    _magnitude(target, sample_rate, config))
        convergence = torch.linalg.norm(ref - est, dim=(1, 2)) / torch.linalg.norm(
            ref, dim=(1, 2)).clamp_min(1e-7)
        # floored: pauses must not dominate through log(0)
        floor = log_floor(ref, log_range_db)
        log_mag = (torch.maximum(ref, floor).log() - torch.maximum(est, floor).log()
                   ).abs().mean(dim=(1, 2))
        total = total + (convergence + log_mag).mean()
    return total / len(resolutions)


def si_sdr(estimate: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per item, shape (batch,); higher is better."""
    est = estimate - estimate.mean(dim=-1, keepdim=True)
    ref = target - target.mean(dim=-1, keepdim=True)
    scale = (est * ref).sum(-1, keepdim=True) / (ref.pow(2).sum(-1, keepdim=True) + eps)
    projection = scale * ref
    noise = est - projection
    return 10 * torch.log10((projection.pow(2).sum(-1) + eps) / (noise.pow(2).sum(-1) + eps))


def enhancement_loss(estimate: torch.Tensor, target: torch.Tensor, sample_rate: int, *,
                     stft_weight: float = 1.0, si_sdr_weight: float = 0.01,
                     log_range_db: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """``stft_weight * MR-STFT - si_sdr_weight * SI-SDR(dB)`` and its parts for the log."""
    stft = multi_resolution_stft_loss(estimate, target, sample_rate,
                                      log_range_db=log_range_db)
    sdr = si_sdr(estimate, target).mean()
    loss = stft_weight * stft - si_sdr_weight * sdr
    return loss, {"mrstft": float(stft.detach()), "si_sdr": float(sdr.detach())}
