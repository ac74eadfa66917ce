"""Training losses of the quality model: clipped MSE, pairwise ranking, masked extras."""

from __future__ import annotations

import torch


def clipped_mse(pred: torch.Tensor, target: torch.Tensor, tau: float = 0.25) -> torch.Tensor:
    """Mean squared error that ignores errors smaller than ``tau`` (UTMOS, LDNet): a rating
    is noisy, so predictions within ``tau`` of it are left alone. Shapes (n,)."""
    err = pred - target
    return torch.where(err.abs() > tau, err ** 2, torch.zeros_like(err)).mean()


def pairwise_ranking(pred: torch.Tensor, target: torch.Tensor, margin: float = 0.1,
                     min_gap: float = 0.25) -> torch.Tensor:
    """Hinge loss on every pair of the batch whose targets differ by more than ``min_gap``:
    the better item must be predicted at least ``margin`` higher. Zero when no pair
    qualifies. Shapes (n,)."""
    diff_t = target[:, None] - target[None, :]
    diff_p = pred[:, None] - pred[None, :]
    pairs = diff_t > min_gap
    if not bool(pairs.any()):
        return pred.sum() * 0.0
    return torch.relu(margin - diff_p[pairs]).mean()


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MSE over the finite entries of ``target`` (missing metric values are NaN); zero when
    none is present. Shapes (n, k)."""
    mask = torch.isfinite(target)
    if not bool(mask.any()):
        return pred.sum() * 0.0
    return ((pred[mask] - target[mask]) ** 2).mean()
