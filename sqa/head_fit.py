"""Fit the score heads on a frozen encoder: the first stage of fine-tuning a checkpoint.

With a few hundred rated clips from a dozen systems, updating the whole network teaches it
those systems; the encoder of a pretrained checkpoint already tells degradations apart, so
the heads (mean listener, listener embedding and listener head, dataset bias) are fitted
first on its pooled vectors, computed once per clip over the whole clip. That is a few
hundred full-batch steps on small tensors: seconds on a CPU, however many votes there are.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from sqa.features import FeatureCache
from sqa.losses import clipped_mse, pairwise_ranking
from sqa.model import MosPredictor

#: Modules trained in this stage; everything else stays as it is.
HEAD_MODULES = ("mean_head", "listener_embedding", "listener_head", "dataset_bias")


def pooled_vectors(model: MosPredictor, paths: Sequence[str], cache: FeatureCache,
                   chunk_frames: int = 1000) -> torch.Tensor:
    """(len(paths), d_model) pooled vectors of whole clips (longer ones: the mean over
    chunks of ``chunk_frames``), dropout off; each distinct path is computed once."""
    model.eval()
    unique = {p: i for i, p in enumerate(dict.fromkeys(paths))}
    vectors = []
    with torch.inference_mode():
        for path in unique:
            feats = torch.from_numpy(cache.get(path))
            chunks = [feats[i:i + chunk_frames] for i in range(0, len(feats), chunk_frames)]
            chunks = [c for c in chunks if len(c) >= min(len(feats), chunk_frames // 4)]
            vectors.append(torch.stack([model.embed(c[None])[0] for c in chunks]).mean(0))
    table = torch.stack(vectors)
    return table[torch.tensor([unique[p] for p in paths])].clone()


def fit_heads(model: MosPredictor, vectors: torch.Tensor, *, listener: np.ndarray,
              dataset: np.ndarray, score: np.ndarray, mos: np.ndarray, steps: int,
              lr: float = 3e-3, weight_decay: float = 0.01, tau: float = 0.25,
              rank_weight: float = 0.5, rank_margin: float = 0.1, listener_weight: float = 1.0,
              mean_weight: float = 1.0, seed: int = 0) -> list[float]:
    """Train :data:`HEAD_MODULES` on the pooled ``vectors`` (one row per rating) with the
    training loss of :mod:`sqa.train` (clipped MSE of votes and MOS, pairwise ranking),
    full batch; the rest of the model is untouched. Returns the loss of every step."""
    torch.manual_seed(seed)
    params = [p for name in HEAD_MODULES for p in getattr(model, name).parameters()]
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    listener_t = torch.as_tensor(listener, dtype=torch.long)
    dataset_t = torch.as_tensor(dataset, dtype=torch.long)
    score_t = torch.as_tensor(score, dtype=torch.float32)
    mos_t = torch.as_tensor(mos, dtype=torch.float32)
    # Ranking on all pairs is O(n^2): a random subset of rows per step keeps it cheap.
    rank_rows = min(len(mos_t), 256)
    model.train()
    losses = []
    for _ in range(steps):
        bias = model.dataset_bias(dataset_t).squeeze(-1)
        pred = model.squash(model.mean_head(vectors).squeeze(-1) + bias)
        emb = model.listener_embedding(listener_t)
        vote = model.squash(model.listener_head(torch.cat([vectors, emb], -1)).squeeze(-1)
                            + bias)
        pick = torch.randperm(len(mos_t))[:rank_rows]
        loss = (listener_weight * clipped_mse(vote, score_t, tau)
                + mean_weight * clipped_mse(pred, mos_t, tau)
                + rank_weight * pairwise_ranking(pred[pick], mos_t[pick], rank_margin))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses
